package experiment

import (
	"fmt"
	"sort"

	"github.com/privlm/privlm/framework/metrics"
)

// GroupRow is one attack's metrics over one group of users.
type GroupRow struct {
	ExperimentID string  `parquet:"experiment_id" json:"experiment_id"`
	Attack       string  `parquet:"attack" json:"attack"`
	Group        string  `parquet:"group" json:"group"`
	AUROC        float64 `parquet:"auroc" json:"auroc"`
	AUROCLo      float64 `parquet:"auroc_lo" json:"auroc_lo"`
	AUROCHi      float64 `parquet:"auroc_hi" json:"auroc_hi"`
	// TPRs are nil (n/a) without the support to estimate them.
	TPRAt1FPR   *float64 `parquet:"tpr_at_1fpr,optional" json:"tpr_at_1fpr"`
	TPRAt5FPR   *float64 `parquet:"tpr_at_5fpr,optional" json:"tpr_at_5fpr"`
	NUsers      int64    `parquet:"n_users" json:"n_users"`
	NMembers    int64    `parquet:"n_members" json:"n_members"`
	NNonMembers int64    `parquet:"n_non_members" json:"n_non_members"`
	// MeanUserDocs is the group's mean documents per user.
	MeanUserDocs float64 `parquet:"mean_user_docs" json:"mean_user_docs"`
}

// GroupMetrics computes each attack's metrics separately over the groups
// of users that group assigns ("" leaves a user out), members against
// non-members within a group. Groups without both are skipped. Rows come
// sorted by experiment, attack and group.
func GroupMetrics(scores []ScoreRow, group func(ScoreRow) string, bootstrap int, seed uint64) ([]GroupRow, error) {
	type key struct{ exp, attack, group string }
	byKey := map[key][]ScoreRow{}
	for _, s := range scores {
		if g := group(s); g != "" {
			k := key{s.ExperimentID, s.Attack, g}
			byKey[k] = append(byKey[k], s)
		}
	}
	var rows []GroupRow
	for k, ss := range byKey {
		sc, mem := make([]float64, len(ss)), make([]bool, len(ss))
		docs := 0.0
		members := 0
		for i, s := range ss {
			sc[i], mem[i] = s.Score, s.Member
			docs += float64(s.NUserDocs)
			if s.Member {
				members++
			}
		}
		if members == 0 || members == len(ss) {
			continue
		}
		sum, err := metrics.Summarize(sc, mem, bootstrap, seed)
		if err != nil {
			return nil, fmt.Errorf("experiment: group %q of %s: %w", k.group, k.attack, err)
		}
		rows = append(rows, GroupRow{ExperimentID: k.exp, Attack: k.attack, Group: k.group, AUROC: sum.AUROC, AUROCLo: sum.AUROCLo,
			AUROCHi: sum.AUROCHi, TPRAt1FPR: sum.TPRAt1FPR, TPRAt5FPR: sum.TPRAt5FPR, NUsers: int64(sum.NUsers),
			NMembers: int64(sum.NMembers), NNonMembers: int64(sum.NNonMembers), MeanUserDocs: docs / float64(len(ss))})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.ExperimentID != b.ExperimentID {
			return a.ExperimentID < b.ExperimentID
		}
		if a.Attack != b.Attack {
			return a.Attack < b.Attack
		}
		return a.Group < b.Group
	})
	return rows, nil
}

// ByCanary groups users into "canary" and "other".
func ByCanary(s ScoreRow) string {
	if s.Canary {
		return "canary"
	}
	return "other"
}

// ByUserDocs groups users by their number of documents (their would-be
// share of the fine-tuning data) into up to bins groups of equal size,
// named by their range ("03-05 docs"); canary users are left out.
func ByUserDocs(scores []ScoreRow, bins int) func(ScoreRow) string {
	var counts []int64
	seen := map[string]bool{}
	for _, s := range scores {
		if !s.Canary && !seen[s.UserID] {
			seen[s.UserID] = true
			counts = append(counts, s.NUserDocs)
		}
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i] < counts[j] })
	if bins < 1 || len(counts) == 0 {
		return func(ScoreRow) string { return "" }
	}
	// Upper edges at the quantiles; equal edges merge.
	var edges []int64
	for b := 1; b <= bins; b++ {
		e := counts[(b*len(counts)+bins-1)/bins-1] // the ceil(b/bins) quantile
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	width := len(fmt.Sprint(edges[len(edges)-1]))
	return func(s ScoreRow) string {
		if s.Canary {
			return ""
		}
		lo := counts[0]
		for _, e := range edges {
			if s.NUserDocs <= e {
				return fmt.Sprintf("%0*d-%0*d docs", width, lo, width, e)
			}
			lo = e + 1
		}
		return ""
	}
}

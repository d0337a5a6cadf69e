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
	// Seed is the seed of a one-seed row (NSeeds 1); a row pooled over
	// NSeeds > 1 seeds has none (see GroupMetrics).
	Seed   *int64 `parquet:"seed,optional" json:"seed"`
	NSeeds int64  `parquet:"n_seeds" json:"n_seeds"`
}

// GroupMetrics computes each attack's metrics separately over the groups
// of users that group assigns ("" leaves a user out), members against
// non-members within a group and within a seed (a run with repeats has
// each seed's own held-in users: seeds are never mixed in one AUROC).
// Groups without both are skipped. When a group has rows for more than one
// seed, a row pooled over them follows (Seed nil, NSeeds N), as the pooled
// rows of metrics.parquet: the mean AUROC and the metrics.Pool interval
// over users and seeds, the seeds' mean TPRs (n/a if any seed's is), the
// smallest counts and the mean MeanUserDocs. Rows come sorted by
// experiment, attack, group and seed, the pooled row last.
func GroupMetrics(scores []ScoreRow, group func(ScoreRow) string, bootstrap int, seed uint64) ([]GroupRow, error) {
	type key struct {
		exp, attack, group string
		seed               int64
	}
	byKey := map[key][]ScoreRow{}
	for _, s := range scores {
		if g := group(s); g != "" {
			k := key{s.ExperimentID, s.Attack, g, s.Seed}
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
			return nil, fmt.Errorf("experiment: group %q of %s, seed %d: %w", k.group, k.attack, k.seed, err)
		}
		sd := k.seed
		rows = append(rows, GroupRow{ExperimentID: k.exp, Attack: k.attack, Group: k.group, AUROC: sum.AUROC, AUROCLo: sum.AUROCLo,
			AUROCHi: sum.AUROCHi, TPRAt1FPR: sum.TPRAt1FPR, TPRAt5FPR: sum.TPRAt5FPR, NUsers: int64(sum.NUsers),
			NMembers: int64(sum.NMembers), NNonMembers: int64(sum.NNonMembers), MeanUserDocs: docs / float64(len(ss)),
			Seed: &sd, NSeeds: 1})
	}
	sortGroupRows(rows)
	var pooled []GroupRow
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].ExperimentID == rows[i].ExperimentID && rows[j].Attack == rows[i].Attack && rows[j].Group == rows[i].Group {
			j++
		}
		if j-i > 1 {
			per := rows[i:j]
			pk := key{exp: rows[i].ExperimentID, attack: rows[i].Attack, group: rows[i].Group}
			// The seeds' runs, in the order of per (by seed).
			ordered := make([]metrics.Labelled, 0, len(per))
			bySeed := map[int64]metrics.Labelled{}
			for k, ss := range byKey {
				if k.exp == pk.exp && k.attack == pk.attack && k.group == pk.group {
					l := metrics.Labelled{}
					for _, s := range ss {
						l.Users, l.Scores, l.Member = append(l.Users, s.UserID), append(l.Scores, s.Score), append(l.Member, s.Member)
					}
					bySeed[k.seed] = l
				}
			}
			for _, r := range per {
				ordered = append(ordered, bySeed[*r.Seed])
			}
			p, err := metrics.Pool(ordered, bootstrap, seed)
			if err != nil {
				return nil, fmt.Errorf("experiment: pooling group %q of %s: %w", pk.group, pk.attack, err)
			}
			row := GroupRow{ExperimentID: pk.exp, Attack: pk.attack, Group: pk.group, AUROC: p.MeanAUROC, AUROCLo: p.AUROCLo, AUROCHi: p.AUROCHi,
				NUsers: per[0].NUsers, NMembers: per[0].NMembers, NNonMembers: per[0].NNonMembers, NSeeds: int64(len(per))}
			tpr1, tpr5 := make([]*float64, len(per)), make([]*float64, len(per))
			for n, r := range per {
				row.NUsers, row.NMembers, row.NNonMembers = min(row.NUsers, r.NUsers), min(row.NMembers, r.NMembers), min(row.NNonMembers, r.NNonMembers)
				row.MeanUserDocs += r.MeanUserDocs / float64(len(per))
				tpr1[n], tpr5[n] = r.TPRAt1FPR, r.TPRAt5FPR
			}
			row.TPRAt1FPR, row.TPRAt5FPR = meanOf(tpr1), meanOf(tpr5)
			pooled = append(pooled, row)
		}
		i = j
	}
	rows = append(rows, pooled...)
	sortGroupRows(rows)
	return rows, nil
}

// sortGroupRows sorts by experiment, attack, group and seed, pooled rows
// (no seed) after their group's seeds.
func sortGroupRows(rows []GroupRow) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.ExperimentID != b.ExperimentID {
			return a.ExperimentID < b.ExperimentID
		}
		if a.Attack != b.Attack {
			return a.Attack < b.Attack
		}
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if (a.Seed == nil) != (b.Seed == nil) {
			return b.Seed == nil
		}
		return a.Seed != nil && *a.Seed < *b.Seed
	})
}

// meanOf is the mean of optional values, nil if any is nil.
func meanOf(vs []*float64) *float64 {
	sum := 0.0
	for _, v := range vs {
		if v == nil {
			return nil
		}
		sum += *v
	}
	m := sum / float64(len(vs))
	return &m
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

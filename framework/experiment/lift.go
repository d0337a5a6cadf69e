package experiment

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/privlm/privlm/framework/metrics"
)

// LiftRow tests a finding that one group of users is more exposed than
// another in the same models, at one experiment (a sweep point, say
// canary.tokens=10): the attack's AUROC over Group against its AUROC over
// Baseline, pooled over seeds, with a one-sided DeLong test. Canary users
// against the other users are two independent groups
// (metrics.CompareAUROCUnpaired, CanaryLift); members trained on many of
// their documents against members trained on few are scored against the
// same non-members (metrics.CompareAUROCSharedNonMembers, DocsLift). Its
// variance is over users given each seed's model.
type LiftRow struct {
	ExperimentID string `parquet:"experiment_id" json:"experiment_id"`
	Attack       string `parquet:"attack" json:"attack"`
	// Group and Baseline name the users compared.
	Group    string `parquet:"group" json:"group"`
	Baseline string `parquet:"baseline" json:"baseline"`
	// AUROCBaseline and AUROCGroup are the AUROCs (means over seeds), Lift
	// the group's minus the baseline's with its 95% interval, P the
	// one-sided p-value of "the group no more exposed".
	AUROCBaseline float64 `parquet:"auroc_baseline" json:"auroc_baseline"`
	AUROCGroup    float64 `parquet:"auroc_group" json:"auroc_group"`
	Lift          float64 `parquet:"lift" json:"lift"`
	LiftLo        float64 `parquet:"lift_lo" json:"lift_lo"`
	LiftHi        float64 `parquet:"lift_hi" json:"lift_hi"`
	P             float64 `parquet:"p" json:"p"`
	NSeeds        int64   `parquet:"n_seeds" json:"n_seeds"`
	// NGroup and NBaseline are the fewest users of each group in any seed
	// (members only for DocsLift, whose non-members are shared).
	NGroup    int64 `parquet:"n_group" json:"n_group"`
	NBaseline int64 `parquet:"n_baseline" json:"n_baseline"`
	// SeedLifts are the seeds' own lifts, for whether they agree.
	SeedLifts string `parquet:"seed_lifts" json:"seed_lifts"`
	// Paper is the paper's finding in words with its numbers ("" when it
	// has none for this setting); Reproduces yes (P at most
	// metrics.ChanceLevel), no or not comparable, and Why the reason.
	Paper      string `parquet:"paper" json:"paper"`
	Reproduces string `parquet:"reproduces" json:"reproduces"`
	Why        string `parquet:"why" json:"why"`
}

// CanaryLift builds the LiftRow of attack's canary users against the other
// users for every experiment in scores (a run's or a sweep's; compared
// within each seed), in the order of the sweep's values (comparePoints).
// paper gives the paper's finding for an experiment id ("" when the paper
// has none for it; nil: none).
func CanaryLift(scores []ScoreRow, attack string, paper func(experimentID string) string) ([]LiftRow, error) {
	return lift(scores, attack, paper, "canary users", "other users", func(s ScoreRow) int {
		if s.Canary {
			return 1
		}
		return 0
	}, false)
}

// DocsLift builds the LiftRow of attack's members trained on the most
// documents (n_train_samples at its largest among a seed's non-canary
// members) against the members trained on fewer, each against all the
// seed's non-canary non-members, for every experiment in scores: within
// one model, whether a user's share of the fine-tuning data exposes them
// (a run with mitigations = cap?max_docs=k&users=0.5 caps a random half).
//
// Members must train on exactly two document counts in every seed (say 10,
// and 2 for the capped half: split.min_docs = split.max_docs makes every
// uncapped member train on the same count); anything else is an error,
// since grouping by count would then not be grouping by the cap.
func DocsLift(scores []ScoreRow, attack string, paper func(experimentID string) string) ([]LiftRow, error) {
	counts := map[[2]any][]int64{}
	most := map[[2]any]int64{}
	for _, s := range scores {
		if s.Attack == attack && s.Member && !s.Canary {
			k := [2]any{s.ExperimentID, s.Seed}
			if !slices.Contains(counts[k], s.NTrainSamples) {
				counts[k] = append(counts[k], s.NTrainSamples)
			}
			most[k] = max(most[k], s.NTrainSamples)
		}
	}
	for k, c := range counts {
		if len(c) != 2 {
			slices.Sort(c)
			return nil, fmt.Errorf("experiment: documents trained per member: %s, seed %v: members train on %d different counts %v, want exactly two (all of a user's documents, or the cap: set split.min_docs = split.max_docs and mitigations = cap?max_docs=k&users=f with k below it)", k[0], k[1], len(c), c)
		}
	}
	var kept []ScoreRow
	for _, s := range scores {
		if !s.Canary {
			kept = append(kept, s)
		}
	}
	return lift(kept, attack, paper, "members with the most documents trained", "members with fewer", func(s ScoreRow) int {
		switch {
		case !s.Member:
			return -1 // with both groups
		case s.NTrainSamples == most[[2]any{s.ExperimentID, s.Seed}]:
			return 1
		}
		return 0
	}, true)
}

// lift compares, per experiment and seed, the users side assigns 1 (the
// group) against those it assigns 0 (the baseline); -1 puts a user (a
// non-member) in both, for sharedNonMembers.
func lift(scores []ScoreRow, attack string, paper func(string) string, group, baseline string, side func(ScoreRow) int, sharedNonMembers bool) ([]LiftRow, error) {
	compare, test := metrics.CompareAUROCUnpaired, "two independent groups"
	if sharedNonMembers {
		compare, test = metrics.CompareAUROCSharedNonMembers, "two groups of members against the same non-members"
	}
	type cell struct {
		exp  string
		seed int64
	}
	sides := [2]map[cell]*metrics.Labelled{{}, {}}
	var exps []string
	add := func(k int, c cell, s ScoreRow) {
		l, ok := sides[k][c]
		if !ok {
			l = &metrics.Labelled{}
			sides[k][c] = l
		}
		l.Users, l.Scores, l.Member = append(l.Users, s.UserID), append(l.Scores, s.Score), append(l.Member, s.Member)
	}
	for _, s := range scores {
		if s.Attack != attack {
			continue
		}
		c := cell{s.ExperimentID, s.Seed}
		switch k := side(s); k {
		case -1:
			add(0, c, s)
			add(1, c, s)
		default:
			add(k, c, s)
		}
		if !slices.Contains(exps, s.ExperimentID) {
			exps = append(exps, s.ExperimentID)
		}
	}
	if len(exps) == 0 {
		return nil, fmt.Errorf("experiment: %s against %s: no scores of attack %q", group, baseline, attack)
	}
	slices.SortFunc(exps, comparePoints)
	var rows []LiftRow
	for _, exp := range exps {
		var seeds []int64
		for c := range sides[1] {
			if c.exp == exp && sides[0][c] != nil {
				seeds = append(seeds, c.seed)
			}
		}
		if len(seeds) == 0 {
			return nil, fmt.Errorf("experiment: %s against %s, %s in %s: no seed has both", group, baseline, attack, exp)
		}
		slices.Sort(seeds)
		var a, b []metrics.Labelled
		row := LiftRow{ExperimentID: exp, Attack: attack, Group: group, Baseline: baseline, NSeeds: int64(len(seeds))}
		for i, seed := range seeds {
			c := cell{exp, seed}
			a, b = append(a, *sides[0][c]), append(b, *sides[1][c])
			ng, nb := countUsers(*sides[1][c], sharedNonMembers), countUsers(*sides[0][c], sharedNonMembers)
			if i == 0 || ng < row.NGroup {
				row.NGroup = ng
			}
			if i == 0 || nb < row.NBaseline {
				row.NBaseline = nb
			}
		}
		d, err := compare(a, b)
		if err != nil {
			return nil, fmt.Errorf("experiment: %s against %s, %s in %s: %w", group, baseline, attack, exp, err)
		}
		row.AUROCBaseline, row.AUROCGroup, row.Lift, row.LiftLo, row.LiftHi, row.P = d.AUROCA, d.AUROCB, d.Delta, d.Lo, d.Hi, d.P
		var per []string
		for i, seed := range seeds {
			per = append(per, fmt.Sprintf("seed %d %+.3f", seed, d.RunDeltas[i]))
		}
		row.SeedLifts = strings.Join(per, ", ")
		if paper != nil {
			row.Paper = paper(exp)
		}
		ours := fmt.Sprintf("ours %.3f over %s against %.3f over %s, lift %+.3f [%+.3f, %+.3f] (%s), DeLong p = %.4f (one-sided, %s, level %.3f; variance over users given each seed's model) over %d seeds, at least %d and %d users each",
			d.AUROCB, group, d.AUROCA, baseline, d.Delta, d.Lo, d.Hi, row.SeedLifts, d.P, test, metrics.ChanceLevel, len(seeds), row.NGroup, row.NBaseline)
		switch {
		case row.Paper == "":
			row.Reproduces, row.Why = NotComparable, "the paper has no number for this setting; "+ours
		case d.P <= metrics.ChanceLevel:
			row.Reproduces, row.Why = Reproduced, "more exposed, as in the paper: "+ours
		case d.Hi < 0:
			row.Reproduces, row.Why = NotReproduced, "less exposed, against the paper: "+ours
		default:
			row.Reproduces, row.Why = NotReproduced, "not shown: no significant lift (inconclusive, not a contradiction): "+ours
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// countUsers is a group's users: its members only when its non-members
// are shared with the other group.
func countUsers(l metrics.Labelled, membersOnly bool) int64 {
	if !membersOnly {
		return int64(len(l.Users))
	}
	n := int64(0)
	for _, m := range l.Member {
		if m {
			n++
		}
	}
	return n
}

// comparePoints orders experiment ids by their points' values, numbers as
// numbers (canary.tokens=4 before canary.tokens=16), the rest as text.
func comparePoints(a, b string) int {
	pa, pb := strings.Split(a[strings.Index(a, "/")+1:], ","), strings.Split(b[strings.Index(b, "/")+1:], ",")
	for i := range min(len(pa), len(pb)) {
		ka, va, _ := strings.Cut(pa[i], "=")
		kb, vb, _ := strings.Cut(pb[i], "=")
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		fa, errA := strconv.ParseFloat(va, 64)
		fb, errB := strconv.ParseFloat(vb, 64)
		if c := cmp.Compare(fa, fb); errA == nil && errB == nil && c != 0 {
			return c
		}
		if c := strings.Compare(va, vb); c != 0 {
			return c
		}
	}
	return cmp.Or(cmp.Compare(len(pa), len(pb)), strings.Compare(a, b))
}

package experiment

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/privlm/privlm/framework/metrics"
)

// LiftRow tests the finding "canary users are more exposed than the other
// users" at one experiment (a sweep point, canary.tokens=10 say): the
// attack's AUROC over the canary users against its AUROC over the other
// users of the same models, by DeLong's test for two independent groups
// pooled over seeds (metrics.CompareAUROCUnpaired). Its variance is over
// users given each seed's model.
type LiftRow struct {
	ExperimentID string `parquet:"experiment_id" json:"experiment_id"`
	Attack       string `parquet:"attack" json:"attack"`
	// AUROCOther and AUROCCanary are the groups' AUROCs (means over
	// seeds), Lift the canaries' minus the others' with its 95% interval,
	// P the one-sided p-value of "canaries no more exposed".
	AUROCOther  float64 `parquet:"auroc_other" json:"auroc_other"`
	AUROCCanary float64 `parquet:"auroc_canary" json:"auroc_canary"`
	Lift        float64 `parquet:"lift" json:"lift"`
	LiftLo      float64 `parquet:"lift_lo" json:"lift_lo"`
	LiftHi      float64 `parquet:"lift_hi" json:"lift_hi"`
	P           float64 `parquet:"p" json:"p"`
	NSeeds      int64   `parquet:"n_seeds" json:"n_seeds"`
	// NCanary and NOther are the fewest users of each group in any seed.
	NCanary int64 `parquet:"n_canary" json:"n_canary"`
	NOther  int64 `parquet:"n_other" json:"n_other"`
	// SeedLifts are the seeds' own lifts, for whether they agree.
	SeedLifts string `parquet:"seed_lifts" json:"seed_lifts"`
	// Paper is the paper's finding in words with its numbers ("" when it
	// has none for this setting); Reproduces yes (P at most
	// metrics.ChanceLevel), no or not comparable, and Why the reason.
	Paper      string `parquet:"paper" json:"paper"`
	Reproduces string `parquet:"reproduces" json:"reproduces"`
	Why        string `parquet:"why" json:"why"`
}

// CanaryLift builds the LiftRow of attack for every experiment in scores
// (a run's or a sweep's; each seed's canary and other users compared
// within the seed), in the order of the sweep's values (comparePoints). paper gives the paper's finding
// for an experiment id ("" when the paper has none for it; nil: none).
func CanaryLift(scores []ScoreRow, attack string, paper func(experimentID string) string) ([]LiftRow, error) {
	type cell struct {
		exp  string
		seed int64
	}
	canary, other := map[cell]*metrics.Labelled{}, map[cell]*metrics.Labelled{}
	var exps []string
	for _, s := range scores {
		if s.Attack != attack {
			continue
		}
		c := cell{s.ExperimentID, s.Seed}
		groups := other
		if s.Canary {
			groups = canary
		}
		l, ok := groups[c]
		if !ok {
			l = &metrics.Labelled{}
			groups[c] = l
		}
		l.Users, l.Scores, l.Member = append(l.Users, s.UserID), append(l.Scores, s.Score), append(l.Member, s.Member)
		if !slices.Contains(exps, s.ExperimentID) {
			exps = append(exps, s.ExperimentID)
		}
	}
	if len(exps) == 0 {
		return nil, fmt.Errorf("experiment: canary lift: no scores of attack %q", attack)
	}
	slices.SortFunc(exps, comparePoints)
	var rows []LiftRow
	for _, exp := range exps {
		var seeds []int64
		for c := range canary {
			if c.exp == exp && other[c] != nil {
				seeds = append(seeds, c.seed)
			}
		}
		if len(seeds) == 0 {
			return nil, fmt.Errorf("experiment: canary lift of %s in %s: no seed has both canary and other users", attack, exp)
		}
		slices.Sort(seeds)
		var a, b []metrics.Labelled
		row := LiftRow{ExperimentID: exp, Attack: attack, NSeeds: int64(len(seeds))}
		for i, seed := range seeds {
			c := cell{exp, seed}
			a, b = append(a, *other[c]), append(b, *canary[c])
			nc, no := int64(len(canary[c].Users)), int64(len(other[c].Users))
			if i == 0 || nc < row.NCanary {
				row.NCanary = nc
			}
			if i == 0 || no < row.NOther {
				row.NOther = no
			}
		}
		d, err := metrics.CompareAUROCUnpaired(a, b)
		if err != nil {
			return nil, fmt.Errorf("experiment: canary lift of %s in %s: %w", attack, exp, err)
		}
		row.AUROCOther, row.AUROCCanary, row.Lift, row.LiftLo, row.LiftHi, row.P = d.AUROCA, d.AUROCB, d.Delta, d.Lo, d.Hi, d.P
		var per []string
		for i, seed := range seeds {
			per = append(per, fmt.Sprintf("seed %d %+.3f", seed, d.RunDeltas[i]))
		}
		row.SeedLifts = strings.Join(per, ", ")
		if paper != nil {
			row.Paper = paper(exp)
		}
		ours := fmt.Sprintf("ours %.3f over canary users against %.3f over the others, lift %+.3f [%+.3f, %+.3f] (%s), DeLong p = %.4f (one-sided, two independent groups, level %.3f; variance over users given each seed's model) over %d seeds, at least %d canary and %d other users each",
			d.AUROCB, d.AUROCA, d.Delta, d.Lo, d.Hi, row.SeedLifts, d.P, metrics.ChanceLevel, len(seeds), row.NCanary, row.NOther)
		switch {
		case row.Paper == "":
			row.Reproduces, row.Why = NotComparable, "the paper has no number for this setting; "+ours
		case d.P <= metrics.ChanceLevel:
			row.Reproduces, row.Why = Reproduced, "canaries more exposed, as in the paper: "+ours
		case d.Hi < 0:
			row.Reproduces, row.Why = NotReproduced, "canaries less exposed, against the paper: "+ours
		default:
			row.Reproduces, row.Why = NotReproduced, "not shown: no significant lift (inconclusive, not a contradiction): "+ours
		}
		rows = append(rows, row)
	}
	return rows, nil
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

package experiment

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/metrics"
)

// GrowthRow tests the finding "AUROC grows with <key>" on a sweep over
// key: the attack's headline (non-canary) AUROC at the sweep's largest
// value of key against its smallest, on the same users and models, by
// DeLong's paired test pooled over seeds (metrics.CompareAUROC).
type GrowthRow struct {
	Attack string  `parquet:"attack" json:"attack"`
	Key    string  `parquet:"key" json:"key"`
	From   float64 `parquet:"from" json:"from"`
	To     float64 `parquet:"to" json:"to"`
	// AUROCFrom and AUROCTo are the AUROCs at From and To (means over
	// seeds); Delta their difference with its 95% interval and P the
	// one-sided p-value of "no growth".
	AUROCFrom float64 `parquet:"auroc_from" json:"auroc_from"`
	AUROCTo   float64 `parquet:"auroc_to" json:"auroc_to"`
	Delta     float64 `parquet:"delta" json:"delta"`
	DeltaLo   float64 `parquet:"delta_lo" json:"delta_lo"`
	DeltaHi   float64 `parquet:"delta_hi" json:"delta_hi"`
	P         float64 `parquet:"p" json:"p"`
	NSeeds    int64   `parquet:"n_seeds" json:"n_seeds"`
	// NUsers is the fewest users any seed compares.
	NUsers int64 `parquet:"n_users" json:"n_users"`
	// Paper is the paper's finding in words with its numbers (empty: not in
	// the paper); Reproduces yes (P at most metrics.ChanceLevel), no or
	// not comparable, and Why the reason.
	Paper      string `parquet:"paper" json:"paper"`
	Reproduces string `parquet:"reproduces" json:"reproduces"`
	Why        string `parquet:"why" json:"why"`
}

// SweepScores reads the per-user scores a sweep collected
// (dir/sweep_scores.parquet, see CollectSweep).
func SweepScores(dir string) ([]ScoreRow, error) {
	return data.ReadParquet[ScoreRow](filepath.Join(dir, "sweep_scores.parquet"))
}

// Growth builds the GrowthRow of attack over a sweep's scores (SweepScores;
// each row's experiment id names its point, see PointValue). paper is the
// paper's finding in words, or "" when the paper does not test it.
func Growth(scores []ScoreRow, attack, key, paper string) (GrowthRow, error) {
	type cell struct {
		value float64
		seed  int64
	}
	runs := map[cell]*metrics.Labelled{}
	var values []float64
	for _, s := range scores {
		if s.Attack != attack || !inGroup(s, GroupNonCanary) {
			continue
		}
		v := PointValue(s.ExperimentID, key)
		if v != v { // NaN: not a point of a sweep over key
			return GrowthRow{}, fmt.Errorf("experiment: growth over %s: score row of %q (user %s) has no numeric %s", key, s.ExperimentID, s.UserID, key)
		}
		c := cell{v, s.Seed}
		r, ok := runs[c]
		if !ok {
			r = &metrics.Labelled{}
			runs[c] = r
			if !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		r.Users, r.Scores, r.Member = append(r.Users, s.UserID), append(r.Scores, s.Score), append(r.Member, s.Member)
	}
	if len(values) < 2 {
		return GrowthRow{}, fmt.Errorf("experiment: growth over %s needs scores of %s at two values or more, got %d", key, attack, len(values))
	}
	from, to := slices.Min(values), slices.Max(values)
	var seeds []int64
	for c := range runs {
		if c.value == from {
			if _, ok := runs[cell{to, c.seed}]; ok {
				seeds = append(seeds, c.seed)
			}
		}
	}
	slices.Sort(seeds)
	if len(seeds) == 0 {
		return GrowthRow{}, fmt.Errorf("experiment: growth over %s: no seed has scores at both %g and %g", key, from, to)
	}
	var a, b []metrics.Labelled
	row := GrowthRow{Attack: attack, Key: key, From: from, To: to, NSeeds: int64(len(seeds)), Paper: paper}
	for i, s := range seeds {
		a, b = append(a, *runs[cell{from, s}]), append(b, *runs[cell{to, s}])
		if n := int64(len(a[i].Users)); i == 0 || n < row.NUsers {
			row.NUsers = n
		}
	}
	d, err := metrics.CompareAUROC(a, b)
	if err != nil {
		return GrowthRow{}, fmt.Errorf("experiment: growth of %s over %s (%g to %g): %w", attack, key, from, to, err)
	}
	row.AUROCFrom, row.AUROCTo, row.Delta, row.DeltaLo, row.DeltaHi, row.P = d.AUROCA, d.AUROCB, d.Delta, d.Lo, d.Hi, d.P
	ours := fmt.Sprintf("ours %.3f at %s=%g to %.3f at %g, difference %+.3f [%+.3f, %+.3f], DeLong paired p = %.4f (one-sided, level %.3f) over %d seeds, at least %d users each",
		d.AUROCA, key, from, d.AUROCB, to, d.Delta, d.Lo, d.Hi, d.P, metrics.ChanceLevel, len(seeds), row.NUsers)
	switch {
	case paper == "":
		row.Reproduces, row.Why = NotComparable, "the paper does not test this on this dataset; "+ours
	case d.P <= metrics.ChanceLevel:
		row.Reproduces, row.Why = Reproduced, "grows, as in the paper: "+ours
	case d.Hi < 0:
		row.Reproduces, row.Why = NotReproduced, "falls, against the paper: "+ours
	default:
		row.Reproduces, row.Why = NotReproduced, "not shown: no significant growth (inconclusive, not a contradiction): "+ours
	}
	return row, nil
}

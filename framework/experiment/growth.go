package experiment

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/metrics"
)

// GrowthRow tests the finding "AUROC grows with <key>" (or falls) on a
// sweep over key alone: the attack's AUROC at the sweep's largest value of
// key against its smallest, on the users scored at both, by DeLong's paired
// test pooled over seeds (metrics.CompareAUROC). Its variance is over users
// given each seed's trained models (which samples each user has included),
// not over training runs: for an attack.* key the models are the same at
// both points and the test asks whether the larger value beats the smaller
// on them; for any other key each point is its own fine-tuning, and a
// verdict also needs every seed's difference in the expected direction.
type GrowthRow struct {
	Attack string `parquet:"attack" json:"attack"`
	Key    string `parquet:"key" json:"key"`
	// Group is the users compared (GroupNonCanary, or GroupCanary for the
	// canary users) and Expect the finding's direction: "grows" or
	// "falls" as Key grows.
	Group  string  `parquet:"group" json:"group"`
	Expect string  `parquet:"expect" json:"expect"`
	From   float64 `parquet:"from" json:"from"`
	To     float64 `parquet:"to" json:"to"`
	// AUROCFrom and AUROCTo are the AUROCs at From and To (means over
	// seeds); Delta their difference (To's minus From's) with its 95%
	// interval and P the one-sided p-value of "no change in the expected
	// direction".
	AUROCFrom float64 `parquet:"auroc_from" json:"auroc_from"`
	AUROCTo   float64 `parquet:"auroc_to" json:"auroc_to"`
	Delta     float64 `parquet:"delta" json:"delta"`
	DeltaLo   float64 `parquet:"delta_lo" json:"delta_lo"`
	DeltaHi   float64 `parquet:"delta_hi" json:"delta_hi"`
	P         float64 `parquet:"p" json:"p"`
	NSeeds    int64   `parquet:"n_seeds" json:"n_seeds"`
	// NUsers is the fewest users any seed compares; NLeftOut the users,
	// summed over seeds, scored at one of the two values only (at a large
	// attack.samples, users the overlap drop left short; attack.min_samples
	// avoids that) and so left out of the comparison.
	NUsers   int64 `parquet:"n_users" json:"n_users"`
	NLeftOut int64 `parquet:"n_left_out" json:"n_left_out"`
	// SeedDeltas are the seeds' own differences, for whether they agree.
	SeedDeltas string `parquet:"seed_deltas" json:"seed_deltas"`
	// Paper is the paper's finding in words with its numbers (empty: not in
	// the paper); Reproduces yes (P at most metrics.ChanceLevel), no or
	// not comparable, and Why the reason.
	Paper      string `parquet:"paper" json:"paper"`
	Reproduces string `parquet:"reproduces" json:"reproduces"`
	Why        string `parquet:"why" json:"why"`
}

// common keeps the users a and b both scored, and counts the others.
func common(a, b metrics.Labelled) (metrics.Labelled, metrics.Labelled, int) {
	keep := func(l, other metrics.Labelled) (out metrics.Labelled) {
		in := make(map[string]bool, len(other.Users))
		for _, u := range other.Users {
			in[u] = true
		}
		for i, u := range l.Users {
			if in[u] {
				out.Users, out.Scores, out.Member = append(out.Users, u), append(out.Scores, l.Scores[i]), append(out.Member, l.Member[i])
			}
		}
		return out
	}
	ka, kb := keep(a, b), keep(b, a)
	return ka, kb, len(a.Users) - len(ka.Users) + len(b.Users) - len(kb.Users)
}

// SweepScores reads the per-user scores a sweep collected
// (dir/sweep_scores.parquet, see CollectSweep).
func SweepScores(dir string) ([]ScoreRow, error) {
	return data.ReadParquet[ScoreRow](filepath.Join(dir, "sweep_scores.parquet"))
}

// Growth builds the GrowthRow of attack over a sweep's scores (SweepScores;
// each row's experiment id names its point, see PointValue) for the finding
// "the headline AUROC grows with key". paper is the paper's finding in
// words, or "" when the paper does not test it.
func Growth(scores []ScoreRow, attack, key, paper string) (GrowthRow, error) {
	return Trend{Attack: attack, Key: key, Paper: paper}.Test(scores)
}

// Trend is a finding about how an attack's AUROC moves over a sweep over
// Key alone: that it grows (or, with Falls, falls) from the sweep's
// smallest value of Key to its largest.
type Trend struct {
	Attack string
	Key    string
	// Group is the users compared: "" or GroupNonCanary (the headline), or
	// GroupCanary (canary users, say over canary.tokens).
	Group string
	// Falls makes the finding "AUROC falls as Key grows" (for a key that
	// takes data away, such as split.attacker_fraction).
	Falls bool
	// Paper is the paper's finding in words with its numbers, "" when the
	// paper does not test it.
	Paper string
}

// Test builds the finding's GrowthRow from a sweep's scores: the AUROCs at
// Key's smallest and largest values over the group's users scored at both,
// compared by DeLong's paired test pooled over seeds, one-sided in the
// expected direction.
func (t Trend) Test(scores []ScoreRow) (GrowthRow, error) {
	attack, key, paper := t.Attack, t.Key, t.Paper
	group := t.Group
	if group == "" {
		group = GroupNonCanary
	}
	if group != GroupNonCanary && group != GroupCanary {
		return GrowthRow{}, fmt.Errorf("experiment: trend over %s: group %q, want %s or %s", key, group, GroupNonCanary, GroupCanary)
	}
	expect, against := "grows", "falls"
	if t.Falls {
		expect, against = against, expect
	}
	type cell struct {
		value float64
		seed  int64
	}
	runs := map[cell]*metrics.Labelled{}
	var values []float64
	for _, s := range scores {
		if s.Attack != attack || !inGroup(s, group) {
			continue
		}
		v := PointValue(s.ExperimentID, key)
		if v != v { // NaN: not a point of a sweep over key
			return GrowthRow{}, fmt.Errorf("experiment: growth over %s: score row of %q (user %s) has no numeric %s", key, s.ExperimentID, s.UserID, key)
		}
		if _, point, _ := strings.Cut(s.ExperimentID, "/"); strings.Contains(point, ",") {
			return GrowthRow{}, fmt.Errorf("experiment: growth over %s needs a sweep over %s alone, got point %q", key, key, point)
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
	row := GrowthRow{Attack: attack, Key: key, Group: group, Expect: expect, From: from, To: to, NSeeds: int64(len(seeds)), Paper: paper}
	for i, s := range seeds {
		ra, rb, left := common(*runs[cell{from, s}], *runs[cell{to, s}])
		a, b = append(a, ra), append(b, rb)
		row.NLeftOut += int64(left)
		if n := int64(len(ra.Users)); i == 0 || n < row.NUsers {
			row.NUsers = n
		}
	}
	if group == GroupCanary && row.NLeftOut > 0 {
		return GrowthRow{}, fmt.Errorf("experiment: canary users' AUROC over %s: %d canary users are scored at one value only (the canary users must be the same at every point)", key, row.NLeftOut)
	}
	var d metrics.Diff
	var err error
	if t.Falls {
		// One-sided the other way: From's AUROC above To's, turned back
		// into To's minus From's.
		d, err = metrics.CompareAUROC(b, a)
		d.AUROCA, d.AUROCB, d.Delta, d.Lo, d.Hi = d.AUROCB, d.AUROCA, -d.Delta, -d.Hi, -d.Lo
		for i := range d.RunDeltas {
			d.RunDeltas[i] = -d.RunDeltas[i]
		}
	} else {
		d, err = metrics.CompareAUROC(a, b)
	}
	if err != nil {
		return GrowthRow{}, fmt.Errorf("experiment: AUROC of %s over %s (%g to %g): %w", attack, key, from, to, err)
	}
	row.AUROCFrom, row.AUROCTo, row.Delta, row.DeltaLo, row.DeltaHi, row.P = d.AUROCA, d.AUROCB, d.Delta, d.Lo, d.Hi, d.P
	var per []string
	for i, s := range seeds {
		per = append(per, fmt.Sprintf("seed %d %+.3f", s, d.RunDeltas[i]))
	}
	row.SeedDeltas = strings.Join(per, ", ")
	ours := fmt.Sprintf("ours %.3f at %s=%g to %.3f at %g, difference %+.3f [%+.3f, %+.3f] (%s), DeLong paired p = %.4f (one-sided: %s; level %.3f; variance over users given each seed's model) over %d seeds, at least %d %s users each, %d scored at one value only and left out",
		d.AUROCA, key, from, d.AUROCB, to, d.Delta, d.Lo, d.Hi, row.SeedDeltas, d.P, expect, metrics.ChanceLevel, len(seeds), row.NUsers, group, row.NLeftOut)
	wrongWay := d.Hi < 0
	if t.Falls {
		wrongWay = d.Lo > 0
	}
	// A key outside attack.* trains a model per point: the test's variance
	// (users given the models) leaves out retraining noise, so a verdict
	// also needs every seed's difference in the expected direction.
	agree := true
	if !strings.HasPrefix(key, "attack.") {
		for _, x := range d.RunDeltas {
			agree = agree && (x > 0) != t.Falls && x != 0
		}
		ours += "; the two points are different fine-tunings, whose retraining noise the variance leaves out, so yes also needs every seed's difference in the expected direction"
	}
	switch {
	case paper == "":
		row.Reproduces, row.Why = NotComparable, "the paper does not test this on this dataset; "+ours
	case d.P <= metrics.ChanceLevel && !agree:
		row.Reproduces, row.Why = NotReproduced, "not shown: significant over users, but the seeds disagree in direction: "+ours
	case d.P <= metrics.ChanceLevel:
		row.Reproduces, row.Why = Reproduced, expect+", as in the paper: "+ours
	case wrongWay:
		row.Reproduces, row.Why = NotReproduced, against+", against the paper: "+ours
	default:
		row.Reproduces, row.Why = NotReproduced, "not shown: no significant change in the paper's direction (inconclusive, not a contradiction): "+ours
	}
	return row, nil
}

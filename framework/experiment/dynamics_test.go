package experiment

import (
	"math"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/metrics"
)

func TestLossGap(t *testing.T) {
	scores := []ScoreRow{
		{Attack: "loss", Member: true, Score: -2.0}, {Attack: "loss", Member: true, Score: -2.2},
		{Attack: "loss", Member: false, Score: -2.5}, {Attack: "loss", Member: false, Score: -2.7},
		{Attack: "loss", Member: true, Canary: true, Score: 0}, // canaries left out
		{Attack: "user-inference", Member: true, Score: 9},
	}
	// Held-out loss 2.6 minus held-in loss 2.1.
	if g := lossGap(scores); g == nil || math.Abs(*g-0.5) > 1e-12 {
		t.Errorf("gap %v, want 0.5", g)
	}
	if g := lossGap(scores[4:]); g != nil {
		t.Errorf("without non-canary loss scores: %v, want nil", *g)
	}
}

// dynRows is a seed's checkpoints at steps 10..100: AUROC and gap from the
// given series.
func dynRows(seed int64, aurocs, gaps []float64, lastP float64) []DynamicsRow {
	var rows []DynamicsRow
	for i := range aurocs {
		g := gaps[i]
		r := DynamicsRow{Seed: seed, Attack: "user-inference", Step: int64(10 * (i + 1)), AUROC: aurocs[i], LossGap: &g}
		if i == len(aurocs)-1 {
			r.ChanceP = &lastP
		}
		rows = append(rows, r, DynamicsRow{Seed: seed, Attack: "loss", Step: r.Step, AUROC: 0.5, LossGap: &g})
	}
	return rows
}

func TestDynamicsFindings(t *testing.T) {
	rising := []float64{0.55, 0.65, 0.69, 0.695, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70}
	onceEarly := []float64{0.55, 0.70, 0.60, 0.62, 0.64, 0.66, 0.68, 0.69, 0.70, 0.70}
	falling := []float64{0.10, 0.09, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02, 0.01}
	loose := []float64{0.01, 0.05, 0.02, 0.04, 0.03, 0.07, 0.06, 0.09, 0.05, 0.08}
	gaps := []float64{0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10}
	late := []float64{0.50, 0.50, 0.51, 0.50, 0.52, 0.53, 0.55, 0.60, 0.65, 0.70}
	shuffled := []float64{0.05, 0.02, 0.09, 0.01, 0.10, 0.03, 0.07, 0.04, 0.08, 0.06}
	for _, tc := range []struct {
		name               string
		rows               []DynamicsRow
		comparable         bool
		gapVerdict, gapWhy string
		earlyVerdict       string
		earlyWhy           string
		early              float64
	}{
		{"as in the paper", append(dynRows(1, late, gaps, 0.001), dynRows(2, late, gaps, 0.001)...), true,
			Reproduced, "tracks AUROC", NotReproduced, "second half", 1},
		{"early", append(dynRows(1, rising, gaps, 0.001), dynRows(2, rising, gaps, 0.001)...), true,
			NotReproduced, "rise together, but a correlation", Reproduced, "first half", 0.3},
		{"crossing once early is not early", append(dynRows(1, onceEarly, gaps, 0.001), dynRows(2, onceEarly, gaps, 0.001)...), true,
			NotReproduced, "rise together, but a correlation", NotReproduced, "second half", 0.8},
		{"gap falls as AUROC rises", append(dynRows(1, late, falling, 0.001), dynRows(2, late, falling, 0.001)...), true,
			NotReproduced, "move apart", NotReproduced, "second half", 1},
		{"gap loosely related", append(dynRows(1, late, loose, 0.001), dynRows(2, late, loose, 0.001)...), true,
			NotReproduced, "rise together, but a correlation", NotReproduced, "second half", 1},
		{"gap unrelated, last checkpoint at chance", append(dynRows(1, rising, shuffled, 0.2), dynRows(2, rising, shuffled, 0.001)...), true,
			NotReproduced, "not shown", NotReproduced, "not above chance", 0.3},
		{"not in the paper", append(dynRows(1, rising, gaps, 0.001), dynRows(2, rising, gaps, 0.001)...), false,
			NotComparable, "does not report", NotComparable, "does not report", 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DynamicsFindings(tc.rows, "user-inference", tc.comparable, 1)
			if err != nil {
				t.Fatal(err)
			}
			gap, early := got[0], got[1]
			if gap.Finding != FindingGapTracksAUROC || gap.Reproduces != tc.gapVerdict || !strings.Contains(gap.Why, tc.gapWhy) {
				t.Errorf("gap: %q, %q", gap.Reproduces, gap.Why)
			}
			if early.Finding != FindingEarlyAUROC || early.Reproduces != tc.earlyVerdict || !strings.Contains(early.Why, tc.earlyWhy) || math.Abs(early.Ours-tc.early) > 1e-12 {
				t.Errorf("early: %q %v, %q", early.Reproduces, early.Ours, early.Why)
			}
			// The statistic is the seeds' mean Spearman correlation.
			var want float64
			for _, s := range []int64{1, 2} {
				var g, a []float64
				for _, r := range tc.rows {
					if r.Seed == s && r.Attack == "user-inference" {
						g, a = append(g, *r.LossGap), append(a, r.AUROC)
					}
				}
				rho, _ := metrics.Spearman(g, a)
				want += rho / 2
			}
			if math.Abs(gap.Ours-want) > 1e-12 || gap.NSeeds != 2 || gap.NCheckpoints != 10 {
				t.Errorf("gap statistic %v over %d seeds and %d checkpoints, want %v over 2 and 10", gap.Ours, gap.NSeeds, gap.NCheckpoints, want)
			}
		})
	}
	noGap := dynRows(1, rising, gaps, 0.001)
	noGap[4].LossGap = nil
	if _, err := DynamicsFindings(noGap, "user-inference", true, 1); err == nil || !strings.Contains(err.Error(), "no loss gap") {
		t.Errorf("a checkpoint without the gap: %v", err)
	}
	if _, err := DynamicsFindings(noGap, "min-k", true, 1); err == nil || !strings.Contains(err.Error(), `attack "min-k"`) {
		t.Errorf("unknown attack: %v", err)
	}
	two := dynRows(1, rising, gaps, 0.001)
	two[0].ExperimentID = "other"
	if _, err := DynamicsFindings(two, "user-inference", true, 1); err == nil || !strings.Contains(err.Error(), "one experiment's rows") {
		t.Errorf("two experiments' rows: %v", err)
	}
}

package experiment

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/privlm/privlm/framework/metrics"
	"gonum.org/v1/gonum/stat"
)

// lossGap is the held-in/held-out loss gap of one checkpoint's scores:
// the loss attack's user scores are mean log-probabilities per token of
// each user's attacker samples (never trained on), so the mean over
// held-in (member) users minus the mean over held-out users is the
// held-out loss minus the held-in loss. Non-canary users only; nil
// without the loss attack or without both kinds of users.
func lossGap(scores []ScoreRow) *float64 {
	var in, out []float64
	for _, s := range scores {
		if s.Attack != "loss" || s.Canary {
			continue
		}
		if s.Member {
			in = append(in, s.Score)
		} else {
			out = append(out, s.Score)
		}
	}
	if len(in) == 0 || len(out) == 0 {
		return nil
	}
	g := stat.Mean(in, nil) - stat.Mean(out, nil)
	return &g
}

// DynamicsFinding is one of the paper's findings about training dynamics
// (../shared/PAPERS.md §1 Results, "Training dynamics"), tested on an
// attack's rows of dynamics.parquet.
type DynamicsFinding struct {
	Finding string `parquet:"finding" json:"finding"`
	Attack  string `parquet:"attack" json:"attack"`
	// Ours is the finding's statistic, the mean over seeds (SeedValues
	// gives each seed's); Paper and PaperValue the paper's.
	Ours       float64  `parquet:"ours" json:"ours"`
	SeedValues string   `parquet:"seed_values" json:"seed_values"`
	P          *float64 `parquet:"p,optional" json:"p"`
	PaperValue float64  `parquet:"paper_value" json:"paper_value"`
	Paper      string   `parquet:"paper" json:"paper"`
	NSeeds     int64    `parquet:"n_seeds" json:"n_seeds"`
	// NCheckpoints is the fewest checkpoints of any seed.
	NCheckpoints int64  `parquet:"n_checkpoints" json:"n_checkpoints"`
	Reproduces   string `parquet:"reproduces" json:"reproduces"`
	Why          string `parquet:"why" json:"why"`
}

// GapTracksRho is the Spearman correlation of loss gap and AUROC at or
// above which (with a significant permutation test) the gap is said to
// track AUROC: the paper's is 0.994; two quantities that merely both rise
// over training pass the permutation test at much lower values.
const GapTracksRho = 0.9

// Dynamics findings' names.
const (
	FindingGapTracksAUROC = "held-in/held-out loss gap tracks AUROC"
	FindingEarlyAUROC     = "most of the final AUROC is reached early"
)

// DynamicsFindings tests two findings on attack's dynamics rows (every
// checkpoint of every seed, with the loss gap: the loss attack must have
// run), comparable is false when the paper did not run this dataset:
//
//   - the held-in/held-out loss gap tracks AUROC: the Spearman correlation
//     of the gap and the AUROC over checkpoints, mean over seeds, with a
//     one-sided permutation p-value (metrics.SpearmanP); reproduces when
//     p <= metrics.ChanceLevel and the correlation is at least
//     GapTracksRho (the paper: Spearman >= 0.994);
//   - most of the final AUROC is reached early: the fraction of training
//     (step over the last checkpoint's step) from which every checkpoint
//     keeps 95% of the last checkpoint's excess AUROC over 0.5 (stricter
//     than the paper's 95% of the AUROC, which at AUROCs near 0.6 asks for
//     70-80% of the excess, and held, so that a noisy checkpoint crossing
//     once does not count); reproduces when it is at most half of
//     training in every seed and the last checkpoint is above chance
//     (chance_p <= metrics.ChanceLevel in every seed). The paper's measure
//     (first checkpoint at 95% of the last AUROC; 5% of training on CC
//     News, 18% on Reddit) is in Why.
//
// The rows must be one experiment's (dynamics.parquet of one run).
func DynamicsFindings(rows []DynamicsRow, attack string, comparable bool, seed uint64) ([]DynamicsFinding, error) {
	bySeed := map[int64][]DynamicsRow{}
	exp := ""
	for _, r := range rows {
		if r.Attack != attack {
			continue
		}
		if exp == "" {
			exp = r.ExperimentID
		} else if r.ExperimentID != exp {
			return nil, fmt.Errorf("experiment: dynamics findings: rows of experiments %q and %q: give one experiment's rows", exp, r.ExperimentID)
		}
		bySeed[r.Seed] = append(bySeed[r.Seed], r)
	}
	if len(bySeed) == 0 {
		return nil, fmt.Errorf("experiment: dynamics findings: no rows of attack %q", attack)
	}
	var seeds []int64
	for s := range bySeed {
		seeds = append(seeds, s)
	}
	slices.Sort(seeds)
	gap := DynamicsFinding{Finding: FindingGapTracksAUROC, Attack: attack, NSeeds: int64(len(seeds)), PaperValue: 0.994,
		Paper: "Spearman correlation of the held-in/held-out validation-loss gap and AUROC over training >= 0.994 (CC News, Reddit)"}
	early := DynamicsFinding{Finding: FindingEarlyAUROC, Attack: attack, NSeeds: int64(len(seeds)), PaperValue: 0.18,
		Paper: "95% of the final AUROC is reached at 5% of training (CC News) and 18% (Reddit): early stopping does not help (ours: the fraction of training from which 95% of the final excess over 0.5 is held)"}
	var xs, ys [][]float64
	var rhos, fracs, excess []string
	allEarly, allAbove := true, true
	excessSum := 0.0
	for i, s := range seeds {
		rs := bySeed[s]
		slices.SortFunc(rs, func(a, b DynamicsRow) int { return int(a.Step - b.Step) })
		if n := int64(len(rs)); i == 0 || n < gap.NCheckpoints {
			gap.NCheckpoints, early.NCheckpoints = n, n
		}
		var g, a []float64
		for _, r := range rs {
			if r.LossGap == nil {
				return nil, fmt.Errorf("experiment: dynamics findings: seed %d, step %d has no loss gap (run the loss attack)", s, r.Step)
			}
			g, a = append(g, *r.LossGap), append(a, r.AUROC)
		}
		xs, ys = append(xs, g), append(ys, a)
		rho, err := metrics.Spearman(g, a)
		if err != nil {
			return nil, fmt.Errorf("experiment: dynamics findings, seed %d: %w", s, err)
		}
		rhos = append(rhos, fmt.Sprintf("seed %d %.3f", s, rho))
		last := rs[len(rs)-1]
		if last.Step <= 0 {
			return nil, fmt.Errorf("experiment: dynamics findings: seed %d's last checkpoint is at step %d", s, last.Step)
		}
		// first: the first checkpoint at or above target (the paper's
		// measure); held: the first from which every later one is (noise
		// crossing the target once does not count).
		first := func(target float64) float64 {
			for _, r := range rs {
				if r.AUROC >= target {
					return float64(r.Step) / float64(last.Step)
				}
			}
			return 1
		}
		held := func(target float64) float64 {
			at := last.Step
			for i := len(rs) - 1; i >= 0 && rs[i].AUROC >= target; i-- {
				at = rs[i].Step
			}
			return float64(at) / float64(last.Step)
		}
		f, fx := first(0.95*last.AUROC), held(0.5+0.95*(last.AUROC-0.5))
		early.Ours += fx / float64(len(seeds))
		excessSum += f / float64(len(seeds))
		fracs = append(fracs, fmt.Sprintf("seed %d %.2f", s, fx))
		excess = append(excess, fmt.Sprintf("seed %d %.2f", s, f))
		allEarly = allEarly && fx <= 0.5
		allAbove = allAbove && last.ChanceP != nil && *last.ChanceP <= metrics.ChanceLevel
	}
	rho, p, err := metrics.SpearmanP(xs, ys, metrics.Permutations, seed)
	if err != nil {
		return nil, fmt.Errorf("experiment: dynamics findings: %w", err)
	}
	gap.Ours, gap.P, gap.SeedValues = rho, &p, strings.Join(rhos, ", ")
	early.SeedValues = strings.Join(fracs, ", ")
	gapOurs := fmt.Sprintf("ours: Spearman %.3f (%s) over at least %d checkpoints, permutation p = %.4f (one-sided, level %.3f; checkpoints treated as exchangeable, so two quantities that both trend over training correlate whatever drives them)",
		rho, gap.SeedValues, gap.NCheckpoints, p, metrics.ChanceLevel)
	earlyOurs := fmt.Sprintf("ours: 95%% of the last checkpoint's excess AUROC over 0.5 reached and held from %.2f of training on (%s); the paper's measure, 95%% of the last AUROC first reached, at %.2f (%s)",
		early.Ours, early.SeedValues, excessSum, strings.Join(excess, ", "))
	switch {
	case !comparable:
		gap.Reproduces, gap.Why = NotComparable, "the paper does not report this dataset; "+gapOurs
		early.Reproduces, early.Why = NotComparable, "the paper does not report this dataset; "+earlyOurs
		return []DynamicsFinding{gap, early}, nil
	case p <= metrics.ChanceLevel && rho >= GapTracksRho:
		gap.Reproduces, gap.Why = Reproduced, "the gap tracks AUROC, as in the paper; "+gapOurs
	case p <= metrics.ChanceLevel:
		gap.Reproduces, gap.Why = NotReproduced, fmt.Sprintf("not shown: the gap and AUROC rise together, but a correlation of %.3f is far from tracking (yes needs %.1f; the paper: 0.994); ", rho, GapTracksRho)+gapOurs
	case rho < 0:
		gap.Reproduces, gap.Why = NotReproduced, "the gap and AUROC move apart, against the paper; "+gapOurs
	default:
		gap.Reproduces, gap.Why = NotReproduced, "not shown: no significant association; "+gapOurs
	}
	switch {
	case !allAbove:
		early.Reproduces, early.Why = NotReproduced, "not shown: the last checkpoint is not above chance in every seed (chance p > 0.025), so \"95% of the final AUROC\" measures noise; "+earlyOurs
	case allEarly:
		early.Reproduces, early.Why = Reproduced, "early: held from the first half of training in every seed (yes needs that; the paper: 5% of training on CC News, 18% on Reddit); "+earlyOurs
	default:
		early.Reproduces, early.Why = NotReproduced, "late: held only from the second half of training in some seed (the paper: 5% and 18%); "+earlyOurs
	}
	if math.IsNaN(early.Ours) {
		return nil, fmt.Errorf("experiment: dynamics findings: no fraction of training")
	}
	return []DynamicsFinding{gap, early}, nil
}

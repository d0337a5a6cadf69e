package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat"
)

// Spearman is Spearman's rank correlation of xs and ys: the Pearson
// correlation of their mid-ranks (ties share the mean of their ranks, as
// scipy.stats.spearmanr does). It is NaN when either is constant.
func Spearman(xs, ys []float64) (float64, error) {
	if len(xs) != len(ys) || len(xs) < 3 {
		return 0, fmt.Errorf("metrics: Spearman correlation needs two series of the same length, at least 3 (got %d and %d)", len(xs), len(ys))
	}
	return stat.Correlation(midRanks(xs), midRanks(ys), nil), nil
}

// SpearmanP tests whether xs[k] and ys[k] rise together in every run k
// (seeds, say, each a series over checkpoints): the statistic is the mean
// of the runs' Spearman correlations, and the one-sided p-value of "no
// association" redraws the order of every run's ys (permutations times),
// counting the observed order as one draw: (1 + #{mean >= observed}) /
// (1 + permutations). The permutations treat the points of a series as
// exchangeable; two series that both trend over training correlate
// whatever drives them, which the p-value does not rule out.
func SpearmanP(xs, ys [][]float64, permutations int, seed uint64) (rho, p float64, err error) {
	if len(xs) == 0 || len(xs) != len(ys) || permutations < 1 {
		return 0, 0, fmt.Errorf("metrics: Spearman test needs runs of pairs of series (got %d and %d) and permutations (got %d)", len(xs), len(ys), permutations)
	}
	rx, ry := make([][]float64, len(xs)), make([][]float64, len(xs))
	for k := range xs {
		r, err := Spearman(xs[k], ys[k])
		if err != nil {
			return 0, 0, fmt.Errorf("metrics: Spearman test, run %d: %w", k, err)
		}
		if math.IsNaN(r) {
			return 0, 0, fmt.Errorf("metrics: Spearman test, run %d: a constant series has no rank correlation", k)
		}
		rho += r
		rx[k], ry[k] = midRanks(xs[k]), append([]float64(nil), midRanks(ys[k])...)
	}
	rho /= float64(len(xs))
	rng := rand.New(rand.NewPCG(seed, 0x5bea))
	reached := 0
	for range permutations {
		sum := 0.0
		for k := range ry {
			rng.Shuffle(len(ry[k]), func(i, j int) { ry[k][i], ry[k][j] = ry[k][j], ry[k][i] })
			sum += stat.Correlation(rx[k], ry[k], nil)
		}
		if sum/float64(len(ry)) >= rho-1e-12 {
			reached++
		}
	}
	return rho, float64(1+reached) / float64(1+permutations), nil
}

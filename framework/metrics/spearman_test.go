package metrics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestSpearman(t *testing.T) {
	for _, tc := range []struct {
		name   string
		xs, ys []float64
		want   float64
	}{
		// scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) (its documentation's example, with a tie).
		{"scipy's example", []float64{1, 2, 3, 4, 5}, []float64{5, 6, 7, 8, 7}, 0.8207826816681233},
		{"monotone, not linear", []float64{1, 2, 3, 4}, []float64{1, 10, 100, 1000}, 1},
		{"reversed", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
	} {
		got, err := Spearman(tc.xs, tc.ys)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
	// Without ties, the textbook formula 1 - 6 sum d^2 / (n (n^2 - 1)).
	rng := rand.New(rand.NewPCG(2, 3))
	xs, ys := make([]float64, 12), make([]float64, 12)
	for i := range xs {
		xs[i], ys[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	rx, ry := midRanks(xs), midRanks(ys)
	d2 := 0.0
	for i := range rx {
		d2 += (rx[i] - ry[i]) * (rx[i] - ry[i])
	}
	n := float64(len(xs))
	if got, _ := Spearman(xs, ys); math.Abs(got-(1-6*d2/(n*(n*n-1)))) > 1e-12 {
		t.Errorf("random series: %v, textbook formula %v", got, 1-6*d2/(n*(n*n-1)))
	}
	if _, err := Spearman([]float64{1, 2}, []float64{1, 2}); err == nil {
		t.Error("two points: no error")
	}
}

func TestSpearmanP(t *testing.T) {
	// Exact: 5 points, one run, perfectly concordant: only the identity of
	// 120 orders reaches rho = 1, so p is about 1/120.
	x := []float64{1, 2, 3, 4, 5}
	rho, p, err := SpearmanP([][]float64{x}, [][]float64{{2, 4, 6, 8, 10}}, 20000, 1)
	if err != nil || rho != 1 || math.Abs(p-1.0/120) > 0.002 {
		t.Errorf("concordant: rho %v, p %v (%v), want 1 and about %.4f", rho, p, err, 1.0/120)
	}
	// Under the null (independent series) p is about uniform: reject at
	// 0.025 about 2.5% of the time.
	rng := rand.New(rand.NewPCG(4, 5))
	rejected := 0
	const trials = 400
	for range trials {
		var xs, ys [][]float64
		for range 2 {
			a, b := make([]float64, 10), make([]float64, 10)
			for i := range a {
				a[i], b[i] = rng.NormFloat64(), rng.NormFloat64()
			}
			xs, ys = append(xs, a), append(ys, b)
		}
		if _, p, _ := SpearmanP(xs, ys, 499, rng.Uint64()); p <= 0.025 {
			rejected++
		}
	}
	if rate := float64(rejected) / trials; rate > 0.05 {
		t.Errorf("null rejection rate %.3f, want about 0.025", rate)
	}
	if _, _, err := SpearmanP([][]float64{{1, 1, 1}}, [][]float64{{1, 2, 3}}, 10, 1); err == nil || !strings.Contains(err.Error(), "constant") {
		t.Errorf("constant series: %v", err)
	}
}

package privacy

import (
	"fmt"
	"math"
	"testing"
)

// naiveMaxAUROC integrates the trade-off edge min(1, e^eps x + delta,
// 1 - e^-eps (1 - delta - x)) by the midpoint rule.
func naiveMaxAUROC(eps, delta float64) float64 {
	const n = 200000
	e, area := math.Exp(eps), 0.0
	for i := range n {
		x := (float64(i) + 0.5) / n
		area += math.Min(1, math.Min(e*x+delta, 1-(1-delta-x)/e)) / n
	}
	return area
}

func TestMaxAUROC(t *testing.T) {
	for _, tc := range []struct{ eps, delta float64 }{
		{0, 0}, {0, 1e-5}, {0, 0.3}, {0.5, 0}, {2, 0}, {2, 1e-5}, {2, 0.1}, {8, 1e-6}, {32, 1e-5}, {1, 0.9},
	} {
		t.Run(fmt.Sprintf("eps=%g,delta=%g", tc.eps, tc.delta), func(t *testing.T) {
			got, err := MaxAUROC(tc.eps, tc.delta)
			if err != nil {
				t.Fatal(err)
			}
			if want := naiveMaxAUROC(tc.eps, tc.delta); math.Abs(got-want) > 1e-6 {
				t.Errorf("MaxAUROC = %.8f, midpoint integration of the trade-off edge %.8f", got, want)
			}
			if tc.delta == 0 {
				// Pure DP: the area is the logistic function of epsilon.
				if want := 1 / (1 + math.Exp(-tc.eps)); math.Abs(got-want) > 1e-12 {
					t.Errorf("MaxAUROC(%g, 0) = %.12f, want e^eps/(1+e^eps) = %.12f", tc.eps, got, want)
				}
			}
		})
	}
	for _, bad := range [][2]float64{{-1, 0}, {math.NaN(), 0}, {1, -0.1}, {1, 1}} {
		if _, err := MaxAUROC(bad[0], bad[1]); err == nil {
			t.Errorf("MaxAUROC(%v, %v): want an error", bad[0], bad[1])
		}
	}
}

// TestMaxAUROCLargeEpsilon: e^eps overflows from about 709 (group epsilons
// of user-level reports reach thousands); the bound is then 1, not NaN.
func TestMaxAUROCLargeEpsilon(t *testing.T) {
	for _, eps := range []float64{700, 800, 1e4, math.Inf(1)} {
		if got, err := MaxAUROC(eps, 1e-6); err != nil || got != 1 {
			t.Errorf("MaxAUROC(%v, 1e-6) = %v, %v: want 1", eps, got, err)
		}
	}
}

func ExampleMaxAUROC() {
	for _, eps := range []float64{2, 8, 32} {
		a, _ := MaxAUROC(eps, 1e-5)
		fmt.Printf("epsilon %g: AUROC at most %.4f\n", eps, a)
	}
	// Output:
	// epsilon 2: AUROC at most 0.8808
	// epsilon 8: AUROC at most 0.9997
	// epsilon 32: AUROC at most 1.0000
}

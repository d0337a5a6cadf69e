package privacy

import (
	"fmt"
	"math"
)

// MaxAUROC is the largest AUROC any membership test can reach against an
// (epsilon, delta)-DP mechanism: the area under the DP trade-off region's
// upper edge, TPR <= min(1, e^eps FPR + delta, 1 - e^-eps (1 - delta -
// FPR)) (Kairouz, Oh, Viswanath 2015, Theorem 2.1). For user-level DP the
// test is "was this user's data used"; for example-level DP it bounds a
// test about one example (window), not a user. With delta = 0 the area is
// e^eps / (1 + e^eps), the logistic function of epsilon: 0.881 at epsilon
// 2, 0.9997 at 8, so only small epsilons bound an attack's AUROC usefully.
func MaxAUROC(epsilon, delta float64) (float64, error) {
	if !(epsilon >= 0) || math.IsInf(epsilon, 0) || !(delta >= 0 && delta < 1) {
		return 0, fmt.Errorf("privacy: MaxAUROC(epsilon %v, delta %v): want epsilon >= 0 finite and 0 <= delta < 1", epsilon, delta)
	}
	e := math.Exp(epsilon)
	// The edge is piecewise linear: e^eps x + delta from 0 up to where the
	// two lines cross, x0 = (1 - delta)/(e^eps + 1), then 1 - (1 - delta -
	// x)/e^eps up to x1 = 1 - delta, where it reaches 1; each piece is
	// integrated exactly. At epsilon 0 the lines coincide (x0 = x1).
	x0 := (1 - delta) / (e + 1)
	if e == 1 {
		x0 = 1 - delta
	}
	x1 := 1 - delta
	area := e*x0*x0/2 + delta*x0 // first line, 0..x0
	if x1 > x0 {
		// second line, x0..x1: 1 - (1 - delta - x)/e
		f := func(x float64) float64 { return x - (x*(1-delta)-x*x/2)/e }
		area += f(x1) - f(x0)
	}
	area += 1 - x1 // TPR = 1 beyond x1
	return area, nil
}

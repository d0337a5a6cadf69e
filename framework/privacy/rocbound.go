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
	if !(epsilon >= 0) || !(delta >= 0 && delta < 1) {
		return 0, fmt.Errorf("privacy: MaxAUROC(epsilon %v, delta %v): want epsilon >= 0 and 0 <= delta < 1", epsilon, delta)
	}
	// The edge is e^eps x + delta up to where it meets the second line,
	// x0 = (1 - delta)/(e^eps + 1), then 1 - (1 - delta - x)/e^eps up to
	// 1 - delta, then 1; the pieces' exact areas sum to
	// 1 - (1 - delta)^2/(1 + e^eps), which stays finite (1) as e^eps
	// overflows.
	return 1 - (1-delta)*(1-delta)/(1+math.Exp(epsilon)), nil
}

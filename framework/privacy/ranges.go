package privacy

import (
	"fmt"
	"math"
)

// The range where the numerical accountants (pld, gdp, edgeworth) are
// accurate. Outside it they return an error, never Inf, NaN, a saturated
// value or a silently wrong one: with sigma below MinSigma or an epsilon
// near 700, e^epsilon and the per-step privacy loss leave float64's range
// (pld then answered 0 or +Inf, gdp a saturated 709.4, edgeworth hung).
const (
	// MinSigma is the smallest noise multiplier pld, gdp and edgeworth accept.
	MinSigma = 0.3
	// MaxEpsilon is the largest epsilon any accountant reports; pld, gdp and
	// edgeworth also refuse a history whose RDP bound (a closed form, always
	// an upper bound) exceeds it. Guarantees this weak are void anyway.
	MaxEpsilon = 100.0
)

// accurateRange checks a history against the numerical accountants' range
// before any work. rdpDelta > 0 also bounds the RDP epsilon at that delta.
func accurateRange(name string, h History, rdpDelta float64) error {
	for _, m := range h {
		if m.Sigma < MinSigma {
			return fmt.Errorf("privacy: %s: sigma = %v is below %v, outside the range where %s is accurate (use rdp for an upper bound)", name, m.Sigma, MinSigma, name)
		}
	}
	if rdpDelta > 0 {
		bound, _, err := NewRDP(RDPOptions{}).EpsilonAndOrder(h, rdpDelta)
		if err != nil {
			return err
		}
		if bound > MaxEpsilon {
			return fmt.Errorf("privacy: %s: epsilon is about %.4g (RDP bound) at delta %g, above %v: outside the range where %s is accurate", name, bound, rdpDelta, MaxEpsilon, name)
		}
	}
	return nil
}

// checkedEpsilon refuses a result that is not a finite epsilon in [0, MaxEpsilon].
func checkedEpsilon(name string, eps float64, err error) (float64, error) {
	if err != nil {
		return 0, err
	}
	if math.IsNaN(eps) || math.IsInf(eps, 0) || eps < 0 || eps > MaxEpsilon {
		return 0, fmt.Errorf("privacy: %s: epsilon = %v is outside [0, %v], where %s is accurate", name, eps, MaxEpsilon, name)
	}
	return eps, nil
}

// checkedDelta refuses a delta that is not a probability, and an epsilon
// argument outside [0, MaxEpsilon].
func checkedDelta(name string, eps, delta float64, err error) (float64, error) {
	if err != nil {
		return 0, err
	}
	if math.IsNaN(eps) || eps < 0 || eps > MaxEpsilon {
		return 0, fmt.Errorf("privacy: %s: epsilon = %v, want 0 <= epsilon <= %v", name, eps, MaxEpsilon)
	}
	if math.IsNaN(delta) || delta < 0 || delta > 1 {
		return 0, fmt.Errorf("privacy: %s: delta = %v at epsilon %v is not a probability: outside the range where %s is accurate", name, delta, eps, name)
	}
	return delta, nil
}

package privacy

import (
	"fmt"
	"math"
)

// Search is a way of finding the noise for a target epsilon.
type Search string

const (
	// Bisection finds the smallest sigma whose epsilon is at most the target,
	// to relative precision 1e-4 (the returned sigma always meets the target).
	Bisection Search = "bisection"
	// EWTuneGrid is EW-Tune's coarse-to-fine grid search, reproduced exactly:
	// from sigma = 2 walk down in steps of 0.5 while epsilon stays below the
	// target, step back up once, and repeat with steps of 0.05, 0.005, 0.0005.
	EWTuneGrid Search = "ewtune-grid"
	// OpacusSearch is Opacus' get_noise_multiplier: double sigma from 10 until
	// epsilon meets the target, then bisect until epsilon is within 0.01 below it.
	OpacusSearch Search = "opacus"
)

// Searches lists the search methods.
var Searches = []Search{Bisection, EWTuneGrid, OpacusSearch}

// epsAt evaluates an accountant at one sigma; errors count as infinite epsilon.
func epsAt(acc Accountant, sigma, q float64, steps int, delta float64) float64 {
	eps, err := acc.Epsilon(Single(sigma, q, steps), delta)
	if err != nil || math.IsNaN(eps) {
		return math.Inf(1)
	}
	return eps
}

// Sigma returns the noise multiplier that reaches the target epsilon at delta
// after steps steps at sample rate q, found with the given search, and the
// accountant's epsilon at that noise.
func Sigma(acc Accountant, search Search, targetEps, delta, q float64, steps int) (sigma, eps float64, err error) {
	if err := validateEpsilon(targetEps); err != nil {
		return 0, 0, err
	}
	if err := validateDelta(delta); err != nil {
		return 0, 0, err
	}
	if err := (Mechanism{Sigma: 1, SampleRate: q, Steps: steps}).Validate(); err != nil {
		return 0, 0, err
	}
	switch search {
	case Bisection, "":
		sigma, err = bisectSigma(acc, targetEps, delta, q, steps)
	case EWTuneGrid:
		sigma, err = ewtuneGrid(acc, targetEps, delta, q, steps)
	case OpacusSearch:
		sigma, err = opacusSearch(acc, targetEps, delta, q, steps)
	default:
		return 0, 0, fmt.Errorf("privacy: unknown search %q (known: %v)", search, Searches)
	}
	if err != nil {
		return 0, 0, err
	}
	eps = epsAt(acc, sigma, q, steps, delta)
	// A search stopped by the accountant's range (sigma below MinSigma, say),
	// not by the target, returns noise whose epsilon falls short of it: the
	// accountant cannot say what sigma the target needs.
	if eps < targetEps*(1-1e-3) {
		if _, rangeErr := acc.Epsilon(Single(sigma*0.99, q, steps), delta); rangeErr != nil {
			return 0, 0, fmt.Errorf("privacy: %s cannot calibrate epsilon %g at delta %g, q = %g, %d steps: its epsilon is %.4g at sigma %.4g, the smallest it accepts (%v); use another accountant, or a larger sample rate or more steps", acc.Name(), targetEps, delta, q, steps, eps, sigma, rangeErr)
		}
	}
	return sigma, eps, nil
}

const maxSigma = 1e6

func bisectSigma(acc Accountant, target, delta, q float64, steps int) (float64, error) {
	hi := 1.0
	for epsAt(acc, hi, q, steps, delta) > target {
		hi *= 2
		if hi > maxSigma {
			return 0, fmt.Errorf("privacy: %s: epsilon %g at delta %g is unreachable even with sigma %g", acc.Name(), target, delta, maxSigma)
		}
	}
	lo := hi / 2
	for epsAt(acc, lo, q, steps, delta) <= target {
		hi, lo = lo, lo/2
		if lo < 1e-6 {
			return hi, nil
		}
	}
	for (hi-lo)/hi > 1e-4 {
		mid := (lo + hi) / 2
		if epsAt(acc, mid, q, steps, delta) <= target {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}

// ewtuneGrid mirrors EW-Tune's get_sigma / loop_for_sigma (privacy_analysis.py),
// floating-point operations included, so its sigmas come out identical.
func ewtuneGrid(acc Accountant, target, delta, q float64, steps int) (float64, error) {
	cur, interval := 2.0, 0.5
	for round := range 4 {
		belowSeen := false
		for {
			eps := epsAt(acc, cur, q, steps, delta)
			if eps < target && cur > interval {
				cur -= interval
				belowSeen = true
			} else {
				cur += interval
				break
			}
		}
		if round == 3 && !belowSeen {
			return 0, fmt.Errorf("privacy: %s: EW-Tune's grid search found no sigma below %g reaching epsilon %g (its last round needs one); use bisection", acc.Name(), cur, target)
		}
		if round < 3 {
			interval /= 10
		}
	}
	if epsAt(acc, cur, q, steps, delta) > target {
		return 0, fmt.Errorf("privacy: %s: epsilon %g is unreachable with EW-Tune's grid search (it starts at sigma 2); use bisection", acc.Name(), target)
	}
	return cur, nil
}

// opacusSearch mirrors opacus.accountants.utils.get_noise_multiplier.
func opacusSearch(acc Accountant, target, delta, q float64, steps int) (float64, error) {
	const tolerance = 0.01
	epsHigh := math.Inf(1)
	sigmaLow, sigmaHigh := 0.0, 10.0
	for epsHigh > target {
		sigmaHigh *= 2
		epsHigh = epsAt(acc, sigmaHigh, q, steps, delta)
		if sigmaHigh > maxSigma {
			return 0, fmt.Errorf("privacy: %s: the privacy budget epsilon %g is too low", acc.Name(), target)
		}
	}
	for target-epsHigh > tolerance {
		sigma := (sigmaLow + sigmaHigh) / 2
		eps := epsAt(acc, sigma, q, steps, delta)
		if eps < target {
			sigmaHigh, epsHigh = sigma, eps
		} else {
			sigmaLow = sigma
		}
	}
	return sigmaHigh, nil
}

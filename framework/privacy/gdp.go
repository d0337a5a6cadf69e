package privacy

import (
	"fmt"
	"math"
)

// GDP is the Gaussian-DP (central limit) accountant of Bu, Dong, Long and Su
// (2020) for Poisson sampling, as in Opacus: the composition is treated as
// mu-GDP with mu = q * sqrt(sum_t (exp(1/sigma_t^2) - 1)). When q = 1 the
// composition is exactly Gaussian and mu = sqrt(sum_t 1/sigma_t^2) is used,
// which is exact. Otherwise this is an approximation that can under-report
// epsilon; Report pairs it with pld.
type GDP struct{}

func (GDP) Name() string         { return "gdp" }
func (GDP) Guarantee() Guarantee { return Approximation }

// Mu is the GDP parameter of the composed history.
func (GDP) Mu(h History) float64 {
	exact := true
	for _, m := range h {
		exact = exact && m.SampleRate == 1
	}
	sum := 0.0
	for _, m := range h {
		if exact {
			sum += float64(m.Steps) / (m.Sigma * m.Sigma)
		} else {
			sum += float64(m.Steps) * m.SampleRate * m.SampleRate * math.Expm1(1/(m.Sigma*m.Sigma))
		}
	}
	return math.Sqrt(sum)
}

// Epsilon solves delta = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2).
func (g GDP) Epsilon(h History, delta float64) (float64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if err := validateDelta(delta); err != nil {
		return 0, err
	}
	if err := accurateRange("gdp", h, delta); err != nil {
		return 0, err
	}
	mu := g.Mu(h)
	if math.IsInf(mu, 1) || math.IsNaN(mu) {
		return 0, fmt.Errorf("privacy: gdp: mu is %v for this history (sigma too small)", mu)
	}
	eps, err := GaussianEpsilon(mu, delta)
	return checkedEpsilon("gdp", eps, err)
}

// GaussianDelta is the delta of a mu-GDP mechanism at epsilon.
func GaussianDelta(mu, eps float64) float64 {
	return normCDF(-eps/mu+mu/2) - math.Exp(eps)*normCDF(-eps/mu-mu/2)
}

// GaussianEpsilon inverts GaussianDelta (it is decreasing in epsilon).
func GaussianEpsilon(mu, delta float64) (float64, error) {
	if GaussianDelta(mu, 0) <= delta {
		return 0, nil
	}
	lo, hi := 0.0, 1.0
	for GaussianDelta(mu, hi) > delta {
		lo, hi = hi, 2*hi
		if hi > 1e6 {
			return 0, fmt.Errorf("privacy: gdp: epsilon exceeds 1e6 (mu = %g)", mu)
		}
	}
	return bisect(func(e float64) bool { return GaussianDelta(mu, e) > delta }, lo, hi, 1e-12), nil
}

// bisect finds the boundary between tooSmall(x) == true (below) and false
// (above) in [lo, hi], to absolute tolerance tol, returning the upper side.
func bisect(tooSmall func(float64) bool, lo, hi, tol float64) float64 {
	for hi-lo > tol*math.Max(1, math.Abs(hi)) {
		mid := (lo + hi) / 2
		if tooSmall(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

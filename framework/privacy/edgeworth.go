package privacy

import (
	"fmt"
	"math"
)

// Edgeworth is the Edgeworth accountant as EW-Tune (Behnia et al. 2022)
// uses it, after Wang et al. (2022). With mu = 1/sigma, the privacy loss of
// one step is L(x) = log(1 - q + q exp(mu x - mu^2/2)); its moments under
// X ~ N(0,1) and under Y ~ (1-q) N(0,1) + q N(mu,1) are computed by numerical
// integration, turned into cumulants, multiplied by the steps, and the
// distributions of the sums are approximated by an Edgeworth expansion of
// order 1 (skewness) or 2 (also kurtosis). Then
//
//	delta(eps) = 1 - F_Y(eps) - e^eps (1 - F_X(eps)).
//
// It is an estimate, not a bound: at EW-Tune's settings the true epsilon
// (pld) is several percent higher.
type Edgeworth struct{ order int }

// NewEdgeworth returns the Edgeworth accountant of the given order (1 or 2).
func NewEdgeworth(order int) *Edgeworth {
	if order != 2 {
		order = 1
	}
	return &Edgeworth{order: order}
}

func (*Edgeworth) Name() string         { return "edgeworth" }
func (*Edgeworth) Guarantee() Guarantee { return Estimate }
func (e *Edgeworth) Order() int         { return e.order }

// cumulants holds kappa_1..kappa_4 of the privacy loss under X and under Y.
type cumulants struct{ x, y [4]float64 }

// stepCumulants computes the per-step cumulants by integrating L^k against
// the two densities (panels of width 1/8 over [-40, 40+mu]).
func stepCumulants(sigma, q float64) cumulants {
	mu := 1 / sigma
	loss := func(x float64) float64 {
		if x > 0 { // stable form for large x, as in EW-Tune's code
			return mu*x + math.Log((1-q)*math.Exp(-mu*x)+q*math.Exp(-mu*mu/2))
		}
		return math.Log(1 - q + q*math.Exp(mu*x-mu*mu/2))
	}
	densX := normPDF
	densY := func(x float64) float64 { return (1-q)*normPDF(x) + q*normPDF(x-mu) }
	a, b := -40.0, 40.0+mu
	panels := int(math.Ceil((b - a) * 8))
	moments := func(dens func(float64) float64) [4]float64 {
		var m [4]float64
		for k := range 4 {
			m[k] = integrate(func(x float64) float64 { return math.Pow(loss(x), float64(k+1)) * dens(x) }, a, b, panels)
		}
		return m
	}
	toCumulants := func(m [4]float64) [4]float64 {
		return [4]float64{
			m[0],
			m[1] - m[0]*m[0],
			m[2] - 3*m[1]*m[0] + 2*m[0]*m[0]*m[0],
			m[3] - 4*m[2]*m[0] - 3*m[1]*m[1] + 12*m[1]*m[0]*m[0] - 6*m[0]*m[0]*m[0]*m[0],
		}
	}
	return cumulants{x: toCumulants(moments(densX)), y: toCumulants(moments(densY))}
}

// total sums the per-step cumulants over the history.
func (e *Edgeworth) total(h History) cumulants {
	var c cumulants
	for _, m := range h {
		s := stepCumulants(m.Sigma, m.SampleRate)
		for k := range 4 {
			c.x[k] += float64(m.Steps) * s.x[k]
			c.y[k] += float64(m.Steps) * s.y[k]
		}
	}
	return c
}

// cdf is the Edgeworth approximation of the CDF of a sum with cumulants k.
func (e *Edgeworth) cdf(x float64, k [4]float64) float64 {
	inv := 1 / math.Sqrt(k[1])
	z := (x - k[0]) * inv
	expansion := -1.0 / 6 * math.Pow(inv, 3) * k[2] * (z*z - 1)
	if e.order > 1 {
		expansion -= 1.0/24*math.Pow(inv, 4)*k[3]*(z*z*z-3*z) +
			1.0/72*math.Pow(inv, 6)*k[2]*k[2]*(math.Pow(z, 5)-10*z*z*z+15*z)
	}
	return normCDF(z) + expansion*normPDF(z)
}

func (e *Edgeworth) delta(c cumulants, eps float64) float64 {
	return 1 - e.cdf(eps, c.y) - math.Exp(eps)*(1-e.cdf(eps, c.x))
}

// Delta estimates delta at epsilon.
func (e *Edgeworth) Delta(h History, eps float64) (float64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if err := accurateRange("edgeworth", h, 0); err != nil {
		return 0, err
	}
	return checkedDelta("edgeworth", eps, e.delta(e.total(h), eps), nil)
}

// Epsilon solves delta(eps) = delta starting, as EW-Tune does, from the
// mean of the two sums, and moving up to the first crossing.
func (e *Edgeworth) Epsilon(h History, delta float64) (float64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if err := validateDelta(delta); err != nil {
		return 0, err
	}
	if err := accurateRange("edgeworth", h, delta); err != nil {
		return 0, err
	}
	eps, err := e.epsilon(h, delta)
	return checkedEpsilon("edgeworth", eps, err)
}

func (e *Edgeworth) epsilon(h History, delta float64) (float64, error) {
	c := e.total(h)
	if !(c.x[1] > 0) || !(c.y[1] > 0) {
		return 0, fmt.Errorf("privacy: edgeworth: privacy loss has no variance (sigma too large for float64)")
	}
	f := func(eps float64) float64 { return e.delta(c, eps) - delta }
	start := (c.x[0] + c.y[0]) / 2
	// Step up from the start until delta(eps) falls below the target.
	scale := math.Max(math.Sqrt(math.Max(c.x[1], c.y[1])), 1e-3)
	lo, hi := start, start
	if f(lo) < 0 {
		// Already below at the start: step down to bracket from below.
		for f(lo) < 0 {
			hi = lo
			lo -= scale
			if lo < start-1e3*scale {
				return 0, nil
			}
		}
	} else {
		for f(hi) > 0 {
			lo = hi
			hi += scale
			if hi > start+1e4*scale {
				return 0, fmt.Errorf("privacy: edgeworth: no epsilon reaches delta %g", delta)
			}
		}
	}
	eps := bisect(func(x float64) bool { return f(x) > 0 }, lo, hi, 1e-13)
	return math.Max(eps, 0), nil
}

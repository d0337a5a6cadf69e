package privacy

import (
	"fmt"
	"math"
)

// OpacusOrders are Opacus's default RDP orders: 1.1, 1.2, ..., 10.9, 12, ..., 63.
func OpacusOrders() []float64 {
	var orders []float64
	for x := 1; x < 100; x++ {
		orders = append(orders, 1+float64(x)/10)
	}
	for a := 12; a < 64; a++ {
		orders = append(orders, float64(a))
	}
	return orders
}

// RDPOptions configure the RDP accountant.
type RDPOptions struct {
	// Orders at which RDP is computed; OpacusOrders if empty.
	Orders []float64
	// Classic uses eps = rdp - log(delta)/(alpha-1) instead of Opacus's
	// tighter conversion (Balle et al. 2020, Theorem 21).
	Classic bool
}

// RDP is the Renyi-DP accountant.
type RDP struct{ opts RDPOptions }

// NewRDP returns an RDP accountant.
func NewRDP(opts RDPOptions) *RDP {
	if len(opts.Orders) == 0 {
		opts.Orders = OpacusOrders()
	}
	return &RDP{opts: opts}
}

func (*RDP) Name() string         { return "rdp" }
func (*RDP) Guarantee() Guarantee { return UpperBound }
func (r *RDP) Orders() []float64  { return r.opts.Orders }

// Epsilon converts the composed RDP curve to (epsilon, delta).
func (r *RDP) Epsilon(h History, delta float64) (float64, error) {
	eps, _, err := r.EpsilonAndOrder(h, delta)
	return checkedEpsilon("rdp", eps, err)
}

// EpsilonAndOrder also returns the order that gave the smallest epsilon.
func (r *RDP) EpsilonAndOrder(h History, delta float64) (float64, float64, error) {
	if err := h.Validate(); err != nil {
		return 0, 0, err
	}
	if err := validateDelta(delta); err != nil {
		return 0, 0, err
	}
	best, bestOrder := math.Inf(1), math.NaN()
	for _, alpha := range r.opts.Orders {
		rdp := 0.0
		for _, m := range h {
			rdp += float64(m.Steps) * RDPSubsampledGaussian(m.SampleRate, m.Sigma, alpha)
		}
		var eps float64
		if r.opts.Classic {
			eps = rdp - math.Log(delta)/(alpha-1)
		} else {
			eps = rdp - (math.Log(delta)+math.Log(alpha))/(alpha-1) + math.Log((alpha-1)/alpha)
		}
		if eps < best {
			best, bestOrder = eps, alpha
		}
	}
	if math.IsInf(best, 1) || math.IsNaN(best) {
		return 0, 0, fmt.Errorf("privacy: rdp: epsilon is infinite for this history")
	}
	return math.Max(best, 0), bestOrder, nil
}

// RDPSubsampledGaussian is the RDP at order alpha of one step of the
// Poisson-subsampled Gaussian mechanism (Mironov, Talwar, Zhang 2019,
// Section 3.3; integer and fractional orders as in Opacus / TF Privacy).
func RDPSubsampledGaussian(q, sigma, alpha float64) float64 {
	switch {
	case q == 0:
		return 0
	case q == 1:
		return alpha / (2 * sigma * sigma)
	case math.IsInf(alpha, 1):
		return math.Inf(1)
	}
	var logA float64
	if alpha == math.Trunc(alpha) {
		logA = logAIntAlpha(q, sigma, int(alpha))
	} else {
		logA = logAFracAlpha(q, sigma, alpha)
	}
	return logA / (alpha - 1)
}

func logAIntAlpha(q, sigma float64, alpha int) float64 {
	logA := math.Inf(-1)
	for i := 0; i <= alpha; i++ {
		fi := float64(i)
		logCoef := logBinom(float64(alpha), fi) + fi*math.Log(q) + float64(alpha-i)*math.Log1p(-q)
		s := logCoef + (fi*fi-fi)/(2*sigma*sigma)
		logA = logAdd(logA, s)
	}
	return logA
}

func logAFracAlpha(q, sigma, alpha float64) float64 {
	logA0, logA1 := math.Inf(-1), math.Inf(-1)
	z0 := sigma*sigma*math.Log(1/q-1) + 0.5
	for i := 0; ; i++ {
		fi := float64(i)
		coef := binom(alpha, fi)
		logCoef := math.Log(math.Abs(coef))
		j := alpha - fi
		logT0 := logCoef + fi*math.Log(q) + j*math.Log1p(-q)
		logT1 := logCoef + j*math.Log(q) + fi*math.Log1p(-q)
		logE0 := math.Log(0.5) + logErfc((fi-z0)/(math.Sqrt2*sigma))
		logE1 := math.Log(0.5) + logErfc((z0-j)/(math.Sqrt2*sigma))
		logS0 := logT0 + (fi*fi-fi)/(2*sigma*sigma) + logE0
		logS1 := logT1 + (j*j-j)/(2*sigma*sigma) + logE1
		if coef > 0 {
			logA0 = logAdd(logA0, logS0)
			logA1 = logAdd(logA1, logS1)
		} else {
			logA0 = logSub(logA0, logS0)
			logA1 = logSub(logA1, logS1)
		}
		if math.Max(logS0, logS1) < -30 || i > 10000 {
			break
		}
	}
	return logAdd(logA0, logA1)
}

// logErfc is log(erfc(x)), accurate for large x.
func logErfc(x float64) float64 { return math.Log(2) + logNormSF(x*math.Sqrt2) }

// binom is the generalised binomial coefficient C(n, k) for real n, integer k.
func binom(n, k float64) float64 {
	if k < 0 {
		return 0
	}
	c := 1.0
	for i := 0.0; i < k; i++ {
		c *= (n - i) / (i + 1)
	}
	return c
}

func logBinom(n, k float64) float64 {
	a, _ := math.Lgamma(n + 1)
	b, _ := math.Lgamma(k + 1)
	c, _ := math.Lgamma(n - k + 1)
	return a - b - c
}

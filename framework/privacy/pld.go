package privacy

import (
	"fmt"
	"math"
	"math/cmplx"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Defaults of the PLD accountant.
const (
	// DefaultPLDInterval is the grid width of privacy-loss values. The upper
	// bound's excess over the true epsilon is typically far below it; the
	// lower bound's deficit is at most steps*Interval.
	DefaultPLDInterval = 5e-4
	// DefaultPLDTailMass bounds, per tail, the probability of the composed
	// loss outside the FFT window (Chernoff); it is charged to delta.
	DefaultPLDTailMass = 1e-15
	// DefaultPLDMaxGrid caps the FFT size; a wider window coarsens the grid.
	DefaultPLDMaxGrid = 1 << 20
)

// PLDOptions configure the PLD accountant.
type PLDOptions struct {
	Interval float64 // grid width (the error parameter); DefaultPLDInterval if 0
	TailMass float64 // DefaultPLDTailMass if 0
	MaxGrid  int     // DefaultPLDMaxGrid if 0
}

// PLD is the tight numerical accountant: the privacy loss distribution of
// each step is discretised pessimistically by "connect the dots"
// (Doroshenko, Ghazi, Kamath, Kumar, Manurangsi 2022), composed by FFT, and
// epsilon(delta) read off the composed distribution. Both directions of the
// add/remove relation are composed and the larger epsilon is reported.
type PLD struct{ opts PLDOptions }

// NewPLD returns a PLD accountant.
func NewPLD(opts PLDOptions) *PLD {
	if opts.Interval <= 0 {
		opts.Interval = DefaultPLDInterval
	}
	if opts.TailMass <= 0 {
		opts.TailMass = DefaultPLDTailMass
	}
	if opts.MaxGrid <= 0 {
		opts.MaxGrid = DefaultPLDMaxGrid
	}
	return &PLD{opts: opts}
}

func (*PLD) Name() string         { return "pld" }
func (*PLD) Guarantee() Guarantee { return UpperBound }

// Options returns the accountant's settings.
func (p *PLD) Options() PLDOptions { return p.opts }

// direction of the add/remove relation: remove compares the mixture
// P = (1-q)N(0,s^2)+qN(1,s^2) against Q = N(0,s^2) (the privacy loss log P/Q
// under P); add compares Q against P.
type direction int

const (
	remove direction = iota
	add
)

func (d direction) String() string { return [...]string{"remove", "add"}[d] }

// lossRemove is log(P/Q)(x) on the standardised scale (noise N(0,1), shift mu).
func lossRemove(x, mu, q float64) float64 {
	if q == 1 {
		return mu*x - mu*mu/2
	}
	t := mu*x - mu*mu/2
	if t > 0 {
		return t + math.Log((1-q)*math.Exp(-t)+q)
	}
	return math.Log1p(q * math.Expm1(t))
}

// threshold is the x at which lossRemove(x) = t (lossRemove is increasing);
// ok is false when no x reaches t (t <= log(1-q)).
func threshold(t, mu, q float64) (float64, bool) {
	if q == 1 {
		return (t + mu*mu/2) / mu, true
	}
	arg := math.Expm1(t) + q // e^t - (1-q)
	if !(arg > 0) {
		return 0, false
	}
	return (math.Log(arg)-math.Log(q))/mu + mu/2, true
}

// stepDelta is the hockey-stick divergence of one step at eps.
func stepDelta(d direction, eps, mu, q float64) float64 {
	switch d {
	case remove:
		x, ok := threshold(eps, mu, q)
		if !ok {
			return -math.Expm1(eps) // every x has loss > eps
		}
		v := (1-q)*normSF(x) + q*normSF(x-mu) - math.Exp(eps)*normSF(x)
		return math.Max(v, 0)
	default: // add: loss -lossRemove(x) under N(0,1); loss > eps iff lossRemove(x) < -eps
		x, ok := threshold(-eps, mu, q)
		if !ok {
			return 0 // the loss never exceeds -log(1-q)
		}
		v := normCDF(x) - math.Exp(eps)*((1-q)*normCDF(x)+q*normCDF(x-mu))
		return math.Max(v, 0)
	}
}

// stepSurvival is P(loss > t) for one step under the direction's first distribution.
func stepSurvival(d direction, t, mu, q float64) float64 {
	switch d {
	case remove:
		x, ok := threshold(t, mu, q)
		if !ok {
			return 1
		}
		return (1-q)*normSF(x) + q*normSF(x-mu)
	default:
		x, ok := threshold(-t, mu, q)
		if !ok {
			return 0
		}
		return normCDF(x)
	}
}

// gridPMF is a distribution on grid points k*h for k in [lo, lo+len(p)), plus
// an atom at +infinity.
type gridPMF struct {
	lo  int
	p   []float64
	inf float64
}

// stepRange returns the grid index range covering one step's loss up to
// tails of mass Phi(-12) (about 2e-33).
func stepRange(d direction, mu, q, h float64) (int, int) {
	lo, hi := lossRemove(-12, mu, q), lossRemove(mu+12, mu, q)
	if d == add {
		lo, hi = -lossRemove(12, mu, q), -lossRemove(-12, mu, q)
		if q == 1 {
			lo, hi = -lossRemove(mu+12, mu, q), -lossRemove(-12, mu, q)
		}
	}
	return int(math.Floor(lo/h)) - 1, int(math.Ceil(hi/h)) + 1
}

// connectTheDots builds the pessimistic PMF of one step: its hockey-stick
// curve, as a function of e^eps, is the piecewise-linear interpolation of the
// true curve at the grid points, which lies above the true (convex) curve.
func connectTheDots(d direction, sigma, q, h float64) gridPMF {
	mu := 1 / sigma
	lo, hi := stepRange(d, mu, q, h)
	n := hi - lo + 1
	deltas := make([]float64, n)
	xs := make([]float64, n)
	for i := range n {
		eps := float64(lo+i) * h
		deltas[i] = stepDelta(d, eps, mu, q)
		xs[i] = math.Exp(eps)
	}
	p := make([]float64, n)
	prevSlope := -1.0 // left of the support the curve is 1 - e^eps
	for i := range n {
		slope := 0.0 // right of the last point nothing but the atom at infinity
		if i+1 < n {
			slope = (deltas[i+1] - deltas[i]) / (xs[i+1] - xs[i])
		}
		p[i] = math.Max(xs[i]*(slope-prevSlope), 0)
		prevSlope = slope
	}
	return gridPMF{lo: lo, p: p, inf: deltas[n-1]}
}

// roundDown builds the optimistic PMF of one step: the loss rounded down to
// the grid (mass of [kh, (k+1)h) at kh; the upper tail at the last point; the
// lower tail at -infinity, i.e. dropped).
func roundDown(d direction, sigma, q, h float64) gridPMF {
	mu := 1 / sigma
	lo, hi := stepRange(d, mu, q, h)
	n := hi - lo + 1
	p := make([]float64, n)
	prev := stepSurvival(d, float64(lo)*h, mu, q)
	for i := range n - 1 {
		next := stepSurvival(d, float64(lo+i+1)*h, mu, q)
		p[i] = math.Max(prev-next, 0)
		prev = next
	}
	p[n-1] = prev
	return gridPMF{lo: lo, p: p}
}

// logMGF is log sum_k p_k exp(lambda k h) over the finite atoms; logp holds
// log p_k (-Inf for zero masses).
func (g gridPMF) logMGF(logp []float64, lambda, h float64) float64 {
	m := math.Inf(-1)
	for i, lp := range logp {
		m = math.Max(m, lp+lambda*float64(g.lo+i)*h)
	}
	s := 0.0
	for i, lp := range logp {
		if e := lp + lambda*float64(g.lo+i)*h - m; e > -700 {
			s += math.Exp(e)
		}
	}
	return m + math.Log(s)
}

func (g gridPMF) logMasses() []float64 {
	out := make([]float64, len(g.p))
	for i, v := range g.p {
		out[i] = math.Log(v) // -Inf for 0
	}
	return out
}

// composed is the distribution of the summed loss over a window [lo, lo+len(p)).
type composed struct {
	lo   int
	p    []float64
	inf  float64 // mass at +infinity
	tail float64 // bound on mass outside the window (wrapped around)
	h    float64
}

// compose convolves the steps of all segments by FFT on a window chosen by
// Chernoff bounds so that at most tailMass lies beyond each end.
func compose(steps []gridPMF, counts []int, h, tailMass float64, maxGrid int) (composed, error) {
	lambdas := []float64{0.5, 1, 2, 4, 8, 16, 32, 64}
	logTau := math.Log(1 / tailMass)
	lower, upper := math.Inf(-1), math.Inf(1)
	minSupport, maxSupport := 0.0, 0.0
	for i, g := range steps {
		minSupport += float64(counts[i]) * float64(g.lo) * h
		maxSupport += float64(counts[i]) * float64(g.lo+len(g.p)-1) * h
	}
	logps := make([][]float64, len(steps))
	for i, g := range steps {
		logps[i] = g.logMasses()
	}
	for _, l := range lambdas {
		up, down := 0.0, 0.0
		for i, g := range steps {
			up += float64(counts[i]) * g.logMGF(logps[i], l, h)
			down += float64(counts[i]) * g.logMGF(logps[i], -l, h)
		}
		upper = math.Min(upper, (up+logTau)/l)
		lower = math.Max(lower, -(down+logTau)/l)
	}
	upper = math.Min(upper, maxSupport)
	lower = math.Max(lower, minSupport)
	lo, hi := int(math.Floor(lower/h)), int(math.Ceil(upper/h))
	width := hi - lo + 1
	n := 1
	for n < width {
		n *= 2
	}
	if n > maxGrid {
		return composed{}, errGridTooLarge{width: width, max: maxGrid}
	}
	fft := fourier.NewFFT(n)
	total := make([]complex128, n/2+1)
	for i := range total {
		total[i] = 1
	}
	buf := make([]float64, n)
	coef := make([]complex128, n/2+1)
	inf := 0.0
	for i, g := range steps {
		clear(buf)
		for j, v := range g.p {
			k := g.lo + j
			buf[((k%n)+n)%n] += v
		}
		fft.Coefficients(coef, buf)
		t := float64(counts[i])
		for j, c := range coef {
			if c != 0 {
				total[j] *= cmplx.Pow(c, complex(t, 0))
			} else {
				total[j] = 0
			}
		}
		inf = 1 - (1-inf)*math.Pow(1-g.inf, t)
	}
	fft.Sequence(buf, total)
	out := composed{lo: lo, p: make([]float64, width), inf: inf, tail: 2 * tailMass, h: h}
	for j := range width {
		k := lo + j
		out.p[j] = math.Max(buf[((k%n)+n)%n]/float64(n), 0)
	}
	return out, nil
}

type errGridTooLarge struct{ width, max int }

func (e errGridTooLarge) Error() string {
	return fmt.Sprintf("privacy: pld: the composed loss needs %d grid points, more than the maximum %d", e.width, e.max)
}

// delta returns extra + inf + sum_{kh > eps} p_k (1 - e^(eps - kh)).
func (c composed) delta(eps, extra float64) float64 {
	d := extra + c.inf
	for j, v := range c.p {
		if l := float64(c.lo+j) * c.h; l > eps && v > 0 {
			d += v * -math.Expm1(eps-l)
		}
	}
	return d
}

// epsilon is the smallest eps >= 0 with delta(eps) <= target.
func (c composed) epsilon(target, extra float64) (float64, error) {
	if extra+c.inf >= target {
		return 0, fmt.Errorf("privacy: pld: delta %g is unreachable: %g of the loss is unbounded", target, extra+c.inf)
	}
	// Scan down from the top: for eps in [(k-1)h, kh) with A, B summed over atoms >= k,
	// delta(eps) = extra + inf + A - e^eps B.
	A, B := 0.0, 0.0
	base := extra + c.inf
	for j := len(c.p) - 1; j >= 0; j-- {
		l := float64(c.lo+j) * c.h
		A += c.p[j]
		B += c.p[j] * math.Exp(-l)
		if B <= 0 {
			continue
		}
		// delta at the left end of this cell:
		left := l - c.h
		if base+A-math.Exp(left)*B > target {
			eps := math.Log((base + A - target) / B)
			return math.Max(eps, 0), nil
		}
	}
	return 0, nil
}

// segmentsFor builds per-segment step PMFs for one direction.
func (p *PLD) composeHistory(h History, d direction, interval float64, pessimistic bool) (composed, error) {
	steps := make([]gridPMF, len(h))
	counts := make([]int, len(h))
	for i, m := range h {
		if pessimistic {
			steps[i] = connectTheDots(d, m.Sigma, m.SampleRate, interval)
		} else {
			steps[i] = roundDown(d, m.Sigma, m.SampleRate, interval)
		}
		counts[i] = m.Steps
	}
	return compose(steps, counts, interval, p.opts.TailMass, p.opts.MaxGrid)
}

// withGrid runs fn with the configured interval, doubling it while the FFT
// window would exceed MaxGrid. It returns the interval used.
func (p *PLD) withGrid(fn func(interval float64) error) (float64, error) {
	interval := p.opts.Interval
	for range 40 {
		err := fn(interval)
		if _, tooLarge := err.(errGridTooLarge); tooLarge {
			interval *= 2
			continue
		}
		return interval, err
	}
	return interval, fmt.Errorf("privacy: pld: no grid fits")
}

// Epsilon is the upper bound: the larger of the two directions.
func (p *PLD) Epsilon(h History, delta float64) (float64, error) {
	_, upper, _, err := p.bounds(h, delta, false)
	return checkedEpsilon("pld", upper, err)
}

// Bounds returns a lower and an upper bound on epsilon(delta) and the grid
// interval used (it may be coarser than configured for very long histories).
func (p *PLD) Bounds(h History, delta float64) (lower, upper, interval float64, err error) {
	return p.bounds(h, delta, true)
}

func (p *PLD) bounds(h History, delta float64, wantLower bool) (lower, upper, interval float64, err error) {
	if err := h.Validate(); err != nil {
		return 0, 0, 0, err
	}
	if err := validateDelta(delta); err != nil {
		return 0, 0, 0, err
	}
	if err := accurateRange("pld", h, delta); err != nil {
		return 0, 0, 0, err
	}
	interval, err = p.withGrid(func(interval float64) error {
		// The two directions (and the two discretisations) are independent:
		// compose them concurrently.
		type job struct {
			d           direction
			pessimistic bool
		}
		jobs := []job{{remove, true}, {add, true}}
		if wantLower {
			jobs = append(jobs, job{remove, false}, job{add, false})
		}
		eps := make([]float64, len(jobs))
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := p.composeHistory(h, j.d, interval, j.pessimistic)
				if err != nil {
					errs[i] = err
					return
				}
				extra := c.tail
				if !j.pessimistic {
					extra = -c.tail
				}
				eps[i], errs[i] = c.epsilon(delta, extra)
			}()
		}
		wg.Wait()
		lower, upper = 0, 0
		for i, j := range jobs {
			if errs[i] != nil {
				return errs[i]
			}
			if j.pessimistic {
				upper = math.Max(upper, eps[i])
			} else {
				lower = math.Max(lower, eps[i])
			}
		}
		return nil
	})
	return lower, upper, interval, err
}

// Delta is the upper bound on delta at eps (the larger direction).
func (p *PLD) Delta(h History, eps float64) (float64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if err := accurateRange("pld", h, 0); err != nil {
		return 0, err
	}
	if _, err := checkedDelta("pld", eps, 0, nil); err != nil {
		return 0, err
	}
	var worst float64
	_, err := p.withGrid(func(interval float64) error {
		worst = 0
		for _, d := range []direction{remove, add} {
			c, err := p.composeHistory(h, d, interval, true)
			if err != nil {
				return err
			}
			worst = math.Max(worst, c.delta(eps, c.tail))
		}
		return nil
	})
	return math.Min(worst, 1), err
}

// EpsilonDirection is the upper bound for one direction only ("remove" or
// "add"), for comparison with accountants that consider one (Opacus' PRV
// accountant composes the remove direction).
func (p *PLD) EpsilonDirection(h History, delta float64, dir string) (float64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if err := validateDelta(delta); err != nil {
		return 0, err
	}
	if err := accurateRange("pld", h, delta); err != nil {
		return 0, err
	}
	d := remove
	switch dir {
	case "remove":
	case "add":
		d = add
	default:
		return 0, fmt.Errorf("privacy: pld: direction %q, want remove or add", dir)
	}
	var eps float64
	_, err := p.withGrid(func(interval float64) error {
		c, err := p.composeHistory(h, d, interval, true)
		if err != nil {
			return err
		}
		eps, err = c.epsilon(delta, c.tail)
		return err
	})
	return eps, err
}

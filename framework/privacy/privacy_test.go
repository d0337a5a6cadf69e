package privacy

import (
	"math"
	"strings"
	"testing"
)

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

// TestGoldenEpsilons checks published values of other libraries.
func TestGoldenEpsilons(t *testing.T) {
	rdp, gdp := NewRDP(RDPOptions{}), GDP{}
	pld, ew := NewPLD(PLDOptions{}), NewEdgeworth(1)
	tests := []struct {
		name  string
		acc   Accountant
		h     History
		delta float64
		want  float64
		tol   float64 // relative
	}{
		// Opacus tests/accountants_test.py: RDPAccountant, 90 epochs at q=0.04.
		{"opacus rdp", rdp, Single(1.5, 0.04, 2250), 1e-5, 7.32911117143, 1e-9},
		// tensorflow_privacy compute_dp_sgd_privacy: n=60000, batch 150, 15 epochs (its orders, improved conversion).
		{"tf-privacy rdp", NewRDP(RDPOptions{Orders: tfOrders()}), Single(1.3, 150.0/60000, 15*60000/150), 1e-5, 0.7242234026, 1e-6},
		// Exactly Gaussian: q=1, sigma=5, 10 steps, mu = sqrt(10)/5.
		{"gaussian pld", pld, Single(5, 1, 10), 1e-5, 2.5943834, 1e-6},
		{"gaussian gdp", gdp, Single(5, 1, 10), 1e-5, 2.5943834, 1e-6},
		{"gaussian edgeworth", ew, Single(5, 1, 10), 1e-5, 2.5943834, 1e-6},
		{"gaussian edgeworth order 2", NewEdgeworth(2), Single(5, 1, 10), 1e-5, 2.5943834, 1e-6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.acc.Epsilon(tc.h, tc.delta)
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got, tc.want); e > tc.tol {
				t.Errorf("epsilon = %.10f, want %.10f (relative error %.2g > %.2g)", got, tc.want, e, tc.tol)
			}
		})
	}
}

// tfOrders are tensorflow_privacy's compute_dp_sgd_privacy orders.
func tfOrders() []float64 {
	var o []float64
	for x := 1; x < 100; x++ {
		o = append(o, 1+float64(x)/10)
	}
	for a := 12; a < 64; a++ {
		o = append(o, float64(a))
	}
	return append(o, 128, 256, 512)
}

// TestOpacusPRV compares with Opacus' PRVAccountant (delta = 1e-6), which
// composes the remove direction and reports estimate(delta - delta/1000) +
// eps_error (0.01 by default): the same recipe on our remove-direction upper
// bound must agree to 1e-3.
func TestOpacusPRV(t *testing.T) {
	pld := NewPLD(PLDOptions{})
	tests := []struct {
		sigma, q float64
		steps    int
		want     float64
	}{
		{0.8, 0.001, 100, 0.2704034},
		{1.5, 0.05, 100, 1.9538531},
		{3.0, 0.05, 1000, 2.5275743},
	}
	const delta, opacusEpsError = 1e-6, 0.01
	for _, tc := range tests {
		eps, err := pld.EpsilonDirection(Single(tc.sigma, tc.q, tc.steps), delta*(1-1e-3), "remove")
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(eps+opacusEpsError, tc.want); e > 1e-3 {
			t.Errorf("%+v: pld %.7f + 0.01 = %.7f, Opacus %.7f (relative error %.2g)", tc, eps, eps+opacusEpsError, tc.want, e)
		}
		// And the full (both directions) upper bound is never below the estimate.
		full, _ := pld.Epsilon(Single(tc.sigma, tc.q, tc.steps), delta)
		if full < tc.want-opacusEpsError-1e-3 {
			t.Errorf("%+v: pld upper bound %.7f is below Opacus' estimate %.7f", tc, full, tc.want-opacusEpsError)
		}
	}
}

// TestDPAccountingDelta: dp_accounting's PLD gives delta(eps=1) = 0.126936
// for three compositions of the Gaussian mechanism with sigma = sqrt(3).
func TestDPAccountingDelta(t *testing.T) {
	got, err := NewPLD(PLDOptions{}).Delta(Single(math.Sqrt(3), 1, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(got, 0.126936); e > 1e-5 {
		t.Errorf("delta(1) = %.7f, want 0.126936", got)
	}
}

// sigmaCase is one published noise multiplier.
type sigmaCase struct {
	name   string
	acc    Accountant
	search Search
	eps    float64
	delta  float64
	q      float64
	steps  int
	want   float64
	tol    float64 // absolute
}

// TestSigmaSearches reproduces published noise multipliers.
func TestSigmaSearches(t *testing.T) {
	tests := []sigmaCase{
		// Opacus test_get_noise_multiplier_rdp_epochs / _steps (assertAlmostEqual places=4).
		{"opacus epochs", NewRDP(RDPOptions{}), OpacusSearch, 8, 1e-5, 0.04, 2250, 1.416, 5e-5},
		{"opacus steps", NewRDP(RDPOptions{}), OpacusSearch, 8, 1e-5, 0.04, 2000, 1.3562, 5e-5},
	}
	// EW-Tune's logged noise multipliers (edgeworth, its grid search).
	ewtune := map[string]float64{"SST-2": 0.7865, "QNLI": 0.711, "QQP": 0.5635, "MNLI": 0.557}
	for _, task := range EWTuneTasks {
		q, steps := EWTuneSetting(task.N)
		tests = append(tests, sigmaCase{"ewtune " + task.Name, NewEdgeworth(1), EWTuneGrid, 8, 1e-5, q, steps, ewtune[task.Name], 1e-9})
	}
	q, steps := EWTuneSetting(392702)
	tests = append(tests, sigmaCase{"ewtune MNLI 1e-6", NewEdgeworth(1), EWTuneGrid, 8, 1e-6, q, steps, 0.573, 1e-9})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sigma, eps, err := Sigma(tc.acc, tc.search, tc.eps, tc.delta, tc.q, tc.steps)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(sigma-tc.want) > tc.tol {
				t.Errorf("sigma = %.10f, want %.10f", sigma, tc.want)
			}
			if eps > tc.eps {
				t.Errorf("epsilon at the returned sigma is %g > target %g", eps, tc.eps)
			}
		})
	}
}

// TestBisectionMeetsTarget: bisection returns a sigma whose epsilon is just below the target.
func TestBisectionMeetsTarget(t *testing.T) {
	for _, name := range Names() {
		acc, _ := Lookup(name)
		sigma, eps, err := Sigma(acc, Bisection, 3, 1e-5, 0.01, 1000)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if eps > 3 {
			t.Errorf("%s: eps %g at sigma %g exceeds the target 3", name, eps, sigma)
		}
		if above := epsAt(acc, sigma*(1-2e-4), 0.01, 1000, 1e-5); above <= 3 {
			t.Errorf("%s: a smaller sigma %g also meets the target (eps %g): not the smallest", name, sigma*(1-2e-4), above)
		}
	}
}

// TestMonotonicity: epsilon decreases in sigma and increases in q and steps.
func TestMonotonicity(t *testing.T) {
	base := Mechanism{Sigma: 1.0, SampleRate: 0.02, Steps: 500}
	for _, name := range Names() {
		acc, _ := Lookup(name)
		eps := func(m Mechanism) float64 {
			e, err := acc.Epsilon(History{m}, 1e-5)
			if err != nil {
				t.Fatalf("%s %+v: %v", name, m, err)
			}
			return e
		}
		e0 := eps(base)
		if e := eps(Mechanism{1.2, base.SampleRate, base.Steps}); !(e < e0) {
			t.Errorf("%s: eps(sigma 1.2) = %g, not below eps(sigma 1) = %g", name, e, e0)
		}
		if e := eps(Mechanism{base.Sigma, 0.03, base.Steps}); !(e > e0) {
			t.Errorf("%s: eps(q 0.03) = %g, not above eps(q 0.02) = %g", name, e, e0)
		}
		if e := eps(Mechanism{base.Sigma, base.SampleRate, 800}); !(e > e0) {
			t.Errorf("%s: eps(800 steps) = %g, not above eps(500 steps) = %g", name, e, e0)
		}
	}
}

// TestPLDBounds: lower <= upper, the gap within the discretisation error
// (at most 2*steps*interval), and the upper bound stable as the grid shrinks.
func TestPLDBounds(t *testing.T) {
	for _, h := range []History{Single(1.0, 0.01, 1000), Single(0.8, 0.05, 200), Single(2, 0.3, 50),
		{{Sigma: 1, SampleRate: 0.01, Steps: 300}, {Sigma: 2, SampleRate: 0.02, Steps: 300}}} {
		pld := NewPLD(PLDOptions{Interval: 1e-4})
		lower, upper, interval, err := pld.Bounds(h, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		if !(lower <= upper) {
			t.Errorf("%v: lower %g > upper %g", h, lower, upper)
		}
		if gap := upper - lower; gap > 2*float64(h.Steps())*interval {
			t.Errorf("%v: gap %g exceeds 2*steps*interval = %g", h, gap, 2*float64(h.Steps())*interval)
		}
		coarse, err := NewPLD(PLDOptions{Interval: 1e-3}).Epsilon(h, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		if coarse < upper-1e-9 || coarse-upper > 0.01*upper {
			t.Errorf("%v: coarse-grid upper bound %g vs fine %g: want coarse >= fine and within 1%%", h, coarse, upper)
		}
	}
}

// TestHeterogeneousHistory: two segments compose; RDP adds up exactly.
func TestHeterogeneousHistory(t *testing.T) {
	a, b := Mechanism{Sigma: 1, SampleRate: 0.01, Steps: 300}, Mechanism{Sigma: 1, SampleRate: 0.01, Steps: 200}
	for _, name := range Names() {
		acc, _ := Lookup(name)
		split, err1 := acc.Epsilon(History{a, b}, 1e-5)
		whole, err2 := acc.Epsilon(Single(1, 0.01, 500), 1e-5)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if relErr(split, whole) > 1e-6 {
			t.Errorf("%s: 300+200 steps gives %g, 500 steps %g", name, split, whole)
		}
	}
}

func TestInvalidInput(t *testing.T) {
	tests := []struct {
		name  string
		h     History
		delta float64
		want  string
	}{
		{"q zero", Single(1, 0, 10), 1e-5, "sample rate"},
		{"q above one", Single(1, 1.5, 10), 1e-5, "sample rate"},
		{"q NaN", Single(1, math.NaN(), 10), 1e-5, "sample rate"},
		{"sigma zero", Single(0, 0.1, 10), 1e-5, "sigma"},
		{"sigma negative", Single(-1, 0.1, 10), 1e-5, "sigma"},
		{"sigma inf", Single(math.Inf(1), 0.1, 10), 1e-5, "sigma"},
		{"steps zero", Single(1, 0.1, 0), 1e-5, "steps"},
		{"delta zero", Single(1, 0.1, 10), 0, "delta"},
		{"delta one", Single(1, 0.1, 10), 1, "delta"},
		{"empty", History{}, 1e-5, "empty"},
	}
	for _, tc := range tests {
		for _, name := range Names() {
			acc, _ := Lookup(name)
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				eps, err := acc.Epsilon(tc.h, tc.delta)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Epsilon = %v, %v; want an error about %q", eps, err, tc.want)
				}
			})
		}
	}
	rdp, _ := Lookup("rdp")
	for _, target := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, _, err := Sigma(rdp, Bisection, target, 1e-5, 0.01, 100); err == nil || !strings.Contains(err.Error(), "epsilon") {
			t.Errorf("Sigma(target %v) error = %v, want one about epsilon", target, err)
		}
	}
	// Unreachable: a tiny epsilon needs more than the maximum noise.
	if _, _, err := Sigma(rdp, Bisection, 1e-9, 1e-5, 1, 1000000); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("unreachable target: error = %v", err)
	}
	if _, err := Lookup("moments"); err == nil || !strings.Contains(err.Error(), "known: edgeworth, gdp, pld, prv, rdp") {
		t.Errorf("Lookup(moments) error = %v", err)
	}
}

func TestReportPairsEstimatesWithPLD(t *testing.T) {
	h := Single(0.7865, 2000.0/67349, 660)
	for _, name := range Names() {
		acc, _ := Lookup(name)
		r, err := Account(acc, h, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		if (acc.Guarantee() != UpperBound) != (r.PLDEpsilon != nil) {
			t.Errorf("%s (%s): pld_epsilon set = %v", name, acc.Guarantee(), r.PLDEpsilon != nil)
		}
		if name == "edgeworth" && *r.PLDEpsilon < r.Epsilon*1.03 {
			t.Errorf("edgeworth at EW-Tune's SST-2 noise: %g, pld %g: want pld several percent higher", r.Epsilon, *r.PLDEpsilon)
		}
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering rdp twice did not panic")
		}
	}()
	Register(NewRDP(RDPOptions{}))
}

// TestClassicConversion: the classic conversion is the textbook formula at
// the best order and is never tighter than Opacus' conversion.
func TestClassicConversion(t *testing.T) {
	h := Single(1.3, 150.0/60000, 6000)
	classic, order, err := NewRDP(RDPOptions{Classic: true}).EpsilonAndOrder(h, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	want := 6000*RDPSubsampledGaussian(150.0/60000, 1.3, order) - math.Log(1e-5)/(order-1)
	if relErr(classic, want) > 1e-12 {
		t.Errorf("classic = %g, formula at order %g gives %g", classic, order, want)
	}
	improved, _ := NewRDP(RDPOptions{}).Epsilon(h, 1e-5)
	if improved > classic {
		t.Errorf("improved conversion %g is looser than the classic %g", improved, classic)
	}
}

// TestSigmaStoppedByRangeIsAnError: at q = 256/60614 and 32 steps
// Edgeworth's epsilon at sigma 0.3 (MinSigma, the smallest it accepts) is
// about 5, below the target 8: every search used to stop there and return
// 0.3 as if calibrated. Now that is an error naming the accountant, while a
// setting it can calibrate (q = 0.032) still reaches the target.
func TestSigmaStoppedByRangeIsAnError(t *testing.T) {
	ew, err := Parse(EWTuneSpecEW)
	if err != nil {
		t.Fatal(err)
	}
	for _, search := range []Search{Bisection, EWTuneGrid} {
		if sigma, eps, err := Sigma(ew, search, 8, 1e-5, 256.0/60614, 32); err == nil || !strings.Contains(err.Error(), "edgeworth cannot calibrate epsilon 8") {
			t.Errorf("%s: sigma %g (epsilon %g), error %v; want an error", search, sigma, eps, err)
		}
		sigma, eps, err := Sigma(ew, search, 8, 1e-5, 0.032, 32)
		if err != nil || sigma < MinSigma || math.Abs(eps-8) > 0.05 {
			t.Errorf("%s at q 0.032: sigma %g, epsilon %g, %v; want epsilon 8", search, sigma, eps, err)
		}
	}
}

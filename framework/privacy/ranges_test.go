package privacy

import (
	"math"
	"strings"
	"testing"
	"time"
)

// answerOrError runs fn with a deadline and fails the test on a hang, a
// panic, or an answer that is not a finite epsilon in [0, MaxEpsilon].
func answerOrError(t *testing.T, what string, deadline time.Duration, fn func() (float64, error)) (float64, error) {
	t.Helper()
	type result struct {
		eps float64
		err error
		pan any
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{pan: p}
			}
		}()
		eps, err := fn()
		done <- result{eps: eps, err: err}
	}()
	select {
	case r := <-done:
		if r.pan != nil {
			t.Fatalf("%s: panic: %v", what, r.pan)
		}
		if r.err == nil && (math.IsNaN(r.eps) || math.IsInf(r.eps, 0) || r.eps < 0 || r.eps > MaxEpsilon) {
			t.Fatalf("%s: epsilon %v without an error", what, r.eps)
		}
		return r.eps, r.err
	case <-time.After(deadline):
		t.Fatalf("%s: no answer within %v", what, deadline)
	}
	return 0, nil
}

// TestIssue19Reproductions: the probe's inputs give errors, not panics,
// hangs, +Inf, saturated or zero epsilons.
func TestIssue19Reproductions(t *testing.T) {
	tests := []struct {
		acc            string
		sigma, q       float64
		steps          int
		wantErrContain string
	}{
		{"pld", 1e-6, 0.01, 100, "below 0.3"},        // panicked in connectTheDots (makeslice)
		{"edgeworth", 1e-6, 0.01, 100, "below 0.3"},  // hung past 60 s
		{"pld", 1, 0.01, 10_000_000, "above 100"},    // answered +Inf
		{"gdp", 0.05, 1, 100, "below 0.3"},           // answered a saturated 709.436
		{"gdp", 0.3, 1, 100, "above 100"},            // 696.8: e^eps next to overflow
		{"pld", 0.3, 1, 1000, "above 100"},           // answered 0
		{"pld", 0.5, 1, 10000, "above 100"},          // answered 0
		{"rdp", 1e-6, 0.01, 100, "outside [0, 100]"}, // answered 5.5e13
	}
	for _, tc := range tests {
		acc, err := Lookup(tc.acc)
		if err != nil {
			t.Fatal(err)
		}
		_, err = answerOrError(t, tc.acc, 60*time.Second, func() (float64, error) {
			return acc.Epsilon(Single(tc.sigma, tc.q, tc.steps), 1e-5)
		})
		if err == nil || !strings.Contains(err.Error(), tc.wantErrContain) {
			t.Errorf("%s sigma %v q %v steps %d: %v, want an error containing %q", tc.acc, tc.sigma, tc.q, tc.steps, err, tc.wantErrContain)
		}
	}
}

// TestAccountantsBoundedTime: every accountant answers (or refuses) extreme
// inputs within a deadline, and the noise searches stay bounded too.
func TestAccountantsBoundedTime(t *testing.T) {
	if testing.Short() {
		t.Skip("many accountant evaluations")
	}
	for _, name := range Names() {
		acc, _ := Lookup(name)
		for _, sigma := range []float64{0.29, 0.3, 1, 1e3} {
			for _, q := range []float64{1e-9, 0.01, 1} {
				for _, steps := range []int{1, 1000, 1_000_000_000} {
					h := Single(sigma, q, steps)
					answerOrError(t, name, 60*time.Second, func() (float64, error) { return acc.Epsilon(h, 1e-5) })
				}
			}
		}
		answerOrError(t, name+" sigma search", 120*time.Second, func() (float64, error) {
			_, eps, err := Sigma(acc, Bisection, 8, 1e-5, 0.01, 10000)
			return eps, err
		})
	}
}

// FuzzAccountants: any (sigma, q, steps, delta) gives an error or a finite
// epsilon in [0, MaxEpsilon], quickly. pld is left out: one evaluation can
// take a second, too slow to fuzz (TestAccountantsBoundedTime covers it).
func FuzzAccountants(f *testing.F) {
	f.Add(1.0, 0.01, 1000, 1e-5)
	f.Add(1e-6, 0.01, 100, 1e-5)
	f.Add(0.05, 1.0, 100, 1e-5)
	f.Add(1.0, 0.01, 10_000_000, 1e-5)
	f.Add(math.NaN(), 0.5, 10, 0.5)
	f.Add(1e300, 1e-300, 1<<40, 1e-300)
	f.Fuzz(func(t *testing.T, sigma, q float64, steps int, delta float64) {
		for _, name := range []string{"rdp", "gdp", "edgeworth"} {
			acc, _ := Lookup(name)
			answerOrError(t, name, 20*time.Second, func() (float64, error) { return acc.Epsilon(Single(sigma, q, steps), delta) })
		}
	})
}

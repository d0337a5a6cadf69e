package privacy

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// EW-Tune's grid step: sigmas agree "to the grid step" when they differ by
// less than half of it (they are points of the same grid).
const ewtuneGridStep = 0.0005

// TestEWTuneColumns reproduces the noise multipliers in EW-Tune's logs
// (../shared/PAPERS.md section 2) for its three accountants, each with its
// recipe and its grid search.
func TestEWTuneColumns(t *testing.T) {
	if testing.Short() {
		t.Skip("21 noise calibrations")
	}
	// The one logged value EW-Tune's own code does not give: see
	// TestEWTuneSST2PRVLog. 0.8025 is what privacy_analysis.get_sigma(mode='prv')
	// returns with prv_accountant 0.1.1post1 (run with Debian's numpy/scipy).
	ewtuneCode := map[string]float64{"SST-2/1e-05/prv": 0.8025}
	for key, logged := range EWTuneLoggedSigmas {
		n := 0
		for _, task := range EWTuneTasks {
			if task.Name == key.Task {
				n = task.N
			}
		}
		q, steps := EWTuneSetting(n)
		for _, col := range []struct {
			name, spec string
			logged     float64
		}{{"ew", EWTuneSpecEW, logged.EW}, {"prv", EWTuneSpecPRV, logged.PRV}, {"rdp", EWTuneSpecRDP, logged.RDP}} {
			name := fmt.Sprintf("%s/%g/%s", key.Task, key.Delta, col.name)
			t.Run(name, func(t *testing.T) {
				acc, err := Parse(col.spec)
				if err != nil {
					t.Fatal(err)
				}
				sigma, eps, err := Sigma(acc, EWTuneGrid, EWTuneEpsilon, key.Delta, q, steps)
				if err != nil {
					t.Fatal(err)
				}
				want := col.logged
				if w, ok := ewtuneCode[name]; ok {
					want = w
				}
				if math.Abs(sigma-want) > ewtuneGridStep/2 {
					t.Errorf("sigma %.4f, EW-Tune %.4f (logged %.4f)", sigma, want, col.logged)
				}
				if !(eps < EWTuneEpsilon) {
					t.Errorf("epsilon %g at the chosen sigma, want < %g", eps, EWTuneEpsilon)
				}
			})
		}
	}
}

// TestEWTuneSST2PRVLog pins down why the logged SST-2 PRV sigma (0.817 at
// delta 1e-5) is not reproduced: the log line is "noise std:
// 0.8170000000000002 eps: 7.670636355417492", and that epsilon is the PRV
// upper epsilon at sigma 0.817 (prv_accountant 0.1.1post1: 7.670636359), so
// the setting and the accountant are right; but the grid steps down while
// epsilon < 8, and at 0.8165 the PRV epsilon is 7.6815 < 8, so a search for
// epsilon 8 cannot stop at 0.817. The log is consistent only with a target
// in (7.6706, 7.6815]; EW-Tune's code with target 8 gives 0.8025.
func TestEWTuneSST2PRVLog(t *testing.T) {
	acc, err := Parse(EWTuneSpecPRV)
	if err != nil {
		t.Fatal(err)
	}
	q, steps := EWTuneSetting(67349)
	// prv_accountant 0.1.1post1's eps_upper (Accountant(noise_multiplier,
	// sampling_probability, delta=1e-5, eps_error=0.1, max_compositions=660)).
	for _, c := range []struct{ sigma, prvUpper float64 }{{0.817, 7.670636359}, {0.8165, 7.681545243}, {0.8025, 7.998539627}, {0.802, 8.010284481}} {
		eps, err := acc.Epsilon(Single(c.sigma, q, steps), 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(eps-c.prvUpper) > 2e-3 {
			t.Errorf("sigma %g: prv %.6f, prv_accountant %.6f", c.sigma, eps, c.prvUpper)
		}
	}
}

func TestParse(t *testing.T) {
	good := []struct {
		spec, name string
		check      func(Accountant) bool
	}{
		{"rdp", "rdp", func(a Accountant) bool {
			return !a.(*RDP).opts.Classic && len(a.(*RDP).Orders()) == len(OpacusOrders())
		}},
		{"rdp?conversion=classic&orders=ewtune", "rdp", func(a Accountant) bool { return a.(*RDP).opts.Classic && len(a.(*RDP).Orders()) == 300 }},
		{"rdp?conversion=opacus", "rdp", func(a Accountant) bool { return !a.(*RDP).opts.Classic }},
		{"pld?interval=1e-3", "pld", func(a Accountant) bool { return a.(*PLD).Options().Interval == 1e-3 }},
		{"prv?eps_error=0.2", "prv", func(a Accountant) bool { return a.(*PRV).Options().EpsError == 0.2 }},
		{"prv", "prv", func(a Accountant) bool { return a.(*PRV).Options().EpsError == 0.1 }},
		{"edgeworth?order=2", "edgeworth", func(a Accountant) bool { return a.(*Edgeworth).Order() == 2 }},
	}
	for _, tc := range good {
		t.Run(tc.spec, func(t *testing.T) {
			acc, err := Parse(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if acc.Name() != tc.name || !tc.check(acc) {
				t.Errorf("got %s %+v", acc.Name(), acc)
			}
		})
	}
	bad := map[string]string{
		"rdp?conversion=tight":            "conversion",
		"rdp?order=2":                     "unknown option",
		"gdp?x=1":                         "unknown option",
		"nope?x=1":                        "unknown accountant",
		"pld?interval=-1":                 "interval",
		"edgeworth?order=3":               "order",
		"rdp?orders=ewtune&orders=opacus": "2 times",
	}
	for spec, want := range bad {
		t.Run("bad "+spec, func(t *testing.T) {
			if _, err := Parse(spec); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want one about %q", err, want)
			}
		})
	}
}

func TestEWTuneOrders(t *testing.T) {
	o := EWTuneOrders()
	if len(o) != 300 || o[0] != 2 || math.Abs(o[299]-31.9) > 1e-12 || math.Abs(o[1]-2.1) > 1e-12 {
		t.Errorf("orders %v ... %v (%d)", o[:2], o[len(o)-1], len(o))
	}
}

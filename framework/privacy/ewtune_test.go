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
	// The one logged value privlm does not reproduce: see
	// TestEWTuneSST2PRVLog. The logged 0.817 is an artefact of the mesh
	// rounding of prv_accountant 0.1.0a2, the copy EW-Tune bundles
	// (llm_tune/language/bert/prv_accountant); the monotone PRV (0.1.1 and
	// later) and privlm give 0.8025.
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
// delta 1e-5) is not reproduced. The log line is "noise std:
// 0.8170000000000002 eps: 7.670636355417492", and that epsilon is the PRV
// upper epsilon at sigma 0.817 (prv_accountant 0.1.1post1: 7.670636359), so
// the setting is right; the grid steps down while epsilon < 8, and with a
// monotone PRV the epsilon at 0.8165 is 7.6815 < 8, so the search goes on to
// 0.8025 (privlm; EW-Tune's get_sigma(mode='prv') with 0.1.1post1 too).
// EW-Tune runs its bundled prv_accountant 0.1.0a2, whose
// Domain.create_aligned rounds the grid size down (int((t_max-t_min)/dt)+1
// instead of round), so at some sigmas the mesh is misaligned by a step:
// there (reviewer's run of EW-Tune's get_sigma with that copy) sigma 0.8165
// gives 8.085022056 > 8 and 0.817 gives 7.670636355, which is why their
// search stopped at 0.817; that copy reproduces all their PRV sigmas,
// 0.7605 at delta 1e-4 included. Reproducing 0.817 would mean reproducing
// that discretisation bug; privlm does not (its prv rests on pld).
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

// TestEWTuneSpecs: EW-Tune's moments accountant converts with the classic
// rule over orders 2..31.9 and its PRV pads by eps_error 0.1.
func TestEWTuneSpecs(t *testing.T) {
	rdp, err := Parse(EWTuneSpecRDP)
	if err != nil {
		t.Fatal(err)
	}
	if r := rdp.(*RDP); !r.opts.Classic || len(r.Orders()) != 300 || r.Orders()[0] != 2 {
		t.Errorf("%s: classic %v, %d orders from %v", EWTuneSpecRDP, r.opts.Classic, len(r.Orders()), r.Orders()[0])
	}
	prv, err := Parse(EWTuneSpecPRV)
	if err != nil {
		t.Fatal(err)
	}
	if p := prv.(*PRV); p.Options().EpsError != 0.1 {
		t.Errorf("%s: eps_error %v", EWTuneSpecPRV, p.Options().EpsError)
	}
	if ew, err := Parse(EWTuneSpecEW); err != nil || ew.Name() != "edgeworth" {
		t.Errorf("%s: %v, %v", EWTuneSpecEW, ew, err)
	}
}

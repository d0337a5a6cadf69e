package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/privacy"
)

func TestAccountantEpsilonJSON(t *testing.T) {
	out, stderr, status := run(t, "", "accountant", "epsilon", "--accountant", "rdp", "--sigma", "1.5",
		"--sample-rate", "0.04", "--steps", "2250", "--delta", "1e-5", "--json")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	var rec struct {
		Accountant string   `json:"accountant"`
		Epsilon    float64  `json:"epsilon"`
		PLD        *float64 `json:"pld_epsilon"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Accountant != "rdp" || math.Abs(rec.Epsilon-7.32911117143) > 1e-8 || rec.PLD != nil {
		t.Errorf("got %+v, want rdp epsilon 7.32911117143 and no pld_epsilon (rdp is a bound)", rec)
	}
	// An estimate comes with the pld bound.
	out, _, _ = run(t, "", "accountant", "epsilon", "--accountant", "edgeworth", "--order", "2", "--sigma", "0.7865",
		"--sample-rate", "0.0297", "--steps", "660", "--delta", "1e-5", "--json")
	if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.PLD == nil || !(*rec.PLD > 8) {
		t.Errorf("edgeworth output %s: want the pld upper bound beside the estimate", out)
	}
}

func TestAccountantSigmaJSON(t *testing.T) {
	out, stderr, status := run(t, "", "accountant", "sigma", "--accountant", "rdp", "--epsilon", "8",
		"--sample-rate", "0.04", "--steps", "2250", "--delta", "1e-5", "--search", "opacus", "--json")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	var rec struct {
		Accountant string  `json:"accountant"`
		Sigma      float64 `json:"sigma"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Accountant != "rdp" || math.Abs(rec.Sigma-1.416) > 5e-5 {
		t.Errorf("got %+v, want sigma 1.416 (Opacus)", rec)
	}
}

func TestAccountantErrors(t *testing.T) {
	base := []string{"accountant", "epsilon", "--accountant", "pld", "--steps", "10", "--delta", "1e-5"}
	tests := []struct {
		args []string
		want string
	}{
		{append(base, "--sigma", "1", "--sample-rate", "0"), "sample rate"},
		{append(base, "--sigma", "1", "--sample-rate", "1.5"), "sample rate"},
		{append(base, "--sigma", "-1", "--sample-rate", "0.1"), "sigma"},
		{[]string{"accountant", "epsilon", "--accountant", "pld", "--sigma", "1", "--sample-rate", "0.1", "--steps", "0"}, "steps"},
		{[]string{"accountant", "epsilon", "--accountant", "pld", "--sigma", "1", "--sample-rate", "0.1", "--steps", "5", "--delta", "1"}, "delta"},
		{[]string{"accountant", "epsilon", "--accountant", "moments", "--sigma", "1", "--sample-rate", "0.1", "--steps", "5"}, "unknown accountant"},
		{[]string{"accountant", "sigma", "--accountant", "rdp", "--epsilon", "0", "--sample-rate", "0.1", "--steps", "5"}, "epsilon"},
		{[]string{"accountant", "sigma", "--accountant", "rdp", "--epsilon", "1", "--sample-rate", "0.1", "--steps", "5", "--search", "magic"}, "unknown search"},
		{[]string{"accountant", "sigma", "--accountant", "rdp", "--epsilon", "1e-9", "--sample-rate", "1", "--steps", "1000000"}, "unreachable"},
		{[]string{"accountant", "epsilon", "--accountant", "edgeworth", "--order", "3", "--sigma", "1", "--sample-rate", "0.1", "--steps", "5"}, "order"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			out, stderr, status := run(t, "", tc.args...)
			if status == 0 || !strings.Contains(stderr, tc.want) || strings.Contains(out, "NaN") {
				t.Errorf("status %d, stdout %q, stderr %q: want a failure about %q", status, out, stderr, tc.want)
			}
		})
	}
}

func TestEWTuneTable(t *testing.T) {
	if testing.Short() {
		t.Skip("computes 24 noise calibrations")
	}
	out, stderr, status := run(t, "", "accountant", "ewtune-table", "--json")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	var rows []struct {
		Task           string  `json:"task"`
		Delta          float64 `json:"delta"`
		SigmaRDP       float64 `json:"sigma_rdp"`
		SigmaPLD       float64 `json:"sigma_pld"`
		SigmaEdgeworth float64 `json:"sigma_edgeworth"`
		PLDEps         float64 `json:"pld_epsilon_at_edgeworth_sigma"`
		Ours           struct{ EW, PRV, RDP float64 }
		Logged         *struct{ EW, PRV, RDP float64 }
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"SST-2/1e-05": 0.7865, "QNLI/1e-05": 0.711, "QQP/1e-05": 0.5635, "MNLI/1e-05": 0.557, "MNLI/1e-06": 0.573}
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8", len(rows))
	}
	for _, r := range rows {
		key := fmt.Sprintf("%s/%g", r.Task, r.Delta)
		if w, ok := want[key]; ok && math.Abs(r.SigmaEdgeworth-w) > 1e-9 {
			t.Errorf("%s: edgeworth sigma %v, EW-Tune logged %v", key, r.SigmaEdgeworth, w)
		}
		if !(r.SigmaEdgeworth < r.SigmaPLD && r.SigmaPLD < r.SigmaRDP) {
			t.Errorf("%s: want sigma edgeworth < pld < rdp, got %v %v %v", key, r.SigmaEdgeworth, r.SigmaPLD, r.SigmaRDP)
		}
		// EW-Tune's columns (privacy.TestEWTuneColumns checks every row).
		if key == "MNLI/1e-06" && (r.Logged == nil || math.Abs(r.Ours.EW-0.573) > 1e-9 || math.Abs(r.Ours.PRV-0.607) > 1e-9 || math.Abs(r.Ours.RDP-0.65) > 1e-9) {
			t.Errorf("%s: EW-Tune's recipe gives %+v, logged %+v; want 0.573 0.607 0.65", key, r.Ours, r.Logged)
		}
		if (r.Logged == nil) != (key == "SST-2/1e-06") {
			t.Errorf("%s: logged sigmas %+v: want them for every row but SST-2 at 1e-6", key, r.Logged)
		}
		if r.PLDEps <= 8 {
			t.Errorf("%s: true epsilon at edgeworth's sigma is %v, want above the target 8", key, r.PLDEps)
		}
	}
}

// TestEWTuneColumnsText: the text table gives the true epsilon of the
// logged sigmas too, "-" where there is no log.
func TestEWTuneColumnsText(t *testing.T) {
	rows := []privacy.EWTuneRow{
		{Task: "SST-2", Delta: 1e-5, Ours: privacy.EWTuneSigmas{EW: 0.7865, PRV: 0.8025, RDP: 0.8775},
			Logged:            &privacy.EWTuneSigmas{EW: 0.7865, PRV: 0.817, RDP: 0.8775},
			TrueEpsilon:       privacy.EWTuneSigmas{EW: 8.289, PRV: 7.898, RDP: 6.428},
			TrueEpsilonLogged: &privacy.EWTuneSigmas{EW: 8.289, PRV: 7.5706, RDP: 6.428}},
		{Task: "SST-2", Delta: 1e-6, Ours: privacy.EWTuneSigmas{EW: 0.8215, PRV: 0.8485, RDP: 0.921}},
	}
	var b strings.Builder
	if err := printEWTuneColumns(&b, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	last3 := func(l string) string { f := strings.Fields(l); return strings.Join(f[max(0, len(f)-3):], " ") }
	if len(lines) != 3 || !strings.Contains(lines[0], "of logged EW") || last3(lines[1]) != "8.289 7.571 6.428" || last3(lines[2]) != "- - -" {
		t.Errorf("table:\n%s", b.String())
	}
}

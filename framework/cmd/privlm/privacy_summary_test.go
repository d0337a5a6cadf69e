package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/experiment"
)

// TestPrintPrivacy: the run summary names the unit, the delta and the
// accountant of the epsilon, and the document and user guarantees.
func TestPrintPrivacy(t *testing.T) {
	eps, doc, user, delta := 2.5, 14.0, 382.3, 1e-5
	rows := []experiment.MetricsRow{
		{ExperimentID: "a", Attack: "loss", Epsilon: &eps, Delta: &delta, DPLevel: "example", DPUnit: "window", Accountant: "pld", EpsilonDocument: &doc, EpsilonUser: &user, AccountantDocument: "pld", AccountantUser: "rdp"},
		{ExperimentID: "a", Attack: "zlib", Epsilon: &eps, Delta: &delta, DPLevel: "example", DPUnit: "window", Accountant: "pld", EpsilonDocument: &doc},
		{ExperimentID: "b", Attack: "loss", DPLevel: "none"},
		{ExperimentID: "c", Attack: "loss", Epsilon: &eps, Delta: &delta, DPLevel: "example", Accountant: "pld"},
	}
	var out bytes.Buffer
	printMetrics(&out, rows, false)
	s := out.String()
	want := "a: DP (dp=example) epsilon 2.5 per window at delta 1e-05 (pld); a whole document: 14, a whole user: 382.3 (> 100: no meaningful guarantee) by rdp"
	noUnit := "c: DP (dp=example) epsilon 2.5 per unit (unit not reported by the fine-tuner) at delta 1e-05 (pld)\n"
	if !strings.Contains(s, want) || !strings.Contains(s, noUnit) || strings.Count(s, "DP (dp=") != 2 {
		t.Errorf("summary:\n%s\nwant the lines %q and %q", s, want, noUnit)
	}
}

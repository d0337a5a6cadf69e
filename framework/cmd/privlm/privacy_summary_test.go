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
	eps, doc, delta := 2.5, 14.0, 1e-5
	rows := []experiment.MetricsRow{
		{ExperimentID: "a", Attack: "loss", Epsilon: &eps, Delta: &delta, DPLevel: "example", DPUnit: "window", Accountant: "pld", EpsilonDocument: &doc},
		{ExperimentID: "a", Attack: "zlib", Epsilon: &eps, Delta: &delta, DPLevel: "example", DPUnit: "window", Accountant: "pld", EpsilonDocument: &doc},
		{ExperimentID: "b", Attack: "loss", DPLevel: "none"},
	}
	var out bytes.Buffer
	printMetrics(&out, rows, false)
	s := out.String()
	want := "a: DP (dp=example) epsilon 2.5 per window at delta 1e-05 (pld); a whole document: 14, a whole user: unbounded"
	if !strings.Contains(s, want) || strings.Count(s, "DP (dp=") != 1 {
		t.Errorf("summary:\n%s\nwant one line %q", s, want)
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/experiment"
)

// TestPrintMetricsHeadline: the printed summary shows the non-canary rows
// only, with their support, and n/a for a TPR without it.
func TestPrintMetricsHeadline(t *testing.T) {
	tpr, p := 0.25, 0.0123
	rows := []experiment.MetricsRow{
		{ExperimentID: "x", Attack: "loss", Group: experiment.GroupAll, AUROC: 0.9, NUsers: 40, NMembers: 20, NNonMembers: 20, TPRAt5FPR: &tpr},
		{ExperimentID: "x", Attack: "loss", Group: experiment.GroupNonCanary, AUROC: 0.6, NUsers: 38, NMembers: 19, NNonMembers: 19, ChanceP: &p},
	}
	var b bytes.Buffer
	printMetrics(&b, rows, false)
	out := b.String()
	if !strings.Contains(out, "0.600") || strings.Contains(out, "0.900") {
		t.Errorf("not the non-canary row alone:\n%s", out)
	}
	if !strings.Contains(out, "0.0123") {
		t.Errorf("no chance p-value:\n%s", out)
	}
	if strings.Count(out, "n/a") < 3 || !strings.Contains(out, "19") {
		t.Errorf("want n/a for every TPR at 19 non-members and the counts:\n%s", out)
	}
}

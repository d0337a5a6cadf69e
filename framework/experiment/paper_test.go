package experiment

import (
	"strings"
	"testing"
)

func TestAboveChance(t *testing.T) {
	p := pct(56.0)
	for _, tc := range []struct {
		name      string
		lo, hi    float64
		paper     *float64
		want, why string
	}{
		{"above", 0.52, 0.70, p, Reproduced, "above chance"},
		{"includes chance", 0.48, 0.70, p, NotReproduced, "includes chance"},
		{"below", 0.30, 0.49, p, NotReproduced, "below chance"},
		{"not in the paper", 0.60, 0.80, nil, NotComparable, "not in the paper"},
		{"lower end exactly 0.5", 0.5, 0.7, p, NotReproduced, "includes chance"},
	} {
		got, why := AboveChance((tc.lo+tc.hi)/2, tc.lo, tc.hi, 100, 100, tc.paper)
		if got != tc.want || !strings.Contains(why, tc.why) || !strings.Contains(why, "100 non-members") {
			t.Errorf("%s: %q (%s), want %q (%q)", tc.name, got, why, tc.want, tc.why)
		}
	}
}

func TestCompareOrdering(t *testing.T) {
	row := func(ds string, auroc, lo, hi float64) PaperRow {
		return PaperRow{Dataset: ds, AUROC: auroc, AUROCLo: lo, AUROCHi: hi, PaperAUROC: PaperUserInference[ds].AUROC}
	}
	for _, tc := range []struct {
		name           string
		rows           []PaperRow
		want           string
		pairs, agree   int
		resolved       int
		oursStartsWith string
	}{
		// Paper: enron 0.873 > arxiv 0.572 > reddit 0.56.
		{"same order, one pair resolved", []PaperRow{row("reddit", 0.55, 0.50, 0.60), row("enron", 0.80, 0.70, 0.90), row("arxiv", 0.57, 0.52, 0.62), row("email", 0.99, 0.98, 1)},
			Reproduced, 3, 3, 2, "enron"},
		{"same order, all overlapping", []PaperRow{row("reddit", 0.55, 0.40, 0.70), row("enron", 0.60, 0.45, 0.75)}, NotReproduced, 1, 1, 0, "enron"},
		{"reversed pair", []PaperRow{row("reddit", 0.70, 0.65, 0.75), row("enron", 0.60, 0.55, 0.64)}, NotReproduced, 1, 0, 0, "reddit"},
		{"one dataset", []PaperRow{row("reddit", 0.70, 0.65, 0.75), row("email", 0.6, 0.5, 0.7)}, NotComparable, 0, 0, 0, "reddit"},
	} {
		got := CompareOrdering(tc.rows)
		if got.Reproduces != tc.want || got.Pairs != tc.pairs || got.Agree != tc.agree || got.Resolved != tc.resolved || !strings.HasPrefix(got.Ours, tc.oursStartsWith) {
			t.Errorf("%s: %+v; want %s, %d pairs, %d agree, %d resolved, ours from %s", tc.name, got, tc.want, tc.pairs, tc.agree, tc.resolved, tc.oursStartsWith)
		}
		if strings.Contains(got.Ours, "email") {
			t.Errorf("%s: a dataset the paper lacks entered the order: %s", tc.name, got.Ours)
		}
	}
}

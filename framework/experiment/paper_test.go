package experiment

import (
	"strings"
	"testing"
)

// withP gives a row the permutation test's upper-tail p and 1-p below
// (ties aside, the two tails sum to about 1).
func withP(r MetricsRow, p float64) MetricsRow {
	below := 1 - p
	r.ChanceP, r.ChanceBelowP = &p, &below
	return r
}

func TestAboveChance(t *testing.T) {
	p := pct(56.0)
	f := func(v float64) *float64 { return &v }
	one := func(lo, hi float64) MetricsRow {
		return MetricsRow{AUROC: (lo + hi) / 2, AUROCLo: lo, AUROCHi: hi, NMembers: 100, NNonMembers: 100, NSeeds: 1, Interval: "bootstrap"}
	}
	pooledT := MetricsRow{AUROC: 0.62, AUROCLo: 0.31, AUROCHi: 0.93, NMembers: 90, NNonMembers: 95, NSeeds: 2, Interval: "t", BootLo: f(0.55), BootHi: f(0.69)}
	for _, tc := range []struct {
		name  string
		row   MetricsRow
		paper *float64
		want  string
		why   []string
	}{
		// Rows without a permutation p-value (written before it existed)
		// fall back to the interval rule.
		{"interval above", one(0.52, 0.70), p, Reproduced, []string{"above chance", "100 non-members", "interval rule"}},
		{"interval includes chance", one(0.48, 0.70), p, NotReproduced, []string{"inconclusive", "chance not rejected"}},
		{"interval below", one(0.30, 0.49), p, NotReproduced, []string{"below chance"}},
		{"not in the paper", one(0.60, 0.80), nil, NotComparable, []string{"not in the paper"}},
		{"interval lower end exactly 0.5", one(0.5, 0.7), p, NotReproduced, []string{"inconclusive"}},
		// The permutation test decides when the row has it, whatever the
		// interval says: a t interval over 2 seeds far wider than chance
		// does not stop a rejection at 0.025 ...
		{"pooled, t interval wider, test rejects", withP(pooledT, 0.0001), p, Reproduced,
			[]string{"p = 0.0001", "t interval over 2 seeds", "crossed bootstrap [0.550, 0.690]", "2 seeds", "95 non-members"}},
		{"p exactly at the level", withP(one(0.48, 0.70), 0.025), p, Reproduced, []string{"p = 0.0250"}},
		// ... and a bootstrap interval above 0.5 does not make a yes when
		// the test does not reject.
		{"interval above, test does not reject", withP(one(0.51, 0.70), 0.03), p, NotReproduced, []string{"inconclusive", "p = 0.0300"}},
		{"lower tail rejects", withP(one(0.30, 0.49), 0.99), p, NotReproduced, []string{"below chance", "p = 0.9900 above, 0.0100 below"}},
		// Below chance is the lower tail's call too, not the interval's: a
		// 2-seed t interval reaching over 0.5 does not hide it ...
		{"lower tail rejects, t interval over 0.5", withP(MetricsRow{AUROC: 0.40, AUROCLo: 0.1, AUROCHi: 0.7, NSeeds: 2, Interval: "t"}, 0.999), p, NotReproduced, []string{"below chance"}},
		// ... and an interval under 0.5 without a rejection is inconclusive.
		{"interval below, lower tail does not reject", withP(one(0.30, 0.49), 0.95), p, NotReproduced, []string{"inconclusive"}},
		{"not in the paper, with a test", withP(one(0.6, 0.8), 0.0001), nil, NotComparable, []string{"p = 0.0001"}},
	} {
		got, why := AboveChance(tc.row, tc.paper)
		if got != tc.want {
			t.Errorf("%s: %q (%s), want %q", tc.name, got, why, tc.want)
		}
		for _, w := range tc.why {
			if !strings.Contains(why, w) {
				t.Errorf("%s: reason %q lacks %q", tc.name, why, w)
			}
		}
	}
}

func TestCompareOrdering(t *testing.T) {
	row := func(ds string, auroc, lo, hi float64) PaperRow {
		return PaperRow{Dataset: ds, AUROC: auroc, AUROCLo: lo, AUROCHi: hi, PaperAUROC: PaperUserInference[ds].AUROC}
	}
	// pooled is a 2-seed row whose headline is a wide t interval and whose
	// crossed bootstrap is [lo, hi]: the ordering compares the bootstrap.
	pooled := func(ds string, auroc, lo, hi float64) PaperRow {
		r := row(ds, auroc, 0.1, 0.99)
		r.NSeeds, r.Interval, r.BootLo, r.BootHi = 2, "t", &lo, &hi
		return r
	}
	// Paper: enron 0.873 > arxiv 0.572 > reddit 0.560; arxiv/reddit is
	// closer than PaperTie, so only enron/arxiv and enron/reddit count.
	for _, tc := range []struct {
		name           string
		rows           []PaperRow
		want           string
		pairs, agree   int
		resolved       int
		oursStartsWith string
		why            string
	}{
		{"same order, both counted pairs resolved", []PaperRow{row("reddit", 0.55, 0.50, 0.60), row("enron", 0.80, 0.70, 0.90), row("arxiv", 0.57, 0.52, 0.62), row("email", 0.99, 0.98, 1)},
			Reproduced, 2, 2, 2, "enron", "2 of 2 pairs"},
		{"arxiv/reddit reversed but a tie in the paper", []PaperRow{row("reddit", 0.65, 0.62, 0.68), row("enron", 0.80, 0.75, 0.85), row("arxiv", 0.55, 0.52, 0.58)},
			Reproduced, 2, 2, 2, "enron", "none reversed"},
		{"same order, all overlapping", []PaperRow{row("reddit", 0.55, 0.40, 0.70), row("enron", 0.60, 0.45, 0.75)}, NotReproduced, 1, 1, 0, "enron", "within noise"},
		{"reversed within noise", []PaperRow{row("reddit", 0.62, 0.50, 0.74), row("enron", 0.60, 0.48, 0.72)}, NotReproduced, 1, 0, 0, "reddit", "within noise"},
		{"reversed beyond noise", []PaperRow{row("reddit", 0.70, 0.65, 0.75), row("enron", 0.60, 0.55, 0.64)}, NotReproduced, 1, 0, 0, "reddit", "reversed beyond noise (disjoint intervals; crossed bootstrap for pooled rows): reddit/enron"},
		// A resolved agreeing pair does not outweigh a resolved reversed one.
		{"one agreeing, one reversed, both resolved", []PaperRow{row("reddit", 0.90, 0.88, 0.92), row("enron", 0.80, 0.78, 0.82), row("arxiv", 0.60, 0.58, 0.62)},
			NotReproduced, 2, 1, 1, "reddit", "reversed beyond noise (disjoint intervals; crossed bootstrap for pooled rows): reddit/enron"},
		{"pooled rows: crossed bootstraps disjoint, t intervals not", []PaperRow{pooled("reddit", 0.55, 0.51, 0.59), pooled("enron", 0.70, 0.64, 0.76)},
			Reproduced, 1, 1, 1, "enron", "crossed bootstrap for pooled rows"},
		{"pooled rows: crossed bootstraps overlap", []PaperRow{pooled("reddit", 0.55, 0.51, 0.65), pooled("enron", 0.70, 0.64, 0.76)},
			NotReproduced, 1, 1, 0, "enron", "within noise"},
		{"one paper dataset", []PaperRow{row("reddit", 0.70, 0.65, 0.75), row("email", 0.6, 0.5, 0.7)}, NotComparable, 0, 0, 0, "reddit", ""},
	} {
		got := CompareOrdering(tc.rows)
		if got.Reproduces != tc.want || got.Pairs != tc.pairs || got.Agree != tc.agree || got.Resolved != tc.resolved || !strings.HasPrefix(got.Ours, tc.oursStartsWith) || !strings.Contains(got.Why, tc.why) {
			t.Errorf("%s: %+v; want %s (%q), %d pairs, %d agree, %d resolved, ours from %s", tc.name, got, tc.want, tc.why, tc.pairs, tc.agree, tc.resolved, tc.oursStartsWith)
		}
		if strings.Contains(got.Ours, "email") {
			t.Errorf("%s: a dataset the paper lacks entered the order: %s", tc.name, got.Ours)
		}
	}
}

package experiment

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/privlm/privlm/framework/metrics"
)

// groupScores makes one attack's scores: non-canary users (members score
// higher on average) and canary users (members score far higher).
func groupScores(nonCanaryMembers, nonCanaryNon, canaryMembers, canaryNon int) []ScoreRow {
	r := rand.New(rand.NewPCG(7, 7))
	var rows []ScoreRow
	add := func(n int, member, canary bool, shift float64) {
		for range n {
			rows = append(rows, ScoreRow{ExperimentID: "x", Attack: "user-inference", UserID: fmt.Sprintf("u%03d", len(rows)),
				Member: member, Canary: canary, Score: r.NormFloat64() + shift})
		}
	}
	add(nonCanaryMembers, true, false, 0.5)
	add(nonCanaryNon, false, false, 0)
	add(canaryMembers, true, true, 5)
	add(canaryNon, false, true, 0)
	return rows
}

// TestMetricsGroupsAndHeadline: rows for all, canary and non_canary users;
// the headline is non_canary and its numbers are those of the non-canary
// users alone (canaries, built to be exposed, do not lift it); every row
// carries its support.
func TestMetricsGroupsAndHeadline(t *testing.T) {
	scores := groupScores(40, 40, 8, 8)
	cfg := Default()
	cfg.Name, cfg.Bootstrap = "x", 50
	rows, curves, err := computeMetrics(cfg, scores)
	if err != nil {
		t.Fatal(err)
	}
	byGroup := map[string]MetricsRow{}
	for _, r := range rows {
		byGroup[r.Group] = r
	}
	for _, tc := range []struct {
		group       string
		canary      func(bool) bool
		members, nm int64
	}{
		{GroupAll, func(bool) bool { return true }, 48, 48},
		{GroupCanary, func(c bool) bool { return c }, 8, 8},
		{GroupNonCanary, func(c bool) bool { return !c }, 40, 40},
	} {
		r, ok := byGroup[tc.group]
		if !ok {
			t.Fatalf("no %s row in %+v", tc.group, rows)
		}
		var sc []float64
		var mem []bool
		for _, s := range scores {
			if tc.canary(s.Canary) {
				sc, mem = append(sc, s.Score), append(mem, s.Member)
			}
		}
		want, _ := metrics.AUROC(sc, mem)
		wantP, _ := metrics.ChanceP([]metrics.Labelled{{Scores: sc, Member: mem}}, metrics.Permutations, cfg.Seed)
		if r.ChanceP == nil || *r.ChanceP != wantP {
			t.Errorf("%s: chance p %v, want %v (the group's own users)", tc.group, r.ChanceP, wantP)
		}
		if r.AUROC != want || r.NMembers != tc.members || r.NNonMembers != tc.nm || r.NUsers != tc.members+tc.nm {
			t.Errorf("%s: AUROC %v (want %v), support %d/%d (want %d/%d)", tc.group, r.AUROC, want, r.NMembers, r.NNonMembers, tc.members, tc.nm)
		}
	}
	head := Headline(rows)
	if len(head) != 1 || head[0].Group != GroupNonCanary {
		t.Fatalf("headline %+v, want the non_canary row", head)
	}
	if !(byGroup[GroupAll].AUROC > head[0].AUROC) {
		t.Errorf("test data: canaries should lift the all-users AUROC (%v) above the headline (%v)", byGroup[GroupAll].AUROC, head[0].AUROC)
	}
	if got := ComparePaper("enron", rows); len(got) != 1 || got[0].AUROC != head[0].AUROC || *got[0].PaperAUROC != 0.873 || got[0].ChanceP == nil || *got[0].ChanceP != *head[0].ChanceP || got[0].ChanceBelowP == nil || *got[0].ChanceBelowP != *head[0].ChanceBelowP {
		t.Errorf("ComparePaper %+v: want the headline beside the paper's 0.873", got)
	}
	// The curves are the headline group's: 40 non-members' FPR steps.
	for _, p := range curves["user-inference"] {
		if k := p.FPR * 40; k != float64(int(k+0.5)) {
			t.Fatalf("curve point FPR %v is not k/40: not the non-canary users' curve", p.FPR)
		}
	}
	// 40 non-members: TPR at 5% FPR (needs 20) but not at 1% (100) or 0.1% (1000).
	if h := head[0]; h.TPRAt5FPR == nil || h.TPRAt1FPR != nil || h.TPRAt01FPR != nil {
		t.Errorf("TPR support at 40 non-members: 0.1%% %v, 1%% %v, 5%% %v", h.TPRAt01FPR, h.TPRAt1FPR, h.TPRAt5FPR)
	}
	// No canaries: all and non_canary, no canary row.
	rows, _, err = computeMetrics(cfg, groupScores(10, 10, 0, 0))
	if err != nil || len(rows) != 2 || rows[0].Group != GroupAll || rows[1].Group != GroupNonCanary || rows[0].AUROC != rows[1].AUROC {
		t.Errorf("without canaries: %+v, %v", rows, err)
	}
}

// TestTPRNotAvailableAt19NonMembers (issue 13 acceptance): at 19
// non-members no TPR at 0.1%, 1% or 5% FPR is reported (each would be the
// TPR at FPR 0); at 20 the 5% one is.
func TestTPRNotAvailableAt19NonMembers(t *testing.T) {
	cfg := Default()
	cfg.Name, cfg.Bootstrap = "x", 0
	for _, tc := range []struct {
		non  int
		has5 bool
	}{{19, false}, {20, true}} {
		rows, _, err := computeMetrics(cfg, groupScores(19, tc.non, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.TPRAt01FPR != nil || r.TPRAt1FPR != nil || (r.TPRAt5FPR != nil) != tc.has5 || r.NNonMembers != int64(tc.non) {
				t.Errorf("%d non-members, %s: TPRs %v %v %v (n_non_members %d)", tc.non, r.Group, r.TPRAt01FPR, r.TPRAt1FPR, r.TPRAt5FPR, r.NNonMembers)
			}
		}
	}
}

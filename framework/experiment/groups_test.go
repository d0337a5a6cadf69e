package experiment_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/metrics"
)

// naiveAUROC is the probability a member outscores a non-member (ties half).
func naiveAUROC(rows []experiment.ScoreRow) float64 {
	var wins, pairs float64
	for _, a := range rows {
		for _, b := range rows {
			if a.Member && !b.Member {
				pairs++
				switch {
				case a.Score > b.Score:
					wins++
				case a.Score == b.Score:
					wins += 0.5
				}
			}
		}
	}
	return wins / pairs
}

func TestGroupMetrics(t *testing.T) {
	var scores []experiment.ScoreRow
	for i := 0; i < 40; i++ {
		member, canary := i%2 == 0, i%4 < 2
		s := math.Sin(float64(i)) // deterministic noise
		if member && canary {
			s += 1 // canary members stand out
		}
		scores = append(scores, experiment.ScoreRow{ExperimentID: "e", Attack: "ui", UserID: fmt.Sprint(i), Member: member,
			Canary: canary, NUserDocs: int64(1 + i%10), Score: s})
	}
	rows, err := experiment.GroupMetrics(scores, experiment.ByCanary, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Group != "canary" || rows[1].Group != "other" {
		t.Fatalf("groups %+v", rows)
	}
	for _, r := range rows {
		var in []experiment.ScoreRow
		for _, s := range scores {
			if experiment.ByCanary(s) == r.Group {
				in = append(in, s)
			}
		}
		if want := naiveAUROC(in); math.Abs(r.AUROC-want) > 1e-12 || r.NUsers != int64(len(in)) {
			t.Errorf("%s: AUROC %v over %d users, want %v over %d", r.Group, r.AUROC, r.NUsers, want, len(in))
		}
	}
	if rows[0].AUROC <= rows[1].AUROC {
		t.Errorf("canary AUROC %v not above the others' %v", rows[0].AUROC, rows[1].AUROC)
	}
	// Groups with only members (or none) are skipped.
	only, err := experiment.GroupMetrics(scores, func(s experiment.ScoreRow) string {
		if s.Member {
			return "members"
		}
		return ""
	}, 10, 1)
	if err != nil || len(only) != 0 {
		t.Errorf("one-sided group: %+v, %v", only, err)
	}
}

func TestByUserDocs(t *testing.T) {
	var scores []experiment.ScoreRow
	for i := 1; i <= 9; i++ {
		scores = append(scores, experiment.ScoreRow{UserID: fmt.Sprint(i), NUserDocs: int64(i)})
	}
	scores = append(scores, experiment.ScoreRow{UserID: "canary", NUserDocs: 100, Canary: true})
	group := experiment.ByUserDocs(scores, 3)
	for _, tc := range []struct {
		docs   int64
		canary bool
		want   string
	}{{1, false, "1-3 docs"}, {3, false, "1-3 docs"}, {4, false, "4-6 docs"}, {9, false, "7-9 docs"}, {100, true, ""}} {
		if got := group(experiment.ScoreRow{NUserDocs: tc.docs, Canary: tc.canary}); got != tc.want {
			t.Errorf("%d docs (canary %v): %q, want %q", tc.docs, tc.canary, got, tc.want)
		}
	}
}

func ExampleGroupMetrics() {
	scores := []experiment.ScoreRow{
		{Attack: "user-inference", UserID: "a", Member: true, Canary: true, Score: 3},
		{Attack: "user-inference", UserID: "b", Member: false, Canary: true, Score: 1},
		{Attack: "user-inference", UserID: "c", Member: true, Score: 1},
		{Attack: "user-inference", UserID: "d", Member: false, Score: 2},
	}
	rows, _ := experiment.GroupMetrics(scores, experiment.ByCanary, metrics.DefaultBootstrap, 1)
	for _, r := range rows {
		fmt.Printf("%s users: AUROC %.1f\n", r.Group, r.AUROC)
	}
	// Output:
	// canary users: AUROC 1.0
	// other users: AUROC 0.0
}

// Under repeats each seed has its own held-in users: GroupMetrics never
// mixes seeds in one AUROC (seed 2's scores are shifted, so mixing would
// rank its non-members above seed 1's members), and pools them after.
func TestGroupMetricsKeepsSeedsApart(t *testing.T) {
	var scores []experiment.ScoreRow
	for seed := int64(1); seed <= 2; seed++ {
		for i := 0; i < 40; i++ {
			member := (i < 20) == (seed == 1) // the seeds hold in different users
			s := 10*float64(seed-1) + math.Abs(math.Sin(float64(i)))/2
			if member {
				s += 1
			}
			scores = append(scores, experiment.ScoreRow{ExperimentID: "e", Attack: "ui", UserID: fmt.Sprint(i), Member: member,
				Seed: seed, NUserDocs: 3, Score: s})
		}
	}
	rows, err := experiment.GroupMetrics(scores, func(experiment.ScoreRow) string { return "all" }, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want seeds 1 and 2 and pooled: %+v", len(rows), rows)
	}
	for i, r := range rows {
		if i < 2 && (r.Seed == nil || *r.Seed != int64(i+1) || r.NSeeds != 1) || i == 2 && (r.Seed != nil || r.NSeeds != 2) {
			t.Errorf("row %d: seed %v, n_seeds %d", i, r.Seed, r.NSeeds)
		}
		if r.AUROC != 1 || r.NUsers != 40 || r.NMembers != 20 {
			t.Errorf("row %d: AUROC %v over %d users (%d members), want 1 over 40 (20)", i, r.AUROC, r.NUsers, r.NMembers)
		}
	}
}

package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/metrics"
)

// liftScores is two sweep points (canary.tokens 10 and 50) x 2 seeds of 80
// users, the first 40 canaries; canary members gain gain[point], other
// members 0.2.
func liftScores(gain10, gain50 float64) []ScoreRow {
	rng := rand.New(rand.NewPCG(8, 1))
	var out []ScoreRow
	for _, p := range []struct {
		v    string
		gain float64
	}{{"50", gain50}, {"10", gain10}, {"4", gain10}} {
		for _, seed := range []int64{1, 2} {
			for u := range 80 {
				s := ScoreRow{ExperimentID: "canaries/canary.tokens=" + p.v, Seed: seed, Attack: "user-inference", UserID: fmt.Sprint("u", u),
					Member: u%2 == 0, Canary: u < 40, Score: rng.NormFloat64()}
				if s.Member && s.Canary {
					s.Score += p.gain
				} else if s.Member {
					s.Score += 0.2
				}
				out = append(out, s, ScoreRow{ExperimentID: s.ExperimentID, Seed: seed, Attack: "loss", UserID: s.UserID, Member: s.Member, Canary: s.Canary, Score: rng.NormFloat64()})
			}
		}
	}
	return out
}

func TestCanaryLift(t *testing.T) {
	scores := liftScores(0.2, 2.0)
	paper := func(exp string) string {
		if strings.HasSuffix(exp, "=10") {
			return "Reddit 10 tokens: 56% -> 65%"
		}
		return ""
	}
	rows, err := CanaryLift(scores, "user-inference", paper)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].ExperimentID != "canaries/canary.tokens=4" || rows[1].ExperimentID != "canaries/canary.tokens=10" || rows[2].ExperimentID != "canaries/canary.tokens=50" {
		t.Fatalf("rows %+v, want the three points in numeric order", rows)
	}
	rows = rows[1:]
	// 10 tokens: no real lift; 50 tokens: a large one, but no paper number.
	if rows[0].Reproduces != NotReproduced || !strings.Contains(rows[0].Why, "not shown") ||
		rows[1].Reproduces != NotComparable || rows[1].P > 0.001 {
		t.Fatalf("verdicts %q (%s) and %q p=%v", rows[0].Reproduces, rows[0].Why, rows[1].Reproduces, rows[1].P)
	}
	// The numbers are CompareAUROCUnpaired's, seed by seed.
	for _, r := range rows {
		var a, b []metrics.Labelled
		for _, seed := range []int64{1, 2} {
			var o, c metrics.Labelled
			for _, s := range scores {
				if s.ExperimentID == r.ExperimentID && s.Seed == seed && s.Attack == "user-inference" {
					l := &o
					if s.Canary {
						l = &c
					}
					l.Users, l.Scores, l.Member = append(l.Users, s.UserID), append(l.Scores, s.Score), append(l.Member, s.Member)
				}
			}
			a, b = append(a, o), append(b, c)
		}
		want, _ := metrics.CompareAUROCUnpaired(a, b)
		if math.Abs(r.Lift-want.Delta) > 1e-12 || math.Abs(r.P-want.P) > 1e-12 || r.AUROCGroup != want.AUROCB || r.NGroup != 40 || r.NBaseline != 40 || r.NSeeds != 2 {
			t.Fatalf("row %+v, want %+v", r, want)
		}
	}
	big, _ := CanaryLift(liftScores(2.0, 2.0), "user-inference", paper)
	if big[1].Reproduces != Reproduced || !strings.Contains(big[1].Why, "more exposed, as in the paper") || big[1].Group != "canary users" {
		t.Errorf("a large lift at 10 tokens: %q, %q", big[1].Reproduces, big[1].Why)
	}
	if _, err := CanaryLift(scores, "min-k", nil); err == nil || !strings.Contains(err.Error(), `attack "min-k"`) {
		t.Errorf("unknown attack: %v", err)
	}
	var noCanary []ScoreRow
	for _, s := range scores {
		if !s.Canary {
			noCanary = append(noCanary, s)
		}
	}
	if _, err := CanaryLift(noCanary, "user-inference", nil); err == nil || !strings.Contains(err.Error(), "no seed has both") {
		t.Errorf("no canaries: %v", err)
	}
}

// DocsLift: members trained on the most documents against members trained
// on fewer, each against all non-members (shared), canaries left out.
func TestDocsLift(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var scores []ScoreRow
	for _, seed := range []int64{1, 2} {
		for u := range 120 {
			s := ScoreRow{ExperimentID: "share", Seed: seed, Attack: "user-inference", UserID: fmt.Sprint("u", u), Member: u%2 == 0, Score: rng.NormFloat64()}
			if s.Member {
				s.NTrainSamples = 2
				if u%4 == 0 {
					s.NTrainSamples = 10
					s.Score += 0.8
				}
			}
			scores = append(scores, s)
		}
		scores = append(scores, ScoreRow{ExperimentID: "share", Seed: seed, Attack: "user-inference", UserID: "canary", Member: true, Canary: true, NTrainSamples: 50, Score: 99})
	}
	rows, err := DocsLift(scores, "user-inference", func(string) string { return "grows with share" })
	if err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	if len(rows) != 1 || r.Reproduces != Reproduced || r.NGroup != 30 || r.NBaseline != 30 || r.Group != "members with the most documents trained" {
		t.Fatalf("rows %+v", rows)
	}
	var a, b []metrics.Labelled
	for _, seed := range []int64{1, 2} {
		var few, many metrics.Labelled
		for _, s := range scores {
			if s.Seed != seed || s.Canary {
				continue
			}
			for _, l := range []*metrics.Labelled{&few, &many} {
				if !s.Member || (s.NTrainSamples == 10) == (l == &many) {
					l.Users, l.Scores, l.Member = append(l.Users, s.UserID), append(l.Scores, s.Score), append(l.Member, s.Member)
				}
			}
		}
		a, b = append(a, few), append(b, many)
	}
	want, err := metrics.CompareAUROCSharedNonMembers(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.Lift-want.Delta) > 1e-12 || math.Abs(r.P-want.P) > 1e-12 || r.AUROCBaseline != want.AUROCA {
		t.Fatalf("row %+v, want %+v", r, want)
	}
}

func TestDocsLiftNeedsTwoCounts(t *testing.T) {
	var scores []ScoreRow
	for u := range 40 {
		scores = append(scores, ScoreRow{ExperimentID: "share", Seed: 1, Attack: "user-inference", UserID: fmt.Sprint("u", u), Member: u%2 == 0, NTrainSamples: int64(2 + u%6)})
	}
	if _, err := DocsLift(scores, "user-inference", nil); err == nil || !strings.Contains(err.Error(), "3 different counts [2 4 6]") {
		t.Errorf("members with 2, 4 and 6 documents: %v", err)
	}
}

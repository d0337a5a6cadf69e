package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/metrics"
)

// growthScores is a sweep's scores over attack.samples at 1 and 10 for
// seeds 1 and 2: 80 users (half members) plus 4 canary members with huge
// scores; members gain gain1 at m=1 and gain10 at m=10.
func growthScores(gain1, gain10 float64) []ScoreRow {
	rng := rand.New(rand.NewPCG(4, 2))
	var out []ScoreRow
	for _, seed := range []int64{1, 2} {
		for u := range 84 {
			noise := rng.NormFloat64()
			for _, m := range []struct {
				v    string
				gain float64
			}{{"1", gain1}, {"10", gain10}} {
				s := ScoreRow{ExperimentID: "growth/attack.samples=" + m.v, Seed: seed, Attack: "user-inference", UserID: fmt.Sprint("u", u),
					Member: u%2 == 0 || u >= 80, Canary: u >= 80, Score: noise + 0.3*rng.NormFloat64()}
				if s.Member {
					s.Score += m.gain
				}
				if s.Canary {
					s.Score += 100
				}
				out = append(out, s)
				// Another attack's rows must not enter.
				other := s
				other.Attack, other.Score = "loss", rng.NormFloat64()
				out = append(out, other)
			}
		}
	}
	return out
}

func TestGrowth(t *testing.T) {
	const paper = "rises with m"
	for _, tc := range []struct {
		name           string
		gain1, gain10  float64
		paper, verdict string
		why            string
	}{
		{"grows", 0.1, 1.0, paper, Reproduced, "grows"},
		{"flat", 0.5, 0.5, paper, NotReproduced, "not shown"},
		{"falls", 1.0, 0.0, paper, NotReproduced, "falls"},
		{"not in the paper", 0.1, 1.0, "", NotComparable, "does not test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scores := growthScores(tc.gain1, tc.gain10)
			row, err := Growth(scores, "user-inference", "attack.samples", tc.paper)
			if err != nil {
				t.Fatal(err)
			}
			if row.Reproduces != tc.verdict || !strings.Contains(row.Why, tc.why) {
				t.Fatalf("%s: %q, why %q", tc.name, row.Reproduces, row.Why)
			}
			// The numbers are CompareAUROC's over the non-canary users.
			var a, b []metrics.Labelled
			for _, seed := range []int64{1, 2} {
				var la, lb metrics.Labelled
				for _, s := range scores {
					if s.Seed != seed || s.Attack != "user-inference" || s.Canary {
						continue
					}
					l := &la
					if strings.HasSuffix(s.ExperimentID, "=10") {
						l = &lb
					}
					l.Users, l.Scores, l.Member = append(l.Users, s.UserID), append(l.Scores, s.Score), append(l.Member, s.Member)
				}
				a, b = append(a, la), append(b, lb)
			}
			want, err := metrics.CompareAUROC(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(row.Delta-want.Delta) > 1e-12 || math.Abs(row.P-want.P) > 1e-12 || row.From != 1 || row.To != 10 || row.NSeeds != 2 || row.NUsers != 80 || row.NLeftOut != 0 ||
				!strings.Contains(row.SeedDeltas, fmt.Sprintf("seed 2 %+.3f", want.RunDeltas[1])) {
				t.Fatalf("row %+v, want CompareAUROC's %+v over 2 seeds and 80 non-canary users", row, want)
			}
		})
	}
}

// Users scored at one value only (at m = 10, users the overlap drop left
// short) are left out of the paired comparison and counted.
func TestGrowthLeavesOutUsersScoredOnce(t *testing.T) {
	var scores []ScoreRow
	for _, s := range growthScores(0.1, 1.0) {
		if s.ExperimentID == "growth/attack.samples=10" && (s.UserID == "u3" || s.UserID == "u4") && s.Seed == 1 {
			continue
		}
		scores = append(scores, s)
	}
	row, err := Growth(scores, "user-inference", "attack.samples", "x")
	if err != nil {
		t.Fatal(err)
	}
	if row.NLeftOut != 2 || row.NUsers != 78 || !strings.Contains(row.Why, "2 scored at one value only") {
		t.Fatalf("left out %d, users %d, why %q; want 2 left out and 78 users compared in seed 1", row.NLeftOut, row.NUsers, row.Why)
	}
}

func TestGrowthErrors(t *testing.T) {
	scores := growthScores(0, 1)
	var one []ScoreRow
	for _, s := range scores {
		if strings.HasSuffix(s.ExperimentID, "=1") {
			one = append(one, s)
		}
	}
	noKey := append([]ScoreRow{}, scores...)
	noKey[0].ExperimentID = "growth/train.epochs=2"
	twoKeys := append([]ScoreRow{}, scores...)
	twoKeys[0].ExperimentID = "growth/attack.samples=1,train.epochs=2"
	for _, tc := range []struct {
		name   string
		scores []ScoreRow
		want   string
	}{
		{"one value", one, "two values"},
		{"row without the key", noKey, "no numeric attack.samples"},
		{"a sweep over two keys", twoKeys, "attack.samples alone"},
	} {
		if _, err := Growth(tc.scores, "user-inference", "attack.samples", "x"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

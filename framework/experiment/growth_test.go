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

// A finding that AUROC falls as the key grows is tested one-sided the
// other way; a group of canary users is compared on its own users.
func TestTrendFallsAndGroups(t *testing.T) {
	for _, tc := range []struct {
		name          string
		gain1, gain10 float64
		trend         Trend
		verdict, why  string
		users         int64
	}{
		{"falls as expected", 1.0, 0.1, Trend{Falls: true, Paper: "p"}, Reproduced, "falls, as in the paper", 80},
		{"grows against a fall", 0.1, 1.0, Trend{Falls: true, Paper: "p"}, NotReproduced, "grows, against the paper", 80},
		{"canary users grow", 0.1, 1.0, Trend{Group: GroupCanary, Paper: "p"}, Reproduced, "grows, as in the paper", 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scores := growthScores(tc.gain1, tc.gain10)
			var canary, other [2][]metrics.Labelled // [from, to] per seed, for the reference numbers
			for i := range scores {
				s := &scores[i]
				u := 0
				fmt.Sscanf(s.UserID, "u%d", &u)
				if tc.trend.Group == GroupCanary {
					s.Canary = u < 40 // 40 canary users, half members
				}
			}
			for _, seed := range []int64{1, 2} {
				var la, lb, oa, ob metrics.Labelled
				for _, s := range scores {
					if s.Seed != seed || s.Attack != "user-inference" {
						continue
					}
					l := map[[2]bool]*metrics.Labelled{{true, false}: &la, {true, true}: &lb, {false, false}: &oa, {false, true}: &ob}[[2]bool{s.Canary, strings.HasSuffix(s.ExperimentID, "=10")}]
					l.Users, l.Scores, l.Member = append(l.Users, s.UserID), append(l.Scores, s.Score), append(l.Member, s.Member)
				}
				canary[0], canary[1] = append(canary[0], la), append(canary[1], lb)
				other[0], other[1] = append(other[0], oa), append(other[1], ob)
			}
			tr := tc.trend
			tr.Attack, tr.Key = "user-inference", "attack.samples"
			row, err := tr.Test(scores)
			if err != nil {
				t.Fatal(err)
			}
			if row.Reproduces != tc.verdict || !strings.Contains(row.Why, tc.why) || row.NUsers != tc.users {
				t.Fatalf("%q with %d users, why %q", row.Reproduces, row.NUsers, row.Why)
			}
			ref := other
			if tc.trend.Group == GroupCanary {
				ref = canary
			}
			up, _ := metrics.CompareAUROC(ref[0], ref[1])
			down, _ := metrics.CompareAUROC(ref[1], ref[0])
			wantP := up.P
			if tc.trend.Falls {
				wantP = down.P
			}
			if math.Abs(row.Delta-up.Delta) > 1e-12 || math.Abs(row.P-wantP) > 1e-12 || math.Abs(row.DeltaLo-up.Lo) > 1e-12 || row.AUROCFrom != up.AUROCA {
				t.Fatalf("row %+v; want delta %v [%v, %v], p %v", row, up.Delta, up.Lo, up.Hi, wantP)
			}
		})
	}
	if _, err := (Trend{Attack: "user-inference", Key: "attack.samples", Group: GroupAll}).Test(growthScores(0, 1)); err == nil || !strings.Contains(err.Error(), "group \"all\"") {
		t.Errorf("group all: %v, want an error naming it", err)
	}
}

// Over a key that retrains (outside attack.*), a significant pooled
// difference whose seeds disagree in direction is not a reproduction.
func TestTrendRetrainedSeedsDisagree(t *testing.T) {
	scores := growthScores(0.1, 1.0)
	for i := range scores {
		s := &scores[i]
		s.ExperimentID = strings.Replace(s.ExperimentID, "attack.samples", "train.epochs", 1)
		if s.Seed == 2 && strings.HasSuffix(s.ExperimentID, "=10") && s.Member && !s.Canary && s.Attack == "user-inference" {
			s.Score -= 1.4 // seed 2: a fall
		}
	}
	row, err := Trend{Attack: "user-inference", Key: "train.epochs", Paper: "p"}.Test(scores)
	if err != nil {
		t.Fatal(err)
	}
	if row.P > 0.025 || row.Reproduces != NotReproduced || !strings.Contains(row.Why, "seeds disagree") || !strings.Contains(row.Why, "different fine-tunings") {
		t.Fatalf("p %v, %q: %q", row.P, row.Reproduces, row.Why)
	}
}

// A canary Trend needs the same canary users at every point.
func TestTrendCanaryUsersMustMatch(t *testing.T) {
	scores := growthScores(0.1, 1.0)
	var kept []ScoreRow
	for _, s := range scores {
		if s.Canary && s.UserID == "u81" && strings.HasSuffix(s.ExperimentID, "=10") {
			continue
		}
		kept = append(kept, s)
	}
	for i := range kept {
		if kept[i].UserID == "u0" || kept[i].UserID == "u1" || kept[i].UserID == "u3" {
			kept[i].Canary = true // canary non-members, so both labels are present
		}
	}
	_, err := Trend{Attack: "user-inference", Key: "attack.samples", Group: GroupCanary}.Test(kept)
	if err == nil || !strings.Contains(err.Error(), "scored at one value only") {
		t.Errorf("a canary user missing at one point: %v", err)
	}
}

package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/metrics"
	"github.com/privlm/privlm/framework/train"
)

// mitigationScores is a mitigation sweep ("mit/<point>") over 2 seeds of
// 200 users (even ones members, the last 10 canaries), the same users at
// every point: members gain gain[point][seed-1] over non-members, and every
// user's noise is shared across points (the same split and attacker
// samples), plus a little of the point's own. It also returns the pooled
// headline metrics rows the test reads validation losses and epsilons from.
func mitigationScores(gain map[string][2]float64) ([]ScoreRow, []MetricsRow) {
	rng := rand.New(rand.NewPCG(5, 9))
	base := make([]float64, 400)
	for i := range base {
		base[i] = rng.NormFloat64()
	}
	var scores []ScoreRow
	var rows []MetricsRow
	for point, g := range gain {
		for seed := int64(1); seed <= 2; seed++ {
			for u := range 200 {
				s := ScoreRow{ExperimentID: "mit/" + point, Seed: seed, Attack: "user-inference", UserID: fmt.Sprint("u", u),
					Member: u%2 == 0, Canary: u >= 190, Score: base[int(seed-1)*200+u] + 0.1*rng.NormFloat64()}
				if s.Member {
					s.Score += g[seed-1]
					s.NTrainSamples = 5 // members train on 5 documents, 2 under a cap
					if strings.HasPrefix(point, "mitigations=cap") {
						s.NTrainSamples = 2
					}
				}
				if s.Canary && s.Member {
					s.Score -= 5 // canaries are left out: they would flip every verdict
				}
				scores = append(scores, s)
			}
		}
		vl := 3 - g[0]/10
		r := MetricsRow{ExperimentID: "mit/" + point, NSeeds: 2, Attack: "user-inference", Group: GroupNonCanary, ValLoss: &vl, DPLevel: "none"}
		if strings.HasPrefix(point, "train.dp=") {
			eps, delta := 2.0, 1e-5
			r.DPLevel, r.Epsilon, r.Delta = strings.TrimPrefix(strings.Split(point, ",")[0], "train.dp="), &eps, &delta
		}
		rows = append(rows, r, MetricsRow{ExperimentID: r.ExperimentID, NSeeds: 1, Attack: "user-inference", Group: GroupNonCanary})
	}
	return scores, rows
}

func TestMitigationTest(t *testing.T) {
	const none = "train.clip=none"
	gains := map[string][2]float64{
		none:                         {1.2, 1.2},
		"train.clip=batch":           {1.2, 1.2},
		"mitigations=cap?max_docs=2": {0.5, 0.5},
		"mitigations=dedup":          {0, 0},
		"train.patience=1":           {0.4, 1.6}, // the seeds disagree
		"train.dp=example,train.target_epsilon=2": {0.6, 0.6},
		"train.dp=user,train.target_epsilon=2":    {0, 0},
	}
	scores, rows := mitigationScores(gains)
	for _, tc := range []struct {
		point, against, expect, paper string
		reproduces, why               string
	}{
		{"train.clip=batch", none, ExpectNoEffect, "no effect", Reproduced, "no reduction shown"},
		{"mitigations=cap?max_docs=2", none, ExpectNoEffect, "no effect", NotReproduced, "lowers the AUROC, against the paper"},
		{"mitigations=cap?max_docs=2", none, ExpectLowers, "lowers", Reproduced, "lowers it, as in the paper"},
		{"train.clip=batch", none, ExpectLowers, "lowers", NotReproduced, "no significant reduction"},
		{"train.patience=1", none, ExpectLowers, "lowers", NotReproduced, "the seeds disagree"},
		{"train.dp=example,train.target_epsilon=2", none, ExpectLowersPartly, "partly", Reproduced, "stays above chance"},
		{"mitigations=dedup", none, ExpectLowersPartly, "partly", NotReproduced, "lowers it to chance"},
		{"train.dp=user,train.target_epsilon=2", "train.dp=example,train.target_epsilon=2", ExpectLowers, "", NotComparable, "no user inference test can exceed AUROC 0.8808 against (2, 1e-05)-DP"},
		// "No effect" is not shown by an attack at chance, a reduction the
		// seeds disagree on, or a rise.
		{"train.clip=batch", "mitigations=dedup", ExpectNoEffect, "no effect", NotReproduced, "nothing to lower"},
		{"train.patience=1", none, ExpectNoEffect, "no effect", NotReproduced, "the seeds disagree in direction"},
		{none, "mitigations=cap?max_docs=2", ExpectNoEffect, "no effect", NotReproduced, "raises the AUROC"},
	} {
		t.Run(tc.point+"/"+tc.expect, func(t *testing.T) {
			paperAUROC := 0.647
			r, err := Mitigation{Point: tc.point, Against: tc.against, Expect: tc.expect, Paper: tc.paper, PaperAUROC: &paperAUROC}.Test("mit", scores, rows, "user-inference")
			if err != nil {
				t.Fatal(err)
			}
			if r.PaperAUROC == nil || *r.PaperAUROC != 0.647 || r.PaperAUROCAgainst != nil || r.PaperValLoss != nil || r.PaperValLossAgainst != nil {
				t.Fatalf("paper numbers %v %v %v %v: want the mitigation's (0.647 and three nil)", r.PaperAUROC, r.PaperAUROCAgainst, r.PaperValLoss, r.PaperValLossAgainst)
			}
			if r.Reproduces != tc.reproduces || !strings.Contains(r.Why, tc.why) {
				t.Fatalf("verdict %q (%s), want %q containing %q", r.Reproduces, r.Why, tc.reproduces, tc.why)
			}
			// The numbers are DeLong's paired test on the non-canary users,
			// one-sided for "lowers", and the permutation test of chance.
			var a, b []metrics.Labelled
			for _, seed := range []int64{1, 2} {
				var la, lb metrics.Labelled
				for _, s := range scores {
					l := &la
					if s.ExperimentID == "mit/"+tc.point {
						l = &lb
					} else if s.ExperimentID != "mit/"+tc.against {
						continue
					}
					if s.Seed == seed && !s.Canary {
						l.Users, l.Scores, l.Member = append(l.Users, s.UserID), append(l.Scores, s.Score), append(l.Member, s.Member)
					}
				}
				a, b = append(a, la), append(b, lb)
			}
			want, _ := metrics.CompareAUROC(b, a)
			chance, _ := metrics.ChanceP(b, metrics.Permutations, 1)
			if math.Abs(r.Delta+want.Delta) > 1e-12 || math.Abs(r.P-want.P) > 1e-12 || r.AUROC != want.AUROCA || r.AUROCAgainst != want.AUROCB ||
				r.DeltaLo != -want.Hi || r.ChanceP != chance || r.NUsers != 190 || r.NLeftOut != 0 || r.NSeeds != 2 {
				t.Fatalf("row %+v, want DeLong %+v (reversed) and chance p %v over 190 users", r, want, chance)
			}
			if r.ValLoss == nil || r.ValLossAgainst == nil || *r.ValLoss != 3-gains[tc.point][0]/10 || *r.ValLossAgainst != 3-gains[tc.against][0]/10 {
				t.Fatalf("validation losses %v, %v: want the pooled rows'", r.ValLoss, r.ValLossAgainst)
			}
			if user := strings.HasPrefix(tc.point, "train.dp=user"); user != (r.MaxAUROC != nil) || user && math.Abs(*r.MaxAUROC-0.8808) > 1e-4 {
				t.Fatalf("max AUROC %v for %s: want privacy.MaxAUROC(2, 1e-5) = 0.8808 on user-level DP points only", r.MaxAUROC, tc.point)
			}
			if dp := strings.HasPrefix(tc.point, "train.dp="); dp != (r.Epsilon != nil) {
				t.Fatalf("epsilon %v for %s: want one on DP points only", r.Epsilon, tc.point)
			}
			if r.DeltaLo > r.Delta || r.DeltaHi < r.Delta {
				t.Fatalf("difference %v outside its interval [%v, %v]", r.Delta, r.DeltaLo, r.DeltaHi)
			}
		})
	}
}

func TestMitigationTestErrors(t *testing.T) {
	scores, rows := mitigationScores(map[string][2]float64{"train.clip=none": {1, 1}, "train.clip=batch": {1, 1}})
	for _, tc := range []struct {
		m    Mitigation
		want string
	}{
		{Mitigation{Point: "train.clip=batch", Against: "train.clip=none", Expect: "helps"}, `expect "helps"`},
		{Mitigation{Point: "train.clip=per-example", Against: "train.clip=none", Expect: ExpectNoEffect}, "no seed has scores"},
		{Mitigation{Point: "train.clip=none", Against: "train.clip=none", Expect: ExpectNoEffect}, "against itself"},
	} {
		if _, err := tc.m.Test("mit", scores, rows, "user-inference"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.m, err, tc.want)
		}
	}
	if _, err := (Mitigation{Point: "train.clip=batch", Against: "train.clip=none", Expect: ExpectNoEffect}).Test("mit", scores, nil, "user-inference"); err == nil || !strings.Contains(err.Error(), "no headline metrics row") {
		t.Errorf("without metrics rows: error %v, want one naming the missing row", err)
	}
}

// TestMitigationClippedFraction: a clipping point whose clipping rarely
// bites is not the paper's setting (a bound that clips nearly every step).
func TestMitigationClippedFraction(t *testing.T) {
	scores, rows := mitigationScores(map[string][2]float64{"train.clip=none": {1.2, 1.2}, "train.clip=batch": {1.2, 1.2}})
	for _, tc := range []struct {
		clipped    float64
		reproduces string
		why        string
	}{{0.5, NotComparable, "changed only 50% of gradients"}, {1, Reproduced, "clipping changed 100% of gradients"}} {
		m := Mitigation{Point: "train.clip=batch", Against: "train.clip=none", Expect: ExpectNoEffect, Paper: "no effect", ClippedFraction: &tc.clipped}
		r, err := m.Test("mit", scores, rows, "user-inference")
		if err != nil {
			t.Fatal(err)
		}
		if r.Reproduces != tc.reproduces || !strings.Contains(r.Why, tc.why) || r.ClippedFraction == nil || *r.ClippedFraction != tc.clipped {
			t.Errorf("clipped %v: verdict %q (%s), clipped column %v: want %q containing %q", tc.clipped, r.Reproduces, r.Why, r.ClippedFraction, tc.reproduces, tc.why)
		}
	}
}

// TestSweepClippedFraction: the mean over each seed's logged steps,
// averaged over seeds, of the point asked for.
func TestSweepClippedFraction(t *testing.T) {
	dir := t.TempDir()
	points := []Point{{Keys: []string{"train.clip"}, Values: []string{"none"}}, {Keys: []string{"train.clip"}, Values: []string{"batch"}}}
	if _, err := PlanSweep(Default(), points, dir); err != nil {
		t.Fatal(err)
	}
	for seed, fracs := range map[int][]float64{1: {1, 0, 1, 1}, 2: {0.5, 0.5}} {
		var log []train.LogRow
		for i, f := range fracs {
			log = append(log, train.LogRow{Step: i + 1, ValLoss: math.NaN(), Epsilon: math.NaN(), EpsilonPLD: math.NaN(), ClippedFraction: f})
		}
		path := filepath.Join(dir, PointName(1), fmt.Sprintf("seed-%d", seed), "training_log.parquet")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := train.WriteLog(path, log); err != nil {
			t.Fatal(err)
		}
	}
	got, err := SweepClippedFraction(dir, "train.clip=batch")
	if err != nil || math.Abs(got-(0.75+0.5)/2) > 1e-12 {
		t.Fatalf("SweepClippedFraction = %v, %v: want (0.75 + 0.5)/2", got, err)
	}
	for point, want := range map[string]string{"train.clip=none": "no training_log.parquet", "train.clip=per-example": "has no point"} {
		if _, err := SweepClippedFraction(dir, point); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", point, err, want)
		}
	}
}

// TestMitigationRemovesData: a data mitigation that removed nothing leaves
// the same training data at both points: nothing to test.
func TestMitigationRemovesData(t *testing.T) {
	scores, rows := mitigationScores(map[string][2]float64{"train.clip=none": {1.2, 1.2}, "mitigations=dedup": {1.2, 1.2}, "mitigations=cap?max_docs=2": {0.5, 0.5}})
	for _, tc := range []struct {
		point, reproduces, why string
		docs                   float64
	}{
		{"mitigations=dedup", NotComparable, "removed no training document (members trained on 475 documents", 475},
		{"mitigations=cap?max_docs=2", Reproduced, "members trained on 190 documents, against 475", 190},
	} {
		m := Mitigation{Point: tc.point, Against: "train.clip=none", Expect: ExpectLowers, Paper: "lowers", RemovesData: true}
		r, err := m.Test("mit", scores, rows, "user-inference")
		if err != nil {
			t.Fatal(err)
		}
		if r.Reproduces != tc.reproduces || !strings.Contains(r.Why, tc.why) || r.TrainDocs != tc.docs || r.TrainDocsAgainst != 475 {
			t.Errorf("%s: verdict %q (%s), documents %v against %v: want %q containing %q, %v against 475 (95 non-canary members)", tc.point, r.Reproduces, r.Why, r.TrainDocs, r.TrainDocsAgainst, tc.reproduces, tc.why, tc.docs)
		}
	}
}

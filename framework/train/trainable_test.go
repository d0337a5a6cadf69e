package train

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
)

// tinyClassifier is lm.Tiny with a 2- or 3-class head, freshly seeded.
func tinyClassifier(t *testing.T, classes int) *lm.Model {
	t.Helper()
	base, err := lm.New(lm.Tiny, backend.MustNew(""), 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := base.WithClassifier(classes, 5)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	tinySeqs = [][]int{{1, 5, 9, 200}, {1, 44, 45}, {1, 7, 7, 300, 301, 12}}
	tinyYs   = []int{0, 1, 1}
)

// TestFreezeAllButTrainsOnlyTheListedWeights: with trainable "cls." a step
// of every mode (plain, per-example clipping, DP with noise) and optimizer
// (Adam with weight decay, SGD) changes the head and leaves every other
// weight bit for bit as it was.
func TestFreezeAllButTrainsOnlyTheListedWeights(t *testing.T) {
	for _, opt := range []Config{{Optimizer: "adam", WeightDecay: 0.1}, {Optimizer: "sgd"}} {
		for _, mode := range []struct{ clip, dp string }{{"none", "none"}, {"per-example", "none"}, {"per-example", "example"}} {
			t.Run(opt.Optimizer+"/"+mode.clip+"/"+mode.dp, func(t *testing.T) {
				m := tinyClassifier(t, 2)
				trained, err := FreezeAllBut(m, "cls.")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(trained, []string{"cls.bias", "cls.weight"}) {
					t.Fatalf("trained %v, want the head's weight and bias", trained)
				}
				before := weightsOf(t, m)
				step, err := NewClassifierStep(m, opt.newOptimizer(), mode.clip, mode.dp, 1, 3)
				if err != nil {
					t.Fatal(err)
				}
				b := ClassBatch(tinySeqs, tinyYs, 4, 8)
				for range 3 {
					if _, err := step.Run(StepInputs{Batch: b, LR: 1e-2, Denominator: 3, Sigma: 1}); err != nil {
						t.Fatal(err)
					}
				}
				after := weightsOf(t, m)
				for n := range before {
					same := slices.Equal(before[n], after[n])
					if head := strings.HasPrefix(n, "cls."); head == same {
						t.Errorf("%s: unchanged %v after 3 steps, want unchanged only for frozen weights", n, same)
					}
				}
			})
		}
	}
}

// TestTrainedTapsNormIsTheTrainedWeightsNorm: the per-example gradient norm
// a DP step clips is the norm over the trained parameters alone (checked
// against autodiff of each example), not over the frozen model, also when
// one op's weight trains and its bias does not; and a step clips by it.
func TestTrainedTapsNormIsTheTrainedWeightsNorm(t *testing.T) {
	for _, trainable := range []string{"cls.", "cls.bias", "cls.weight+norm"} {
		t.Run(trainable, func(t *testing.T) {
			m := tinyClassifier(t, 3)
			trained, err := FreezeAllBut(m, trainable)
			if err != nil {
				t.Fatal(err)
			}
			keep := func(n string) bool { return trains(m, n) }
			seqs, ys := tinySeqs, []int{0, 2, 1}
			const T = 8
			ghost, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, in []*Node) []*Node {
				taps := &lm.Taps{}
				loss := ReduceAllSum(ClassLoss(m.ClassLogits(in[0], in[1], in[3], taps), in[2], in[3]))
				part := BackwardTrained(m, taps, loss, 1, keep).SquaredNorms()
				all := Backward(m, taps, loss, 1).SquaredNorms()
				return []*Node{ConvertDType(Sqrt(part), dtypes.Float32), ConvertDType(Sqrt(all), dtypes.Float32)}
			})
			if err != nil {
				t.Fatal(err)
			}
			naive, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, in []*Node) []*Node {
				loss := ReduceAllSum(ClassLoss(m.ClassLogits(in[0], in[1], in[3], nil), in[2], in[3]))
				var params []*Node
				for _, n := range trained {
					params = append(params, m.Variable(n).ValueGraph(loss.Graph()))
				}
				return Gradient(loss, params...)
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := ghost.Exec(anySlice(ClassBatch(seqs, ys, 3, T).Tensors())...)
			if err != nil {
				t.Fatal(err)
			}
			part, all := toF64(res[0]), toF64(res[1])
			for i := range seqs {
				grads, err := naive.Exec(anySlice(ClassBatch(seqs[i:i+1], ys[i:i+1], 1, T).Tensors())...)
				if err != nil {
					t.Fatal(err)
				}
				sq := 0.0
				for _, g := range grads {
					for _, v := range toF64(g) {
						sq += v * v
					}
				}
				if rel(part[i], math.Sqrt(sq)) > 1e-5 {
					t.Errorf("example %d: norm over %v %v, autodiff %v", i, trained, part[i], math.Sqrt(sq))
				}
				if !(all[i] > part[i]*(1+1e-3)) {
					t.Errorf("example %d: norm over every weight %v not above the trained weights' %v: the test cannot tell them apart", i, all[i], part[i])
				}
			}
			// A bound above every trained norm and below every full norm
			// clips no example.
			clip := math.Sqrt(slices.Max(part) * slices.Min(all))
			if !(slices.Max(part) < clip && clip < slices.Min(all)) {
				t.Fatalf("no bound separates trained norms %v from full norms %v", part, all)
			}
			step, err := NewClassifierStep(m, Config{}.newOptimizer(), "per-example", "example", clip, 3)
			if err != nil {
				t.Fatal(err)
			}
			r, err := step.Run(StepInputs{Batch: ClassBatch(seqs, ys, 3, T), LR: 1e-3, Denominator: 3})
			if err != nil {
				t.Fatal(err)
			}
			if r.ClippedFraction != 0 {
				t.Errorf("clipped fraction %v at clip norm %v, want 0: the step clipped by the frozen weights' norms too", r.ClippedFraction, clip)
			}
		})
	}
}

func TestFreezeAllButErrors(t *testing.T) {
	m := tinyClassifier(t, 2)
	for _, tc := range []struct{ prefixes, want string }{
		{"cls.+nrom", `prefix "nrom" matches no weight`},
		{"cls.,norm", "separated by '+'"},
		{"cls.+", "each non-empty"},
		{"+", "each non-empty"},
		{" cls.", "without spaces"},
	} {
		if _, err := FreezeAllBut(m, tc.prefixes); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FreezeAllBut(%q) = %v, want an error containing %q", tc.prefixes, err, tc.want)
		}
		c := DefaultConfig()
		c.Trainable = tc.prefixes
		if err := c.Validate(); err == nil && tc.want != `prefix "nrom" matches no weight` {
			t.Errorf("Validate accepts trainable = %q", tc.prefixes)
		}
	}
	all, err := FreezeAllBut(m, "")
	if err != nil || len(all) != len(m.WeightNames()) {
		t.Errorf(`FreezeAllBut("") trains %d of %d weights (err %v), want all`, len(all), len(m.WeightNames()), err)
	}
}

// TestClassifierDPWithoutNoiseEqualsPlain: for a classifier, sigma = 0 and
// a clip bound no gradient reaches make a DP step the plain step, for each
// optimizer and trainable set (a bias without its weight included), step
// for step (to 1e-4: Adam divides by the root of tiny second moments,
// which magnifies float rounding).
func TestClassifierDPWithoutNoiseEqualsPlain(t *testing.T) {
	for _, tc := range []struct{ optimizer, trainable string }{{"adam", ""}, {"sgd", ""}, {"sgd", "cls."}, {"adam", "cls.+norm"}, {"sgd", "cls.bias+norm"}} {
		t.Run(tc.optimizer+"/"+tc.trainable, func(t *testing.T) {
			cfg := Config{Optimizer: tc.optimizer}
			var models [2]*lm.Model
			var steps [2]*Step
			for i, mode := range []struct{ clip, dp string }{{"none", "none"}, {"per-example", "example"}} {
				m := tinyClassifier(t, 2)
				if _, err := FreezeAllBut(m, tc.trainable); err != nil {
					t.Fatal(err)
				}
				s, err := NewClassifierStep(m, cfg.newOptimizer(), mode.clip, mode.dp, 1e9, 3)
				if err != nil {
					t.Fatal(err)
				}
				models[i], steps[i] = m, s
			}
			b := ClassBatch(tinySeqs, tinyYs, 4, 8)
			for range 3 {
				for _, s := range steps {
					if _, err := s.Run(StepInputs{Batch: b, LR: 1e-2, Denominator: 3}); err != nil {
						t.Fatal(err)
					}
				}
			}
			plain, dp := weightsOf(t, models[0]), weightsOf(t, models[1])
			for n := range plain {
				var diff, norm float64
				for i := range plain[n] {
					d := float64(plain[n][i] - dp[n][i])
					diff += d * d
					norm += float64(plain[n][i]) * float64(plain[n][i])
				}
				if math.Sqrt(diff) > 1e-4*math.Sqrt(norm) {
					t.Errorf("%s differs after 3 steps: |diff| %g, |w| %g", n, math.Sqrt(diff), math.Sqrt(norm))
				}
			}
			changed := 0
			for n, v := range weightsOf(t, tinyClassifier(t, 2)) {
				if !slices.Equal(v, plain[n]) {
					changed++
				}
			}
			if changed == 0 {
				t.Fatal("no weight changed: the comparison is vacuous")
			}
		})
	}
}

// TestSGDStepIsLearningRateTimesGradient: optimizer sgd moves each trained
// weight by minus the step's learning rate times its gradient (autodiff of
// the mean loss), so the schedule's rate reaches it and nothing else does.
func TestSGDStepIsLearningRateTimesGradient(t *testing.T) {
	m := tinyClassifier(t, 2)
	if _, err := FreezeAllBut(m, "cls.+norm"); err != nil {
		t.Fatal(err)
	}
	names := []string{"cls.bias", "cls.weight", "norm"}
	b := ClassBatch(tinySeqs, tinyYs, 3, 8)
	grad, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, in []*Node) []*Node {
		loss := Div(ReduceAllSum(ClassLoss(m.ClassLogits(in[0], in[1], in[3], nil), in[2], in[3])), Scalar(in[0].Graph(), dtypes.Float32, 3))
		var params []*Node
		for _, n := range names {
			params = append(params, m.Variable(n).ValueGraph(loss.Graph()))
		}
		return Gradient(loss, params...)
	})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := grad.Exec(anySlice(b.Tensors())...)
	if err != nil {
		t.Fatal(err)
	}
	before := weightsOf(t, m)
	step, err := NewClassifierStep(m, Config{Optimizer: "sgd"}.newOptimizer(), "none", "none", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	const lr = 0.25
	if _, err := step.Run(StepInputs{Batch: b, LR: lr, Denominator: 3}); err != nil {
		t.Fatal(err)
	}
	after := weightsOf(t, m)
	for i, n := range names {
		g := toF64(gs[i])
		for j := range g {
			want := float64(before[n][j]) - lr*g[j]
			if math.Abs(float64(after[n][j])-want) > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("%s[%d] = %v after one step, want w - lr*g = %v", n, j, after[n][j], want)
			}
		}
	}
}

// TestRunClassifierTrainsOnlyTrainable: train.trainable reaches the step
// through RunClassifier (a DP run): the frozen weights come out unchanged.
func TestRunClassifierTrainsOnlyTrainable(t *testing.T) {
	recs := shortRecords(32, 32)
	cfg := DefaultConfig()
	cfg.Steps, cfg.BatchSize, cfg.SeqLen, cfg.EvalEvery = 2, 8, 16, 0
	cfg.DP, cfg.Sigma, cfg.Trainable, cfg.Optimizer, cfg.WeightDecay = "example", 1, "cls.", "sgd", 0
	base, tok := tinyModel(t)
	m, _ := base.WithClassifier(2, 1)
	before := weightsOf(t, m)
	if _, err := RunClassifier(m, tok, recs, recs[:8], []string{"a", "b"}, cfg, nil); err != nil {
		t.Fatal(err)
	}
	after := weightsOf(t, m)
	for n := range before {
		if same := slices.Equal(before[n], after[n]); same == strings.HasPrefix(n, "cls.") {
			t.Errorf("%s: unchanged %v, want only the head trained", n, same)
		}
	}
}

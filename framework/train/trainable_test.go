package train

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
)

// TestFreezeAllButTrainsOnlyTheListedWeights: with trainable "cls." a step
// of every mode (plain, per-example clipping, DP with noise) changes the
// head and leaves every other weight bit for bit as it was.
func TestFreezeAllButTrainsOnlyTheListedWeights(t *testing.T) {
	for _, tc := range []struct{ clip, dp string }{{"none", "none"}, {"per-example", "none"}, {"per-example", "example"}} {
		t.Run(tc.clip+"/"+tc.dp, func(t *testing.T) {
			base, _ := lm.New(lm.Tiny, backend.MustNew(""), 2)
			m, err := base.WithClassifier(2, 5)
			if err != nil {
				t.Fatal(err)
			}
			trained, err := FreezeAllBut(m, "cls.")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(trained, []string{"cls.bias", "cls.weight"}) {
				t.Fatalf("trained %v, want the head's weight and bias", trained)
			}
			before := weightsOf(t, m)
			step, err := NewClassifierStep(m, optimizers.Adam().Done(), tc.clip, tc.dp, 1, 3)
			if err != nil {
				t.Fatal(err)
			}
			b := ClassBatch([][]int{{1, 5, 9, 200}, {1, 44, 45}, {1, 7, 7, 300, 301, 12}}, []int{0, 1, 1}, 4, 8)
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

// TestTrainedTapsNormIsTheTrainedWeightsNorm: the per-example gradient norm
// a head-only DP step clips is the norm over the head's weights alone
// (checked against autodiff of each example), not over the frozen model.
func TestTrainedTapsNormIsTheTrainedWeightsNorm(t *testing.T) {
	base, _ := lm.New(lm.Tiny, backend.MustNew(""), 2)
	m, _ := base.WithClassifier(3, 5)
	if _, err := FreezeAllBut(m, "cls."); err != nil {
		t.Fatal(err)
	}
	keep := func(n string) bool { return trains(m, n) }
	seqs, ys := [][]int{{1, 5, 9, 200}, {1, 44, 45}, {1, 7, 7, 300, 301, 12}}, []int{0, 2, 1}
	const T = 8
	ghost, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, in []*Node) []*Node {
		taps := &lm.Taps{}
		loss := ReduceAllSum(ClassLoss(m.ClassLogits(in[0], in[1], in[3], taps), in[2], in[3]))
		head := Backward(m, taps.Trained(keep), loss, 1).SquaredNorms()
		all := Backward(m, taps, loss, 1).SquaredNorms()
		return []*Node{ConvertDType(Sqrt(head), dtypes.Float32), ConvertDType(Sqrt(all), dtypes.Float32)}
	})
	if err != nil {
		t.Fatal(err)
	}
	naive, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, in []*Node) []*Node {
		loss := ReduceAllSum(ClassLoss(m.ClassLogits(in[0], in[1], in[3], nil), in[2], in[3]))
		return Gradient(loss, m.Variable("cls.weight").ValueGraph(loss.Graph()), m.Variable("cls.bias").ValueGraph(loss.Graph()))
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ghost.Exec(anySlice(ClassBatch(seqs, ys, 3, T).Tensors())...)
	if err != nil {
		t.Fatal(err)
	}
	head, all := toF64(res[0]), toF64(res[1])
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
		if rel(head[i], math.Sqrt(sq)) > 1e-5 {
			t.Errorf("example %d: head-only norm %v, autodiff over the head %v", i, head[i], math.Sqrt(sq))
		}
		if !(all[i] > head[i]*(1+1e-3)) {
			t.Errorf("example %d: norm over every weight %v not above the head's %v: the test cannot tell them apart", i, all[i], head[i])
		}
	}
	// A step clips by the head's norm: a bound above every head norm and
	// below every full norm clips no example.
	clip := math.Sqrt(slices.Max(head) * slices.Min(all))
	if !(slices.Max(head) < clip && clip < slices.Min(all)) {
		t.Fatalf("no bound separates head norms %v from full norms %v", head, all)
	}
	step, err := NewClassifierStep(m, optimizers.Adam().Done(), "per-example", "example", clip, 3)
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
}

func TestFreezeAllButErrors(t *testing.T) {
	base, _ := lm.New(lm.Tiny, backend.MustNew(""), 2)
	m, _ := base.WithClassifier(2, 5)
	for _, tc := range []struct{ prefixes, want string }{
		{"cls.,nrom", `prefix "nrom" matches no weight`},
		{"cls.weight", "cls.weight and cls.bias are one op's weight and bias"},
	} {
		if _, err := FreezeAllBut(m, tc.prefixes); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FreezeAllBut(%q) = %v, want an error containing %q", tc.prefixes, err, tc.want)
		}
	}
	all, err := FreezeAllBut(m, "")
	if err != nil || len(all) != len(m.WeightNames()) {
		t.Errorf(`FreezeAllBut("") trains %d of %d weights (err %v), want all`, len(all), len(m.WeightNames()), err)
	}
}

// TestClassifierDPWithoutNoiseEqualsPlain: for a classifier, sigma = 0 and
// a clip bound no gradient reaches make a DP step the plain step, for each
// optimizer and trainable set, step for step (to 1e-4: Adam divides by
// the root of tiny second moments, which magnifies float rounding).
func TestClassifierDPWithoutNoiseEqualsPlain(t *testing.T) {
	for _, tc := range []struct{ optimizer, trainable string }{{"adam", ""}, {"sgd", ""}, {"sgd", "cls."}, {"adam", "cls.,norm"}} {
		t.Run(tc.optimizer+"/"+tc.trainable, func(t *testing.T) {
			cfg := Config{Optimizer: tc.optimizer}
			var models [2]*lm.Model
			var steps [2]*Step
			for i, mode := range []struct{ clip, dp string }{{"none", "none"}, {"per-example", "example"}} {
				base, _ := lm.New(lm.Tiny, backend.MustNew(""), 2)
				m, _ := base.WithClassifier(2, 5)
				if _, err := FreezeAllBut(m, tc.trainable); err != nil {
					t.Fatal(err)
				}
				s, err := NewClassifierStep(m, cfg.newOptimizer(), mode.clip, mode.dp, 1e9, 3)
				if err != nil {
					t.Fatal(err)
				}
				models[i], steps[i] = m, s
			}
			b := ClassBatch([][]int{{1, 5, 9, 200}, {1, 44, 45}, {1, 7, 7, 300, 301, 12}}, []int{0, 1, 1}, 4, 8)
			for range 3 {
				for _, s := range steps {
					if _, err := s.Run(StepInputs{Batch: b, LR: 1e-2, Denominator: 3}); err != nil {
						t.Fatal(err)
					}
				}
			}
			plain, dp := weightsOf(t, models[0]), weightsOf(t, models[1])
			changed := 0
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
			fresh, _ := lm.New(lm.Tiny, backend.MustNew(""), 2)
			head, _ := fresh.WithClassifier(2, 5)
			for n, v := range weightsOf(t, head) {
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

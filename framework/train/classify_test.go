package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
)

// TestClassifierGhostMatchesNaive: per-example norms of the classification
// loss (head included) equal one graph per example.
func TestClassifierGhostMatchesNaive(t *testing.T) {
	base, _ := lm.New(lm.Tiny, backend.MustNew(""), 2)
	m, err := base.WithClassifier(3, 5)
	if err != nil {
		t.Fatal(err)
	}
	seqs := [][]int{{1, 5, 9, 200}, {1, 44, 45}, {1, 7, 7, 300, 301, 12}}
	ys := []int{0, 2, 1}
	const T = 8
	names := m.WeightNames()
	ghost, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, in []*Node) *Node {
		taps := &lm.Taps{}
		loss := ReduceAllSum(ClassLoss(m.ClassLogits(in[0], in[1], in[3], taps), in[2], in[3]))
		return ConvertDType(Sqrt(Backward(m, taps, loss, 1).SquaredNorms()), dtypes.Float32)
	})
	if err != nil {
		t.Fatal(err)
	}
	naiveExec, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, in []*Node) []*Node {
		loss := ReduceAllSum(ClassLoss(m.ClassLogits(in[0], in[1], in[3], nil), in[2], in[3]))
		var params []*Node
		for _, n := range names {
			params = append(params, m.Variable(n).ValueGraph(loss.Graph()))
		}
		return Gradient(loss, params...)
	})
	if err != nil {
		t.Fatal(err)
	}
	b := ClassBatch(seqs, ys, 3, T)
	res, err := ghost.Exec(anySlice(b.Tensors())...)
	if err != nil {
		t.Fatal(err)
	}
	got := toF64(res[0])
	for i := range seqs {
		one := ClassBatch(seqs[i:i+1], ys[i:i+1], 1, T)
		grads, err := naiveExec.Exec(anySlice(one.Tensors())...)
		if err != nil {
			t.Fatal(err)
		}
		sq := 0.0
		for _, g := range grads {
			for _, v := range toF64(g) {
				sq += v * v
			}
		}
		if rel(got[i], math.Sqrt(sq)) > 1e-5 {
			t.Errorf("example %d: ghost norm %v, naive %v", i, got[i], math.Sqrt(sq))
		}
	}
}

// TestClassifierLearns: a tiny model learns a label carried by the last
// token (the pooled position) next to random context, and generalises.
func TestClassifierLearns(t *testing.T) {
	base, _ := lm.New(lm.Tiny, backend.MustNew(""), 2)
	m, _ := base.WithClassifier(2, 5)
	r := rand.New(rand.NewPCG(4, 4))
	var seqs [][]int
	var ys []int
	for range 256 {
		s := []int{1}
		y := r.IntN(2)
		for range 6 {
			s = append(s, 20+r.IntN(100))
		}
		s = append(s, 7+y) // 7 or 8 at the pooled position
		seqs, ys = append(seqs, s), append(ys, y)
	}
	step, err := NewClassifierStep(m, optimizers.Adam().Done(), "none", "none", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := Accuracy(m, seqs[:64], ys[:64], 8)
	for s := range 200 {
		k := (s * 32) % 192
		if _, err := step.Run(StepInputs{Batch: ClassBatch(seqs[64+k:64+k+32], ys[64+k:64+k+32], 32, 8), LR: 3e-3, Denominator: 32}); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := Accuracy(m, seqs[:64], ys[:64], 8)
	t.Logf("held-out accuracy %.3f -> %.3f", before, after)
	if after < 0.95 {
		t.Errorf("accuracy %.3f after training, want >= 0.95", after)
	}
}

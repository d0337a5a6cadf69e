package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
)

// ghostExec computes per-group norms and clipped gradient sums.
func ghostExec(t *testing.T, m *lm.Model, b lm.Batch, rows int, clip float64) ([]float64, map[string][]float64) {
	t.Helper()
	names := m.WeightNames()
	exec, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, inputs, valid, targets, weights *Node) []*Node {
		taps := &lm.Taps{}
		lp := m.TokenLogProbsWithTaps(inputs, valid, targets, taps)
		loss := ReduceAllSum(PerExampleLoss(lp, weights))
		p := Backward(m, taps, loss, rows)
		sq := p.SquaredNorms()
		sums := p.WeightedSums(ClipFactors(sq, clip))
		out := []*Node{ConvertDType(Sqrt(sq), dtypes.Float32)}
		for _, n := range names {
			out = append(out, sums[n])
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(anySlice(b.Tensors())...)
	if err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float64{}
	for i, n := range names {
		grads[n] = toF64(res[i+1])
	}
	return toF64(res[0]), grads
}

// naive computes each group's gradient with its own batch graph (the group's
// rows only), its norm, and the clipped sum.
func naive(t *testing.T, m *lm.Model, seqs [][]int, rows, T int, clip float64) ([]float64, map[string][]float64) {
	t.Helper()
	names := m.WeightNames()
	exec, err := context.NewExec(m.Backend, m.Ctx, func(ctx *context.Context, inputs, valid, targets, weights *Node) []*Node {
		lp := m.TokenLogProbs(inputs, valid, targets)
		loss := ReduceAllSum(PerExampleLoss(lp, weights))
		var params []*Node
		for _, n := range names {
			params = append(params, m.Variable(n).ValueGraph(loss.Graph()))
		}
		return Gradient(loss, params...)
	})
	if err != nil {
		t.Fatal(err)
	}
	var norms []float64
	sums := map[string][]float64{}
	for g := 0; g*rows < len(seqs); g++ {
		b, err := lm.MakeBatch(seqs[g*rows:(g+1)*rows], rows, T)
		if err != nil {
			t.Fatal(err)
		}
		res, err := exec.Exec(anySlice(b.Tensors())...)
		if err != nil {
			t.Fatal(err)
		}
		sq := 0.0
		grads := make([][]float64, len(names))
		for i := range names {
			grads[i] = toF64(res[i])
			for _, v := range grads[i] {
				sq += v * v
			}
		}
		norm := math.Sqrt(sq)
		norms = append(norms, norm)
		f := math.Min(1, clip/(norm+clipEps))
		for i, n := range names {
			if sums[n] == nil {
				sums[n] = make([]float64, len(grads[i]))
			}
			for j, v := range grads[i] {
				sums[n][j] += f * v
			}
		}
	}
	return norms, sums
}

func toF64(t *tensors.Tensor) []float64 {
	f := tensors.MustCopyFlatData[float32](t)
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out
}

func anySlice[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// TestGhostClippingMatchesNaiveLoop checks norms and clipped gradient sums
// against one graph per example (or per user, rows = 2) to 1e-5 relative,
// for every parameter type: embeddings, tied and untied outputs, norms,
// attention, MLP, biases and learned positions.
func TestGhostClippingMatchesNaiveLoop(t *testing.T) {
	untied := lm.Tiny
	untied.TiedEmbeddings = false
	neoTiny := lm.GPTNeoTiny
	neoTiny.WindowSize = 3 // shorter than the sequences
	pythiaSeq := lm.PythiaTiny
	pythiaSeq.ParallelResidual = false
	big := lm.Tiny // wide layers: in*out > T^2 takes the ghost-norm path
	big.Dim, big.HiddenDim, big.Heads, big.KVHeads = 64, 160, 4, 4
	tests := []struct {
		name string
		cfg  lm.Config
		rows int
	}{
		{"llama tied, examples", lm.Tiny, 1},
		{"llama untied, examples", untied, 1},
		{"llama wide (ghost norms), examples", big, 1},
		{"gpt2, examples", lm.GPT2Tiny, 1},
		{"llama tied, users of 2 rows", lm.Tiny, 2},
		{"gpt2, users of 2 rows", lm.GPT2Tiny, 2},
		{"gpt-neo (local attention, q/k/v without bias), examples", neoTiny, 1},
		{"pythia (fused qkv with bias, partial rotary, untied), examples", lm.PythiaTiny, 1},
		{"pythia sequential residual, users of 2 rows", pythiaSeq, 2},
		{"opt (offset positions, relu), examples", lm.OPTTiny, 1},
	}
	const T = 8
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := lm.New(tc.cfg, backend.MustNew(""), 3)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(9, 9))
			seqs := make([][]int, 4)
			for i := range seqs {
				seqs[i] = make([]int, 3+r.IntN(T-1)) // ragged: padding is exercised
				for j := range seqs[i] {
					seqs[i][j] = r.IntN(tc.cfg.VocabSize)
				}
				seqs[i][0] = seqs[i][len(seqs[i])-1] // repeated token ids too
			}
			b, err := lm.MakeBatch(seqs, 4, T)
			if err != nil {
				t.Fatal(err)
			}
			for _, clip := range []float64{1e9, 0.05} { // no clipping, and every group clipped
				gNorms, gSums := ghostExec(t, m, b, tc.rows, clip)
				nNorms, nSums := naive(t, m, seqs, tc.rows, T, clip)
				for i := range nNorms {
					if rel(gNorms[i], nNorms[i]) > 1e-5 {
						t.Errorf("clip %g: group %d norm %.8g, naive %.8g", clip, i, gNorms[i], nNorms[i])
					}
				}
				total := 0.0
				for _, n := range m.WeightNames() {
					total += dot(nSums[n], nSums[n])
				}
				for _, n := range m.WeightNames() {
					// Relative to the parameter's own gradient, with a floor at 1e-6 of the
					// whole gradient: GPT-2's key biases have an exactly-zero gradient
					// (softmax ignores a per-query shift), float noise on both sides.
					if d := relVecFloor(gSums[n], nSums[n], 1e-6*math.Sqrt(total)); d > 1e-5 {
						t.Errorf("clip %g: %s: clipped sum differs by %.2g (relative)", clip, n, d)
					}
				}
			}
		})
	}
}

func rel(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(b), 1e-12) }

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// relVecFloor is ||a-b|| / max(||b||, floor).
func relVecFloor(a, b []float64, floor float64) float64 {
	var d float64
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(d) / math.Max(math.Sqrt(dot(b, b)), floor)
}

package train

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/privlm/privlm/framework/lm"
)

// clipEps keeps clip factors finite for zero gradients (Opacus uses 1e-6).
const clipEps = 1e-6

// groupView reshapes a tap tensor [B, T, ...] to [G, R*T, ...]: a group is R
// consecutive rows (R = 1: one example; R > 1: one user's rows).
func groupView(x *Node, rows int) *Node {
	dims := x.Shape().Dimensions
	out := append([]int{dims[0] / rows, rows * dims[1]}, dims[2:]...)
	return Reshape(x, out...)
}

// PerGroupGradients are the ingredients of clipped gradients: each tapped
// op's input and the gradient of the summed loss with respect to its output,
// viewed per group.
type PerGroupGradients struct {
	taps  []lm.Tap
	gy    []*Node // per tap, [G, RT, out]
	in    []*Node // per tap, [G, RT, in] (ids [G, RT] for embeddings)
	rows  int
	model *lm.Model
	// uses counts how many taps use each parameter.
	uses map[string]int
	// keep says which parameters train (nil: all): a frozen weight or bias
	// of a tapped op adds nothing to the norms or sums.
	keep func(name string) bool
}

// trains reports whether the parameter name is trained.
func (p *PerGroupGradients) trains(name string) bool { return p.keep == nil || p.keep(name) }

// Backward takes the gradient of lossSum (the sum of the groups' losses)
// with respect to every tap output: one backward pass, no weight gradients.
func Backward(m *lm.Model, taps *lm.Taps, lossSum *Node, rows int) *PerGroupGradients {
	return BackwardTrained(m, taps, lossSum, rows, nil)
}

// BackwardTrained is Backward for the parameters keep accepts (nil: all):
// only the taps with a trained parameter are differentiated, and frozen
// weights and biases are left out of SquaredNorms and WeightedSums.
func BackwardTrained(m *lm.Model, taps *lm.Taps, lossSum *Node, rows int, keep func(name string) bool) *PerGroupGradients {
	if keep != nil {
		taps = taps.Trained(keep)
	}
	outs := make([]*Node, len(taps.List))
	for i, t := range taps.List {
		outs[i] = t.Out
	}
	gys := Gradient(lossSum, outs...)
	p := &PerGroupGradients{taps: taps.List, rows: rows, model: m, uses: map[string]int{}, keep: keep}
	for i, t := range taps.List {
		p.gy = append(p.gy, groupView(gys[i], rows))
		p.in = append(p.in, groupView(t.In, rows))
		p.uses[t.Weight]++
		if t.Bias != "" {
			p.uses[t.Bias]++
		}
	}
	return p
}

// explicitWeightGrad is the per-group gradient of a tap's weight, [G, ...weight shape].
func (p *PerGroupGradients) explicitWeightGrad(i int) *Node {
	t, gy, in := p.taps[i], p.gy[i], p.in[i]
	switch t.Kind {
	case lm.TapLinear:
		return Einsum("gto,gti->goi", gy, in)
	case lm.TapScale:
		return ReduceSum(Mul(gy, in), 1)
	default: // embedding
		V := p.model.Variable(t.Weight).Shape().Dimensions[0]
		return Einsum("gtv,gtd->gvd", OneHot(in, V, dtypes.Float32), gy)
	}
}

// sqNorm sums squares over every axis but the first, in float64: a group's
// gradient has up to millions of entries and float32 accumulation would lose
// about sqrt(n) ulps.
func sqNorm(x *Node) *Node {
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	return ReduceSum(Square(ConvertDType(x, dtypes.Float64)), axes...)
}

// ghostSum is sum over (t, s) of a[g,t,s] * b[g,t,s], in float64.
func ghostSum(a, b *Node) *Node {
	return ReduceSum(Mul(ConvertDType(a, dtypes.Float64), ConvertDType(b, dtypes.Float64)), 1, 2)
}

// SquaredNorms returns each group's squared gradient norm over all
// parameters, [G] float64. Parameters used by one op get the cheaper of the ghost
// norm (Bu et al. 2022; O(G T^2 (in+out))) and the explicit per-group
// gradient (O(G T in out)); parameters used by several ops (tied
// embeddings) sum explicit per-group gradients first.
func (p *PerGroupGradients) SquaredNorms() *Node {
	var total *Node
	add := func(x *Node) {
		if total == nil {
			total = x
		} else {
			total = Add(total, x)
		}
	}
	shared := map[string]*Node{}
	for i, t := range p.taps {
		gy, in := p.gy[i], p.in[i]
		if t.Bias != "" && p.trains(t.Bias) {
			add(sqNorm(ReduceSum(gy, 1)))
		}
		if !p.trains(t.Weight) {
			continue
		}
		if p.uses[t.Weight] > 1 {
			g := p.explicitWeightGrad(i)
			if prev, ok := shared[t.Weight]; ok {
				g = Add(prev, g)
			}
			shared[t.Weight] = g
			continue
		}
		RT := gy.Shape().Dimensions[1]
		switch t.Kind {
		case lm.TapLinear:
			inDim, outDim := in.Shape().Dimensions[2], gy.Shape().Dimensions[2]
			if inDim*outDim <= RT*RT {
				add(sqNorm(p.explicitWeightGrad(i)))
			} else {
				add(ghostSum(Einsum("gti,gsi->gts", in, in), Einsum("gto,gso->gts", gy, gy)))
			}
		case lm.TapScale:
			add(sqNorm(p.explicitWeightGrad(i)))
		case lm.TapEmbedding:
			same := ConvertDType(Equal(ExpandAxes(in, 2), ExpandAxes(in, 1)), dtypes.Float32) // [G,T,T]
			add(ghostSum(same, Einsum("gtd,gsd->gts", gy, gy)))
		}
	}
	for _, name := range sortedNames(shared) {
		add(sqNorm(shared[name]))
	}
	return total
}

// ClipFactors are min(1, clipNorm / (norm + 1e-6)) per group, as Opacus,
// [G] float32 (from float64 squared norms).
func ClipFactors(sqNorms *Node, clipNorm float64) *Node {
	norms := Sqrt(sqNorms)
	f := Min(OnesLike(norms), Div(Scalar(norms.Graph(), norms.DType(), clipNorm), AddScalar(norms, clipEps)))
	return ConvertDType(f, dtypes.Float32)
}

// WeightedSums returns, for every parameter, sum over groups of factor[g]
// times the group's gradient: the clipped gradient sum when factors are clip
// factors, the plain gradient when they are ones.
func (p *PerGroupGradients) WeightedSums(factors *Node) map[string]*Node {
	out := map[string]*Node{}
	acc := func(name string, g *Node) {
		if prev, ok := out[name]; ok {
			out[name] = Add(prev, g)
		} else {
			out[name] = g
		}
	}
	c := ExpandAxes(factors, 1, 2) // [G,1,1]
	for i, t := range p.taps {
		gy := Mul(p.gy[i], c)
		in := p.in[i]
		if t.Bias != "" && p.trains(t.Bias) {
			acc(t.Bias, ReduceSum(gy, 0, 1))
		}
		if !p.trains(t.Weight) {
			continue
		}
		switch t.Kind {
		case lm.TapLinear:
			acc(t.Weight, Einsum("gto,gti->oi", gy, in))
		case lm.TapScale:
			acc(t.Weight, ReduceSum(Mul(gy, in), 0, 1))
		case lm.TapEmbedding:
			// The gradient of a gather is a scatter-add: take it from a local
			// re-gather with the clipped upstream gradient held constant.
			table := p.model.Variable(t.Weight).ValueGraph(gy.Graph())
			local := Gather(table, ExpandAxes(StopGradient(in), -1))
			surrogate := ReduceAllSum(Mul(StopGradient(gy), local))
			acc(t.Weight, Gradient(surrogate, table)[0])
		}
	}
	return out
}

// Check reports taps whose parameters are not model weights (a bug guard).
func (p *PerGroupGradients) Check() error {
	for _, t := range p.taps {
		if p.model.Variable(t.Weight) == nil {
			return fmt.Errorf("train: tap on unknown weight %q", t.Weight)
		}
	}
	return nil
}

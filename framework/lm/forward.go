package lm

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// maskedScore is added to attention logits of masked positions.
const maskedScore = -1e9

// param returns the graph value of a weight.
func (m *Model) param(g *Graph, name string) *Node {
	v, ok := m.vars[name]
	if !ok {
		panic(fmt.Sprintf("lm: model has no weight %q", name))
	}
	return v.ValueGraph(g)
}

// Logits builds the forward pass: tokens [B,T] int32 and valid [B,T] bool
// (false marks padding, on either side) give logits [B,T,V] float32. A
// position attends to itself and the valid positions before it.
func (m *Model) Logits(tokens, valid *Node) *Node {
	g := tokens.Graph()
	if tokens.Rank() != 2 {
		panic(fmt.Sprintf("lm: tokens must be [batch, seq], got %s", tokens.Shape()))
	}
	T := tokens.Shape().Dimensions[1]
	if T > m.Config.MaxSeqLen {
		panic(fmt.Sprintf("lm: sequence length %d exceeds the model's context %d", T, m.Config.MaxSeqLen))
	}
	bias := attentionBias(g, valid, T)
	switch m.Config.Arch {
	case GPT2:
		return m.gpt2(g, tokens, bias)
	default:
		return m.llama(g, tokens, bias)
	}
}

// attentionBias is 0 where query t may attend key s (s <= t and s valid) and
// maskedScore elsewhere, shaped [B,1,1,T,S] to broadcast over head axes.
func attentionBias(g *Graph, valid *Node, T int) *Node {
	B := valid.Shape().Dimensions[0]
	causal := make([]float32, T*T)
	for t := range T {
		for s := t + 1; s < T; s++ {
			causal[t*T+s] = maskedScore
		}
	}
	causalNode := Reshape(Const(g, causal), 1, 1, 1, T, T)
	padding := Where(valid, ScalarZero(g, dtypes.Float32), Scalar(g, dtypes.Float32, maskedScore))
	padding = Reshape(padding, B, 1, 1, 1, T)
	return Add(causalNode, padding)
}

// linear is x [B,T,in] times w [out,in] (+ bias [out]).
func linear(x, w, b *Node) *Node {
	y := Einsum("bti,oi->bto", x, w)
	if b != nil {
		y = Add(y, lastAxis(b, y.Rank()))
	}
	return y
}

// lastAxis reshapes a vector to broadcast along the last axis of a rank-r tensor.
func lastAxis(v *Node, rank int) *Node {
	dims := make([]int, rank)
	for i := range dims {
		dims[i] = 1
	}
	dims[rank-1] = v.Shape().Dimensions[0]
	return Reshape(v, dims...)
}

func rmsNorm(x, w *Node, eps float64) *Node {
	ms := ReduceAndKeep(Square(x), ReduceMean, -1)
	return Mul(Div(x, Sqrt(AddScalar(ms, eps))), lastAxis(w, x.Rank()))
}

func layerNorm(x, w, b *Node, eps float64) *Node {
	mean := ReduceAndKeep(x, ReduceMean, -1)
	xc := Sub(x, mean)
	variance := ReduceAndKeep(Square(xc), ReduceMean, -1)
	return Add(Mul(Div(xc, Sqrt(AddScalar(variance, eps))), lastAxis(w, x.Rank())), lastAxis(b, x.Rank()))
}

// embed looks up rows of table [V,D] for ids [B,T].
func embed(table, ids *Node) *Node {
	return Gather(table, ExpandAxes(ids, -1))
}

// rotary tables for interleaved pairs (llama2.c's layout): out = x*cos + swap(x)*sin,
// where swap exchanges the two members of each pair and sin carries the sign.
func ropeTables(g *Graph, T, hd int, theta float64) (cos, sin *Node) {
	c := make([]float32, T*hd)
	s := make([]float32, T*hd)
	for t := range T {
		for j := 0; j < hd; j += 2 {
			freq := 1 / math.Pow(theta, float64(j)/float64(hd))
			angle := float64(t) * freq
			c[t*hd+j], c[t*hd+j+1] = float32(math.Cos(angle)), float32(math.Cos(angle))
			s[t*hd+j], s[t*hd+j+1] = float32(-math.Sin(angle)), float32(math.Sin(angle))
		}
	}
	return Reshape(Const(g, c), 1, T, 1, hd), Reshape(Const(g, s), 1, T, 1, hd)
}

// rope rotates x [B,T,H,hd].
func rope(x, cos, sin *Node) *Node {
	dims := x.Shape().Dimensions
	B, T, H, hd := dims[0], dims[1], dims[2], dims[3]
	pairs := Reshape(x, B, T, H, hd/2, 2)
	swapMatrix := Const(x.Graph(), [][]float32{{0, 1}, {1, 0}})
	swapped := Reshape(Einsum("bthjp,pq->bthjq", pairs, swapMatrix), B, T, H, hd)
	return Add(Mul(x, cos), Mul(swapped, sin))
}

// attention over q [B,T,H,hd], k and v [B,T,KV,hd] with bias [B,1,1,T,S];
// query head h uses key/value head h / (H/KV). Returns [B,T,H*hd].
func attention(q, k, v, bias *Node) *Node {
	dims := q.Shape().Dimensions
	B, T, H, hd := dims[0], dims[1], dims[2], dims[3]
	KV := k.Shape().Dimensions[2]
	q5 := Reshape(q, B, T, KV, H/KV, hd)
	scores := Einsum("btgrd,bsgd->bgrts", q5, k)
	scores = Add(MulScalar(scores, 1/math.Sqrt(float64(hd))), bias)
	probs := Softmax(scores, -1)
	out := Einsum("bgrts,bsgd->btgrd", probs, v)
	return Reshape(out, B, T, H*hd)
}

func (m *Model) llama(g *Graph, tokens, bias *Node) *Node {
	c := m.Config
	dims := tokens.Shape().Dimensions
	B, T := dims[0], dims[1]
	hd := c.HeadDim()
	cos, sin := ropeTables(g, T, hd, c.RopeTheta)
	x := embed(m.param(g, "tok_embeddings"), tokens)
	for i := range c.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		h := rmsNorm(x, m.param(g, p+"attention_norm"), c.NormEps)
		q := Reshape(linear(h, m.param(g, p+"attention.wq"), nil), B, T, c.Heads, hd)
		k := Reshape(linear(h, m.param(g, p+"attention.wk"), nil), B, T, c.KVHeads, hd)
		v := Reshape(linear(h, m.param(g, p+"attention.wv"), nil), B, T, c.KVHeads, hd)
		a := attention(rope(q, cos, sin), rope(k, cos, sin), v, bias)
		x = Add(x, linear(a, m.param(g, p+"attention.wo"), nil))
		h = rmsNorm(x, m.param(g, p+"ffn_norm"), c.NormEps)
		gate := linear(h, m.param(g, p+"feed_forward.w1"), nil)
		up := linear(h, m.param(g, p+"feed_forward.w3"), nil)
		x = Add(x, linear(Mul(Mul(gate, Sigmoid(gate)), up), m.param(g, p+"feed_forward.w2"), nil))
	}
	x = rmsNorm(x, m.param(g, "norm"), c.NormEps)
	out := "tok_embeddings"
	if !c.TiedEmbeddings {
		out = "output"
	}
	return linear(x, m.param(g, out), nil)
}

// gelu is GPT-2's tanh approximation ("gelu_new").
func gelu(x *Node) *Node {
	inner := MulScalar(Add(x, MulScalar(Mul(Square(x), x), 0.044715)), math.Sqrt(2/math.Pi))
	return Mul(MulScalar(x, 0.5), OnePlus(Tanh(inner)))
}

func (m *Model) gpt2(g *Graph, tokens, bias *Node) *Node {
	c := m.Config
	dims := tokens.Shape().Dimensions
	B, T := dims[0], dims[1]
	hd := c.HeadDim()
	positions := Iota(g, shapes.Make(dtypes.Int32, 1, T), 1)
	x := Add(embed(m.param(g, "wte"), tokens), embed(m.param(g, "wpe"), positions))
	for i := range c.Layers {
		p := fmt.Sprintf("h.%d.", i)
		h := layerNorm(x, m.param(g, p+"ln_1.weight"), m.param(g, p+"ln_1.bias"), c.NormEps)
		proj := func(n string) *Node {
			return Reshape(linear(h, m.param(g, p+"attn.w"+n), m.param(g, p+"attn.b"+n)), B, T, c.Heads, hd)
		}
		a := attention(proj("q"), proj("k"), proj("v"), bias)
		x = Add(x, linear(a, m.param(g, p+"attn.wo"), m.param(g, p+"attn.bo")))
		h = layerNorm(x, m.param(g, p+"ln_2.weight"), m.param(g, p+"ln_2.bias"), c.NormEps)
		h = gelu(linear(h, m.param(g, p+"mlp.fc_w"), m.param(g, p+"mlp.fc_b")))
		x = Add(x, linear(h, m.param(g, p+"mlp.proj_w"), m.param(g, p+"mlp.proj_b")))
	}
	x = layerNorm(x, m.param(g, "ln_f.weight"), m.param(g, "ln_f.bias"), c.NormEps)
	return linear(x, m.param(g, "wte"), nil)
}

// TokenLogProbs gives log p(targets[b,t] | inputs[b,<=t]) as [B,T] float32.
func (m *Model) TokenLogProbs(inputs, valid, targets *Node) *Node {
	logits := m.Logits(inputs, valid)
	V := logits.Shape().Dimensions[2]
	maxLogit := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))
	shifted := Sub(logits, maxLogit)
	logSumExp := Log(ReduceSum(Exp(shifted), -1))
	oneHot := OneHot(targets, V, dtypes.Float32)
	targetLogit := ReduceSum(Mul(shifted, oneHot), -1)
	return Sub(targetLogit, logSumExp)
}

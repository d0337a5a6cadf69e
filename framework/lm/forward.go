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

// Tap records one parameterised op of a forward pass, for per-example
// gradient computations (ghost clipping): its input, its output, and which
// weights it uses.
type Tap struct {
	Kind TapKind
	// Weight and Bias name the parameters ("" if none).
	Weight, Bias string
	// In is the op's input: activations [B,T,in] for linear and norm ops (for
	// norms, the normalised activations), token ids [B,T] for embeddings.
	In *Node
	// Out is the op's output [B,T,out]; gradients are taken with respect to it.
	Out *Node
}

// TapKind is the kind of a tapped op.
type TapKind int

const (
	// TapLinear: Out = In @ Weight^T (+ Bias).
	TapLinear TapKind = iota
	// TapScale: Out = In * Weight (+ Bias), elementwise over the last axis (norm weights).
	TapScale
	// TapEmbedding: Out = Weight[In].
	TapEmbedding
)

// Taps collects the taps of one forward pass when passed to LogitsWithTaps.
type Taps struct{ List []Tap }

func (t *Taps) add(tap Tap) {
	if t != nil {
		t.List = append(t.List, tap)
	}
}

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
func (m *Model) Logits(tokens, valid *Node) *Node { return m.LogitsWithTaps(tokens, valid, nil) }

// LogitsWithTaps is Logits that also records every parameterised op in taps.
func (m *Model) LogitsWithTaps(tokens, valid *Node, taps *Taps) *Node {
	g := tokens.Graph()
	if tokens.Rank() != 2 {
		panic(fmt.Sprintf("lm: tokens must be [batch, seq], got %s", tokens.Shape()))
	}
	T := tokens.Shape().Dimensions[1]
	if T > m.Config.MaxSeqLen {
		panic(fmt.Sprintf("lm: sequence length %d exceeds the model's context %d", T, m.Config.MaxSeqLen))
	}
	bias := attentionBias(g, valid, T)
	f := fwd{m: m, g: g, taps: taps}
	return f.linear(f.hidden(tokens, bias), f.outputWeight(), "")
}

// outputWeight names the LM output projection.
func (f fwd) outputWeight() string {
	switch {
	case f.m.Config.Arch == GPT2:
		return "wte"
	case f.m.Config.TiedEmbeddings:
		return "tok_embeddings"
	}
	return "output"
}

// hidden is the final normalised hidden state [B,T,D].
func (f fwd) hidden(tokens, bias *Node) *Node {
	if f.m.Config.Arch == GPT2 {
		return f.gpt2(tokens, bias)
	}
	return f.llama(tokens, bias)
}

// ClassLogits builds the classification forward pass: the head applied to
// the hidden state at the position pool marks ([B,T], one 1 per row), giving
// [B,C] logits. It records taps when taps is not nil.
func (m *Model) ClassLogits(tokens, valid, pool *Node, taps *Taps) *Node {
	if m.Config.NumClasses == 0 {
		panic("lm: the model has no classification head (NumClasses = 0)")
	}
	g := tokens.Graph()
	T := tokens.Shape().Dimensions[1]
	f := fwd{m: m, g: g, taps: taps}
	h := f.hidden(tokens, attentionBias(g, valid, T))
	pooled := ExpandAxes(Einsum("bt,btd->bd", pool, h), 1) // [B,1,D]
	return Reshape(f.linear(pooled, "cls.weight", "cls.bias"), -1, m.Config.NumClasses)
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

// fwd builds one forward pass, recording taps when asked.
type fwd struct {
	m    *Model
	g    *Graph
	taps *Taps
}

func (f fwd) param(name string) *Node { return f.m.param(f.g, name) }

// linear is x [B,T,in] times weight [out,in] (+ bias [out]).
func (f fwd) linear(x *Node, weight, bias string) *Node {
	y := Einsum("bti,oi->bto", x, f.param(weight))
	if bias != "" {
		y = Add(y, lastAxis(f.param(bias), y.Rank()))
	}
	f.taps.add(Tap{Kind: TapLinear, Weight: weight, Bias: bias, In: x, Out: y})
	return y
}

// scale multiplies normalised activations by a weight (+ bias) and taps it.
func (f fwd) scale(normed *Node, weight, bias string) *Node {
	y := Mul(normed, lastAxis(f.param(weight), normed.Rank()))
	if bias != "" {
		y = Add(y, lastAxis(f.param(bias), normed.Rank()))
	}
	f.taps.add(Tap{Kind: TapScale, Weight: weight, Bias: bias, In: normed, Out: y})
	return y
}

// embed looks up rows of table [V,D] for ids [B,T] and taps it.
func (f fwd) embed(table string, ids *Node) *Node {
	y := Gather(f.param(table), ExpandAxes(ids, -1))
	f.taps.add(Tap{Kind: TapEmbedding, Weight: table, In: ids, Out: y})
	return y
}

func (f fwd) rmsNorm(x *Node, weight string) *Node {
	ms := ReduceAndKeep(Square(x), ReduceMean, -1)
	return f.scale(Div(x, Sqrt(AddScalar(ms, f.m.Config.NormEps))), weight, "")
}

func (f fwd) layerNorm(x *Node, weight, bias string) *Node {
	mean := ReduceAndKeep(x, ReduceMean, -1)
	xc := Sub(x, mean)
	variance := ReduceAndKeep(Square(xc), ReduceMean, -1)
	return f.scale(Div(xc, Sqrt(AddScalar(variance, f.m.Config.NormEps))), weight, bias)
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

func (f fwd) llama(tokens, bias *Node) *Node {
	c := f.m.Config
	dims := tokens.Shape().Dimensions
	B, T := dims[0], dims[1]
	hd := c.HeadDim()
	cos, sin := ropeTables(f.g, T, hd, c.RopeTheta)
	x := f.embed("tok_embeddings", tokens)
	for i := range c.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		h := f.rmsNorm(x, p+"attention_norm")
		q := Reshape(f.linear(h, p+"attention.wq", ""), B, T, c.Heads, hd)
		k := Reshape(f.linear(h, p+"attention.wk", ""), B, T, c.KVHeads, hd)
		v := Reshape(f.linear(h, p+"attention.wv", ""), B, T, c.KVHeads, hd)
		a := attention(rope(q, cos, sin), rope(k, cos, sin), v, bias)
		x = Add(x, f.linear(a, p+"attention.wo", ""))
		h = f.rmsNorm(x, p+"ffn_norm")
		gate := f.linear(h, p+"feed_forward.w1", "")
		up := f.linear(h, p+"feed_forward.w3", "")
		x = Add(x, f.linear(Mul(Mul(gate, Sigmoid(gate)), up), p+"feed_forward.w2", ""))
	}
	return f.rmsNorm(x, "norm")
}

// gelu is GPT-2's tanh approximation ("gelu_new").
func gelu(x *Node) *Node {
	inner := MulScalar(Add(x, MulScalar(Mul(Square(x), x), 0.044715)), math.Sqrt(2/math.Pi))
	return Mul(MulScalar(x, 0.5), OnePlus(Tanh(inner)))
}

func (f fwd) gpt2(tokens, bias *Node) *Node {
	c := f.m.Config
	dims := tokens.Shape().Dimensions
	B, T := dims[0], dims[1]
	hd := c.HeadDim()
	positions := BroadcastToDims(Iota(f.g, shapes.Make(dtypes.Int32, 1, T), 1), B, T)
	x := Add(f.embed("wte", tokens), f.embed("wpe", positions))
	for i := range c.Layers {
		p := fmt.Sprintf("h.%d.", i)
		h := f.layerNorm(x, p+"ln_1.weight", p+"ln_1.bias")
		proj := func(n string) *Node {
			return Reshape(f.linear(h, p+"attn.w"+n, p+"attn.b"+n), B, T, c.Heads, hd)
		}
		a := attention(proj("q"), proj("k"), proj("v"), bias)
		x = Add(x, f.linear(a, p+"attn.wo", p+"attn.bo"))
		h = f.layerNorm(x, p+"ln_2.weight", p+"ln_2.bias")
		h = gelu(f.linear(h, p+"mlp.fc_w", p+"mlp.fc_b"))
		x = Add(x, f.linear(h, p+"mlp.proj_w", p+"mlp.proj_b"))
	}
	return f.layerNorm(x, "ln_f.weight", "ln_f.bias")
}

// TokenLogProbs gives log p(targets[b,t] | inputs[b,<=t]) as [B,T] float32.
func (m *Model) TokenLogProbs(inputs, valid, targets *Node) *Node {
	return m.TokenLogProbsWithTaps(inputs, valid, targets, nil)
}

// TokenLogProbsWithTaps is TokenLogProbs recording taps.
func (m *Model) TokenLogProbsWithTaps(inputs, valid, targets *Node, taps *Taps) *Node {
	logits := m.LogitsWithTaps(inputs, valid, taps)
	V := logits.Shape().Dimensions[2]
	maxLogit := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))
	shifted := Sub(logits, maxLogit)
	logSumExp := Log(ReduceSum(Exp(shifted), -1))
	oneHot := OneHot(targets, V, dtypes.Float32)
	targetLogit := ReduceSum(Mul(shifted, oneHot), -1)
	return Sub(targetLogit, logSumExp)
}

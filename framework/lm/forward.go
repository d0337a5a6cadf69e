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

// Trained returns the taps with a parameter keep accepts (the weight, the
// bias or both): the ops whose per-example gradients a step needs when only
// those parameters train (taking gradients at fewer ops also spares the
// backward pass below them).
func (t *Taps) Trained(keep func(name string) bool) *Taps {
	out := &Taps{}
	for _, tap := range t.List {
		if keep(tap.Weight) || (tap.Bias != "" && keep(tap.Bias)) {
			out.List = append(out.List, tap)
		}
	}
	return out
}

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
	f := fwd{m: m, g: g, taps: taps}
	return f.linear(f.hidden(tokens, valid), f.outputWeight(), "")
}

// outputWeight names the LM output projection.
func (f fwd) outputWeight() string {
	switch {
	case !f.m.Config.TiedEmbeddings:
		return "output"
	case f.m.Config.Arch == Llama:
		return "tok_embeddings"
	}
	return "wte"
}

// hidden is the final normalised hidden state [B,T,D].
func (f fwd) hidden(tokens, valid *Node) *Node {
	bias := attentionBias(f.g, valid, tokens.Shape().Dimensions[1])
	if f.m.Config.Arch == Llama {
		return f.llama(tokens, bias)
	}
	return f.gptLike(tokens, valid, bias)
}

// ClassLogits builds the classification forward pass: the head applied to
// the hidden state at the position pool marks ([B,T], one 1 per row), giving
// [B,C] logits. It records taps when taps is not nil.
func (m *Model) ClassLogits(tokens, valid, pool *Node, taps *Taps) *Node {
	if m.Config.NumClasses == 0 {
		panic("lm: the model has no classification head (NumClasses = 0)")
	}
	f := fwd{m: m, g: tokens.Graph(), taps: taps}
	h := f.hidden(tokens, valid)
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
	return scaledAttention(q, k, v, bias, 1/math.Sqrt(float64(q.Shape().Dimensions[3])))
}

// scaledAttention is attention with the logits multiplied by scale.
func scaledAttention(q, k, v, bias *Node, scale float64) *Node {
	dims := q.Shape().Dimensions
	B, T, H, hd := dims[0], dims[1], dims[2], dims[3]
	KV := k.Shape().Dimensions[2]
	q5 := Reshape(q, B, T, KV, H/KV, hd)
	scores := Einsum("btgrd,bsgd->bgrts", q5, k)
	if scale != 1 {
		scores = MulScalar(scores, scale)
	}
	scores = Add(scores, bias)
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

// localBias masks keys more than window-1 positions before the query
// (GPT-Neo's local attention: query i sees key j when 0 <= i-j < window),
// [1,1,1,T,T], to add to the causal/padding bias.
func localBias(g *Graph, T, window int) *Node {
	b := make([]float32, T*T)
	for t := range T {
		for s := 0; s <= t-window; s++ {
			b[t*T+s] = maskedScore
		}
	}
	return Reshape(Const(g, b), 1, 1, 1, T, T)
}

// halfRotaryTables are GPT-NeoX's rotary tables (rotate-half layout) over the
// first rot dims of a head of hd: out = x*cos + (x@R)*sin, where R maps x to
// rotate_half(x[:rot]) = (-x[rot/2:rot], x[:rot/2]) and is zero on the
// unrotated dims (cos 1, sin 0 there). Returns cos, sin [1,T,1,hd] and R [hd,hd].
func halfRotaryTables(g *Graph, T, hd, rot int, base float64) (cos, sin, r *Node) {
	c := make([]float32, T*hd)
	s := make([]float32, T*hd)
	half := rot / 2
	for t := range T {
		for i := range hd {
			if i >= rot {
				c[t*hd+i] = 1
				continue
			}
			invFreq := 1 / math.Pow(base, float64(2*(i%half))/float64(rot))
			angle := float64(t) * invFreq
			c[t*hd+i], s[t*hd+i] = float32(math.Cos(angle)), float32(math.Sin(angle))
		}
	}
	rm := make([]float32, hd*hd) // rm[j*hd+i]: weight of x[j] in rotated[i]
	for i := range half {
		rm[(i+half)*hd+i] = -1
		rm[i*hd+i+half] = 1
	}
	return Reshape(Const(g, c), 1, T, 1, hd), Reshape(Const(g, s), 1, T, 1, hd), Reshape(Const(g, rm), hd, hd)
}

// activation applies the config's MLP non-linearity.
func (f fwd) activation(x *Node) *Node {
	switch f.m.Config.Activation {
	case GeluErf:
		return Mul(MulScalar(x, 0.5), OnePlus(Erf(MulScalar(x, 1/math.Sqrt2))))
	case ReLU:
		return Max(x, ZerosLike(x))
	}
	return gelu(x) // GPT-2 and gelu_new
}

// positionIDs are the rows of the learned position table: t for GPT-2 and
// GPT-Neo; for OPT, 2 + the number of valid tokens before t (HF's
// cumsum(mask)*mask - 1 + 2: t+2 on right-padded rows, 1 on padding).
func (f fwd) positionIDs(B, T int, valid *Node) *Node {
	if f.m.Config.Arch != OPT {
		return BroadcastToDims(Iota(f.g, shapes.Make(dtypes.Int32, 1, T), 1), B, T)
	}
	upper := make([]float32, T*T) // upper[s*T+t] = 1 for s <= t
	for s := range T {
		for t := s; t < T; t++ {
			upper[s*T+t] = 1
		}
	}
	v := ConvertDType(valid, dtypes.Float32)
	count := Einsum("bs,st->bt", v, Reshape(Const(f.g, upper), T, T)) // valid tokens up to t
	pos := AddScalar(Sub(Mul(count, v), OnesLike(v)), optPositionOffset)
	return ConvertDType(StopGradient(pos), dtypes.Int32)
}

// gptLike is the forward pass of GPT-2, GPT-Neo, GPT-NeoX and OPT (pre-LN
// blocks with LayerNorm and a two-layer MLP), differing in positions,
// attention scaling and masks, biases, activation and residual layout.
func (f fwd) gptLike(tokens, valid, bias *Node) *Node {
	c := f.m.Config
	dims := tokens.Shape().Dimensions
	B, T := dims[0], dims[1]
	hd := c.HeadDim()
	x := f.embed("wte", tokens)
	if c.PositionRows() > 0 {
		x = Add(x, f.embed("wpe", f.positionIDs(B, T, valid)))
	}
	var cos, sin, rot *Node
	if c.Arch == GPTNeoX {
		cos, sin, rot = halfRotaryTables(f.g, T, hd, c.RotaryDim, c.RopeTheta)
	}
	scale := 1 / math.Sqrt(float64(hd))
	if c.Arch == GPTNeo {
		scale = 1 // GPT-Neo does not scale its attention logits
	}
	var local *Node
	for i := range c.Layers {
		p := fmt.Sprintf("h.%d.", i)
		h := f.layerNorm(x, p+"ln_1.weight", p+"ln_1.bias")
		proj := func(n string) *Node {
			b := ""
			if c.QKVBias() {
				b = p + "attn.b" + n
			}
			y := Reshape(f.linear(h, p+"attn.w"+n, b), B, T, c.Heads, hd)
			if rot != nil && n != "v" {
				y = Add(Mul(y, cos), Mul(Einsum("bthj,ji->bthi", y, rot), sin))
			}
			return y
		}
		layerBias := bias
		if c.IsLocal(i) {
			if local == nil {
				local = localBias(f.g, T, c.WindowSize)
			}
			layerBias = Add(bias, local)
		}
		a := scaledAttention(proj("q"), proj("k"), proj("v"), layerBias, scale)
		attnOut := f.linear(a, p+"attn.wo", p+"attn.bo")
		mlp := func(in *Node) *Node {
			h := f.layerNorm(in, p+"ln_2.weight", p+"ln_2.bias")
			h = f.activation(f.linear(h, p+"mlp.fc_w", p+"mlp.fc_b"))
			return f.linear(h, p+"mlp.proj_w", p+"mlp.proj_b")
		}
		if c.ParallelResidual {
			x = Add(Add(x, attnOut), mlp(x))
		} else {
			x = Add(x, attnOut)
			x = Add(x, mlp(x))
		}
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

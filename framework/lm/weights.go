package lm

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Tensor is a dense float32 array in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
	// dtype is set (and Data nil) for a safetensors tensor whose type is not
	// a float (e.g. the U8 causal-mask buffers older HF checkpoints save):
	// a placeholder that loaders may skip but must not use as a weight.
	dtype string
}

// Unreadable names the non-float safetensors dtype of a placeholder tensor
// (one with Shape but no Data), or is "" for a float tensor.
func (t *Tensor) Unreadable() string { return t.dtype }

type shape []int

func (s shape) size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Weights maps canonical parameter names to values. Matrices of linear
// layers are stored [out, in], as PyTorch's nn.Linear (and llama2.c) do.
//
// Llama names:
//
//	tok_embeddings [V,D]   norm [D]   output [V,D] (untied only)
//	layers.i.attention_norm [D]       layers.i.ffn_norm [D]
//	layers.i.attention.{wq [H*hd,D], wk [KV*hd,D], wv [KV*hd,D], wo [D,H*hd]}
//	layers.i.feed_forward.{w1 [F,D], w2 [D,F], w3 [F,D]}
//
// GPT-2 names (also used by GPT-Neo, GPT-NeoX and OPT; see PositionRows
// and QKVBias for the parameters a family lacks):
//
//	wte [V,D]  wpe [P,D]  ln_f.{weight,bias} [D]  output [V,D] (untied only)
//	h.i.ln_1.{weight,bias}  h.i.ln_2.{weight,bias}
//	h.i.attn.{wq,wk,wv,wo} [D,D] and {bq,bk,bv,bo} [D]
//	h.i.mlp.{fc_w [F,D], fc_b [F], proj_w [D,F], proj_b [D]}
type Weights map[string]*Tensor

// Names returns the weight names in a stable order.
func (w Weights) Names() []string {
	return slices.Sorted(maps.Keys(w))
}

// PositionRows is the number of rows of the learned position table wpe (0:
// no learned positions). OPT's table has 2 extra rows: position t is row t+2.
func (c Config) PositionRows() int {
	switch c.Arch {
	case GPT2, GPTNeo:
		return c.MaxSeqLen
	case OPT:
		return c.MaxSeqLen + optPositionOffset
	}
	return 0
}

// optPositionOffset is OPTLearnedPositionalEmbedding's offset.
const optPositionOffset = 2

// QKVBias reports whether the q, k and v projections have biases.
func (c Config) QKVBias() bool { return c.Arch != GPTNeo && c.Arch != Llama }

// WeightShapes returns the canonical name and shape of every parameter.
func (c Config) WeightShapes() map[string]shape {
	s := map[string]shape{}
	D, F, V := c.Dim, c.HiddenDim, c.VocabSize
	switch c.Arch {
	case Llama:
		hd := c.HeadDim()
		s["tok_embeddings"] = shape{V, D}
		s["norm"] = shape{D}
		if !c.TiedEmbeddings {
			s["output"] = shape{V, D}
		}
		for i := range c.Layers {
			p := fmt.Sprintf("layers.%d.", i)
			s[p+"attention_norm"] = shape{D}
			s[p+"ffn_norm"] = shape{D}
			s[p+"attention.wq"] = shape{c.Heads * hd, D}
			s[p+"attention.wk"] = shape{c.KVHeads * hd, D}
			s[p+"attention.wv"] = shape{c.KVHeads * hd, D}
			s[p+"attention.wo"] = shape{D, c.Heads * hd}
			s[p+"feed_forward.w1"] = shape{F, D}
			s[p+"feed_forward.w2"] = shape{D, F}
			s[p+"feed_forward.w3"] = shape{F, D}
		}
	default: // GPT-2, GPT-Neo, GPT-NeoX, OPT
		s["wte"] = shape{V, D}
		if P := c.PositionRows(); P > 0 {
			s["wpe"] = shape{P, D}
		}
		if !c.TiedEmbeddings {
			s["output"] = shape{V, D}
		}
		s["ln_f.weight"] = shape{D}
		s["ln_f.bias"] = shape{D}
		for i := range c.Layers {
			p := fmt.Sprintf("h.%d.", i)
			for _, ln := range []string{"ln_1", "ln_2"} {
				s[p+ln+".weight"] = shape{D}
				s[p+ln+".bias"] = shape{D}
			}
			for _, m := range []string{"q", "k", "v", "o"} {
				s[p+"attn.w"+m] = shape{D, D}
				if m == "o" || c.QKVBias() {
					s[p+"attn.b"+m] = shape{D}
				}
			}
			s[p+"mlp.fc_w"] = shape{F, D}
			s[p+"mlp.fc_b"] = shape{F}
			s[p+"mlp.proj_w"] = shape{D, F}
			s[p+"mlp.proj_b"] = shape{D}
		}
	}
	if c.NumClasses > 0 {
		s["cls.weight"] = shape{c.NumClasses, D}
		s["cls.bias"] = shape{c.NumClasses}
	}
	return s
}

// CheckWeights reports missing, unexpected or misshapen weights for c.
func (c Config) CheckWeights(w Weights) error {
	want := c.WeightShapes()
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t, ok := w[name]
		switch {
		case !ok:
			problems = append(problems, "missing "+name)
		case !slices.Equal(t.Shape, want[name]):
			problems = append(problems, fmt.Sprintf("%s has shape %v, want %v", name, t.Shape, []int(want[name])))
		case len(t.Data) != want[name].size():
			problems = append(problems, fmt.Sprintf("%s has %d values, want %d", name, len(t.Data), want[name].size()))
		}
	}
	for _, name := range w.Names() {
		if _, ok := want[name]; !ok {
			problems = append(problems, "unexpected "+name)
		}
	}
	if len(problems) > 0 {
		if len(problems) > 8 {
			problems = append(problems[:8], fmt.Sprintf("... and %d more", len(problems)-8))
		}
		return fmt.Errorf("weights do not fit config %s: %s", c, strings.Join(problems, "; "))
	}
	return nil
}

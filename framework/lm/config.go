package lm

import (
	"encoding/json"
	"fmt"
)

// Arch is an architecture family.
type Arch string

const (
	// Llama: RMSNorm, rotary positions (interleaved pairs, as llama2.c),
	// SwiGLU MLP, grouped-query attention, tied or untied output.
	Llama Arch = "llama"
	// GPT2: LayerNorm with bias, learned positions, GELU (tanh) MLP, biases on
	// every projection, tied embeddings.
	GPT2 Arch = "gpt2"
)

// Config describes a causal transformer LM of either family.
type Config struct {
	Arch      Arch `json:"arch"`
	VocabSize int  `json:"vocab_size"`
	Dim       int  `json:"dim"`
	// HiddenDim is the MLP width (Llama: the SwiGLU width; GPT-2: 4*Dim).
	HiddenDim int `json:"hidden_dim"`
	Layers    int `json:"layers"`
	Heads     int `json:"heads"`
	// KVHeads < Heads is grouped-query attention (Llama only).
	KVHeads   int `json:"kv_heads"`
	MaxSeqLen int `json:"max_seq_len"`
	// TiedEmbeddings: the output projection is the token embedding table.
	TiedEmbeddings bool    `json:"tied_embeddings"`
	NormEps        float64 `json:"norm_eps"`
	RopeTheta      float64 `json:"rope_theta,omitempty"`
	// NumClasses > 0 adds a classification head (cls.weight [C,D], cls.bias
	// [C]) on the final hidden state of the last valid token.
	NumClasses int `json:"num_classes,omitempty"`
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.Dim / c.Heads }

// Validate reports the first inconsistent field.
func (c Config) Validate() error {
	switch c.Arch {
	case Llama, GPT2:
	default:
		return fmt.Errorf("lm config: arch %q is unknown (want %q or %q)", c.Arch, Llama, GPT2)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab_size", c.VocabSize}, {"dim", c.Dim}, {"hidden_dim", c.HiddenDim}, {"layers", c.Layers},
		{"heads", c.Heads}, {"kv_heads", c.KVHeads}, {"max_seq_len", c.MaxSeqLen}} {
		if f.v <= 0 {
			return fmt.Errorf("lm config: %s = %d, want > 0", f.name, f.v)
		}
	}
	if c.Dim%c.Heads != 0 {
		return fmt.Errorf("lm config: dim %d is not a multiple of heads %d", c.Dim, c.Heads)
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("lm config: heads %d is not a multiple of kv_heads %d", c.Heads, c.KVHeads)
	}
	if c.Arch == Llama && c.HeadDim()%2 != 0 {
		return fmt.Errorf("lm config: rotary positions need an even head dim, got %d", c.HeadDim())
	}
	if c.Arch == GPT2 {
		if c.KVHeads != c.Heads {
			return fmt.Errorf("lm config: gpt2 has no grouped-query attention: kv_heads %d != heads %d", c.KVHeads, c.Heads)
		}
		if !c.TiedEmbeddings {
			return fmt.Errorf("lm config: gpt2 always ties its embeddings")
		}
	}
	if c.NumClasses < 0 || c.NumClasses == 1 {
		return fmt.Errorf("lm config: num_classes = %d, want 0 (none) or >= 2", c.NumClasses)
	}
	if c.NormEps <= 0 {
		return fmt.Errorf("lm config: norm_eps = %g, want > 0", c.NormEps)
	}
	if c.Arch == Llama && c.RopeTheta <= 0 {
		return fmt.Errorf("lm config: rope_theta = %g, want > 0", c.RopeTheta)
	}
	return nil
}

// NumParams counts the model's parameters.
func (c Config) NumParams() int {
	n := 0
	for _, s := range c.WeightShapes() {
		n += s.size()
	}
	return n
}

// String is the config as one line of JSON.
func (c Config) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Named configurations. Tiny is for tests; Small is the default model trained
// from scratch by the quickstart (vocab of tok512.bin); Stories260K is the
// shape of the llama2.c checkpoint in ../shared/data/models; Llama125M is the
// GPU benchmark's model.
var (
	Tiny = Config{Arch: Llama, VocabSize: 512, Dim: 32, HiddenDim: 96, Layers: 2, Heads: 4, KVHeads: 2,
		MaxSeqLen: 64, TiedEmbeddings: true, NormEps: 1e-5, RopeTheta: 10000}
	Small = Config{Arch: Llama, VocabSize: 512, Dim: 128, HiddenDim: 384, Layers: 4, Heads: 4, KVHeads: 4,
		MaxSeqLen: 256, TiedEmbeddings: true, NormEps: 1e-5, RopeTheta: 10000}
	Stories260K = Config{Arch: Llama, VocabSize: 512, Dim: 64, HiddenDim: 172, Layers: 5, Heads: 8, KVHeads: 4,
		MaxSeqLen: 512, TiedEmbeddings: true, NormEps: 1e-5, RopeTheta: 10000}
	Llama125M = Config{Arch: Llama, VocabSize: 32000, Dim: 768, HiddenDim: 2048, Layers: 12, Heads: 12, KVHeads: 12,
		MaxSeqLen: 512, TiedEmbeddings: true, NormEps: 1e-5, RopeTheta: 10000}
	GPT2Tiny = Config{Arch: GPT2, VocabSize: 512, Dim: 32, HiddenDim: 128, Layers: 2, Heads: 4, KVHeads: 4,
		MaxSeqLen: 64, TiedEmbeddings: true, NormEps: 1e-5}
	GPT2Small124M = Config{Arch: GPT2, VocabSize: 50257, Dim: 768, HiddenDim: 3072, Layers: 12, Heads: 12, KVHeads: 12,
		MaxSeqLen: 1024, TiedEmbeddings: true, NormEps: 1e-5}
)

// Presets names the configurations above for the command line (-set model=small).
var Presets = map[string]Config{
	"tiny": Tiny, "small": Small, "stories260k": Stories260K, "llama-125m": Llama125M,
	"gpt2-tiny": GPT2Tiny, "gpt2-124m": GPT2Small124M,
}

package lm

import (
	"encoding/json"
	"fmt"
	"strings"
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
	// GPTNeo (GPTNeoForCausalLM): GPT-2's block with q/k/v projections
	// without bias, attention logits not scaled by 1/sqrt(head dim), global
	// and local (sliding window) attention layers, gelu_new, tied embeddings.
	GPTNeo Arch = "gpt_neo"
	// GPTNeoX (GPTNeoXForCausalLM, Pythia): no learned positions; rotary
	// positions (rotate-half layout) on the first RotaryDim of each head,
	// q/k/v with bias (fused per head in the HF file), exact GELU, parallel
	// or sequential residual, untied output (embed_out).
	GPTNeoX Arch = "gpt_neox"
	// OPT (OPTForCausalLM): learned positions offset by 2 and counted over
	// valid tokens, pre-LayerNorm blocks, ReLU MLP, tied embeddings.
	OPT Arch = "opt"
)

// Activation functions of the MLP of the GPT-like families.
const (
	GeluTanh = "gelu_new" // GPT-2's tanh approximation
	GeluErf  = "gelu"     // exact: x * Phi(x)
	ReLU     = "relu"
)

// Attention layer types of GPT-Neo (Config.AttentionTypes).
const (
	GlobalAttention = "global"
	LocalAttention  = "local"
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
	// Activation is the MLP non-linearity of gpt_neo, gpt_neox and opt
	// (GeluTanh, GeluErf or ReLU); GPT-2 always uses GeluTanh.
	Activation string `json:"activation,omitempty"`
	// AttentionTypes (gpt_neo) lists each layer's attention, comma-separated
	// ("global,local,..."); a local layer lets position i see j when
	// 0 <= i-j < WindowSize.
	AttentionTypes string `json:"attention_types,omitempty"`
	WindowSize     int    `json:"window_size,omitempty"`
	// RotaryDim (gpt_neox) is how many leading dims of each head are rotated
	// (HF: int(head_dim * rotary_pct)), with base RopeTheta.
	RotaryDim int `json:"rotary_dim,omitempty"`
	// ParallelResidual (gpt_neox): x + attn(ln_1(x)) + mlp(ln_2(x)) instead
	// of two sequential residual steps.
	ParallelResidual bool `json:"parallel_residual,omitempty"`
	// NumClasses > 0 adds a classification head (cls.weight [C,D], cls.bias
	// [C]) on the final hidden state of the last valid token.
	NumClasses int `json:"num_classes,omitempty"`
}

// IsLocal reports whether layer i uses GPT-Neo's local (windowed) attention.
func (c Config) IsLocal(i int) bool {
	if c.Arch != GPTNeo {
		return false
	}
	types := strings.Split(c.AttentionTypes, ",")
	return i < len(types) && types[i] == LocalAttention
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.Dim / c.Heads }

// Validate reports the first inconsistent field.
func (c Config) Validate() error {
	switch c.Arch {
	case Llama, GPT2, GPTNeo, GPTNeoX, OPT:
	default:
		return fmt.Errorf("lm config: arch %q is unknown (want %q, %q, %q, %q or %q)", c.Arch, Llama, GPT2, GPTNeo, GPTNeoX, OPT)
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
	if c.Arch != Llama && c.KVHeads != c.Heads {
		return fmt.Errorf("lm config: %s has no grouped-query attention: kv_heads %d != heads %d", c.Arch, c.KVHeads, c.Heads)
	}
	switch c.Arch {
	case GPTNeo, GPTNeoX, OPT:
		switch c.Activation {
		case GeluTanh, GeluErf, ReLU:
		default:
			return fmt.Errorf("lm config: activation %q is not supported (want %q, %q or %q)", c.Activation, GeluTanh, GeluErf, ReLU)
		}
	default:
		if c.Activation != "" {
			return fmt.Errorf("lm config: %s has a fixed activation, activation must be empty (got %q)", c.Arch, c.Activation)
		}
	}
	if c.Arch == GPTNeo {
		types := strings.Split(c.AttentionTypes, ",")
		if len(types) != c.Layers {
			return fmt.Errorf("lm config: attention_types %q names %d layers, the model has %d", c.AttentionTypes, len(types), c.Layers)
		}
		for i, typ := range types {
			if typ != GlobalAttention && typ != LocalAttention {
				return fmt.Errorf("lm config: attention_types layer %d is %q, want %q or %q", i, typ, GlobalAttention, LocalAttention)
			}
			if typ == LocalAttention && c.WindowSize <= 0 {
				return fmt.Errorf("lm config: layer %d has local attention but window_size = %d, want > 0", i, c.WindowSize)
			}
		}
	} else if c.AttentionTypes != "" || c.WindowSize != 0 {
		return fmt.Errorf("lm config: attention_types and window_size are gpt_neo fields, %s must leave them empty", c.Arch)
	}
	if c.Arch == GPTNeoX {
		if c.RotaryDim <= 0 || c.RotaryDim > c.HeadDim() || c.RotaryDim%2 != 0 {
			return fmt.Errorf("lm config: rotary_dim = %d, want an even number in (0, head dim %d]", c.RotaryDim, c.HeadDim())
		}
		if c.RopeTheta <= 0 {
			return fmt.Errorf("lm config: rope_theta = %g, want > 0", c.RopeTheta)
		}
	} else if c.RotaryDim != 0 || c.ParallelResidual {
		return fmt.Errorf("lm config: rotary_dim and parallel_residual are gpt_neox fields, %s must leave them unset", c.Arch)
	}
	if (c.Arch == GPTNeo || c.Arch == OPT) && !c.TiedEmbeddings {
		return fmt.Errorf("lm config: %s ties its embeddings (untied output is not supported)", c.Arch)
	}
	if c.NumClasses < 0 || c.NumClasses == 1 {
		return fmt.Errorf("lm config: num_classes = %d, want 0 (none) or >= 2", c.NumClasses)
	}
	if c.NormEps <= 0 {
		return fmt.Errorf("lm config: norm_eps = %g, want > 0", c.NormEps)
	}
	if c.Arch == OPT && c.NormEps != 1e-5 {
		// HF's OPT hard-codes nn.LayerNorm's default eps; config.json has no key for it.
		return fmt.Errorf("lm config: opt always uses layer-norm eps 1e-5 (HF has no setting for it), got norm_eps = %g", c.NormEps)
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
	// GPTNeoTiny has a global and a local layer (window 4, shorter than
	// test sequences, so the window matters).
	GPTNeoTiny = Config{Arch: GPTNeo, VocabSize: 512, Dim: 32, HiddenDim: 128, Layers: 2, Heads: 4, KVHeads: 4,
		MaxSeqLen: 64, TiedEmbeddings: true, NormEps: 1e-5, Activation: GeluTanh,
		AttentionTypes: "global,local", WindowSize: 4}
	// PythiaTiny rotates a quarter of each head (rotary_pct 0.25 as Pythia).
	PythiaTiny = Config{Arch: GPTNeoX, VocabSize: 512, Dim: 64, HiddenDim: 256, Layers: 2, Heads: 4, KVHeads: 4,
		MaxSeqLen: 64, TiedEmbeddings: false, NormEps: 1e-5, Activation: GeluErf, RotaryDim: 4,
		RopeTheta: 10000, ParallelResidual: true}
	OPTTiny = Config{Arch: OPT, VocabSize: 512, Dim: 32, HiddenDim: 128, Layers: 2, Heads: 4, KVHeads: 4,
		MaxSeqLen: 64, TiedEmbeddings: true, NormEps: 1e-5, Activation: ReLU}

	// The shapes of the user inference paper's model families
	// (../shared/PAPERS.md section 1, "Setup" and the reference ablation,
	// Table 7), as their config.json files give them; for benchmarks and
	// for models trained from scratch. Weights come from a snapshot
	// directory (model.reference=DIR).
	GPTNeo125M = Config{Arch: GPTNeo, VocabSize: 50257, Dim: 768, HiddenDim: 3072, Layers: 12, Heads: 12, KVHeads: 12,
		MaxSeqLen: 2048, TiedEmbeddings: true, NormEps: 1e-5, Activation: GeluTanh,
		AttentionTypes: "global,local,global,local,global,local,global,local,global,local,global,local", WindowSize: 256}
	Pythia160M = Config{Arch: GPTNeoX, VocabSize: 50304, Dim: 768, HiddenDim: 3072, Layers: 12, Heads: 12, KVHeads: 12,
		MaxSeqLen: 2048, TiedEmbeddings: false, NormEps: 1e-5, Activation: GeluErf, RotaryDim: 16,
		RopeTheta: 10000, ParallelResidual: true}
	OPT125M = Config{Arch: OPT, VocabSize: 50272, Dim: 768, HiddenDim: 3072, Layers: 12, Heads: 12, KVHeads: 12,
		MaxSeqLen: 2048, TiedEmbeddings: true, NormEps: 1e-5, Activation: ReLU}
)

// Presets names the configurations above for the command line (-set model=small).
var Presets = map[string]Config{
	"tiny": Tiny, "small": Small, "stories260k": Stories260K, "llama-125m": Llama125M,
	"gpt2-tiny": GPT2Tiny, "gpt2-124m": GPT2Small124M,
	"gpt-neo-tiny": GPTNeoTiny, "pythia-tiny": PythiaTiny, "opt-tiny": OPTTiny,
	"gpt-neo-125m": GPTNeo125M, "pythia-160m": Pythia160M, "opt-125m": OPT125M,
}

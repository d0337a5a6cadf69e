package lm

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// hfConfig holds the fields of a Hugging Face config.json that privlm reads,
// for LlamaForCausalLM, GPT2LMHeadModel, GPTNeoForCausalLM,
// GPTNeoXForCausalLM and OPTForCausalLM.
type hfConfig struct {
	ModelType string `json:"model_type"`
	// Llama
	HiddenSize        int     `json:"hidden_size,omitempty"`
	IntermediateSize  int     `json:"intermediate_size,omitempty"`
	NumHiddenLayers   int     `json:"num_hidden_layers,omitempty"`
	NumAttentionHeads int     `json:"num_attention_heads,omitempty"`
	NumKeyValueHeads  int     `json:"num_key_value_heads,omitempty"`
	MaxPositions      int     `json:"max_position_embeddings,omitempty"`
	RMSNormEps        float64 `json:"rms_norm_eps,omitempty"`
	RopeTheta         float64 `json:"rope_theta,omitempty"`
	// RopeScaling (llama, gpt_neox: {"type"/"rope_type": "linear",
	// "dynamic", ..., "factor": f}) is not implemented: non-null is refused.
	RopeScaling       json.RawMessage `json:"rope_scaling,omitempty"`
	TieWordEmbeddings *bool           `json:"tie_word_embeddings,omitempty"`
	Architectures     []string        `json:"architectures,omitempty"`
	// GPT-2
	NEmbd     int     `json:"n_embd,omitempty"`
	NLayer    int     `json:"n_layer,omitempty"`
	NHead     int     `json:"n_head,omitempty"`
	NInner    *int    `json:"n_inner,omitempty"`
	NPos      int     `json:"n_positions,omitempty"`
	LNEpsilon float64 `json:"layer_norm_epsilon,omitempty"`
	// GPT-Neo
	NumLayers          int             `json:"num_layers,omitempty"`
	NumHeads           int             `json:"num_heads,omitempty"`
	AttentionTypes     json.RawMessage `json:"attention_types,omitempty"`
	WindowSize         int             `json:"window_size,omitempty"`
	ActivationFunction string          `json:"activation_function,omitempty"`
	// GPT-NeoX
	HiddenAct           string   `json:"hidden_act,omitempty"`
	RotaryPct           *float64 `json:"rotary_pct,omitempty"`
	PartialRotaryFactor *float64 `json:"partial_rotary_factor,omitempty"`
	RotaryEmbBase       float64  `json:"rotary_emb_base,omitempty"`
	UseParallelResidual *bool    `json:"use_parallel_residual,omitempty"`
	LayerNormEps        float64  `json:"layer_norm_eps,omitempty"`
	AttentionBias       *bool    `json:"attention_bias,omitempty"`
	// OPT
	FFNDim                     int   `json:"ffn_dim,omitempty"`
	DoLayerNormBefore          *bool `json:"do_layer_norm_before,omitempty"`
	WordEmbedProjDim           int   `json:"word_embed_proj_dim,omitempty"`
	EnableBias                 *bool `json:"enable_bias,omitempty"`
	LayerNormElementwiseAffine *bool `json:"layer_norm_elementwise_affine,omitempty"`
	RemoveFinalLayerNorm       bool  `json:"_remove_final_layer_norm,omitempty"`
	// All
	VocabSize  int  `json:"vocab_size"`
	BOSTokenID *int `json:"bos_token_id,omitempty"`
	EOSTokenID *int `json:"eos_token_id,omitempty"`
}

func (h hfConfig) toConfig() (Config, error) {
	if s := strings.TrimSpace(string(h.RopeScaling)); s != "" && s != "null" {
		return Config{}, fmt.Errorf("%s: rope_scaling %s is not supported (privlm implements unscaled rotary positions only; want null)", h.ModelType, s)
	}
	switch h.ModelType {
	case "llama", "mistral":
		c := Config{Arch: Llama, VocabSize: h.VocabSize, Dim: h.HiddenSize, HiddenDim: h.IntermediateSize,
			Layers: h.NumHiddenLayers, Heads: h.NumAttentionHeads, KVHeads: h.NumKeyValueHeads,
			MaxSeqLen: h.MaxPositions, NormEps: h.RMSNormEps, RopeTheta: h.RopeTheta, TiedEmbeddings: false}
		if c.KVHeads == 0 {
			c.KVHeads = c.Heads
		}
		if c.RopeTheta == 0 {
			c.RopeTheta = 10000
		}
		if c.NormEps == 0 {
			c.NormEps = 1e-6
		}
		if h.TieWordEmbeddings != nil {
			c.TiedEmbeddings = *h.TieWordEmbeddings
		}
		return c, c.Validate()
	case "gpt2":
		c := Config{Arch: GPT2, VocabSize: h.VocabSize, Dim: h.NEmbd, HiddenDim: 4 * h.NEmbd, Layers: h.NLayer,
			Heads: h.NHead, KVHeads: h.NHead, MaxSeqLen: h.NPos, NormEps: h.LNEpsilon, TiedEmbeddings: true}
		if h.NInner != nil && *h.NInner > 0 {
			c.HiddenDim = *h.NInner
		}
		if c.NormEps == 0 {
			c.NormEps = 1e-5
		}
		return c, c.Validate()
	case "gpt_neo":
		return h.gptNeoConfig()
	case "gpt_neox":
		return h.gptNeoXConfig()
	case "opt":
		return h.optConfig()
	}
	return Config{}, fmt.Errorf("model_type %q is not supported (want llama, mistral, gpt2, gpt_neo, gpt_neox or opt)", h.ModelType)
}

func (h hfConfig) tied(def bool) bool {
	if h.TieWordEmbeddings != nil {
		return *h.TieWordEmbeddings
	}
	return def
}

func (h hfConfig) gptNeoConfig() (Config, error) {
	c := Config{Arch: GPTNeo, VocabSize: h.VocabSize, Dim: h.HiddenSize, HiddenDim: h.IntermediateSize,
		Layers: h.NumLayers, Heads: h.NumHeads, KVHeads: h.NumHeads, MaxSeqLen: h.MaxPositions,
		NormEps: h.LNEpsilon, TiedEmbeddings: h.tied(true), Activation: h.ActivationFunction, WindowSize: h.WindowSize}
	if c.HiddenDim == 0 { // intermediate_size null: 4 * hidden_size
		c.HiddenDim = 4 * c.Dim
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-5
	}
	if c.Activation == "" {
		c.Activation = GeluTanh
	}
	if len(h.AttentionTypes) == 0 {
		return Config{}, fmt.Errorf("gpt_neo: attention_types is missing")
	}
	types, err := parseNeoAttentionTypes(h.AttentionTypes)
	if err != nil {
		return Config{}, err
	}
	c.AttentionTypes = types
	if !strings.Contains(types, LocalAttention) {
		c.WindowSize = 0 // unused
	}
	return c, c.Validate()
}

func (h hfConfig) gptNeoXConfig() (Config, error) {
	if h.AttentionBias != nil && !*h.AttentionBias {
		return Config{}, fmt.Errorf("gpt_neox: attention_bias false is not supported")
	}
	c := Config{Arch: GPTNeoX, VocabSize: h.VocabSize, Dim: h.HiddenSize, HiddenDim: h.IntermediateSize,
		Layers: h.NumHiddenLayers, Heads: h.NumAttentionHeads, KVHeads: h.NumAttentionHeads,
		MaxSeqLen: h.MaxPositions, NormEps: h.LayerNormEps, TiedEmbeddings: h.tied(false),
		RopeTheta: h.RotaryEmbBase, ParallelResidual: true}
	if h.UseParallelResidual != nil {
		c.ParallelResidual = *h.UseParallelResidual
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = h.RopeTheta
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-5
	}
	switch h.HiddenAct {
	case "gelu", "":
		c.Activation = GeluErf
	case "gelu_new":
		c.Activation = GeluTanh
	case "relu":
		c.Activation = ReLU
	default:
		return Config{}, fmt.Errorf("gpt_neox: hidden_act %q is not supported (want gelu, gelu_new or relu)", h.HiddenAct)
	}
	pct := 0.25
	switch {
	case h.RotaryPct != nil:
		pct = *h.RotaryPct
	case h.PartialRotaryFactor != nil:
		pct = *h.PartialRotaryFactor
	}
	if c.Heads > 0 {
		c.RotaryDim = int(float64(c.Dim/c.Heads) * pct) // HF: int(head_size * rotary_pct)
	}
	return c, c.Validate()
}

func (h hfConfig) optConfig() (Config, error) {
	if h.DoLayerNormBefore != nil && !*h.DoLayerNormBefore {
		return Config{}, fmt.Errorf("opt: do_layer_norm_before false (post-LayerNorm, as opt-350m) is not supported; opt-125m and the 1.3b and larger models are pre-LayerNorm")
	}
	if h.WordEmbedProjDim != 0 && h.WordEmbedProjDim != h.HiddenSize {
		return Config{}, fmt.Errorf("opt: word_embed_proj_dim %d != hidden_size %d (project_in/project_out, as opt-350m) is not supported", h.WordEmbedProjDim, h.HiddenSize)
	}
	if h.EnableBias != nil && !*h.EnableBias {
		return Config{}, fmt.Errorf("opt: enable_bias false is not supported")
	}
	if h.LayerNormElementwiseAffine != nil && !*h.LayerNormElementwiseAffine {
		return Config{}, fmt.Errorf("opt: layer_norm_elementwise_affine false is not supported")
	}
	if h.RemoveFinalLayerNorm {
		return Config{}, fmt.Errorf("opt: _remove_final_layer_norm true is not supported")
	}
	c := Config{Arch: OPT, VocabSize: h.VocabSize, Dim: h.HiddenSize, HiddenDim: h.FFNDim,
		Layers: h.NumHiddenLayers, Heads: h.NumAttentionHeads, KVHeads: h.NumAttentionHeads,
		MaxSeqLen: h.MaxPositions, NormEps: 1e-5, TiedEmbeddings: h.tied(true), Activation: h.ActivationFunction}
	if c.Activation == "" {
		c.Activation = ReLU
	}
	return c, c.Validate()
}

// neoxRotaryPct is a rotary_pct that HF (and gptNeoXConfig) turn back into
// rot with int(hd * rotary_pct): rot/hd itself may round just below rot
// (hd 44, rot 30 gives 29.999...), so it is nudged up by one ulp then.
func neoxRotaryPct(rot, hd int) (float64, error) {
	pct := float64(rot) / float64(hd)
	if int(float64(hd)*pct) != rot {
		pct = math.Nextafter(pct, 1)
	}
	if int(float64(hd)*pct) != rot {
		return 0, fmt.Errorf("lm: no rotary_pct gives rotary_dim %d for head dim %d", rot, hd)
	}
	return pct, nil
}

func fromConfig(c Config) (hfConfig, error) {
	tied := c.TiedEmbeddings
	switch c.Arch {
	case GPTNeo:
		inner := c.HiddenDim
		return hfConfig{ModelType: "gpt_neo", Architectures: []string{"GPTNeoForCausalLM"}, HiddenSize: c.Dim,
			IntermediateSize: inner, NumLayers: c.Layers, NumHeads: c.Heads, MaxPositions: c.MaxSeqLen,
			LNEpsilon: c.NormEps, ActivationFunction: c.Activation, WindowSize: c.WindowSize,
			AttentionTypes: neoAttentionTypesJSON(c.AttentionTypes), TieWordEmbeddings: &tied, VocabSize: c.VocabSize}, nil
	case GPTNeoX:
		pct, err := neoxRotaryPct(c.RotaryDim, c.HeadDim())
		if err != nil {
			return hfConfig{}, err
		}
		parallel := c.ParallelResidual
		act := map[string]string{GeluErf: "gelu", GeluTanh: "gelu_new", ReLU: "relu"}[c.Activation]
		return hfConfig{ModelType: "gpt_neox", Architectures: []string{"GPTNeoXForCausalLM"}, HiddenSize: c.Dim,
			IntermediateSize: c.HiddenDim, NumHiddenLayers: c.Layers, NumAttentionHeads: c.Heads,
			MaxPositions: c.MaxSeqLen, LayerNormEps: c.NormEps, HiddenAct: act, RotaryPct: &pct,
			RotaryEmbBase: c.RopeTheta, UseParallelResidual: &parallel, TieWordEmbeddings: &tied, VocabSize: c.VocabSize}, nil
	case OPT:
		before := true
		return hfConfig{ModelType: "opt", Architectures: []string{"OPTForCausalLM"}, HiddenSize: c.Dim,
			FFNDim: c.HiddenDim, NumHiddenLayers: c.Layers, NumAttentionHeads: c.Heads, MaxPositions: c.MaxSeqLen,
			ActivationFunction: c.Activation, DoLayerNormBefore: &before, WordEmbedProjDim: c.Dim,
			TieWordEmbeddings: &tied, VocabSize: c.VocabSize}, nil
	}
	if c.Arch == GPT2 {
		inner := c.HiddenDim
		return hfConfig{ModelType: "gpt2", Architectures: []string{"GPT2LMHeadModel"}, NEmbd: c.Dim, NLayer: c.Layers,
			NHead: c.Heads, NInner: &inner, NPos: c.MaxSeqLen, LNEpsilon: c.NormEps, VocabSize: c.VocabSize}, nil
	}
	return hfConfig{ModelType: "llama", Architectures: []string{"LlamaForCausalLM"}, HiddenSize: c.Dim,
		IntermediateSize: c.HiddenDim, NumHiddenLayers: c.Layers, NumAttentionHeads: c.Heads,
		NumKeyValueHeads: c.KVHeads, MaxPositions: c.MaxSeqLen, RMSNormEps: c.NormEps, RopeTheta: c.RopeTheta,
		TieWordEmbeddings: &tied, VocabSize: c.VocabSize}, nil
}

// LoadHF reads a Hugging Face model directory (config.json and
// model.safetensors, or a model.safetensors path with config.json beside it)
// of a LlamaForCausalLM, GPT2LMHeadModel, GPTNeoForCausalLM,
// GPTNeoXForCausalLM or OPTForCausalLM (by config.json's model_type).
// Sharded checkpoints are read shard by shard: the files
// model.safetensors.index.json names (every listed tensor must be in its
// shard), else every *.safetensors in the directory.
func LoadHF(path string) (Config, Weights, error) {
	dir := path
	if !isDir(path) {
		dir = filepath.Dir(path)
	}
	cfg, err := readHFConfig(dir)
	if err != nil {
		return Config{}, nil, err
	}
	files := []string{path}
	index, err := readShardIndex(dir)
	if err != nil {
		return Config{}, nil, err
	}
	if isDir(path) {
		if index != nil {
			files = index.files(dir)
		} else {
			files, _ = filepath.Glob(filepath.Join(dir, "*.safetensors"))
		}
		if len(files) == 0 {
			return Config{}, nil, fmt.Errorf("lm: HF model %s has no .safetensors file", dir)
		}
	}
	hf := map[string]*Tensor{}
	for _, f := range files {
		ts, _, err := ReadSafetensors(f)
		if err != nil {
			return Config{}, nil, err
		}
		for k, v := range ts {
			if index != nil && isDir(path) {
				if want, ok := index.WeightMap[k]; ok && filepath.Join(dir, want) != f {
					return Config{}, nil, fmt.Errorf("lm: %s holds tensor %s, which %s puts in %s", f, k, shardIndexFile, want)
				}
			}
			hf[k] = v
		}
	}
	if index != nil && isDir(path) {
		for _, k := range sortedKeys(index.WeightMap) {
			if _, ok := hf[k]; !ok {
				return Config{}, nil, fmt.Errorf("lm: %s lists tensor %s in %s, which lacks it", filepath.Join(dir, shardIndexFile), k, index.WeightMap[k])
			}
		}
	}
	var w Weights
	if hfPrefix[cfg.Arch] != "" {
		w, err = fromHFFamily(cfg, hf)
	} else {
		w, err = fromHFNames(cfg, hf)
	}
	if err != nil {
		return Config{}, nil, fmt.Errorf("lm: HF model %s: %w", dir, err)
	}
	if err := cfg.CheckWeights(w); err != nil {
		return Config{}, nil, fmt.Errorf("lm: HF model %s: %w", dir, err)
	}
	return cfg, w, nil
}

// SaveHF writes the model as a Hugging Face directory: config.json and
// model.safetensors (F32) with the HF class's tensor names and layouts.
func SaveHF(dir string, cfg Config, w Weights) error {
	if err := cfg.CheckWeights(w); err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	hcfg, err := fromConfig(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	hc, _ := json.MarshalIndent(hcfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(hc, '\n'), 0o644); err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	var ts map[string]*Tensor
	if hfPrefix[cfg.Arch] != "" {
		ts = toHFFamily(cfg, w)
	} else {
		ts = toHFNames(cfg, w)
	}
	return WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"})
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// llamaHFNames maps canonical per-layer suffixes to HF names.
var llamaHFNames = map[string]string{
	"attention_norm":  "input_layernorm.weight",
	"ffn_norm":        "post_attention_layernorm.weight",
	"attention.wq":    "self_attn.q_proj.weight",
	"attention.wk":    "self_attn.k_proj.weight",
	"attention.wv":    "self_attn.v_proj.weight",
	"attention.wo":    "self_attn.o_proj.weight",
	"feed_forward.w1": "mlp.gate_proj.weight",
	"feed_forward.w2": "mlp.down_proj.weight",
	"feed_forward.w3": "mlp.up_proj.weight",
}

// HF's Llama uses "rotate half" rotary positions; Meta's (and llama2.c's, and
// privlm's) rotate interleaved pairs. HF's conversion script permutes the q
// and k rows within each head: Meta row 2j+p becomes HF row p*hd/2+j.
func ropeToHF(t *Tensor, heads int) *Tensor   { return permuteRows(t, heads, true) }
func ropeFromHF(t *Tensor, heads int) *Tensor { return permuteRows(t, heads, false) }

func permuteRows(t *Tensor, heads int, toHF bool) *Tensor {
	rows, cols := t.Shape[0], t.Shape[1]
	hd := rows / heads
	out := &Tensor{Shape: append([]int(nil), t.Shape...), Data: make([]float32, len(t.Data))}
	for h := range heads {
		for j := range hd / 2 {
			for p := range 2 {
				meta := h*hd + 2*j + p
				hf := h*hd + p*hd/2 + j
				src, dst := meta, hf
				if !toHF {
					src, dst = hf, meta
				}
				copy(out.Data[dst*cols:(dst+1)*cols], t.Data[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}

func transpose(t *Tensor) *Tensor {
	r, c := t.Shape[0], t.Shape[1]
	out := &Tensor{Shape: []int{c, r}, Data: make([]float32, len(t.Data))}
	for i := range r {
		for j := range c {
			out.Data[j*r+i] = t.Data[i*c+j]
		}
	}
	return out
}

func toHFNames(c Config, w Weights) map[string]*Tensor {
	out := map[string]*Tensor{}
	if c.Arch == GPT2 {
		out["wte.weight"] = w["wte"]
		out["wpe.weight"] = w["wpe"]
		out["ln_f.weight"], out["ln_f.bias"] = w["ln_f.weight"], w["ln_f.bias"]
		for i := range c.Layers {
			p := fmt.Sprintf("h.%d.", i)
			for _, n := range []string{"ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias"} {
				out[p+n] = w[p+n]
			}
			// Conv1D weights are [in, out]; c_attn packs q, k, v along out.
			D := c.Dim
			qkv := &Tensor{Shape: []int{D, 3 * D}, Data: make([]float32, 3*D*D)}
			bias := &Tensor{Shape: []int{3 * D}, Data: make([]float32, 3*D)}
			for k, m := range []string{"q", "k", "v"} {
				wt := transpose(w[p+"attn.w"+m])
				for i := range D {
					copy(qkv.Data[i*3*D+k*D:i*3*D+(k+1)*D], wt.Data[i*D:(i+1)*D])
				}
				copy(bias.Data[k*D:(k+1)*D], w[p+"attn.b"+m].Data)
			}
			out[p+"attn.c_attn.weight"], out[p+"attn.c_attn.bias"] = qkv, bias
			out[p+"attn.c_proj.weight"], out[p+"attn.c_proj.bias"] = transpose(w[p+"attn.wo"]), w[p+"attn.bo"]
			out[p+"mlp.c_fc.weight"], out[p+"mlp.c_fc.bias"] = transpose(w[p+"mlp.fc_w"]), w[p+"mlp.fc_b"]
			out[p+"mlp.c_proj.weight"], out[p+"mlp.c_proj.bias"] = transpose(w[p+"mlp.proj_w"]), w[p+"mlp.proj_b"]
		}
		return out
	}
	out["model.embed_tokens.weight"] = w["tok_embeddings"]
	out["model.norm.weight"] = w["norm"]
	if !c.TiedEmbeddings {
		out["lm_head.weight"] = w["output"]
	}
	for i := range c.Layers {
		for suffix, hfName := range llamaHFNames {
			t := w[fmt.Sprintf("layers.%d.%s", i, suffix)]
			switch suffix {
			case "attention.wq":
				t = ropeToHF(t, c.Heads)
			case "attention.wk":
				t = ropeToHF(t, c.KVHeads)
			}
			out[fmt.Sprintf("model.layers.%d.%s", i, hfName)] = t
		}
	}
	return out
}

func fromHFNames(c Config, hf map[string]*Tensor) (Weights, error) {
	w := Weights{}
	get := func(name string) (*Tensor, error) {
		for _, n := range []string{name, "transformer." + name} {
			if t, ok := hf[n]; ok {
				if dt := t.Unreadable(); dt != "" {
					return nil, fmt.Errorf("tensor %s has dtype %s; privlm reads weights only as floats (F32, F16, BF16, F64)", n, dt)
				}
				return t, nil
			}
		}
		return nil, fmt.Errorf("missing tensor %s", name)
	}
	if c.Arch == GPT2 {
		for _, pair := range [][2]string{{"wte", "wte.weight"}, {"wpe", "wpe.weight"}, {"ln_f.weight", "ln_f.weight"}, {"ln_f.bias", "ln_f.bias"}} {
			t, err := get(pair[1])
			if err != nil {
				return nil, err
			}
			w[pair[0]] = t
		}
		D := c.Dim
		for i := range c.Layers {
			p := fmt.Sprintf("h.%d.", i)
			for _, n := range []string{"ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias"} {
				t, err := get(p + n)
				if err != nil {
					return nil, err
				}
				w[p+n] = t
			}
			qkv, err := get(p + "attn.c_attn.weight")
			if err != nil {
				return nil, err
			}
			qkvBias, err := get(p + "attn.c_attn.bias")
			if err != nil {
				return nil, err
			}
			if len(qkv.Shape) != 2 || qkv.Shape[0] != D || qkv.Shape[1] != 3*D || len(qkvBias.Data) != 3*D {
				return nil, fmt.Errorf("%sattn.c_attn has shape %v, want [%d %d]", p, qkv.Shape, D, 3*D)
			}
			for k, m := range []string{"q", "k", "v"} {
				part := &Tensor{Shape: []int{D, D}, Data: make([]float32, D*D)}
				for r := range D {
					copy(part.Data[r*D:(r+1)*D], qkv.Data[r*3*D+k*D:r*3*D+(k+1)*D])
				}
				w[p+"attn.w"+m] = transpose(part)
				w[p+"attn.b"+m] = &Tensor{Shape: []int{D}, Data: qkvBias.Data[k*D : (k+1)*D]}
			}
			for _, pair := range [][3]string{{"attn.wo", "attn.bo", "attn.c_proj"}, {"mlp.fc_w", "mlp.fc_b", "mlp.c_fc"}, {"mlp.proj_w", "mlp.proj_b", "mlp.c_proj"}} {
				wt, err := get(p + pair[2] + ".weight")
				if err != nil {
					return nil, err
				}
				bt, err := get(p + pair[2] + ".bias")
				if err != nil {
					return nil, err
				}
				if len(wt.Shape) != 2 {
					return nil, fmt.Errorf("%s%s.weight has shape %v, want a matrix", p, pair[2], wt.Shape)
				}
				w[p+pair[0]], w[p+pair[1]] = transpose(wt), bt
			}
		}
		return w, nil
	}
	emb, err := get("model.embed_tokens.weight")
	if err != nil {
		return nil, err
	}
	w["tok_embeddings"] = emb
	if w["norm"], err = get("model.norm.weight"); err != nil {
		return nil, err
	}
	if !c.TiedEmbeddings {
		if w["output"], err = get("lm_head.weight"); err != nil {
			return nil, err
		}
	}
	for i := range c.Layers {
		for suffix, hfName := range llamaHFNames {
			t, err := get(fmt.Sprintf("model.layers.%d.%s", i, hfName))
			if err != nil {
				return nil, err
			}
			if len(t.Shape) == 2 {
				switch suffix {
				case "attention.wq":
					t = ropeFromHF(t, c.Heads)
				case "attention.wk":
					t = ropeFromHF(t, c.KVHeads)
				}
			}
			w[fmt.Sprintf("layers.%d.%s", i, suffix)] = t
		}
	}
	return w, nil
}

// shardIndexFile maps each tensor of a sharded checkpoint to its shard.
const shardIndexFile = "model.safetensors.index.json"

type shardIndex struct {
	WeightMap map[string]string `json:"weight_map"`
}

// readShardIndex reads dir's model.safetensors.index.json (nil if absent).
func readShardIndex(dir string) (*shardIndex, error) {
	path := filepath.Join(dir, shardIndexFile)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lm: %w", err)
	}
	var idx shardIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("lm: %s: %w", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("lm: %s has no weight_map", path)
	}
	for k, f := range idx.WeightMap {
		if f == "" || filepath.Base(f) != f {
			return nil, fmt.Errorf("lm: %s: tensor %s is mapped to %q, want a file name in the same directory", path, k, f)
		}
	}
	return &idx, nil
}

// files lists the shards the index names, each once, sorted.
func (idx *shardIndex) files(dir string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range sortedKeys(idx.WeightMap) {
		if f := idx.WeightMap[k]; !seen[f] {
			seen[f] = true
			out = append(out, filepath.Join(dir, f))
		}
	}
	slices.Sort(out)
	return out
}

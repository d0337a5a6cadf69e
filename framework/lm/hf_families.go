package lm

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Hugging Face layouts of GPT-Neo, GPT-NeoX (Pythia) and OPT. Their linear
// layers are nn.Linear ([out, in], as privlm stores them), so tensors map
// one to one onto privlm's GPT-2 names, except GPT-NeoX's fused
// query_key_value, which is split per head on load and fused on save.

// hfPrefix is the module path HF's *ForCausalLM puts before the decoder's
// tensors; the loader also accepts the names without it (and OPT's
// "decoder." as some exports write it).
var hfPrefix = map[Arch]string{GPTNeo: "transformer.", GPTNeoX: "gpt_neox.", OPT: "model.decoder."}

// hfFamilyNames maps privlm names to HF names (prefix included) for every
// weight but GPT-NeoX's fused q/k/v.
func hfFamilyNames(c Config) map[string]string {
	pre := hfPrefix[c.Arch]
	out := map[string]string{}
	switch c.Arch {
	case GPTNeo:
		out["wte"], out["wpe"] = pre+"wte.weight", pre+"wpe.weight"
		out["ln_f.weight"], out["ln_f.bias"] = pre+"ln_f.weight", pre+"ln_f.bias"
	case GPTNeoX:
		out["wte"] = pre + "embed_in.weight"
		if !c.TiedEmbeddings { // tied: HF saves embed_in only (embed_out is in _tied_weights_keys)
			out["output"] = neoxOutputName
		}
		out["ln_f.weight"], out["ln_f.bias"] = pre+"final_layer_norm.weight", pre+"final_layer_norm.bias"
	case OPT:
		out["wte"], out["wpe"] = pre+"embed_tokens.weight", pre+"embed_positions.weight"
		out["ln_f.weight"], out["ln_f.bias"] = pre+"final_layer_norm.weight", pre+"final_layer_norm.bias"
	}
	for i := range c.Layers {
		p := fmt.Sprintf("h.%d.", i)
		var layer map[string]string
		switch c.Arch {
		case GPTNeo:
			hp := fmt.Sprintf("%sh.%d.", pre, i)
			layer = map[string]string{
				"ln_1": hp + "ln_1", "ln_2": hp + "ln_2",
				"attn.wq": hp + "attn.attention.q_proj.weight", "attn.wk": hp + "attn.attention.k_proj.weight",
				"attn.wv": hp + "attn.attention.v_proj.weight",
				"attn.wo": hp + "attn.attention.out_proj.weight", "attn.bo": hp + "attn.attention.out_proj.bias",
				"mlp.fc": hp + "mlp.c_fc", "mlp.proj": hp + "mlp.c_proj",
			}
		case GPTNeoX:
			hp := fmt.Sprintf("%slayers.%d.", pre, i)
			layer = map[string]string{
				"ln_1": hp + "input_layernorm", "ln_2": hp + "post_attention_layernorm",
				"attn.wo": hp + "attention.dense.weight", "attn.bo": hp + "attention.dense.bias",
				"mlp.fc": hp + "mlp.dense_h_to_4h", "mlp.proj": hp + "mlp.dense_4h_to_h",
			}
		case OPT:
			hp := fmt.Sprintf("%slayers.%d.", pre, i)
			layer = map[string]string{
				"ln_1": hp + "self_attn_layer_norm", "ln_2": hp + "final_layer_norm",
				"attn.wo": hp + "self_attn.out_proj.weight", "attn.bo": hp + "self_attn.out_proj.bias",
				"mlp.fc": hp + "fc1", "mlp.proj": hp + "fc2",
			}
			for _, m := range []string{"q", "k", "v"} {
				layer["attn.w"+m] = hp + "self_attn." + m + "_proj.weight"
				layer["attn.b"+m] = hp + "self_attn." + m + "_proj.bias"
			}
		}
		for k, v := range layer {
			switch k {
			case "ln_1", "ln_2":
				out[p+k+".weight"], out[p+k+".bias"] = v+".weight", v+".bias"
			case "mlp.fc", "mlp.proj":
				out[p+k+"_w"], out[p+k+"_b"] = v+".weight", v+".bias"
			default:
				out[p+k] = v
			}
		}
	}
	return out
}

// hfFamilyGet finds an HF tensor under its full name, without the family's
// prefix, or with OPT's shorter "decoder." prefix.
func hfFamilyGet(c Config, hf map[string]*Tensor, name string) (*Tensor, error) {
	candidates := []string{name}
	if pre := hfPrefix[c.Arch]; strings.HasPrefix(name, pre) {
		bare := strings.TrimPrefix(name, pre)
		candidates = append(candidates, bare)
		if c.Arch == OPT {
			candidates = append(candidates, "decoder."+bare)
		}
	}
	for _, n := range candidates {
		if t, ok := hf[n]; ok {
			if dt := t.Unreadable(); dt != "" {
				return nil, fmt.Errorf("tensor %s has dtype %s; privlm reads weights only as floats (F32, F16, BF16, F64)", n, dt)
			}
			return t, nil
		}
	}
	return nil, fmt.Errorf("missing tensor %s", name)
}

// neoxOutputName is GPT-NeoX's untied output projection.
const neoxOutputName = "embed_out.weight"

// neoxQKVName is the fused projection of layer i.
func neoxQKVName(i int) string {
	return fmt.Sprintf("%slayers.%d.attention.query_key_value", hfPrefix[GPTNeoX], i)
}

// neoxRow is the row of the fused query_key_value holding row r of q (k=0),
// k (1) or v (2): HF views the output as [heads, 3*head_dim] and splits each
// head's slice into q, k, v.
func neoxRow(c Config, k, r int) int {
	hd := c.HeadDim()
	return (r/hd)*3*hd + k*hd + r%hd
}

// isHFBuffer: tensors HF checkpoints may carry that are not parameters
// (attention masks, rotary frequencies) or are a tied copy (lm_head).
func isHFBuffer(c Config, name string) bool {
	for _, suffix := range []string{".attn.bias", ".attn.masked_bias", ".attention.bias", ".attention.masked_bias", "rotary_emb.inv_freq"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return c.TiedEmbeddings && name == "lm_head.weight"
}

func fromHFFamily(c Config, hf map[string]*Tensor) (Weights, error) {
	used := map[*Tensor]bool{}
	get := func(name string) (*Tensor, error) {
		t, err := hfFamilyGet(c, hf, name)
		if err == nil {
			used[t] = true
		}
		return t, err
	}
	w, err := fromHFFamilyTensors(c, get)
	if err != nil {
		return nil, err
	}
	// A tied GPT-NeoX file may still carry embed_out.weight: accept it as the
	// tied copy only if it is one.
	if c.Arch == GPTNeoX && c.TiedEmbeddings {
		if t, ok := hf[neoxOutputName]; ok {
			if t.Unreadable() != "" || !slices.Equal(t.Shape, w["wte"].Shape) || !slices.Equal(t.Data, w["wte"].Data) {
				return nil, fmt.Errorf("tie_word_embeddings is true but %s differs from %sembed_in.weight", neoxOutputName, hfPrefix[GPTNeoX])
			}
			used[t] = true
		}
	}
	// Tensors left over mean the file is not the model the config describes
	// (more layers, a variant with extra projections, ...).
	var extra []string
	for _, name := range sortedKeys(hf) {
		if !used[hf[name]] && !isHFBuffer(c, name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		if len(extra) > 5 {
			extra = append(extra[:5], fmt.Sprintf("... (%d in all)", len(extra)))
		}
		return nil, fmt.Errorf("tensors that a %s model of this config does not have: %s", c.Arch, strings.Join(extra, ", "))
	}
	return w, nil
}

func fromHFFamilyTensors(c Config, get func(string) (*Tensor, error)) (Weights, error) {
	w := Weights{}
	for name, hfName := range hfFamilyNames(c) {
		t, err := get(hfName)
		if err != nil {
			return nil, err
		}
		w[name] = t
	}
	if c.Arch != GPTNeoX {
		return w, nil
	}
	D := c.Dim
	for i := range c.Layers {
		name := neoxQKVName(i)
		qkv, err := get(name + ".weight")
		if err != nil {
			return nil, err
		}
		bias, err := get(name + ".bias")
		if err != nil {
			return nil, err
		}
		if len(qkv.Shape) != 2 || qkv.Shape[0] != 3*D || qkv.Shape[1] != D || len(bias.Shape) != 1 || bias.Shape[0] != 3*D {
			return nil, fmt.Errorf("%s has shapes %v and %v (bias), want [%d %d] and [%d]", name, qkv.Shape, bias.Shape, 3*D, D, 3*D)
		}
		p := fmt.Sprintf("h.%d.attn.", i)
		for k, m := range []string{"q", "k", "v"} {
			wt := &Tensor{Shape: []int{D, D}, Data: make([]float32, D*D)}
			bt := &Tensor{Shape: []int{D}, Data: make([]float32, D)}
			for r := range D {
				src := neoxRow(c, k, r)
				copy(wt.Data[r*D:(r+1)*D], qkv.Data[src*D:(src+1)*D])
				bt.Data[r] = bias.Data[src]
			}
			w[p+"w"+m], w[p+"b"+m] = wt, bt
		}
	}
	return w, nil
}

func toHFFamily(c Config, w Weights) map[string]*Tensor {
	out := map[string]*Tensor{}
	for name, hfName := range hfFamilyNames(c) {
		out[hfName] = w[name]
	}
	if c.Arch != GPTNeoX {
		return out
	}
	D := c.Dim
	for i := range c.Layers {
		qkv := &Tensor{Shape: []int{3 * D, D}, Data: make([]float32, 3*D*D)}
		bias := &Tensor{Shape: []int{3 * D}, Data: make([]float32, 3*D)}
		p := fmt.Sprintf("h.%d.attn.", i)
		for k, m := range []string{"q", "k", "v"} {
			wt, bt := w[p+"w"+m], w[p+"b"+m]
			for r := range D {
				dst := neoxRow(c, k, r)
				copy(qkv.Data[dst*D:(dst+1)*D], wt.Data[r*D:(r+1)*D])
				bias.Data[dst] = bt.Data[r]
			}
		}
		out[neoxQKVName(i)+".weight"], out[neoxQKVName(i)+".bias"] = qkv, bias
	}
	return out
}

// parseNeoAttentionTypes expands GPT-Neo's attention_types, a list of
// [[types...], repeat] pairs (e.g. [[["global","local"],6]]), into one
// comma-separated type per layer.
func parseNeoAttentionTypes(raw json.RawMessage) (string, error) {
	var spec [][2]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		return "", fmt.Errorf("attention_types: want a list of [[types...], count] pairs: %w", err)
	}
	var layers []string
	for i, pair := range spec {
		var types []string
		var n int
		if err := json.Unmarshal(pair[0], &types); err != nil {
			return "", fmt.Errorf("attention_types[%d][0]: want a list of \"global\"/\"local\": %w", i, err)
		}
		if err := json.Unmarshal(pair[1], &n); err != nil || n < 0 {
			return "", fmt.Errorf("attention_types[%d][1]: want a repeat count >= 0", i)
		}
		for range n {
			layers = append(layers, types...)
		}
	}
	return strings.Join(layers, ","), nil
}

// neoAttentionTypesJSON writes Config.AttentionTypes in HF's form, one
// [[type], 1] pair per layer.
func neoAttentionTypesJSON(types string) json.RawMessage {
	var spec []any
	for _, t := range strings.Split(types, ",") {
		spec = append(spec, []any{[]string{t}, 1})
	}
	b, _ := json.Marshal(spec)
	return b
}

package lm

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/privlm/privlm/framework/backend"
	"github.com/x448/float16"
)

// familyCase is a tiny HF model directory the test writes itself: its
// config.json as HF writes it and its tensors under HF's names and shapes.
type familyCase struct {
	name   string
	config map[string]any
	// hf builds random tensors with HF's names and layouts.
	hf func(r *rand.Rand) map[string]*Tensor
	// ref is the float64 reference forward pass over the HF tensors.
	ref func(hf map[string]*Tensor, seq []int) []float64
	// want checks the parsed config.
	want func(c Config) error
}

const (
	famV, famD, famH, famF, famP = 320, 32, 4, 64, 32
	famHD                        = famD / famH
)

func randTensor(r *rand.Rand, std, mean float64, shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	t := &Tensor{Shape: shape, Data: make([]float32, n)}
	for i := range t.Data {
		t.Data[i] = float32(mean + std*r.NormFloat64())
	}
	return t
}

// addLN adds a LayerNorm's weight and bias under name.
func addLN(r *rand.Rand, m map[string]*Tensor, name string) {
	m[name+".weight"] = randTensor(r, 0.1, 1, famD)
	m[name+".bias"] = randTensor(r, 0.1, 0, famD)
}

// addLinear adds an nn.Linear [out,in] (+ bias) under name.
func addLinear(r *rand.Rand, m map[string]*Tensor, name string, out, in int, bias bool) {
	m[name+".weight"] = randTensor(r, 0.3, 0, out, in)
	if bias {
		m[name+".bias"] = randTensor(r, 0.1, 0, out)
	}
}

// f64 reads an HF tensor as float64.
func f64(hf map[string]*Tensor, name string) []float64 {
	t, ok := hf[name]
	if !ok {
		panic("reference: missing HF tensor " + name)
	}
	out := make([]float64, len(t.Data))
	for i, v := range t.Data {
		out[i] = float64(v)
	}
	return out
}

// lin applies nn.Linear name (bias if present) to x.
func lin(hf map[string]*Tensor, name string, x []float64) []float64 {
	w := hf[name+".weight"]
	y := matVec(f64(hf, name+".weight"), x, w.Shape[0])
	if _, ok := hf[name+".bias"]; ok {
		y = add(y, f64(hf, name+".bias"))
	}
	return y
}

func ln(hf map[string]*Tensor, name string, x []float64, eps float64) []float64 {
	return refLayerNorm(x, f64(hf, name+".weight"), f64(hf, name+".bias"), eps)
}

// refAttend is multi-head attention of query position i over keys j <= i
// for which allowed(i, j), with logits scaled by scale.
func refAttend(q, k, v [][]float64, scale float64, allowed func(i, j int) bool) [][]float64 {
	out := make([][]float64, len(q))
	for i := range q {
		out[i] = make([]float64, famD)
		for h := range famH {
			var js []int
			var scores []float64
			for j := 0; j <= i; j++ {
				if !allowed(i, j) {
					continue
				}
				s := 0.0
				for d := range famHD {
					s += q[i][h*famHD+d] * k[j][h*famHD+d]
				}
				js = append(js, j)
				scores = append(scores, s*scale)
			}
			softmax(scores)
			for n, j := range js {
				for d := range famHD {
					out[i][h*famHD+d] += scores[n] * v[j][h*famHD+d]
				}
			}
		}
	}
	return out
}

// refFinish turns final hidden states into log p(seq[t+1] | seq[<=t]).
func refFinish(hf map[string]*Tensor, outName string, x [][]float64, seq []int) []float64 {
	var out []float64
	for t := range x {
		logits := matVec(f64(hf, outName), x[t], famV)
		maxL := math.Inf(-1)
		for _, l := range logits {
			maxL = math.Max(maxL, l)
		}
		sum := 0.0
		for _, l := range logits {
			sum += math.Exp(l - maxL)
		}
		out = append(out, logits[seq[t+1]]-maxL-math.Log(sum))
	}
	return out
}

func geluTanh(a float64) float64 {
	return 0.5 * a * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(a+0.044715*a*a*a)))
}
func geluErf(a float64) float64 { return 0.5 * a * (1 + math.Erf(a/math.Sqrt2)) }

func mapVec(x []float64, f func(float64) float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = f(v)
	}
	return out
}

// neoCase: GPTNeoForCausalLM with layers global, local, local (window 3).
func neoCase() familyCase {
	// eps differs from the default 1e-5, so a loader ignoring the key fails.
	const window, eps = 3, 1e-3
	types := []string{"global", "local", "local"}
	return familyCase{
		name: "gpt_neo",
		config: map[string]any{"model_type": "gpt_neo", "architectures": []string{"GPTNeoForCausalLM"},
			"vocab_size": famV, "hidden_size": famD, "num_heads": famH, "num_layers": 3, "intermediate_size": nil,
			"max_position_embeddings": famP, "window_size": window, "activation_function": "gelu_new",
			"attention_types":    []any{[]any{[]string{"global", "local"}, 1}, []any{[]string{"local"}, 1}},
			"layer_norm_epsilon": eps, "bos_token_id": 50256, "eos_token_id": 50256},
		hf: func(r *rand.Rand) map[string]*Tensor {
			m := map[string]*Tensor{}
			m["transformer.wte.weight"] = randTensor(r, 0.3, 0, famV, famD)
			m["transformer.wpe.weight"] = randTensor(r, 0.3, 0, famP, famD)
			addLN(r, m, "transformer.ln_f")
			for l := range 3 {
				p := fmt.Sprintf("transformer.h.%d.", l)
				addLN(r, m, p+"ln_1")
				addLN(r, m, p+"ln_2")
				for _, n := range []string{"q", "k", "v"} {
					addLinear(r, m, p+"attn.attention."+n+"_proj", famD, famD, false)
				}
				addLinear(r, m, p+"attn.attention.out_proj", famD, famD, true)
				addLinear(r, m, p+"mlp.c_fc", 4*famD, famD, true)
				addLinear(r, m, p+"mlp.c_proj", famD, 4*famD, true)
				// Buffers older HF code saves (persistent register_buffer):
				// the U8 causal mask and the F32 scalar masked_bias.
				addMaskBuffers(m, p+"attn.attention.")
			}
			return m
		},
		ref: func(hf map[string]*Tensor, seq []int) []float64 {
			n := len(seq) - 1
			x := make([][]float64, n)
			for t := range n {
				x[t] = add(row(f64(hf, "transformer.wte.weight"), seq[t], famD), row(f64(hf, "transformer.wpe.weight"), t, famD))
			}
			for l := range 3 {
				p := fmt.Sprintf("transformer.h.%d.", l)
				q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
				for t := range n {
					h := ln(hf, p+"ln_1", x[t], eps)
					q[t], k[t], v[t] = lin(hf, p+"attn.attention.q_proj", h), lin(hf, p+"attn.attention.k_proj", h), lin(hf, p+"attn.attention.v_proj", h)
				}
				// HF: bias = tril(ones); local: bias ^= tril(bias, -window_size).
				allowed := func(i, j int) bool { return types[l] == "global" || i-j < window }
				a := refAttend(q, k, v, 1, allowed) // GPT-Neo does not scale
				for t := range n {
					x[t] = add(x[t], lin(hf, p+"attn.attention.out_proj", a[t]))
					h := mapVec(lin(hf, p+"mlp.c_fc", ln(hf, p+"ln_2", x[t], eps)), geluTanh)
					x[t] = add(x[t], lin(hf, p+"mlp.c_proj", h))
				}
			}
			for t := range n {
				x[t] = ln(hf, "transformer.ln_f", x[t], eps)
			}
			return refFinish(hf, "transformer.wte.weight", x, seq)
		},
		want: func(c Config) error {
			if c.Arch != GPTNeo || c.AttentionTypes != "global,local,local" || c.WindowSize != window || c.HiddenDim != 4*famD || !c.TiedEmbeddings {
				return fmt.Errorf("parsed %s", c)
			}
			return nil
		},
	}
}

// neoxCase: GPTNeoXForCausalLM, rotary_pct 0.5 (4 of 8 dims rotated).
func neoxCase(parallel bool) familyCase {
	// eps and base differ from the defaults (1e-5, 10000), so a loader
	// ignoring layer_norm_eps or rotary_emb_base fails the reference.
	const eps, base, rot = 1e-3, 500.0, 4
	name := "gpt_neox sequential"
	if parallel {
		name = "gpt_neox parallel"
	}
	return familyCase{
		name: name,
		config: map[string]any{"model_type": "gpt_neox", "architectures": []string{"GPTNeoXForCausalLM"},
			"vocab_size": famV, "hidden_size": famD, "num_attention_heads": famH, "num_hidden_layers": 2,
			"intermediate_size": famF, "max_position_embeddings": famP, "rotary_pct": 0.5, "rotary_emb_base": base,
			"hidden_act": "gelu", "use_parallel_residual": parallel, "layer_norm_eps": eps,
			"tie_word_embeddings": false, "bos_token_id": 0, "eos_token_id": 0, "rope_scaling": nil},
		hf: func(r *rand.Rand) map[string]*Tensor {
			m := map[string]*Tensor{}
			m["gpt_neox.embed_in.weight"] = randTensor(r, 0.3, 0, famV, famD)
			m["embed_out.weight"] = randTensor(r, 0.3, 0, famV, famD)
			addLN(r, m, "gpt_neox.final_layer_norm")
			for l := range 2 {
				p := fmt.Sprintf("gpt_neox.layers.%d.", l)
				addLN(r, m, p+"input_layernorm")
				addLN(r, m, p+"post_attention_layernorm")
				addLinear(r, m, p+"attention.query_key_value", 3*famD, famD, true)
				addLinear(r, m, p+"attention.dense", famD, famD, true)
				addLinear(r, m, p+"mlp.dense_h_to_4h", famF, famD, true)
				addLinear(r, m, p+"mlp.dense_4h_to_h", famD, famF, true)
				// Buffers older checkpoints carry (transformers 4.24 Pythia);
				// the loader ignores them.
				m[p+"attention.rotary_emb.inv_freq"] = randTensor(r, 1, 0, rot/2)
				addMaskBuffers(m, p+"attention.")
			}
			return m
		},
		ref: func(hf map[string]*Tensor, seq []int) []float64 {
			n := len(seq) - 1
			x := make([][]float64, n)
			for t := range n {
				x[t] = row(f64(hf, "gpt_neox.embed_in.weight"), seq[t], famD)
			}
			// rotate_half on the first rot dims: x1 = x[:rot/2], x2 = x[rot/2:rot];
			// out = x*cos + cat(-x2, x1)*sin, cos/sin of t * base^(-2i/rot) repeated twice.
			rotary := func(vec []float64, t int) {
				for h := range famH {
					o := h * famHD
					for i := range rot / 2 {
						angle := float64(t) * math.Pow(base, -float64(2*i)/rot)
						c, s := math.Cos(angle), math.Sin(angle)
						a, b := vec[o+i], vec[o+i+rot/2]
						vec[o+i], vec[o+i+rot/2] = a*c-b*s, b*c+a*s
					}
				}
			}
			for l := range 2 {
				p := fmt.Sprintf("gpt_neox.layers.%d.", l)
				attn := func(in [][]float64) [][]float64 {
					q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
					for t := range n {
						qkv := lin(hf, p+"attention.query_key_value", ln(hf, p+"input_layernorm", in[t], eps))
						q[t], k[t], v[t] = make([]float64, famD), make([]float64, famD), make([]float64, famD)
						// HF: view(..., heads, 3*head_size), then q|k|v per head.
						for h := range famH {
							for d := range famHD {
								q[t][h*famHD+d] = qkv[h*3*famHD+d]
								k[t][h*famHD+d] = qkv[h*3*famHD+famHD+d]
								v[t][h*famHD+d] = qkv[h*3*famHD+2*famHD+d]
							}
						}
						rotary(q[t], t)
						rotary(k[t], t)
					}
					a := refAttend(q, k, v, 1/math.Sqrt(famHD), func(i, j int) bool { return true })
					for t := range n {
						a[t] = lin(hf, p+"attention.dense", a[t])
					}
					return a
				}
				mlp := func(in []float64) []float64 {
					h := mapVec(lin(hf, p+"mlp.dense_h_to_4h", ln(hf, p+"post_attention_layernorm", in, eps)), geluErf)
					return lin(hf, p+"mlp.dense_4h_to_h", h)
				}
				a := attn(x)
				for t := range n {
					if parallel {
						x[t] = add(add(x[t], a[t]), mlp(x[t]))
					} else {
						x[t] = add(x[t], a[t])
						x[t] = add(x[t], mlp(x[t]))
					}
				}
			}
			for t := range n {
				x[t] = ln(hf, "gpt_neox.final_layer_norm", x[t], eps)
			}
			return refFinish(hf, "embed_out.weight", x, seq)
		},
		want: func(c Config) error {
			if c.Arch != GPTNeoX || c.RotaryDim != rot || c.ParallelResidual != parallel || c.TiedEmbeddings || c.Activation != GeluErf {
				return fmt.Errorf("parsed %s", c)
			}
			return nil
		},
	}
}

// optCase: OPTForCausalLM (pre-LayerNorm, as opt-125m).
func optCase() familyCase {
	const eps = 1e-5
	return familyCase{
		name: "opt",
		config: map[string]any{"model_type": "opt", "architectures": []string{"OPTForCausalLM"},
			"vocab_size": famV, "hidden_size": famD, "num_attention_heads": famH, "num_hidden_layers": 2,
			"ffn_dim": famF, "max_position_embeddings": famP, "do_layer_norm_before": true,
			"word_embed_proj_dim": famD, "activation_function": "relu", "enable_bias": true,
			"bos_token_id": 2, "eos_token_id": 2, "pad_token_id": 1},
		hf: func(r *rand.Rand) map[string]*Tensor {
			m := map[string]*Tensor{}
			m["model.decoder.embed_tokens.weight"] = randTensor(r, 0.3, 0, famV, famD)
			m["model.decoder.embed_positions.weight"] = randTensor(r, 0.3, 0, famP+2, famD)
			addLN(r, m, "model.decoder.final_layer_norm")
			for l := range 2 {
				p := fmt.Sprintf("model.decoder.layers.%d.", l)
				addLN(r, m, p+"self_attn_layer_norm")
				addLN(r, m, p+"final_layer_norm")
				for _, n := range []string{"q", "k", "v", "out"} {
					addLinear(r, m, p+"self_attn."+n+"_proj", famD, famD, true)
				}
				addLinear(r, m, p+"fc1", famF, famD, true)
				addLinear(r, m, p+"fc2", famD, famF, true)
			}
			m["lm_head.weight"] = m["model.decoder.embed_tokens.weight"] // tied, as HF may save it
			return m
		},
		ref: func(hf map[string]*Tensor, seq []int) []float64 {
			n := len(seq) - 1
			x := make([][]float64, n)
			for t := range n {
				// Unpadded: position ids cumsum(mask)-1 = t, plus the offset 2.
				x[t] = add(row(f64(hf, "model.decoder.embed_tokens.weight"), seq[t], famD), row(f64(hf, "model.decoder.embed_positions.weight"), t+2, famD))
			}
			for l := range 2 {
				p := fmt.Sprintf("model.decoder.layers.%d.", l)
				q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
				for t := range n {
					h := ln(hf, p+"self_attn_layer_norm", x[t], eps)
					q[t] = mapVec(lin(hf, p+"self_attn.q_proj", h), func(a float64) float64 { return a / math.Sqrt(famHD) })
					k[t], v[t] = lin(hf, p+"self_attn.k_proj", h), lin(hf, p+"self_attn.v_proj", h)
				}
				a := refAttend(q, k, v, 1, func(i, j int) bool { return true })
				for t := range n {
					x[t] = add(x[t], lin(hf, p+"self_attn.out_proj", a[t]))
					h := mapVec(lin(hf, p+"fc1", ln(hf, p+"final_layer_norm", x[t], eps)), func(a float64) float64 { return math.Max(a, 0) })
					x[t] = add(x[t], lin(hf, p+"fc2", h))
				}
			}
			for t := range n {
				x[t] = ln(hf, "model.decoder.final_layer_norm", x[t], eps)
			}
			return refFinish(hf, "model.decoder.embed_tokens.weight", x, seq)
		},
		want: func(c Config) error {
			if c.Arch != OPT || c.PositionRows() != famP+2 || c.Activation != ReLU || !c.TiedEmbeddings {
				return fmt.Errorf("parsed %s", c)
			}
			return nil
		},
	}
}

// addMaskBuffers adds the buffers HF's GPTNeoSelfAttention and
// GPTNeoXAttention registered as persistent in older releases: bias, the
// causal mask tril(ones(P, P)) as uint8 [1,1,P,P], and masked_bias, an F32
// scalar (-1e9).
func addMaskBuffers(m map[string]*Tensor, prefix string) {
	mask := &Tensor{Shape: []int{1, 1, famP, famP}, Data: make([]float32, famP*famP), dtype: "U8"}
	for i := range famP {
		for j := 0; j <= i; j++ {
			mask.Data[i*famP+j] = 1
		}
	}
	m[prefix+"bias"] = mask
	m[prefix+"masked_bias"] = &Tensor{Shape: []int{}, Data: []float32{-1e9}}
}

// neoxTiedCase: GPT-NeoX with tie_word_embeddings true; the file has no
// embed_out.weight (HF drops the tied key) and the output is embed_in.
func neoxTiedCase() familyCase {
	tc := neoxCase(true)
	tc.name = "gpt_neox tied"
	tc.config["tie_word_embeddings"] = true
	hf, ref := tc.hf, tc.ref
	tc.hf = func(r *rand.Rand) map[string]*Tensor {
		m := hf(r)
		delete(m, "embed_out.weight")
		return m
	}
	tc.ref = func(m map[string]*Tensor, seq []int) []float64 {
		withOut := maps.Clone(m)
		withOut["embed_out.weight"] = m["gpt_neox.embed_in.weight"]
		return ref(withOut, seq)
	}
	tc.want = func(c Config) error {
		if c.Arch != GPTNeoX || !c.TiedEmbeddings {
			return fmt.Errorf("parsed %s", c)
		}
		return nil
	}
	return tc
}

func familyCases() []familyCase {
	return []familyCase{neoCase(), neoxCase(true), neoxCase(false), neoxTiedCase(), optCase()}
}

// writeHFDir writes config.json and model.safetensors (F32) for a case.
func writeHFDir(t *testing.T, dir string, config map[string]any, hf map[string]*Tensor) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(config)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	writeSafetensorsAs(t, filepath.Join(dir, "model.safetensors"), "F32", hf)
}

// familySeqs have lengths from 2 to 16 (longer than the local window) and
// are scored in one padded batch.
var familySeqs = [][]int{{1, 5, 9, 200, 3, 17}, {1, 44}, {1, 7, 7, 7, 300, 301, 12, 13, 99, 4, 4, 8, 250, 251, 3, 2}, {0, 319, 318}}

// TestFamiliesMatchReference: for GPT-Neo (with local attention), GPT-NeoX
// (rotary_pct < 1, parallel and sequential residual) and OPT, a directory
// the test writes with HF's names scores equal to a float64 reference that
// reads the HF tensors directly, to 1e-4 relative; privlm's HF writer gives
// back the same tensors bit for bit; and HF and privlm checkpoint round trips
// give the same scores bit for bit.
func TestFamiliesMatchReference(t *testing.T) {
	be := backend.MustNew("")
	for _, tc := range familyCases() {
		t.Run(tc.name, func(t *testing.T) {
			hf := tc.hf(rand.New(rand.NewPCG(21, 22)))
			dir := filepath.Join(t.TempDir(), "hf")
			writeHFDir(t, dir, tc.config, hf)
			m, _, err := Open(dir, be)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.want(m.Config); err != nil {
				t.Fatal(err)
			}
			s, err := m.NewScorer(4)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.TokenLogProbs(familySeqs)
			if err != nil {
				t.Fatal(err)
			}
			for i, seq := range familySeqs {
				ref := tc.ref(hf, seq)
				for j := range ref {
					if math.Abs(ref[j]-got[i][j]) > 1e-4*math.Max(1, math.Abs(ref[j])) {
						t.Errorf("seq %d token %d: %.6f, reference %.6f", i, j, got[i][j], ref[j])
					}
				}
			}

			// The writer round-trips HF's tensors exactly.
			w, err := m.Weights()
			if err != nil {
				t.Fatal(err)
			}
			dir2 := filepath.Join(t.TempDir(), "hf2")
			if err := SaveHF(dir2, m.Config, w); err != nil {
				t.Fatal(err)
			}
			written, _, err := ReadSafetensors(filepath.Join(dir2, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range hf {
				if isHFBuffer(m.Config, name) {
					continue // buffers and tied copies are not written
				}
				got, ok := written[name]
				if !ok {
					t.Errorf("written model lacks %s", name)
					continue
				}
				if !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
					t.Errorf("%s differs after the HF writer (shape %v, want %v)", name, got.Shape, want.Shape)
				}
			}
			m2, _, err := Open(dir2, be)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Config != m.Config {
				t.Fatalf("config after HF round trip %s, want %s", m2.Config, m.Config)
			}
			assertSameFamilyScores(t, "HF round trip", m2, got)

			ckpt := filepath.Join(t.TempDir(), "ckpt")
			if err := m.SaveCheckpoint(ckpt, ""); err != nil {
				t.Fatal(err)
			}
			m3, _, err := LoadCheckpoint(ckpt, be)
			if err != nil {
				t.Fatal(err)
			}
			assertSameFamilyScores(t, "checkpoint round trip", m3, got)
		})
	}
}

func assertSameFamilyScores(t *testing.T, what string, m *Model, want [][]float64) {
	t.Helper()
	s, err := m.NewScorer(4)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenLogProbs(familySeqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("%s: sequence %d scores %v, want exactly %v", what, i, got[i], want[i])
		}
	}
}

// writeSafetensorsAs writes tensors with dtype F32, F16 or BF16 (the test's
// own encoder; values must be exactly representable); a tensor whose dtype
// field is set (U8, BOOL, I64, F64) is written as that integer type instead.
func writeSafetensorsAs(t *testing.T, path, floatType string, ts map[string]*Tensor) {
	t.Helper()
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	var data []byte
	for _, n := range names {
		start := len(data)
		dtype := floatType
		if ts[n].dtype != "" {
			dtype = ts[n].dtype
		}
		for _, v := range ts[n].Data {
			switch dtype {
			case "U8", "BOOL":
				data = append(data, byte(v))
			case "I64":
				data = binary.LittleEndian.AppendUint64(data, uint64(int64(v)))
			case "F64":
				data = binary.LittleEndian.AppendUint64(data, math.Float64bits(float64(v)))
			case "F32":
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			case "F16":
				data = binary.LittleEndian.AppendUint16(data, float16.Fromfloat32(v).Bits())
			case "BF16":
				data = binary.LittleEndian.AppendUint16(data, uint16(math.Float32bits(v)>>16))
			default:
				t.Fatalf("writeSafetensorsAs: dtype %s", dtype)
			}
		}
		header[n] = map[string]any{"dtype": dtype, "shape": ts[n].Shape, "data_offsets": []int{start, len(data)}}
	}
	hb, _ := json.Marshal(header)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))
	out = append(append(out, hb...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestShardedAndHalfPrecisionLoad: a sharded directory (two shards and
// model.safetensors.index.json) in BF16, and a single F16 file, load to
// exactly the weights of F32 files holding the same (representable) values;
// an index naming a tensor its shard lacks is an error.
func TestShardedAndHalfPrecisionLoad(t *testing.T) {
	tc := neoxCase(true)
	for _, dtype := range []string{"BF16", "F16"} {
		t.Run(dtype, func(t *testing.T) {
			hf := tc.hf(rand.New(rand.NewPCG(5, 6)))
			for _, ts := range hf { // round to the half type
				for i, v := range ts.Data {
					if dtype == "BF16" {
						ts.Data[i] = math.Float32frombits(math.Float32bits(v) &^ 0xffff)
					} else {
						ts.Data[i] = float16.Fromfloat32(v).Float32()
					}
				}
			}
			ref := filepath.Join(t.TempDir(), "f32")
			writeHFDir(t, ref, tc.config, hf)
			_, want, err := LoadHF(ref)
			if err != nil {
				t.Fatal(err)
			}

			dir := filepath.Join(t.TempDir(), "sharded")
			writeHFDir(t, dir, tc.config, map[string]*Tensor{})
			os.Remove(filepath.Join(dir, "model.safetensors"))
			shards := [2]map[string]*Tensor{{}, {}}
			index := map[string]string{}
			for i, name := range sortedKeys(hf) {
				shards[i%2][name] = hf[name]
				index[name] = fmt.Sprintf("model-%05d-of-00002.safetensors", i%2+1)
			}
			for i, sh := range shards {
				writeSafetensorsAs(t, filepath.Join(dir, fmt.Sprintf("model-%05d-of-00002.safetensors", i+1)), dtype, sh)
			}
			writeIndex := func(m map[string]string) {
				b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": m})
				if err := os.WriteFile(filepath.Join(dir, shardIndexFile), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			writeIndex(index)
			_, got, err := LoadHF(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range want.Names() {
				if !slices.Equal(got[name].Data, want[name].Data) {
					t.Fatalf("%s: %s weights differ from F32", dtype, name)
				}
			}
			// An index that misplaces a tensor is refused, naming it.
			bad := maps2(index)
			bad["gpt_neox.final_layer_norm.weight"] = "model-00003-of-00002.safetensors"
			writeIndex(bad)
			if _, _, err := LoadHF(dir); err == nil || !strings.Contains(err.Error(), "final_layer_norm.weight") {
				t.Fatalf("misplaced tensor in the index: err = %v", err)
			}
		})
	}
}

func maps2(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestFamilyConfigErrors: unsupported variants are refused with the field named.
func TestFamilyConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(map[string]any)
		base   func() familyCase
		substr string
	}{
		{"opt post-LN (350m)", func(c map[string]any) { c["do_layer_norm_before"] = false }, optCase, "do_layer_norm_before"},
		{"opt projection (350m)", func(c map[string]any) { c["word_embed_proj_dim"] = 16 }, optCase, "word_embed_proj_dim"},
		{"neo unknown attention type", func(c map[string]any) {
			c["attention_types"] = []any{[]any{[]string{"sparse"}, 3}}
		}, neoCase, "sparse"},
		{"neo wrong layer count", func(c map[string]any) {
			c["attention_types"] = []any{[]any{[]string{"global"}, 2}}
		}, neoCase, "attention_types"},
		{"neox odd rotary dims", func(c map[string]any) { c["rotary_pct"] = 0.375 }, func() familyCase { return neoxCase(true) }, "rotary_dim"},
		{"opt file with more layers than the config", func(c map[string]any) { c["num_hidden_layers"] = 1 }, optCase, "model.decoder.layers.1."},
		{"neox activation", func(c map[string]any) { c["hidden_act"] = "silu" }, func() familyCase { return neoxCase(true) }, "hidden_act"},
		{"neox linear rope_scaling", func(c map[string]any) {
			c["rope_scaling"] = map[string]any{"type": "linear", "factor": 2.0}
		}, func() familyCase { return neoxCase(true) }, "rope_scaling"},
		{"neox dynamic rope_scaling", func(c map[string]any) {
			c["rope_scaling"] = map[string]any{"type": "dynamic", "factor": 4.0}
		}, func() familyCase { return neoxCase(false) }, "rope_scaling"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := tc.base()
			tc.edit(fc.config)
			dir := t.TempDir()
			writeHFDir(t, dir, fc.config, fc.hf(rand.New(rand.NewPCG(1, 1))))
			_, _, err := LoadHF(dir)
			if err == nil || !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("err = %v, want one naming %q", err, tc.substr)
			}
		})
	}
}

// TestPublishedParameterCounts: the config.json of each snapshot the paper
// uses gives the parameter count published for it (HF num_parameters();
// Pythia's README table for pythia-160m).
func TestPublishedParameterCounts(t *testing.T) {
	tests := []struct {
		name   string
		named  Config // the named shape that must equal the snapshot's config
		config string
		want   int
	}{
		{"EleutherAI/gpt-neo-125m", GPTNeo125M, `{"model_type": "gpt_neo", "activation_function": "gelu_new", "attention_types": [[["global", "local"], 6]],
			"hidden_size": 768, "intermediate_size": null, "layer_norm_epsilon": 1e-05, "max_position_embeddings": 2048,
			"num_heads": 12, "num_layers": 12, "vocab_size": 50257, "window_size": 256}`, 125198592},
		{"EleutherAI/pythia-160m", Pythia160M, `{"model_type": "gpt_neox", "hidden_act": "gelu", "hidden_size": 768, "intermediate_size": 3072,
			"layer_norm_eps": 1e-05, "max_position_embeddings": 2048, "num_attention_heads": 12, "num_hidden_layers": 12,
			"rotary_emb_base": 10000, "rotary_pct": 0.25, "tie_word_embeddings": false, "use_parallel_residual": true, "vocab_size": 50304}`, 162322944},
		{"facebook/opt-125m", OPT125M, `{"model_type": "opt", "activation_function": "relu", "do_layer_norm_before": true, "ffn_dim": 3072,
			"hidden_size": 768, "max_position_embeddings": 2048, "num_attention_heads": 12, "num_hidden_layers": 12,
			"vocab_size": 50272, "word_embed_proj_dim": 768}`, 125239296},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tc.config), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := readHFConfig(dir)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.NumParams(); got != tc.want {
			t.Errorf("%s: %d parameters, published %d", tc.name, got, tc.want)
		}
		if !reflect.DeepEqual(c, tc.named) {
			t.Errorf("%s: the named shape differs from config.json's:\n named %+v\n  file %+v", tc.name, tc.named, c)
		}
	}
}

// TestOPTLeftPaddingPositions: OPT counts positions over valid tokens (HF:
// cumsum(attention_mask) - 1 + 2), so a left-padded row gives the logits of
// the unpadded one; with positions t + 2 it would not.
func TestOPTLeftPaddingPositions(t *testing.T) {
	m, err := New(OPTTiny, backend.MustNew(""), 3)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Weights()
	r := rand.New(rand.NewPCG(1, 2))
	for _, t := range w { // larger weights, so that positions matter
		for i := range t.Data {
			t.Data[i] += float32(0.2 * r.NormFloat64())
		}
	}
	if m, err = FromWeights(OPTTiny, w, m.Backend); err != nil {
		t.Fatal(err)
	}
	const pad = 3
	seq := []int32{5, 9, 200, 3, 17}
	logits := func(tokens []int32, valid []bool) []float32 {
		exec, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, tok, v *graph.Node) *graph.Node {
			return m.Logits(tok, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := exec.Exec(tensors.FromFlatDataAndDimensions(tokens, 1, len(tokens)), tensors.FromFlatDataAndDimensions(valid, 1, len(valid)))
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](res[0])
	}
	plain := logits(seq, []bool{true, true, true, true, true})
	padded := logits(append([]int32{0, 0, 0}, seq...), []bool{false, false, false, true, true, true, true, true})
	padded = padded[pad*OPTTiny.VocabSize:]
	for i := range plain {
		if math.Abs(float64(plain[i]-padded[i])) > 1e-4*math.Max(1, math.Abs(float64(plain[i]))) {
			t.Fatalf("logit %d: %g unpadded, %g left-padded", i, plain[i], padded[i])
		}
	}
}

// TestNonFloatSafetensors: F64 tensors read (rounded to float32); BOOL,
// U8 and I64 tensors come back as placeholders naming their dtype; a model
// that needs one as a weight is refused naming the tensor and dtype; the
// writer refuses placeholders.
func TestNonFloatSafetensors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.safetensors")
	writeSafetensorsAs(t, path, "F32", map[string]*Tensor{
		"f64":  {Shape: []int{2}, Data: []float32{0.5, -3}, dtype: "F64"},
		"mask": {Shape: []int{1, 1, 2, 2}, Data: []float32{1, 0, 1, 1}, dtype: "U8"},
		"flag": {Shape: []int{3}, Data: []float32{1, 0, 1}, dtype: "BOOL"},
		"ids":  {Shape: []int{2}, Data: []float32{7, 9}, dtype: "I64"},
	})
	ts, _, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := ts["f64"]; got.Unreadable() != "" || !slices.Equal(got.Data, []float32{0.5, -3}) {
		t.Errorf("F64 read as %v (unreadable %q)", got.Data, got.Unreadable())
	}
	for name, dt := range map[string]string{"mask": "U8", "flag": "BOOL", "ids": "I64"} {
		if got := ts[name]; got.Unreadable() != dt || got.Data != nil || len(got.Shape) == 0 {
			t.Errorf("%s: unreadable %q, data %v, shape %v; want a %s placeholder", name, got.Unreadable(), got.Data, got.Shape, dt)
		}
	}
	if err := WriteSafetensors(filepath.Join(dir, "y.safetensors"), map[string]*Tensor{"mask": ts["mask"]}, nil); err == nil || !strings.Contains(err.Error(), "mask") {
		t.Errorf("writing a placeholder: err = %v", err)
	}

	tc := neoxCase(true)
	hf := tc.hf(rand.New(rand.NewPCG(1, 1)))
	hf["gpt_neox.final_layer_norm.bias"].dtype = "I64"
	mdir := filepath.Join(dir, "model")
	writeHFDir(t, mdir, tc.config, hf)
	if _, _, err := LoadHF(mdir); err == nil || !strings.Contains(err.Error(), "final_layer_norm.bias") || !strings.Contains(err.Error(), "I64") {
		t.Errorf("a needed weight stored as I64: err = %v", err)
	}
}

// TestNeoXTiedCopy: a tied GPT-NeoX file that also carries embed_out.weight
// loads when it equals embed_in and is refused when it differs.
func TestNeoXTiedCopy(t *testing.T) {
	tc := neoxTiedCase()
	hf := tc.hf(rand.New(rand.NewPCG(3, 4)))
	emb := hf["gpt_neox.embed_in.weight"]
	hf["embed_out.weight"] = &Tensor{Shape: slices.Clone(emb.Shape), Data: slices.Clone(emb.Data)}
	dir := filepath.Join(t.TempDir(), "copy")
	writeHFDir(t, dir, tc.config, hf)
	if _, _, err := LoadHF(dir); err != nil {
		t.Fatalf("tied file with an equal embed_out: %v", err)
	}
	hf["embed_out.weight"].Data[7] += 1
	writeHFDir(t, dir, tc.config, hf)
	if _, _, err := LoadHF(dir); err == nil || !strings.Contains(err.Error(), "embed_out.weight") {
		t.Fatalf("tied file with a different embed_out: err = %v", err)
	}
}

// TestNeoXRotaryPctRoundTrip: for every head dim up to 256 and every even
// rotary_dim up to it, the rotary_pct SaveHF writes (through JSON) reads
// back as the same rotary_dim with HF's int(head_dim * rotary_pct); plain
// rot/hd would not (hd 44, rot 30 reads back 29).
func TestNeoXRotaryPctRoundTrip(t *testing.T) {
	c := PythiaTiny
	c.Heads, c.KVHeads = 2, 2
	for hd := 2; hd <= 256; hd++ {
		for rot := 2; rot <= hd; rot += 2 {
			c.Dim, c.RotaryDim = 2*hd, rot
			h, err := fromConfig(c)
			if err != nil {
				t.Fatalf("hd %d rot %d: %v", hd, rot, err)
			}
			b, err := json.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			var back hfConfig
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			got, err := back.toConfig()
			if err != nil {
				t.Fatalf("hd %d rot %d: %v", hd, rot, err)
			}
			if got.RotaryDim != rot {
				t.Fatalf("hd %d rot %d: rotary_pct %v reads back as rotary_dim %d", hd, rot, *back.RotaryPct, got.RotaryDim)
			}
		}
	}
}

// TestOPTNormEps: OPT's LayerNorm eps is fixed at 1e-5 (HF's OPT has no
// config key; SaveHF could not record another), so Validate refuses others.
func TestOPTNormEps(t *testing.T) {
	c := OPTTiny
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.NormEps = 1e-3
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "norm_eps") || !strings.Contains(err.Error(), "opt") {
		t.Fatalf("opt with norm_eps 1e-3: err = %v", err)
	}
}

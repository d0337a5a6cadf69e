package lm

import (
	"fmt"
	"math"
)

// refLogProbs is an independent float64 forward pass written with plain loops
// (one position at a time, like llama2.c's run.c), used as the oracle for the
// GoMLX model. It returns log p(seq[t] | seq[<t]) for t >= 1.
func refLogProbs(c Config, w Weights, seq []int) []float64 {
	get := func(name string) []float64 {
		t, ok := w[name]
		if !ok {
			panic("reference: missing " + name)
		}
		out := make([]float64, len(t.Data))
		for i, v := range t.Data {
			out[i] = float64(v)
		}
		return out
	}
	D, hd := c.Dim, c.HeadDim()
	kvDim := c.KVHeads * hd
	type layerCache struct{ k, v [][]float64 }
	caches := make([]layerCache, c.Layers)
	var out []float64
	for pos := 0; pos+1 < len(seq); pos++ {
		var x []float64
		if c.Arch == GPT2 {
			x = add(row(get("wte"), seq[pos], D), row(get("wpe"), pos, D))
		} else {
			x = row(get("tok_embeddings"), seq[pos], D)
		}
		for l := range c.Layers {
			var h, q, k, v []float64
			if c.Arch == GPT2 {
				p := fmt.Sprintf("h.%d.", l)
				h = refLayerNorm(x, get(p+"ln_1.weight"), get(p+"ln_1.bias"), c.NormEps)
				q = add(matVec(get(p+"attn.wq"), h, D), get(p+"attn.bq"))
				k = add(matVec(get(p+"attn.wk"), h, D), get(p+"attn.bk"))
				v = add(matVec(get(p+"attn.wv"), h, D), get(p+"attn.bv"))
			} else {
				p := fmt.Sprintf("layers.%d.", l)
				h = refRMSNorm(x, get(p+"attention_norm"), c.NormEps)
				q = matVec(get(p+"attention.wq"), h, c.Heads*hd)
				k = matVec(get(p+"attention.wk"), h, kvDim)
				v = matVec(get(p+"attention.wv"), h, kvDim)
				for i := 0; i < c.Heads*hd; i += 2 {
					j := i % hd
					angle := float64(pos) / math.Pow(c.RopeTheta, float64(j)/float64(hd))
					cr, ci := math.Cos(angle), math.Sin(angle)
					q[i], q[i+1] = q[i]*cr-q[i+1]*ci, q[i]*ci+q[i+1]*cr
					if i < kvDim {
						k[i], k[i+1] = k[i]*cr-k[i+1]*ci, k[i]*ci+k[i+1]*cr
					}
				}
			}
			caches[l].k = append(caches[l].k, k)
			caches[l].v = append(caches[l].v, v)
			att := make([]float64, c.Heads*hd)
			group := c.Heads / c.KVHeads
			for head := range c.Heads {
				kvh := head / group
				scores := make([]float64, pos+1)
				for t := 0; t <= pos; t++ {
					s := 0.0
					for i := range hd {
						s += q[head*hd+i] * caches[l].k[t][kvh*hd+i]
					}
					scores[t] = s / math.Sqrt(float64(hd))
				}
				softmax(scores)
				for t := 0; t <= pos; t++ {
					for i := range hd {
						att[head*hd+i] += scores[t] * caches[l].v[t][kvh*hd+i]
					}
				}
			}
			if c.Arch == GPT2 {
				p := fmt.Sprintf("h.%d.", l)
				x = add(x, add(matVec(get(p+"attn.wo"), att, D), get(p+"attn.bo")))
				h = refLayerNorm(x, get(p+"ln_2.weight"), get(p+"ln_2.bias"), c.NormEps)
				f := add(matVec(get(p+"mlp.fc_w"), h, c.HiddenDim), get(p+"mlp.fc_b"))
				for i, a := range f {
					f[i] = 0.5 * a * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(a+0.044715*a*a*a)))
				}
				x = add(x, add(matVec(get(p+"mlp.proj_w"), f, D), get(p+"mlp.proj_b")))
			} else {
				p := fmt.Sprintf("layers.%d.", l)
				x = add(x, matVec(get(p+"attention.wo"), att, D))
				h = refRMSNorm(x, get(p+"ffn_norm"), c.NormEps)
				g := matVec(get(p+"feed_forward.w1"), h, c.HiddenDim)
				u := matVec(get(p+"feed_forward.w3"), h, c.HiddenDim)
				for i := range g {
					g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
				}
				x = add(x, matVec(get(p+"feed_forward.w2"), g, D))
			}
		}
		var out_ []float64
		if c.Arch == GPT2 {
			x = refLayerNorm(x, get("ln_f.weight"), get("ln_f.bias"), c.NormEps)
			out_ = matVec(get("wte"), x, c.VocabSize)
		} else {
			x = refRMSNorm(x, get("norm"), c.NormEps)
			name := "tok_embeddings"
			if !c.TiedEmbeddings {
				name = "output"
			}
			out_ = matVec(get(name), x, c.VocabSize)
		}
		maxL := math.Inf(-1)
		for _, l := range out_ {
			maxL = math.Max(maxL, l)
		}
		sum := 0.0
		for _, l := range out_ {
			sum += math.Exp(l - maxL)
		}
		out = append(out, out_[seq[pos+1]]-maxL-math.Log(sum))
	}
	return out
}

func row(m []float64, i, n int) []float64 { return append([]float64(nil), m[i*n:(i+1)*n]...) }

func add(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

// matVec is W [out,in] times x [in].
func matVec(w, x []float64, out int) []float64 {
	in := len(x)
	y := make([]float64, out)
	for o := range out {
		s := 0.0
		for i := range in {
			s += w[o*in+i] * x[i]
		}
		y[o] = s
	}
	return y
}

func refRMSNorm(x, w []float64, eps float64) []float64 {
	ss := 0.0
	for _, v := range x {
		ss += v * v
	}
	scale := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = w[i] * x[i] * scale
	}
	return out
}

func refLayerNorm(x, w, b []float64, eps float64) []float64 {
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	variance := 0.0
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	variance /= float64(len(x))
	out := make([]float64, len(x))
	for i := range x {
		out[i] = (x[i]-mean)/math.Sqrt(variance+eps)*w[i] + b[i]
	}
	return out
}

func softmax(x []float64) {
	maxV := math.Inf(-1)
	for _, v := range x {
		maxV = math.Max(maxV, v)
	}
	sum := 0.0
	for i, v := range x {
		x[i] = math.Exp(v - maxV)
		sum += x[i]
	}
	for i := range x {
		x[i] /= sum
	}
}

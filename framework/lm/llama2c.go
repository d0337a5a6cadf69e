package lm

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// llama2cHeader is the 7 int32 header of a llama2.c checkpoint.
type llama2cHeader struct {
	Dim, HiddenDim, Layers, Heads, KVHeads, VocabSize, SeqLen int32
}

// ReadLlama2C reads a llama2.c checkpoint (the "legacy" version-0 export that
// run.c reads): the header, then float32 tensors in run.c's order. A negative
// vocab size marks an untied output matrix. The RoPE tables stored in the file
// are skipped: they are recomputed from the positions.
func ReadLlama2C(path string) (Config, Weights, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, nil, fmt.Errorf("lm: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Config{}, nil, fmt.Errorf("lm: %w", err)
	}
	cfg, w, err := readLlama2C(bufio.NewReaderSize(f, 1<<20), info.Size())
	if err != nil {
		return Config{}, nil, fmt.Errorf("lm: llama2.c checkpoint %s: %w", path, err)
	}
	return cfg, w, nil
}

func readLlama2C(r io.Reader, size int64) (Config, Weights, error) {
	var h llama2cHeader
	if err := binary.Read(r, binary.LittleEndian, &h); err != nil {
		return Config{}, nil, fmt.Errorf("reading header: %w", err)
	}
	tied := h.VocabSize > 0
	if h.VocabSize < 0 {
		h.VocabSize = -h.VocabSize
	}
	cfg := Config{Arch: Llama, VocabSize: int(h.VocabSize), Dim: int(h.Dim), HiddenDim: int(h.HiddenDim),
		Layers: int(h.Layers), Heads: int(h.Heads), KVHeads: int(h.KVHeads), MaxSeqLen: int(h.SeqLen),
		TiedEmbeddings: tied, NormEps: 1e-5, RopeTheta: 10000}
	if err := cfg.Validate(); err != nil {
		return Config{}, nil, fmt.Errorf("header %+v: %w", h, err)
	}
	layout := llama2cLayout(cfg)
	want := int64(28)
	for _, t := range layout {
		want += 4 * int64(t.shape.size())
	}
	if size >= 0 && size != want {
		return Config{}, nil, fmt.Errorf("file has %d bytes, but header %+v needs %d", size, h, want)
	}
	w := Weights{}
	for _, t := range layout {
		data := make([]float32, t.shape.size())
		if err := binary.Read(r, binary.LittleEndian, data); err != nil {
			return Config{}, nil, fmt.Errorf("reading %s: %w", t.name, err)
		}
		for i, v := range data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return Config{}, nil, fmt.Errorf("%s[%d] is %v", t.name, i, v)
			}
		}
		if t.name == "" { // RoPE tables
			continue
		}
		if t.stacked {
			per := t.shape[1:].size()
			for l := range cfg.Layers {
				name := fmt.Sprintf("layers.%d.%s", l, t.name)
				w[name] = &Tensor{Shape: append([]int(nil), t.shape[1:]...), Data: data[l*per : (l+1)*per]}
			}
		} else {
			w[t.name] = &Tensor{Shape: append([]int(nil), t.shape...), Data: data}
		}
	}
	return cfg, w, nil
}

type llama2cTensor struct {
	name    string // canonical name (per-layer suffix when stacked); "" = RoPE table
	shape   shape
	stacked bool // one [layers, ...] block in the file
}

// llama2cLayout is the order of tensors in run.c's checkpoint_init_weights.
func llama2cLayout(c Config) []llama2cTensor {
	L, D, F, V, hd := c.Layers, c.Dim, c.HiddenDim, c.VocabSize, c.HeadDim()
	t := []llama2cTensor{
		{"tok_embeddings", shape{V, D}, false},
		{"attention_norm", shape{L, D}, true},
		{"attention.wq", shape{L, c.Heads * hd, D}, true},
		{"attention.wk", shape{L, c.KVHeads * hd, D}, true},
		{"attention.wv", shape{L, c.KVHeads * hd, D}, true},
		{"attention.wo", shape{L, D, c.Heads * hd}, true},
		{"ffn_norm", shape{L, D}, true},
		{"feed_forward.w1", shape{L, F, D}, true},
		{"feed_forward.w2", shape{L, D, F}, true},
		{"feed_forward.w3", shape{L, F, D}, true},
		{"norm", shape{D}, false},
		{"", shape{c.MaxSeqLen, hd / 2}, false}, // freq_cis_real
		{"", shape{c.MaxSeqLen, hd / 2}, false}, // freq_cis_imag
	}
	if !c.TiedEmbeddings {
		t = append(t, llama2cTensor{"output", shape{V, D}, false})
	}
	return t
}

// WriteLlama2C writes a Llama-family model in the llama2.c format run.c reads
// (atomically: a temporary file renamed into place).
func WriteLlama2C(path string, c Config, w Weights) error {
	if c.Arch != Llama {
		return fmt.Errorf("lm: llama2.c format holds Llama-family models only, not %q", c.Arch)
	}
	if err := c.CheckWeights(w); err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	return writeAtomic(path, func(wr io.Writer) error {
		vocab := int32(c.VocabSize)
		if !c.TiedEmbeddings {
			vocab = -vocab
		}
		h := llama2cHeader{int32(c.Dim), int32(c.HiddenDim), int32(c.Layers), int32(c.Heads), int32(c.KVHeads), vocab, int32(c.MaxSeqLen)}
		if err := binary.Write(wr, binary.LittleEndian, h); err != nil {
			return err
		}
		for _, t := range llama2cLayout(c) {
			var data []float32
			switch {
			case t.name == "":
				data = make([]float32, t.shape.size()) // RoPE tables: run.c recomputes them
			case t.stacked:
				for l := range c.Layers {
					data = append(data, w[fmt.Sprintf("layers.%d.%s", l, t.name)].Data...)
				}
			default:
				data = w[t.name].Data
			}
			if err := binary.Write(wr, binary.LittleEndian, data); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeAtomic writes path through a temporary file in the same directory and
// renames it into place, so no reader ever sees a partial file.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = write(bw); err != nil {
		return fmt.Errorf("lm: writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("lm: writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("lm: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	return nil
}

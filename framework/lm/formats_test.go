package lm

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
)

var probeSeqs = [][]int{{1, 5, 9, 200, 3, 17}, {1, 44, 45}, {1, 7, 7, 7, 300, 301, 12, 13, 99}}

func scoreAll(t *testing.T, m *Model) [][]float64 {
	t.Helper()
	s, err := m.NewScorer(4)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := s.TokenLogProbs(probeSeqs)
	if err != nil {
		t.Fatal(err)
	}
	return lp
}

func assertSameScores(t *testing.T, what string, got, want [][]float64) {
	t.Helper()
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("%s: sequence %d scores %v, want exactly %v", what, i, got[i], want[i])
		}
	}
}

// TestHFRoundTrip writes Llama (GQA, tied and untied) and GPT-2 models as
// Hugging Face safetensors directories and loads them back.
func TestHFRoundTrip(t *testing.T) {
	untied := Tiny
	untied.TiedEmbeddings = false
	for _, cfg := range []Config{Tiny, untied, GPT2Tiny} {
		t.Run(string(cfg.Arch)+map[bool]string{true: " tied", false: " untied"}[cfg.TiedEmbeddings], func(t *testing.T) {
			m, err := New(cfg, backend.MustNew(""), 11)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := m.Weights()
			dir := t.TempDir()
			if err := SaveHF(dir, cfg, w); err != nil {
				t.Fatal(err)
			}
			loaded, _, err := Open(dir, m.Backend)
			if err != nil {
				t.Fatal(err)
			}
			if loaded.Config != cfg {
				t.Fatalf("config %v, want %v", loaded.Config, cfg)
			}
			assertSameScores(t, "HF round trip", scoreAll(t, loaded), scoreAll(t, m))
			// The files use HF's names and layouts.
			ts, _, err := ReadSafetensors(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			wantName := map[Arch]string{Llama: "model.layers.0.self_attn.q_proj.weight", GPT2: "h.0.attn.c_attn.weight"}[cfg.Arch]
			if _, ok := ts[wantName]; !ok {
				t.Errorf("safetensors lacks %s", wantName)
			}
		})
	}
}

// TestHFRotaryPermutation checks the q/k row permutation against HF's
// conversion formula written out for one head of size 4: Meta rows
// (0,1,2,3) = (pair0.re, pair0.im, pair1.re, pair1.im) become HF rows
// (pair0.re, pair1.re, pair0.im, pair1.im).
func TestHFRotaryPermutation(t *testing.T) {
	meta := &Tensor{Shape: []int{4, 1}, Data: []float32{0, 1, 2, 3}}
	hf := ropeToHF(meta, 1)
	if want := []float32{0, 2, 1, 3}; !slices.Equal(hf.Data, want) {
		t.Fatalf("ropeToHF rows %v, want %v", hf.Data, want)
	}
	if back := ropeFromHF(hf, 1); !slices.Equal(back.Data, meta.Data) {
		t.Fatalf("ropeFromHF(ropeToHF(x)) = %v", back.Data)
	}
}

func TestLlama2CRoundTrip(t *testing.T) {
	m, _ := loadStories(t)
	w, _ := m.Weights()
	path := filepath.Join(t.TempDir(), "copy.bin")
	if err := WriteLlama2C(path, m.Config, w); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.Stat(shareddata.Path(t, "models/stories260K.bin"))
	cp, _ := os.Stat(path)
	if orig.Size() != cp.Size() {
		t.Errorf("written file has %d bytes, the original %d", cp.Size(), orig.Size())
	}
	cfg, w2, err := ReadLlama2C(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range w.Names() {
		if !slices.Equal(w[name].Data, w2[name].Data) {
			t.Fatalf("%s differs after a llama2.c round trip", name)
		}
	}
	if cfg != m.Config {
		t.Fatalf("config %v, want %v", cfg, m.Config)
	}
}

// TestCheckpointRoundTrip: save -> load gives the same log-likelihoods bit
// for bit, and keeps the optimizer state (training continues identically).
func TestCheckpointRoundTrip(t *testing.T) {
	be := backend.MustNew("")
	m, err := New(Tiny, be, 5)
	if err != nil {
		t.Fatal(err)
	}
	batch, _ := MakeBatch(probeSeqs, 4, 16)
	tr, err := m.NewTrainer(DefaultTrainConfig(10))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := tr.Step(batch); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := m.SaveCheckpoint(dir, "tok.bin"); err != nil {
		t.Fatal(err)
	}
	loaded, tokPath, err := Open(dir, be)
	if err != nil {
		t.Fatal(err)
	}
	if tokPath != "tok.bin" {
		t.Errorf("tokenizer path %q, want tok.bin", tokPath)
	}
	assertSameScores(t, "checkpoint round trip", scoreAll(t, loaded), scoreAll(t, m))
	// Resume: one more step on both gives the same loss and weights.
	tr2, err := loaded.NewTrainer(DefaultTrainConfig(10))
	if err != nil {
		t.Fatal(err)
	}
	if tr2.Steps() != 2 {
		t.Fatalf("restored trainer is at step %d, want 2", tr2.Steps())
	}
	for range 2 {
		l1, err1 := tr.Step(batch)
		l2, err2 := tr2.Step(batch)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if l1 != l2 {
			t.Fatalf("resumed loss %v, uninterrupted %v", l2, l1)
		}
	}
	assertSameScores(t, "resumed training", scoreAll(t, loaded), scoreAll(t, m))
	// Saving over an existing checkpoint replaces it and leaves no temp dirs.
	if err := m.SaveCheckpoint(dir, ""); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("checkpoint parent holds %d entries, want 1 (no leftovers)", len(entries))
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stories, _ := os.ReadFile(shareddata.Path(t, "models/stories260K.bin"))
	hfDir := filepath.Join(dir, "hf")
	_ = os.MkdirAll(hfDir, 0o755)
	_ = os.WriteFile(filepath.Join(hfDir, "config.json"), []byte(`{"model_type":"bert"}`), 0o644)
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.bin"), "no such file"},
		{"truncated llama2c", write("short.bin", stories[:1000]), "needs"},
		{"bad header", write("hdr.bin", make([]byte, 28)), "header"},
		{"unknown format", write("model.pt", []byte("x")), "unknown model format"},
		{"bad safetensors", write("x.safetensors", []byte{255, 255, 255, 255, 0, 0, 0, 0}), "config.json"},
		{"unsupported HF", hfDir, "bert"},
		{"empty dir", t.TempDir(), "neither"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Open(tc.path, backend.MustNew(""))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open(%s) error = %v, want one containing %q", tc.path, err, tc.want)
			}
		})
	}
}

// readShakespeare returns speeches from the shared data.
func readShakespeare(t testing.TB, n int) []string {
	t.Helper()
	f, err := os.Open(shareddata.Path(t, "shakespeare_folger_speeches.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() && len(out) < n {
		var rec struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.Text) > 20 {
			out = append(out, rec.Text)
		}
	}
	return out
}

// TestPretrainLowersValidationLoss pretrains a tiny model from scratch on
// real text and checks held-out loss falls well below its start.
func TestPretrainLowersValidationLoss(t *testing.T) {
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	texts := readShakespeare(t, 600)
	T := Tiny.MaxSeqLen
	var seqs [][]int
	for _, text := range texts {
		ids := append([]int{tok.BOS()}, tok.Encode(text)...)
		seqs = append(seqs, ids[:min(len(ids), T+1)])
	}
	train, val := seqs[:500], seqs[500:]
	m, err := New(Tiny, backend.MustNew(""), 1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewScorer(16)
	valLoss := func() float64 {
		lps, err := s.TokenLogProbs(val)
		if err != nil {
			t.Fatal(err)
		}
		sum, n := 0.0, 0
		for _, lp := range lps {
			for _, v := range lp {
				sum -= v
				n++
			}
		}
		return sum / float64(n)
	}
	before := valLoss()
	const steps, B = 60, 16
	cfg := DefaultTrainConfig(steps)
	cfg.LearningRate = 3e-3
	tr, err := m.NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for step := range steps {
		start := (step * B) % (len(train) - B)
		batch, err := MakeBatch(train[start:start+B], B, T)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Step(batch); err != nil {
			t.Fatal(err)
		}
	}
	after := valLoss()
	t.Logf("validation loss %.3f -> %.3f nats/token after %d steps", before, after, steps)
	if math.Abs(before-math.Log(512)) > 0.5 {
		t.Errorf("initial loss %.3f, want about log(512) = %.3f", before, math.Log(512))
	}
	if after > before-1.0 {
		t.Errorf("validation loss %.3f -> %.3f: want a drop of more than 1 nat/token", before, after)
	}
}

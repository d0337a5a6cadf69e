package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/lm"
)

// TestHFSnapshotEndToEnd: an experiment whose model.reference and
// model.tokenizer name a Hugging Face snapshot directory (a random tiny
// GPT-Neo with a byte-level vocab.json + merges.txt, written here) runs
// through fine-tuning, attacks and metrics.
func TestHFSnapshotEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gpt-neo-tiny")
	m, err := lm.New(lm.GPTNeoTiny, backend.MustNew(""), 1)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Weights()
	if err := lm.SaveHF(dir, lm.GPTNeoTiny, w); err != nil {
		t.Fatal(err)
	}
	vocab := map[string]int{}
	n := 0
	for b := range 256 { // GPT-2's byte alphabet
		r := rune(b)
		if !((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
			r = rune(256 + n)
			n++
		}
		vocab[string(r)] = b
	}
	vocab["Ġt"], vocab["he"], vocab["<|endoftext|>"] = 256, 257, 258
	vb, _ := json.Marshal(vocab)
	for name, data := range map[string]string{"vocab.json": string(vb), "merges.txt": "#version: 0.2\nĠ t\nh e\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := tiny(t, "hf-snapshot")
	for k, v := range map[string]string{"model.reference": dir, "model.tokenizer": dir, "train.dp": "example", "train.sigma": "0.5"} {
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	res, err := experiment.Run(context.Background(), c, t.TempDir(), &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	// Two attacks, each with an "all" and a "non_canary" row (no canaries).
	if h := experiment.Headline(res.Metrics); len(h) != 2 || len(res.Metrics) != 4 {
		t.Fatalf("%d metrics rows (%d headline), want 4 (2)\n%s", len(res.Metrics), len(h), log.String())
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
)

// writeTinySnapshot writes a random GPT-Neo as an HF snapshot directory with
// a byte-level vocab.json + merges.txt (256 bytes, one merge, <|endoftext|>).
func writeTinySnapshot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
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
	vocab["Ġt"] = 256
	vocab["<|endoftext|>"] = 257
	vb, _ := json.Marshal(vocab)
	for name, data := range map[string]string{"vocab.json": string(vb), "merges.txt": "#version: 0.2\nĠ t\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestModelsDescribeAndDirTokenizer(t *testing.T) {
	dir := writeTinySnapshot(t)
	out, stderr, status := run(t, "", "models", "describe", dir)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"family gpt_neo", fmt.Sprintf("parameters %d ", lm.GPTNeoTiny.NumParams()),
		"context 64 tokens", "vocabulary 512", "global,local (window 4)", "vocab.json (hf:", "258 ids, BOS 257, EOS 257"} {
		if !strings.Contains(flat, want) {
			t.Errorf("describe output lacks %q:\n%s", want, out)
		}
	}
	// lm score finds the directory's tokenizer without --tokenizer.
	out, stderr, status = run(t, "a tea\n", "lm", "score", "--checkpoint", dir, "--json")
	if status != 0 {
		t.Fatalf("lm score: status %d: %s", status, stderr)
	}
	var rec struct {
		IDs []int `json:"ids"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	if want := []int{257, 'a', 256, 'e', 'a'}; fmt.Sprint(rec.IDs) != fmt.Sprint(want) {
		t.Errorf("ids %v, want %v (BOS, bytes, the Ġt merge)", rec.IDs, want)
	}
	if _, stderr, status := run(t, "", "models", "describe", t.TempDir()); status == 0 || !strings.Contains(stderr, "config.json") {
		t.Errorf("describe of an empty dir: status %d, stderr %s", status, stderr)
	}
}

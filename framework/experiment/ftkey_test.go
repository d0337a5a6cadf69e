package experiment

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The fine-tune stage's key covers the validation file (it picks the best
// checkpoint): another validation set is another fine-tune, not a cached one.
func TestFineTuneKeyCoversValidation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	train, ref := write("train.parquet", "train"), write("ref.bin", "ref")
	key := func(val string) string {
		k, err := fineTuneKey(Default(), train, write("validation.parquet", val), ref, nil, "v1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(k)
		return string(b)
	}
	a, b, a2 := key("val A"), key("val B"), key("val A")
	if a == b {
		t.Error("the fine-tune key does not change with the validation file")
	}
	if a != a2 {
		t.Error("the fine-tune key is not a function of its inputs")
	}
	if _, err := fineTuneKey(Default(), train, filepath.Join(dir, "missing.parquet"), ref, nil, "v1"); err == nil {
		t.Error("a missing validation file gave a key")
	}
}

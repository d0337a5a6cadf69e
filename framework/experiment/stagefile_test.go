package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckStageFile: a mitigation's train_path must be a regular file in
// its own stage directory.
func TestCheckStageFile(t *testing.T) {
	stages := t.TempDir()
	dir := filepath.Join(stages, "mitigation-cap-0123456789ab")
	other := filepath.Join(stages, "split-0123456789ab")
	for _, d := range []string{dir, other, filepath.Join(dir, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "train.parquet"), filepath.Join(other, "train.parquet")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(other, "train.parquet"), filepath.Join(dir, "link.parquet")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want string // "" = accepted
	}{
		{filepath.Join(dir, "train.parquet"), ""},
		{filepath.Join(other, "train.parquet"), "not inside"},
		{filepath.Join(dir, "..", "split-0123456789ab", "train.parquet"), "not inside"},
		{filepath.Join(dir, "link.parquet"), "not inside"},
		{filepath.Join(dir, "sub"), "not a regular file"},
		{dir, "not inside"},
		{filepath.Join(dir, "missing.parquet"), "no such file"},
		{"/etc/passwd", "not inside"},
	} {
		err := checkStageFile(tc.path, dir)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.path, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.path, err, tc.want)
		}
	}
}

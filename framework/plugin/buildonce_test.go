package plugin

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestBuildBuiltinsOncePerSources: a second call with no source changed
// does not build again; a binary replaced in the directory (another
// checkout sharing it) does.
func TestBuildBuiltinsOncePerSources(t *testing.T) {
	t.Setenv("PRIVLM_CACHE", t.TempDir())
	dir, err := BuildBuiltins()
	if err != nil {
		t.Fatal(err)
	}
	before := builds
	if _, err := BuildBuiltins(); err != nil {
		t.Fatal(err)
	}
	if builds != before {
		t.Errorf("a second call with nothing changed built again")
	}
	bin := filepath.Join(dir, "loss")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildBuiltins(); err != nil {
		t.Fatal(err)
	}
	if builds != before+1 {
		t.Errorf("a replaced binary did not trigger a build")
	}
	if info, err := os.Stat(bin); err != nil || info.Size() < 1000 {
		t.Errorf("the replaced binary was not rebuilt: %v %v", info, err)
	}
}

// TestSourceFingerprint: any Go file's edit changes the fingerprint; run
// outputs (results, build) and hidden folders do not.
func TestSourceFingerprint(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n")
	write("plugins/a/main.go", "package main\n")
	write("framework/b/b.go", "package b\n")
	fp := func() string {
		s, err := sourceFingerprint(root)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := fp()
	for _, rel := range []string{"results/x/y.go", "build/z.go", ".git/w.go", "README.md"} {
		write(rel, "package q\n")
		if fp() != first {
			t.Errorf("writing %s changed the fingerprint", rel)
		}
	}
	write("framework/b/b.go", "package b // edited\n")
	second := fp()
	if second == first {
		t.Error("editing framework/b/b.go left the fingerprint unchanged")
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(root, "plugins/a/main.go"), later, later); err != nil {
		t.Fatal(err)
	}
	if fp() == second {
		t.Error("a newer plugins/a/main.go left the fingerprint unchanged")
	}
	write("plugins/c/main.go", "package main\n")
	if fp() == second {
		t.Error("a new plugin left the fingerprint unchanged")
	}
}

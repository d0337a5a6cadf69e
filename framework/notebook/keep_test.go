package notebook

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Keep copies the top-level tables and figures and the executed notebook,
// not runs or stages, and records the backends the manifests name and
// whether any stage predates the execution; it replaces an earlier
// reference whole.
func TestKeep(t *testing.T) {
	root := t.TempDir()
	started := time.Now().Add(-time.Minute)
	res := filepath.Join(root, "results", "01_x", "repro")
	write(t, filepath.Join(res, "metrics.parquet"), "table")
	write(t, filepath.Join(res, "auroc.png"), "figure")
	write(t, filepath.Join(res, "notes.txt"), "not kept")
	write(t, filepath.Join(res, "reddit", "metrics.parquet"), "a run's table: not kept")
	write(t, filepath.Join(res, "reddit", "manifest.json"), `{"backend": "go"}`)
	write(t, filepath.Join(res, "reddit", "seed-1", "manifest.json"), `{"backend": "go"}`)
	write(t, filepath.Join(res, "arxiv", "manifest.json"), `{"backend": "xla:cuda"}`)
	stage := filepath.Join(res, "reddit", "stages", "split-1")
	write(t, filepath.Join(stage, "users.json"), "{}")
	executed := filepath.Join(root, "build", "notebooks", "01_x.ipynb")
	write(t, executed, `{"cells": []}`)
	old := filepath.Join(root, "results", "reference", "01_x", "repro", "stale.png")
	write(t, old, "from an earlier reference")

	past := started.Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		stamp  time.Time
		reused bool
	}{{"fresh stages", started.Add(time.Minute), false}, {"a stage from an earlier run", past, true}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Chtimes(stage, tc.stamp, tc.stamp); err != nil {
				t.Fatal(err)
			}
			dir, err := Keep(root, Result{Notebook: "notebooks/01_x.ipynb", Executed: executed, Duration: 90 * time.Second}, "repro", started, GitState{Commit: "abc"})
			if err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if want := []string{"01_x.ipynb", "auroc.png", "metrics.parquet", "run.json"}; !slices.Equal(names, want) {
				t.Fatalf("kept %v, want %v", names, want)
			}
			var run ReferenceRun
			b, _ := os.ReadFile(filepath.Join(dir, "run.json"))
			if err := json.Unmarshal(b, &run); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(run.Backends, []string{"go", "xla:cuda"}) || run.Seconds != 90 || run.StagesReused != tc.reused ||
				run.Cores < 1 || run.CPU == "" || len(run.Files) != 3 ||
				run.CommitAtStart != "abc" || !strings.HasPrefix(run.Commit, "unknown") || !run.Modified {
				t.Fatalf("run.json %+v", run)
			}
			leftovers, _ := filepath.Glob(filepath.Join(root, "results", "reference", "01_x", ".repro-*"))
			if len(leftovers) > 0 {
				t.Fatalf("temporary folders left: %v", leftovers)
			}
		})
	}
	// Nothing to keep: an error naming the folder.
	if _, err := Keep(root, Result{Notebook: "notebooks/02_y.ipynb", Executed: executed}, "repro", started, GitState{}); err == nil || !strings.Contains(err.Error(), "02_y") {
		t.Fatalf("no results: %v", err)
	}
	// A figure an earlier execution wrote is refused, and the reference
	// kept before stays whole.
	stale := filepath.Join(res, "old_figure.png")
	write(t, stale, "from an earlier run")
	if err := os.Chtimes(stale, past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := Keep(root, Result{Notebook: "notebooks/01_x.ipynb", Executed: executed}, "repro", started, GitState{}); err == nil || !strings.Contains(err.Error(), "old_figure.png") {
		t.Fatalf("stale figure: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "results", "reference", "01_x", "repro", "run.json")); err != nil {
		t.Fatalf("the earlier reference is gone: %v", err)
	}
}

// ReadGitState: a clean checkout (results aside, kept references included)
// is not dirty; an untracked file, which Go would compile, makes it so.
func TestReadGitState(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	root := t.TempDir()
	gitC := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", root, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write(t, filepath.Join(root, ".gitignore"), "/results/*\n!/results/reference/\n")
	gitC("init", "-q")
	gitC("add", ".gitignore")
	gitC("commit", "-q", "-m", "x")
	write(t, filepath.Join(root, "results", "r.parquet"), "ignored")
	write(t, filepath.Join(root, "results", "reference", "x", "m.parquet"), "a kept reference, not yet committed: not code")
	s := ReadGitState(root)
	if s.Dirty || len(s.Commit) != 40 {
		t.Fatalf("clean checkout: %+v", s)
	}
	write(t, filepath.Join(root, "extra.go"), "package x")
	if s := ReadGitState(root); !s.Dirty {
		t.Fatalf("an untracked .go file: %+v, want dirty", s)
	}
}

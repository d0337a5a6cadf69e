package notebook_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/notebook"
)

// executed writes an executed notebook with the given cells (JSON).
func executed(t *testing.T, cells string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nb.ipynb")
	if err := os.WriteFile(p, []byte(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [`+cells+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	const md = `{"cell_type": "markdown", "source": "# title", "metadata": {}}`
	for _, tc := range []struct {
		name  string
		cells string
		want  []string // substrings of the problems, in order
	}{
		{"clean", md + `, {"cell_type": "code", "execution_count": 1, "source": ["%%\n", "fmt.Println(1)"], "outputs": [{"output_type": "stream", "name": "stdout", "text": ["1\n"]}]}`, nil},
		{"error output", `{"cell_type": "code", "execution_count": 1, "source": "x", "outputs": [{"output_type": "error", "ename": "ERROR", "evalue": "exit status 2", "traceback": []}]}`,
			[]string{"cell 1: error ERROR: exit status 2"}},
		{"stderr from a failed shell line", md + `, {"cell_type": "code", "execution_count": 2, "source": "!ls /x", "outputs": [{"output_type": "stream", "name": "stderr", "text": "ls: cannot access '/x'\nexit status 2\n"}]}`,
			[]string{"cell 2: stderr: ls: cannot access '/x' | exit status 2"}},
		{"unexecuted", `{"cell_type": "code", "execution_count": null, "source": "x", "outputs": []}`, []string{"cell 1: not executed"}},
		{"empty code cell is fine", `{"cell_type": "code", "execution_count": null, "source": "  \n", "outputs": []}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems, err := notebook.Check(executed(t, tc.cells))
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(tc.want) {
				t.Fatalf("problems %v, want %d", problems, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(problems[i].String(), w) {
					t.Errorf("problem %d = %q, want %q", i, problems[i], w)
				}
			}
		})
	}
	if _, err := notebook.Check(executed(t, `{"cell_type": 3}`)); err == nil {
		t.Error("a malformed notebook passed")
	}
}

// TestExecuteFailingNotebook runs real notebooks through Jupyter and the
// GoNB kernel: a clean one passes, and one with deliberately failing cells
// fails the check with every failure named. CI (PRIVLM_REQUIRE_NOTEBOOKS=1)
// installs Jupyter and GoNB first; elsewhere the test skips without them.
func TestExecuteFailingNotebook(t *testing.T) {
	if _, err := exec.LookPath("jupyter"); err != nil {
		if os.Getenv("PRIVLM_REQUIRE_NOTEBOOKS") == "1" {
			t.Fatal("jupyter is not installed, but PRIVLM_REQUIRE_NOTEBOOKS=1")
		}
		t.Skip("jupyter not installed (notebooks/setup.sh installs it)")
	}
	out := t.TempDir()
	pass, err := notebook.Execute(context.Background(), "testdata/passes.ipynb", notebook.ExecOptions{OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Problems) != 0 {
		t.Fatalf("the passing notebook has problems: %v", pass.Problems)
	}
	fail, err := notebook.Execute(context.Background(), "testdata/fails.ipynb", notebook.ExecOptions{OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for _, p := range fail.Problems {
		got[p.Cell] = true
	}
	for _, cell := range []int{2, 3, 4} { // panic, failed shell command, compile error
		if !got[cell] {
			t.Errorf("cell %d's failure was not reported; problems: %v", cell, fail.Problems)
		}
	}
	if got[5] {
		t.Errorf("the good cell 5 was reported: %v", fail.Problems)
	}
}

// TestHasMode: a notebook has a repro variant when its code names
// notebook.Repro; a mention in markdown does not count, and every notebook
// has quick mode.
func TestHasMode(t *testing.T) {
	code := func(src string) string {
		return `{"cell_type": "code", "source": ` + strconv.Quote(src) + `, "metadata": {}, "outputs": [], "execution_count": null}`
	}
	for _, tc := range []struct {
		name, cells, mode string
		want              bool
	}{
		{"repro in code", code("if mode == notebook.Repro {\n}"), notebook.Repro, true},
		{"repro only in markdown", `{"cell_type": "markdown", "source": "notebook.Repro", "metadata": {}},` + code("x := 1"), notebook.Repro, false},
		{"full only", code("if mode == notebook.Full {}"), notebook.Repro, false},
		{"quick always", code("x := 1"), notebook.Quick, true},
	} {
		got, err := notebook.HasMode(executed(t, tc.cells), tc.mode)
		if err != nil || got != tc.want {
			t.Errorf("%s: HasMode = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := notebook.HasMode(executed(t, code("")), "reproo"); err == nil {
		t.Error("HasMode accepted an unknown mode")
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotebooksRunModes: an unknown mode is refused, and repro mode refuses
// a named notebook without a repro variant before executing anything (it
// would otherwise run its quick sizes into results/<notebook>/repro).
func TestNotebooksRunModes(t *testing.T) {
	nb := filepath.Join(t.TempDir(), "plain.ipynb")
	cells := `{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": "var mode = notebook.Mode(\"quick\")", "metadata": {}, "outputs": [], "execution_count": null}]}`
	if err := os.WriteFile(nb, []byte(cells), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"notebooks", "run", "--mode", "fast", nb}, `--mode "fast": want quick, repro or full`},
		{[]string{"notebooks", "run", "--mode", "repro", nb}, "has no repro variant"},
	} {
		_, stderr, status := run(t, "", tc.args...)
		if status == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: status %d, stderr %q; want an error with %q", tc.args, status, stderr, tc.want)
		}
	}
}

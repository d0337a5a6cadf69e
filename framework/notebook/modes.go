package notebook

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// modeIdent is how a notebook's code names each mode it has a variant for.
var modeIdent = map[string]string{Quick: "notebook.Quick", Repro: "notebook.Repro", Full: "notebook.Full"}

// HasMode reports whether the notebook at path has a variant for mode: a
// code cell names the mode's constant (notebook.Repro, say). Every
// notebook runs in quick mode, its default.
func HasMode(path, mode string) (bool, error) {
	if mode == Quick {
		return true, nil
	}
	ident, ok := modeIdent[mode]
	if !ok {
		return false, fmt.Errorf("notebook mode %q: want %q, %q or %q", mode, Quick, Repro, Full)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("notebook: %w", err)
	}
	var nb ipynb
	if err := json.Unmarshal(b, &nb); err != nil {
		return false, fmt.Errorf("notebook: %s is not a notebook: %w", path, err)
	}
	for _, c := range nb.Cells {
		if c.CellType == "code" && strings.Contains(multiline(c.Source), ident) {
			return true, nil
		}
	}
	return false, nil
}

// WithMode keeps the notebooks of paths that have a variant for mode.
func WithMode(paths []string, mode string) ([]string, error) {
	var out []string
	for _, p := range paths {
		ok, err := HasMode(p, mode)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

package experiment_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/plugin"
)

// TestDuplicatePluginNamesRefused: a second binary calling itself "loss"
// (a copy of the built-in under another path) would share the built-in's
// stages and labels; Validate refuses it, naming both paths. The same
// plugin listed twice (other parameters) stays allowed.
func TestDuplicatePluginNamesRefused(t *testing.T) {
	c := tiny(t, "dup")
	if _, err := plugin.BuildBuiltins(); err != nil {
		t.Fatal(err)
	}
	builtin, err := plugin.Find("loss", plugin.Dirs()...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(builtin)
	if err != nil {
		t.Fatal(err)
	}
	impostor := filepath.Join(t.TempDir(), "impostor")
	if err := os.WriteFile(impostor, b, 0o755); err != nil {
		t.Fatal(err)
	}
	c.Attacks = []string{"loss", impostor}
	_, err = experiment.Validate(c)
	if err == nil || !strings.Contains(err.Error(), builtin) || !strings.Contains(err.Error(), impostor) {
		t.Fatalf("Validate: %v, want an error naming %s and %s", err, builtin, impostor)
	}
	c.Attacks = []string{"loss", "loss?lowercase=true"}
	if _, err := experiment.Validate(c); err != nil && strings.Contains(err.Error(), "both call themselves") {
		t.Errorf("the same plugin twice: %v", err)
	}
}

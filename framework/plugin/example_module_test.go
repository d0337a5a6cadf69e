package plugin_test

import (
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/privlm/privlm/framework/plugin"
)

// TestExampleModule builds plugins/examples/length-ratio in its own module
// (against the SDK alone) and runs it through the host.
func TestExampleModule(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "length-ratio")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "..", "plugins", "examples", "length-ratio")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the example module: %v\n%s", err, out)
	}
	c, err := plugin.Open(bin, plugin.Options{Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Info().Name != "length-ratio" {
		t.Fatalf("info %+v", c.Info())
	}
	if err := c.Configure(context.Background(), plugin.Config{"min_tokens": "2"}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Attack(context.Background(), users, &fakeOracle{})
	if err != nil {
		t.Fatal(err)
	}
	// fakeOracle: ratio per token = (-1 - -2) = 1 for every sample.
	for _, s := range resp.Scores {
		if math.Abs(s.Score-1) > 1e-12 {
			t.Errorf("%s: %v, want 1", s.UserID, s.Score)
		}
	}
}

package plugin_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/plugin"
)

// TestFineTunerSeesOnlyItsFiles: a fine-tuner reads its input and writes its
// output directory, but cannot read another stage's file or write beside
// it. The control (sandbox off) shows the probes would see a leak.
func TestFineTunerSeesOnlyItsFiles(t *testing.T) {
	stages := t.TempDir()
	mk := func(parts ...string) string {
		p := filepath.Join(append([]string{stages}, parts...)...)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	train := mk("split-1", "train.parquet")
	other := mk("split-1", "attacker.parquet")
	for _, f := range []string{train, other} {
		if err := os.WriteFile(f, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := mk("finetune-1", "x")
	out = filepath.Dir(out)
	os.MkdirAll(out, 0o755)
	req := plugin.FineTuneRequest{TrainPath: train, OutputDir: out,
		Settings: map[string]string{"forbidden_read": other, "forbidden_write": filepath.Join(stages, "split-1", "planted")}}
	run := func() error {
		c := open(t, "finetuner-files", plugin.Options{Read: []string{train}, Write: []string{out}})
		if iso := c.Isolation(); iso.Sandbox == "on" && iso.LandlockABI == 0 {
			t.Skipf("no Landlock on this kernel (%v)", iso)
		}
		defer c.Close()
		_, err := c.FineTune(context.Background(), req)
		return err
	}
	if err := run(); err != nil {
		t.Fatalf("sandboxed fine-tuner: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "best")); err != nil {
		t.Errorf("the fine-tuner could not write its output: %v", err)
	}
	t.Setenv(plugin.SandboxEnv, "off")
	if err := run(); err == nil || !strings.Contains(err.Error(), "leak") {
		t.Errorf("unsandboxed control: %v, want the probes to find a leak", err)
	}
}

// TestAttackIsolationRecorded: every plugin reports what was enforced.
func TestAttackIsolationRecorded(t *testing.T) {
	c := open(t, "ok", plugin.Options{})
	iso := c.Isolation()
	if iso.Sandbox != "on" || iso.Env != "scrubbed" {
		t.Errorf("isolation %+v, want the sandbox on with a scrubbed environment", iso)
	}
	t.Logf("isolation on this host: %v", iso)
}

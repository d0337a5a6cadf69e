package experiment_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/privlm/privlm/framework/experiment"
)

// TestSharedReferenceAcrossSeeds: with model.reference_seed, repeats = 2
// adapts the reference once (both seeds' fine-tunings start from it);
// without it, once per seed.
func TestSharedReferenceAcrossSeeds(t *testing.T) {
	for _, tc := range []struct {
		refSeed    string
		references int
	}{{"0", 2}, {"5", 1}} {
		t.Run("reference_seed="+tc.refSeed, func(t *testing.T) {
			c := tiny(t, "shared-reference")
			for _, kv := range [][2]string{{"attacks", "loss"}, {"repeats", "2"}, {"model.pretrain", "pool"}, {"model.pretrain_steps", "3"},
				{"split.min_docs", "3"}, {"model.reference_seed", tc.refSeed}} {
				if err := c.Set(kv[0], kv[1]); err != nil {
					t.Fatal(err)
				}
			}
			out := t.TempDir()
			var log bytes.Buffer
			if _, err := experiment.Run(context.Background(), c, out, &log); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			for glob, n := range map[string]int{"split-*": 2, "reference-*": tc.references, "finetune-*": 2} {
				if m, _ := filepath.Glob(filepath.Join(out, "stages", glob)); len(m) != n {
					t.Errorf("%d %s stages, want %d\n%s", len(m), glob, n, log.String())
				}
			}
		})
	}
}

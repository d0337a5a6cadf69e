package experiment_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
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

// TestPretrainLearningRateSharesReference: a sweep of train.learning_rate
// adapts one shared reference when model.pretrain_learning_rate fixes the
// adaptation's (without it, one per learning rate: TestPretrainConfig, on
// the reference's training configuration, which its stage key holds); a
// bad value is refused by its key.
func TestPretrainLearningRateSharesReference(t *testing.T) {
	for _, tc := range []struct {
		pretrainLR string
		references int
	}{{"3e-3", 1}} {
		t.Run("pretrain_learning_rate="+tc.pretrainLR, func(t *testing.T) {
			c := tiny(t, "pretrain-lr")
			for _, kv := range [][2]string{{"attacks", "loss"}, {"model.pretrain", "pool"}, {"model.pretrain_steps", "3"},
				{"split.min_docs", "3"}, {"model.reference_seed", "5"}, {"model.pretrain_learning_rate", tc.pretrainLR}} {
				if err := c.Set(kv[0], kv[1]); err != nil {
					t.Fatal(err)
				}
			}
			points := []experiment.Point{{Keys: []string{"train.learning_rate"}, Values: []string{"1e-3"}}, {Keys: []string{"train.learning_rate"}, Values: []string{"2e-3"}}}
			out := t.TempDir()
			var log bytes.Buffer
			if _, err := experiment.RunPoints(context.Background(), c, points, out, &log); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			for glob, n := range map[string]int{"reference-*": tc.references, "finetune-*": 2} {
				if m, _ := filepath.Glob(filepath.Join(out, "stages", glob)); len(m) != n {
					t.Errorf("%d %s stages, want %d\n%s", len(m), glob, n, log.String())
				}
			}
		})
	}
	c := tiny(t, "pretrain-lr")
	if err := c.Set("model.pretrain_learning_rate", "-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := experiment.Run(context.Background(), c, t.TempDir(), io.Discard); err == nil || !strings.Contains(err.Error(), "model.pretrain_learning_rate") {
		t.Errorf("pretrain_learning_rate -1: error %v, want one naming the key", err)
	}
}

package experiment

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/privlm/privlm/framework/data"
)

// poolRecords is a dataset of users with 1 to 12 documents: those below
// min_docs form the reference pool.
func poolRecords() []data.Record {
	var recs []data.Record
	for u := range 60 {
		for d := range 1 + u%12 {
			recs = append(recs, data.Record{UserID: fmt.Sprintf("u%02d", u), DocID: fmt.Sprintf("u%02d-%02d", u, d), Text: "text"})
		}
	}
	return recs
}

func docIDs(recs []data.Record) []string {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.DocID)
	}
	return ids
}

// TestReferencePoolShared: with model.reference_seed the pool and its
// held-back tenth are disjoint, come only from users below min_docs, and
// do not depend on the run's seed (so every seed adapts the same
// reference); without it the pool is drawn with the run's seed, as before.
func TestReferencePoolShared(t *testing.T) {
	cfg := Default()
	cfg.Model.Pretrain, cfg.Model.PretrainSteps, cfg.Train.BatchSize = "pool", 3, 4 // at most 24 pool documents
	cfg.Split.MinDocs = 8
	eligible := map[string]bool{}
	n := 0
	for u := range 60 {
		if 1+u%12 < cfg.Split.MinDocs {
			eligible[fmt.Sprintf("u%02d", u)] = true
			n += 1 + u%12
		}
	}
	draw := func(seed, refSeed uint64) (pool, val []data.Record) {
		t.Helper()
		c := cfg
		c.Seed, c.Model.ReferenceSeed = seed, refSeed
		pool, val, err := referencePool(c, poolRecords())
		if err != nil {
			t.Fatal(err)
		}
		return pool, val
	}
	pool1, val1 := draw(1, 7)
	pool2, val2 := draw(2, 7)
	if !slices.Equal(docIDs(pool1), docIDs(pool2)) || !slices.Equal(docIDs(val1), docIDs(val2)) {
		t.Errorf("shared reference pool depends on the run's seed:\n%v / %v\n%v / %v", docIDs(pool1), docIDs(val1), docIDs(pool2), docIDs(val2))
	}
	if want := n / 10; len(val1) < want || len(val1) >= want+cfg.Split.MinDocs || len(pool1) != 24 {
		t.Errorf("pool %d, validation %d documents; want 24 (the limit) and whole users holding about %d (a tenth of %d)", len(pool1), len(val1), want, n)
	}
	valUsers := map[string]bool{}
	for _, r := range val1 {
		valUsers[r.UserID] = true
	}
	for _, r := range pool1 {
		if valUsers[r.UserID] {
			t.Errorf("user %s is in both the pool and its held-back validation", r.UserID)
		}
	}
	seen := map[string]bool{}
	for _, r := range append(slices.Clone(pool1), val1...) {
		if seen[r.DocID] || !eligible[r.UserID] {
			t.Errorf("document %s: repeated or from a user with min_docs or more", r.DocID)
		}
		seen[r.DocID] = true
	}
	if other, _ := draw(1, 8); slices.Equal(docIDs(other), docIDs(pool1)) {
		t.Error("another reference seed draws the same pool")
	}
	own1, v := draw(1, 0)
	own2, _ := draw(2, 0)
	if v != nil || len(own1) != 24 || slices.Equal(docIDs(own1), docIDs(own2)) {
		t.Errorf("per-seed reference: validation %v, pool %d documents, same pool for seeds 1 and 2: %v", v, len(own1), slices.Equal(docIDs(own1), docIDs(own2)))
	}
}

// TestSplitDropsAttackerSamplesCopiedInPoolValidation: an attacker sample
// whose text is one of the shared reference's held-back validation
// documents leaves the attack, as one in its training pool would (the
// reference reads both).
func TestSplitDropsAttackerSamplesCopiedInPoolValidation(t *testing.T) {
	p := splitPlan(t, "split.min_docs=5", "split.validation_fraction=0", "model.pretrain=pool", "model.pretrain_steps=50", "model.reference_seed=3")
	r := rand.New(rand.NewPCG(1, 7))
	var recs []data.Record
	for u := range 20 {
		for d := range 10 {
			recs = append(recs, data.Record{UserID: fmt.Sprintf("a%02d", u), DocID: fmt.Sprintf("a%02d-%d", u, d), Text: words(r, 40)})
		}
	}
	for u := range 30 {
		for d := range 2 {
			recs = append(recs, data.Record{UserID: fmt.Sprintf("p%02d", u), DocID: fmt.Sprintf("p%02d-%d", u, d), Text: words(r, 40)})
		}
	}
	s, err := data.MakeSplit(recs, splitConfig(p.cfg))
	if err != nil {
		t.Fatal(err)
	}
	_, val, err := referencePool(p.cfg, recs)
	if err != nil || len(val) == 0 {
		t.Fatalf("pool validation %d documents: %v", len(val), err)
	}
	copied := s.Attacker[s.HeldOut[0]][0]
	for i := range recs {
		if recs[i].DocID == val[0].DocID {
			recs[i].Text = copied.Text
		}
	}
	path := filepath.Join(t.TempDir(), "data.parquet")
	if err := data.WriteFile(path, recs); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := makeSplit(p, path, dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := attackerDocs(t, dir)[copied.DocID]; ok {
		t.Errorf("attacker sample %s, copied in the reference's validation document %s, is still attacked", copied.DocID, val[0].DocID)
	}
	held, err := data.ReadFile(filepath.Join(dir, poolValidationFile))
	if err != nil || len(held) != len(val) {
		t.Errorf("%s: %d documents (%v), want %d", poolValidationFile, len(held), err, len(val))
	}
}

// TestPretrainConfig: the reference's training configuration (part of its
// stage key) follows train.learning_rate unless model.pretrain_learning_rate
// fixes it, and never carries clipping, DP or early stopping.
func TestPretrainConfig(t *testing.T) {
	at := func(lr, pretrainLR float64) Config {
		c := Quick("email")
		c.Model.Pretrain, c.Model.PretrainSteps, c.Model.PretrainLearningRate = "pool", 7, pretrainLR
		c.Train.LearningRate, c.Train.DP, c.Train.TargetEpsilon, c.Train.Clip, c.Train.Patience = lr, "example", 8, "per-example", 2
		return c
	}
	a, b := pretrainConfig(at(1e-3, 0)), pretrainConfig(at(2e-3, 0))
	if a == b || a.LearningRate != 1e-3 {
		t.Errorf("without pretrain_learning_rate: %+v and %+v, want the swept learning rates", a, b)
	}
	a, b = pretrainConfig(at(1e-3, 3e-3)), pretrainConfig(at(2e-3, 3e-3))
	if a != b || a.LearningRate != 3e-3 || a.Steps != 7 || a.DP != "none" || a.Clip != "none" || a.TargetEpsilon != 0 || a.Patience != 0 {
		t.Errorf("with pretrain_learning_rate 3e-3: %+v and %+v, want one configuration at 3e-3 without DP, clipping or patience", a, b)
	}
	// What the fine-tuning trains and with which optimizer leaves the
	// reference alone: one reference serves a linear probe and DP-SGD.
	probe := at(1e-3, 3e-3)
	probe.Train.Trainable, probe.Train.Optimizer, probe.Train.WeightDecay = "cls.+norm", "sgd", 0
	if c := pretrainConfig(probe); c != a {
		t.Errorf("with trainable and optimizer sgd: %+v, want the reference configuration %+v", c, a)
	}
}

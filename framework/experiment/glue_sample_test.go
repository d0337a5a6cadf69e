package experiment

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/train"
)

// TestSampleRecords: max_train is a seeded random subset in file order, not
// the first rows.
func TestSampleRecords(t *testing.T) {
	recs := make([]data.Record, 1000)
	for i := range recs {
		recs[i] = data.Record{DocID: fmt.Sprintf("%04d", i)}
	}
	a, b, c := SampleRecords(recs, 100, 1), SampleRecords(recs, 100, 1), SampleRecords(recs, 100, 2)
	if len(a) != 100 || !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatalf("want 100 records, equal for equal seeds and different otherwise")
	}
	if slices.Equal(a, recs[:100]) {
		t.Error("the subset is the first 100 rows")
	}
	if !slices.IsSortedFunc(a, func(x, y data.Record) int { return strings.Compare(x.DocID, y.DocID) }) {
		t.Error("the subset is not in file order")
	}
	late := 0
	for _, r := range a {
		if r.DocID >= "0500" {
			late++
		}
	}
	if late < 30 || late > 70 {
		t.Errorf("%d of 100 from the second half", late)
	}
	if got := SampleRecords(recs, 0, 1); len(got) != 1000 {
		t.Errorf("max_train 0 kept %d", len(got))
	}
}

// TestSplitHoldOut: a search's held-out examples are the same for every
// run, disjoint from the training examples that remain, and together they
// are all the examples; holding out all or none is handled.
func TestSplitHoldOut(t *testing.T) {
	recs := make([]data.Record, 500)
	for i := range recs {
		recs[i] = data.Record{DocID: fmt.Sprintf("%04d", i)}
	}
	rest, held, err := SplitHoldOut(recs, 100)
	if err != nil || len(rest) != 400 || len(held) != 100 {
		t.Fatalf("%d rest, %d held, %v; want 400, 100", len(rest), len(held), err)
	}
	_, again, _ := SplitHoldOut(recs, 100)
	if !slices.Equal(held, again) {
		t.Error("two calls hold out different examples")
	}
	seen := map[string]bool{}
	for _, r := range append(slices.Clone(rest), held...) {
		if seen[r.DocID] {
			t.Fatalf("%s on both sides", r.DocID)
		}
		seen[r.DocID] = true
	}
	if len(seen) != 500 {
		t.Errorf("%d distinct examples, want 500", len(seen))
	}
	if slices.Equal(held, recs[:100]) || slices.Equal(held, recs[400:]) {
		t.Error("the held-out examples are a block of the file, not a random draw")
	}
	if rest, held, err := SplitHoldOut(recs, 0); err != nil || len(rest) != 500 || held != nil {
		t.Errorf("hold_out 0: %d rest, %d held, %v", len(rest), len(held), err)
	}
	if _, _, err := SplitHoldOut(recs, 500); err == nil || !strings.Contains(err.Error(), "hold_out 500") {
		t.Errorf("hold_out of every example: error %v, want one naming hold_out", err)
	}
}

func TestEWTuneRecipe(t *testing.T) {
	c := DefaultGLUE("sst2").WithEWTuneRecipe("rdp", 8, 20)
	if c.Train.Accountant != "rdp?conversion=classic&orders=ewtune" || c.Train.NoiseSearch != train.SearchEWTune || c.Train.Steps != 0 || c.Train.Epochs != 20 {
		t.Errorf("%+v", c.Train)
	}
	if d := DefaultGLUE("sst2").WithDP("edgeworth", 8); d.Train.NoiseSearch != train.SearchBisection {
		t.Errorf("plain DP search %q, want bisection", d.Train.NoiseSearch)
	}
}

// TestGLUEResultPrivacy: a DP GLUE row carries the delta of its epsilons,
// its unit and search, and only finite epsilons.
func TestGLUEResultPrivacy(t *testing.T) {
	rep := &train.PrivacyReport{Delta: 1e-6, Unit: train.UnitExample, Search: train.SearchEWTune,
		Epsilon: map[string]float64{"rdp": 8.5, "pld": 7.9, "edgeworth": math.Inf(1)}}
	var res GLUEResult
	res.setPrivacy(rep)
	if res.Delta == nil || *res.Delta != 1e-6 || res.DPUnit != "example" || res.NoiseSearch != train.SearchEWTune ||
		res.EpsilonRDP == nil || *res.EpsilonRDP != 8.5 || res.EpsilonPLD == nil || *res.EpsilonPLD != 7.9 || res.EpsilonEdgeworth != nil {
		t.Errorf("%+v", res)
	}
}

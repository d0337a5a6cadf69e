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

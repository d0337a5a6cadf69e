package experiment_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/experiment"
)

func TestGrid(t *testing.T) {
	pts := experiment.Grid([]string{"a", "b"}, map[string][]string{"a": {"1", "2"}, "b": {"x", "y", "z"}})
	var got []string
	for _, p := range pts {
		got = append(got, p.String())
	}
	want := []string{"a=1,b=x", "a=1,b=y", "a=1,b=z", "a=2,b=x", "a=2,b=y", "a=2,b=z"}
	if !slices.Equal(got, want) {
		t.Errorf("Grid = %v", got)
	}
}

// TestSweep sweeps the attacker's samples over a tiny experiment and checks
// the combined table.
func TestSweep(t *testing.T) {
	c := tiny(t, "sweep")
	c.Set("split.min_docs", "6")
	c.Set("split.attacker_fraction", "0.34")
	c.Set("attacks", "loss")
	out := t.TempDir()
	rows, err := experiment.Sweep(context.Background(), c, []string{"attack.samples"}, map[string][]string{"attack.samples": {"1", "2"}}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ExperimentID != "sweep/attack.samples=1" || rows[1].ExperimentID != "sweep/attack.samples=2" {
		t.Fatalf("rows %+v", rows)
	}
	table, err := data.ReadParquet[experiment.MetricsRow](filepath.Join(out, "sweep_metrics.parquet"))
	if err != nil || len(table) != 2 || table[1] != rows[1] {
		t.Fatalf("sweep_metrics.parquet: %+v, %v", table, err)
	}
	if _, err := experiment.Sweep(context.Background(), c, []string{"attack.nope"}, map[string][]string{"attack.nope": {"1"}}, out, nil); err == nil {
		t.Error("a sweep over an unknown key ran")
	}
}

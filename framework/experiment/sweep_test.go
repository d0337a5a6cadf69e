package experiment_test

import (
	"context"
	"path/filepath"
	"reflect"
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
	all, err := experiment.Sweep(context.Background(), c, []string{"attack.samples"}, map[string][]string{"attack.samples": {"1", "2"}}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := experiment.Headline(all)
	if len(all) != 4 || len(rows) != 2 || rows[0].ExperimentID != "sweep/attack.samples=1" || rows[1].ExperimentID != "sweep/attack.samples=2" {
		t.Fatalf("rows %+v", rows)
	}
	table, err := data.ReadParquet[experiment.MetricsRow](filepath.Join(out, "sweep_metrics.parquet"))
	if err != nil || len(table) != 4 || !reflect.DeepEqual(table, all) {
		t.Fatalf("sweep_metrics.parquet: %+v, %v", table, err)
	}
	// The points differ only in an attack key: one fine-tuning serves both.
	if ft, _ := filepath.Glob(filepath.Join(out, "stages", "finetune-*")); len(ft) != 1 {
		t.Errorf("finetune stages %v, want one shared by the points", ft)
	}
	scores, err := data.ReadParquet[experiment.ScoreRow](filepath.Join(out, "sweep_scores.parquet"))
	// One row per attacked user and point (a user the overlap drop left with
	// one sample is not attacked at attack.samples = 2).
	if err != nil || len(scores) != int(rows[0].NUsers+rows[1].NUsers) || scores[0].ExperimentID != "sweep/attack.samples=1" {
		t.Fatalf("sweep_scores.parquet: %d rows (want %d), %v", len(scores), rows[0].NUsers+rows[1].NUsers, err)
	}
	if got := experiment.PointValue(rows[1].ExperimentID, "attack.samples"); got != 2 {
		t.Errorf("PointValue = %v, want 2", got)
	}
	if _, err := experiment.Sweep(context.Background(), c, []string{"attack.nope"}, map[string][]string{"attack.nope": {"1"}}, out, nil); err == nil {
		t.Error("a sweep over an unknown key ran")
	}
}

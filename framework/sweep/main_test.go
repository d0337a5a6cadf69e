package sweep_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/sweep"
)

// workerArg makes this test binary a sweep worker (as `privlm sweep
// worker`), so executors can start it as their workers' command.
const workerArg = "privlm-sweep-worker"

var workerCommand []string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == workerArg {
		if err := sweep.Worker(context.Background(), os.Args[2:], os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "privlm:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	workerCommand = []string{exe, workerArg}
	code := m.Run()
	if localDir != "" {
		os.RemoveAll(filepath.Dir(localDir))
	}
	os.Exit(code)
}

// tinySweep is a 4-point sweep of a tiny experiment: points differ only in
// attack keys, so they share data, split and one fine-tuning.
func tinySweep(t *testing.T) (experiment.Config, []experiment.Point) {
	t.Helper()
	shareddata.Path(t, "models/stories260K.bin")
	c := experiment.Default()
	c.Name = "tiny"
	for _, kv := range []string{"dataset.name=shakespeare", "dataset.max_chars=200", "split.max_users=40", "split.max_docs=6", "split.min_docs=6",
		"split.attacker_fraction=0.34", "train.steps=12", "train.eval_every=4", "train.batch_size=8", "train.seq_len=32", "attacks=loss", "bootstrap=100"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return c, experiment.Grid([]string{"attack.samples", "bootstrap"}, map[string][]string{"attack.samples": {"1", "2"}, "bootstrap": {"100", "200"}})
}

var (
	localOnce sync.Once
	localDir  string
	localErr  error
	localTime time.Duration
)

// localSweep runs the tiny sweep once with the local executor, 2 workers.
func localSweep(t *testing.T) string {
	base, points := tinySweep(t)
	localOnce.Do(func() {
		root, err := os.MkdirTemp("", "privlm-sweep-local")
		if err != nil {
			localErr = err
			return
		}
		localDir = filepath.Join(root, "sweep")
		if _, localErr = experiment.PlanSweep(base, points, localDir); localErr != nil {
			return
		}
		start := time.Now()
		_, localErr = sweep.Local{Workers: 2, Command: workerCommand}.Run(context.Background(), localDir)
		localTime = time.Since(start)
	})
	if localErr != nil {
		t.Fatal(localErr)
	}
	t.Logf("local executor, 2 workers: %.1fs", localTime.Seconds())
	return localDir
}

// stageRuns counts, over a sweep's worker logs, how often each stage
// directory was computed ("running (dir)" lines).
func stageRuns(t *testing.T, dir string) map[string]int {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*"))
	running := regexp.MustCompile(`running \(([^)]+)\)`)
	count := map[string]int{}
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range running.FindAllStringSubmatch(string(b), -1) {
			count[m[1]]++
		}
	}
	return count
}

// TestLocalWorkersComputeEachStageOnce: two worker processes sharing one
// stages directory compute every stage once between them, and the
// collected tables have every point.
func TestLocalWorkersComputeEachStageOnce(t *testing.T) {
	dir := localSweep(t)
	count := stageRuns(t, dir)
	entries, _ := os.ReadDir(filepath.Join(dir, "stages"))
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, e.Name())
		}
	}
	// data, split, train-counts, finetune, and attack-loss once per
	// attack.samples (bootstrap is not in the attack's key).
	if len(dirs) != 6 {
		t.Errorf("stage directories %v, want 6", dirs)
	}
	for _, d := range dirs {
		if count[d] != 1 {
			t.Errorf("stage %s computed %d times, want once", d, count[d])
		}
	}
	rows, err := data.ReadParquet[experiment.MetricsRow](filepath.Join(dir, "sweep_metrics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r.ExperimentID] = true
	}
	if len(ids) != 4 || !ids["tiny/attack.samples=2,bootstrap=200"] {
		t.Errorf("sweep_metrics.parquet experiment ids %v, want the 4 points", ids)
	}
}

// sameResults compares two sweep directories' merged tables.
func sameResults(t *testing.T, a, b string) {
	t.Helper()
	for _, f := range []string{"sweep_metrics.parquet", "sweep_scores.parquet"} {
		if f == "sweep_metrics.parquet" {
			x, err1 := data.ReadParquet[experiment.MetricsRow](filepath.Join(a, f))
			y, err2 := data.ReadParquet[experiment.MetricsRow](filepath.Join(b, f))
			if err1 != nil || err2 != nil || len(x) == 0 || !reflect.DeepEqual(x, y) {
				t.Errorf("%s differs (%v, %v):\n%+v\n%+v", f, err1, err2, x, y)
			}
			continue
		}
		x, err1 := data.ReadParquet[experiment.ScoreRow](filepath.Join(a, f))
		y, err2 := data.ReadParquet[experiment.ScoreRow](filepath.Join(b, f))
		if err1 != nil || err2 != nil || len(x) == 0 || !reflect.DeepEqual(x, y) {
			t.Errorf("%s differs (%v, %v)", f, err1, err2)
		}
	}
}

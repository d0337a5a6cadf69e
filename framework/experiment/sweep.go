package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/privlm/privlm/framework/data"
)

// Point is one setting of a sweep.
type Point struct {
	Keys   []string
	Values []string
}

// String is "key=value,key=value".
func (p Point) String() string {
	var parts []string
	for i, k := range p.Keys {
		parts = append(parts, k+"="+p.Values[i])
	}
	return strings.Join(parts, ",")
}

// Grid expands keys (in order) over their values.
func Grid(keys []string, values map[string][]string) []Point {
	points := []Point{{}}
	for _, k := range keys {
		var next []Point
		for _, p := range points {
			for _, v := range values[k] {
				next = append(next, Point{Keys: append(append([]string{}, p.Keys...), k), Values: append(append([]string{}, p.Values...), v)})
			}
		}
		points = next
	}
	return points
}

// Sweep runs base at every point of the grid of keys over values; see RunPoints.
func Sweep(ctx context.Context, base Config, keys []string, values map[string][]string, out string, log io.Writer) ([]MetricsRow, error) {
	return RunPoints(ctx, base, Grid(keys, values), out, log)
}

// RunPoints runs base with each point's settings (each in out/point-NNN,
// experiment id "<name>/<point>") and writes the combined
// out/sweep_metrics.parquet and out/sweep_scores.parquet. Every point's
// config is validated before the first runs. The points share out/stages,
// so what does not depend on a point's keys (data, split, reference, and
// the fine-tuning when only attack keys differ) runs once. RunPoints runs
// the points one after another in this process; package sweep runs the
// same plan (PlanSweep) with several worker processes or on Slurm.
func RunPoints(ctx context.Context, base Config, points []Point, out string, log io.Writer) ([]MetricsRow, error) {
	if log == nil {
		log = io.Discard
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	plan, err := PlanSweep(base, points, out)
	if err != nil {
		return nil, err
	}
	for i := range plan.Points {
		fmt.Fprintf(log, "privlm: sweep point %d/%d: %s\n", i+1, len(plan.Points), plan.Points[i])
		if err := RunSweepPoint(ctx, out, i, log); err != nil {
			return nil, err
		}
	}
	return CollectSweep(out)
}

// SweepPlanFile is the sweep directory's plan: the base config and points.
const SweepPlanFile = "sweep.json"

// SweepPlan is what a sweep directory runs: Base at every point.
type SweepPlan struct {
	Base   Config  `json:"base"`
	Points []Point `json:"points"`
}

// PointConfig is point i's config (named point-NNN).
func (s SweepPlan) PointConfig(i int) (Config, error) {
	if i < 0 || i >= len(s.Points) {
		return Config{}, fmt.Errorf("experiment: sweep point %d: want 0..%d", i, len(s.Points)-1)
	}
	c := s.Base
	c.Mitigations = append([]string(nil), s.Base.Mitigations...)
	c.Attacks = append([]string(nil), s.Base.Attacks...)
	p := s.Points[i]
	for j, k := range p.Keys {
		if err := c.Set(k, p.Values[j]); err != nil {
			return Config{}, fmt.Errorf("sweep point %s: %w", p, err)
		}
	}
	c.Name = PointName(i)
	return c, nil
}

// PointName is point i's folder and run name, point-NNN.
func PointName(i int) string { return fmt.Sprintf("point-%03d", i) }

// PlanSweep validates every point's config and writes dir/sweep.json. A
// directory already holding a different plan is refused (its stages and
// points belong to that plan).
func PlanSweep(base Config, points []Point, dir string) (SweepPlan, error) {
	plan := SweepPlan{Base: base, Points: points}
	for i := range points {
		c, err := plan.PointConfig(i)
		if err != nil {
			return SweepPlan{}, err
		}
		if _, err := Validate(c); err != nil {
			return SweepPlan{}, fmt.Errorf("sweep point %s: %w", points[i], err)
		}
	}
	b, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return SweepPlan{}, err
	}
	path := filepath.Join(dir, SweepPlanFile)
	if old, err := os.ReadFile(path); err == nil {
		if !bytes.Equal(bytes.TrimSpace(old), bytes.TrimSpace(b)) {
			return SweepPlan{}, fmt.Errorf("experiment: %s holds another sweep (its base config or points differ); choose another --out", path)
		}
		return plan, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return SweepPlan{}, err
	}
	return plan, data.WriteBytes(path, append(b, '\n'))
}

// LoadSweep reads dir/sweep.json.
func LoadSweep(dir string) (SweepPlan, error) {
	var plan SweepPlan
	path := filepath.Join(dir, SweepPlanFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return plan, fmt.Errorf("experiment: %s: not a sweep directory: %w", dir, err)
	}
	if err := json.Unmarshal(b, &plan); err != nil {
		return plan, fmt.Errorf("experiment: %s: %w", path, err)
	}
	if len(plan.Points) == 0 {
		return plan, fmt.Errorf("experiment: %s: no points", path)
	}
	return plan, nil
}

// RunSweepShared runs, for every point of the sweep in dir, the stages the
// points share (data, split, reference) into dir/stages: what a scheduler
// runs once before the points. Points with equal keys share a stage, so
// each distinct stage runs once; points differing only in what no shared
// stage reads (the attacks, attack.samples, attack.checkpoints,
// mitigations, bootstrap) are not even validated again.
func RunSweepShared(ctx context.Context, dir string, log io.Writer) error {
	plan, err := LoadSweep(dir)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := range plan.Points {
		c, err := plan.PointConfig(i)
		if err != nil {
			return err
		}
		k := c
		k.Name, k.Attacks, k.Mitigations, k.Bootstrap, k.Attack.Samples, k.Attack.Checkpoints = "", nil, nil, 0, 0, ""
		b, err := json.Marshal(k)
		if err != nil {
			return err
		}
		if seen[string(b)] {
			continue
		}
		seen[string(b)] = true
		if err := runShared(ctx, c, filepath.Join(dir, "stages"), log); err != nil {
			return fmt.Errorf("sweep point %s: shared stages: %w", plan.Points[i], err)
		}
	}
	return nil
}

// RunSweepPoint runs point i of the sweep in dir into dir/point-NNN,
// holding that folder's run lock, and marks it done (point-NNN/.done,
// written last). A done point is not run again.
func RunSweepPoint(ctx context.Context, dir string, i int, log io.Writer) error {
	plan, err := LoadSweep(dir)
	if err != nil {
		return err
	}
	c, err := plan.PointConfig(i)
	if err != nil {
		return err
	}
	out := filepath.Join(dir, c.Name)
	if stageDone(out) {
		fmt.Fprintf(log, "privlm: sweep point %s (%s) already done\n", c.Name, plan.Points[i])
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	unlock, err := lockDir(out)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := run(ctx, c, out, filepath.Join(dir, "stages"), log); err != nil {
		return fmt.Errorf("sweep point %s (%s): %w", c.Name, plan.Points[i], err)
	}
	return writeDone(out)
}

// SweepPointDone says whether point i of the sweep in dir has finished.
func SweepPointDone(dir string, i int) bool { return stageDone(filepath.Join(dir, PointName(i))) }

// CollectSweep merges the finished points' metrics and scores into
// dir/sweep_metrics.parquet and dir/sweep_scores.parquet (point order,
// experiment id "<name>/<point>"). Every point must be done; the error
// names those that are not.
func CollectSweep(dir string) ([]MetricsRow, error) {
	plan, err := LoadSweep(dir)
	if err != nil {
		return nil, err
	}
	var missing []string
	for i, p := range plan.Points {
		if !SweepPointDone(dir, i) {
			missing = append(missing, PointName(i)+" ("+p.String()+")")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("experiment: sweep %s: %d of %d points not done: %s", dir, len(missing), len(plan.Points), strings.Join(missing, ", "))
	}
	var all []MetricsRow
	var scores []ScoreRow
	for i, p := range plan.Points {
		id := plan.Base.Name + "/" + p.String()
		out := filepath.Join(dir, PointName(i))
		rows, err := data.ReadParquet[MetricsRow](filepath.Join(out, "metrics.parquet"))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			r.ExperimentID = id
			all = append(all, r)
		}
		sc, err := data.ReadParquet[ScoreRow](filepath.Join(out, "scores.parquet"))
		if err != nil {
			return nil, err
		}
		for _, r := range sc {
			r.ExperimentID = id
			scores = append(scores, r)
		}
	}
	if err := data.WriteParquet(filepath.Join(dir, "sweep_scores.parquet"), scores); err != nil {
		return nil, err
	}
	return all, data.WriteParquet(filepath.Join(dir, "sweep_metrics.parquet"), all)
}

// PointValue is the value of key in a sweep experiment id
// ("<name>/key=value,key=value"), as a number when it is one (else NaN).
func PointValue(experimentID, key string) float64 {
	_, point, _ := strings.Cut(experimentID, "/")
	for _, kv := range strings.Split(point, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return math.NaN()
}

// LockDir holds the exclusive run lock on dir (as Run holds it on --out)
// until unlock is called; a second holder fails at once with an error
// naming the first one's pid. Executors hold it on the sweep directory.
func LockDir(dir string) (unlock func(), err error) { return lockDir(dir) }

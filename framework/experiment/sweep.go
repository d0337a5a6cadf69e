package experiment

import (
	"context"
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
// the fine-tuning when only attack keys differ) runs once.
func RunPoints(ctx context.Context, base Config, points []Point, out string, log io.Writer) ([]MetricsRow, error) {
	if log == nil {
		log = io.Discard
	}
	cfgs := make([]Config, len(points))
	for i, p := range points {
		c := base
		c.Mitigations = append([]string(nil), base.Mitigations...)
		c.Attacks = append([]string(nil), base.Attacks...)
		for j, k := range p.Keys {
			if err := c.Set(k, p.Values[j]); err != nil {
				return nil, fmt.Errorf("sweep point %s: %w", p, err)
			}
		}
		cfgs[i] = c
		probe := c
		probe.Name = "probe"
		if _, err := Validate(probe); err != nil {
			return nil, fmt.Errorf("sweep point %s: %w", p, err)
		}
	}
	// The points' runs and the sweep's results are written under one hold
	// of --out's lock.
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var all []MetricsRow
	var scores []ScoreRow
	for i, c := range cfgs {
		fmt.Fprintf(log, "privlm: sweep point %d/%d: %s\n", i+1, len(cfgs), points[i])
		id := base.Name + "/" + points[i].String()
		c.Name = fmt.Sprintf("point-%03d", i)
		res, err := run(ctx, c, filepath.Join(out, c.Name), filepath.Join(out, "stages"), log)
		if err != nil {
			return nil, fmt.Errorf("sweep point %s: %w", points[i], err)
		}
		for _, r := range res.Metrics {
			r.ExperimentID = id
			all = append(all, r)
		}
		sc, err := data.ReadParquet[ScoreRow](filepath.Join(res.OutDir, "scores.parquet"))
		if err != nil {
			return nil, err
		}
		for _, r := range sc {
			r.ExperimentID = id
			scores = append(scores, r)
		}
	}
	if err := data.WriteParquet(filepath.Join(out, "sweep_scores.parquet"), scores); err != nil {
		return nil, err
	}
	return all, data.WriteParquet(filepath.Join(out, "sweep_metrics.parquet"), all)
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

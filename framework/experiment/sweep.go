package experiment

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
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

// Sweep runs base at every grid point (each in out/point-NNN, experiment id
// "<name>/<point>") and writes one combined out/sweep_metrics.parquet. Every
// point's config is validated before the first runs.
func Sweep(ctx context.Context, base Config, keys []string, values map[string][]string, out string, log io.Writer) ([]MetricsRow, error) {
	if log == nil {
		log = io.Discard
	}
	points := Grid(keys, values)
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
		c.Name = base.Name + "/" + p.String()
		cfgs[i] = c
		probe := c
		probe.Name = "probe"
		if _, err := Validate(probe); err != nil {
			return nil, fmt.Errorf("sweep point %s: %w", p, err)
		}
	}
	var all []MetricsRow
	for i, c := range cfgs {
		fmt.Fprintf(log, "privlm: sweep point %d/%d: %s\n", i+1, len(cfgs), points[i])
		name := c.Name
		c.Name = fmt.Sprintf("point-%03d", i)
		res, err := Run(ctx, c, filepath.Join(out, c.Name), log)
		if err != nil {
			return nil, fmt.Errorf("sweep point %s: %w", points[i], err)
		}
		for _, r := range res.Metrics {
			r.ExperimentID = name
			all = append(all, r)
		}
	}
	return all, data.WriteParquet(filepath.Join(out, "sweep_metrics.parquet"), all)
}

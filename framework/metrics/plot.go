package metrics

import (
	"bytes"
	"fmt"
	"image/color"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Curve is a labelled ROC curve.
type Curve struct {
	Label  string
	Points []ROCPoint
}

// ROCPlot draws ROC curves (linear axes with the chance diagonal, as the
// paper's figures) and returns the image in format "svg" or "png".
//
// WithDPRegion adds the boundary of what a DP guarantee allows.
func ROCPlot(title string, curves []Curve, format string, opts ...PlotOption) ([]byte, error) {
	var o plotOptions
	for _, opt := range opts {
		opt(&o)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "false positive rate"
	p.Y.Label.Text = "true positive rate"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	chance, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	chance.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	chance.Color = color.Gray{Y: 150}
	p.Add(chance)
	for i, c := range curves {
		xy := make(plotter.XYs, len(c.Points))
		for j, pt := range c.Points {
			xy[j].X, xy[j].Y = pt.FPR, pt.TPR
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(c.Label, l)
	}
	if o.dp != nil {
		if err := addDPRegion(p, *o.dp); err != nil {
			return nil, err
		}
	}
	p.Legend.Left, p.Legend.Top = false, false
	p.Legend.YOffs = vg.Points(12)
	return render(p, format)
}

// ROCLogLogPlot draws ROC curves on log-log axes, the convention since
// LiRA (Carlini et al. 2022) for reading attacks at low FPR. A log axis
// cannot show 0: rates below the floor (half the smallest positive rate of
// any curve, at least 1e-5) are drawn at the floor, which the axes start at.
func ROCLogLogPlot(title string, curves []Curve, format string) ([]byte, error) {
	floor := 1.0
	for _, c := range curves {
		for _, pt := range c.Points {
			for _, v := range []float64{pt.FPR, pt.TPR} {
				if v > 0 {
					floor = min(floor, v/2)
				}
			}
		}
	}
	floor = max(floor, 1e-5)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "false positive rate (log)"
	p.Y.Label.Text = "true positive rate (log)"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = floor, 1, floor, 1
	chance, _ := plotter.NewLine(plotter.XYs{{X: floor, Y: floor}, {X: 1, Y: 1}})
	chance.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	chance.Color = color.Gray{Y: 150}
	p.Add(chance)
	for i, c := range curves {
		xy := make(plotter.XYs, len(c.Points))
		for j, pt := range c.Points {
			xy[j].X, xy[j].Y = max(pt.FPR, floor), max(pt.TPR, floor)
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(c.Label, l)
	}
	p.Legend.Left, p.Legend.Top = false, false
	p.Legend.YOffs = vg.Points(12)
	return render(p, format)
}

// HistogramPlot draws the score distributions of members and non-members.
func HistogramPlot(title string, scores []float64, member []bool, format string) ([]byte, error) {
	var in, out plotter.Values
	for i, s := range scores {
		if member[i] {
			in = append(in, s)
		} else {
			out = append(out, s)
		}
	}
	if len(in) == 0 || len(out) == 0 {
		return nil, fmt.Errorf("metrics: histogram needs members and non-members")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "attack score"
	p.Y.Label.Text = "users"
	for i, v := range []struct {
		label string
		vals  plotter.Values
	}{{"held in (members)", in}, {"held out", out}} {
		h, err := plotter.NewHist(v.vals, 20)
		if err != nil {
			return nil, err
		}
		c := plotutil.Color(i)
		r, g, b, _ := c.RGBA()
		h.FillColor = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 110}
		h.LineStyle.Color = c
		p.Add(h)
		p.Legend.Add(v.label, h)
	}
	return render(p, format)
}

func render(p *plot.Plot, format string) ([]byte, error) {
	w, err := p.WriterTo(5*vg.Inch, 4*vg.Inch, strings.ToLower(format))
	if err != nil {
		return nil, fmt.Errorf("metrics: plot format %q: %w", format, err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SortedCurves orders curves by label for stable legends.
func SortedCurves(m map[string][]ROCPoint) []Curve {
	var out []Curve
	for k, v := range m {
		out = append(out, Curve{Label: k, Points: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// Series is a labelled line of (X[i], Y[i]) points.
type Series struct {
	Label string
	X, Y  []float64
}

// Axes names a line plot's axes; LogX draws X on a log scale, LegendLeft
// puts the legend in the top left corner (default: top right).
type Axes struct {
	Title, X, Y      string
	LogX, LegendLeft bool
}

// LinePlot draws series as lines through their points in order of X, with
// markers (AUROC against attacker samples, epsilon against steps, ...), and
// returns the image in format "svg" or "png". Series must have as many X as
// Y values.
func LinePlot(axes Axes, series []Series, format string) ([]byte, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = axes.Title, axes.X, axes.Y
	if axes.LogX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	for i, s := range series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("metrics: series %q has %d x and %d y values", s.Label, len(s.X), len(s.Y))
		}
		xy := make(plotter.XYs, len(s.X))
		for j := range s.X {
			if axes.LogX && !(s.X[j] > 0) {
				return nil, fmt.Errorf("metrics: series %q: x = %v on a log axis", s.Label, s.X[j])
			}
			xy[j].X, xy[j].Y = s.X[j], s.Y[j]
		}
		sort.SliceStable(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, fmt.Errorf("metrics: series %q: %w", s.Label, err)
		}
		l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
		l.Width = vg.Points(1.5)
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		if s.Label != "" {
			p.Legend.Add(s.Label, l, pts)
		}
	}
	p.Legend.Top, p.Legend.Left = true, axes.LegendLeft
	p.Add(plotter.NewGrid())
	return render(p, format)
}

// SeriesOf turns table rows into one Series per label (in order of first
// appearance), with the points in row order: e.g. AUROC against attacker
// samples, one line per attack.
func SeriesOf[R any](rows []R, label func(R) string, x, y func(R) float64) []Series {
	var out []Series
	index := map[string]int{}
	for _, r := range rows {
		l := label(r)
		i, ok := index[l]
		if !ok {
			i = len(out)
			index[l] = i
			out = append(out, Series{Label: l})
		}
		out[i].X = append(out[i].X, x(r))
		out[i].Y = append(out[i].Y, y(r))
	}
	return out
}

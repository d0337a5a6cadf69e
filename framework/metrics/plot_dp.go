package metrics

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// DPRegion is what (Epsilon, Delta)-DP allows any membership test on one
// protected unit (Kairouz, Oh, Viswanath 2015): TPR <= e^eps FPR + delta and
// its mirror 1-FPR <= e^eps (1-TPR) + delta. Unit names what is protected
// (user, or window with Epsilon a group bound for a whole user).
type DPRegion struct {
	Epsilon float64 `json:"epsilon"`
	Delta   float64 `json:"delta"`
	Unit    string  `json:"unit"`
}

// MaxTPR is the largest TPR the region allows at fpr.
func (r DPRegion) MaxTPR(fpr float64) float64 {
	e := math.Exp(r.Epsilon) // may be +Inf for a void guarantee
	upper := r.Delta
	if fpr > 0 {
		upper += e * fpr
	}
	return math.Min(1, math.Min(upper, 1-(1-fpr-r.Delta)/e))
}

// Above returns the points of a curve that lie above the region by more
// than tol.
func (r DPRegion) Above(points []ROCPoint, tol float64) []ROCPoint {
	var out []ROCPoint
	for _, p := range points {
		if p.TPR > r.MaxTPR(p.FPR)+tol {
			out = append(out, p)
		}
	}
	return out
}

// PlotOption changes a plot.
type PlotOption func(*plotOptions)

type plotOptions struct{ dp *DPRegion }

// WithDPRegion draws the DP region's boundary on a ROC plot.
func WithDPRegion(r DPRegion) PlotOption { return func(o *plotOptions) { o.dp = &r } }

// addDPRegion draws the upper boundary of the region (finely sampled, near
// 0 too, so it reads on linear and logarithmic axes) and labels it.
func addDPRegion(p *plot.Plot, r DPRegion) error {
	var xy plotter.XYs
	for i := 0; i <= 400; i++ {
		fpr := math.Pow(10, -4+4*float64(i)/400) // 1e-4 .. 1
		xy = append(xy, plotter.XY{X: fpr, Y: r.MaxTPR(fpr)})
	}
	if p.X.Min <= 0 {
		xy = append(plotter.XYs{{X: 0, Y: r.MaxTPR(0)}}, xy...)
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color = color.RGBA{R: 200, G: 30, B: 30, A: 255}
	l.Width = vg.Points(1)
	l.Dashes = []vg.Length{vg.Points(6), vg.Points(2)}
	p.Add(l)
	p.Legend.Add(fmt.Sprintf("(%.3g, %.0e)-DP bound per %s", r.Epsilon, r.Delta, r.Unit), l)
	return nil
}

// Significant returns the points of an empirical curve (from nPos positives
// and nNeg negatives) that lie above the region beyond sampling error: the
// TPR's lower and the FPR's upper exact (Clopper-Pearson) one-sided
// confidence bounds at level alpha (each) still violate it. The region
// bounds the expected ROC of the membership game, so raw points above it
// (Above) are expected with few users: at FPR 0 it allows TPR delta, and one
// member scored first already gives TPR 1/nPos.
func (r DPRegion) Significant(points []ROCPoint, nPos, nNeg int, alpha float64) []ROCPoint {
	if nPos < 1 || nNeg < 1 {
		return nil
	}
	var out []ROCPoint
	for _, p := range points {
		tprLow := ClopperPearsonLower(int(math.Round(p.TPR*float64(nPos))), nPos, alpha)
		fprHigh := ClopperPearsonUpper(int(math.Round(p.FPR*float64(nNeg))), nNeg, alpha)
		if tprLow > r.MaxTPR(fprHigh) {
			out = append(out, p)
		}
	}
	return out
}

// ClopperPearsonLower is the exact one-sided lower confidence bound at level
// alpha for a binomial proportion with k successes in n trials: the alpha
// quantile of Beta(k, n-k+1), 0 when k = 0.
func ClopperPearsonLower(k, n int, alpha float64) float64 {
	if k <= 0 {
		return 0
	}
	if k > n {
		k = n
	}
	return distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(alpha)
}

// ClopperPearsonUpper is the exact one-sided upper confidence bound at level
// alpha: the 1-alpha quantile of Beta(k+1, n-k), 1 when k = n.
func ClopperPearsonUpper(k, n int, alpha float64) float64 {
	if k >= n {
		return 1
	}
	if k < 0 {
		k = 0
	}
	return distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - alpha)
}

package metrics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDPRegion(t *testing.T) {
	r := DPRegion{Epsilon: 1, Delta: 0.01, Unit: "user"}
	// Naive: the largest TPR with TPR <= e FPR + d and 1-FPR <= e (1-TPR) + d, by scanning.
	for _, fpr := range []float64{0, 0.001, 0.05, 0.3, 0.6, 0.95, 1} {
		best := 0.0
		for i := 0; i <= 100000; i++ {
			tpr := float64(i) / 100000
			if tpr <= math.E*fpr+0.01+1e-12 && 1-fpr <= math.E*(1-tpr)+0.01+1e-12 {
				best = tpr
			}
		}
		if got := r.MaxTPR(fpr); math.Abs(got-best) > 2e-5 {
			t.Errorf("MaxTPR(%v) = %v, scan %v", fpr, got, best)
		}
	}
	above := r.Above([]ROCPoint{{FPR: 0.05, TPR: 0.14}, {FPR: 0.05, TPR: 0.2}, {FPR: 0.95, TPR: 0.98}, {FPR: 1, TPR: 1}}, 0)
	if len(above) != 1 || above[0].TPR != 0.2 {
		t.Errorf("above %v, want the (0.05, 0.2) point", above)
	}
}

// TestROCPlotDrawsDPRegion: the plot carries the region's boundary and
// label only when asked.
func TestROCPlotDrawsDPRegion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var sc []float64
	var mem []bool
	for i := range 200 {
		sc, mem = append(sc, rng.Float64()+float64(i%2)*0.2), append(mem, i%2 == 1)
	}
	pts, _ := ROC(sc, mem)
	with, err := ROCPlot("t", []Curve{{"a", pts}}, "svg", WithDPRegion(DPRegion{Epsilon: 0.5, Delta: 1e-6, Unit: "user"}))
	if err != nil {
		t.Fatal(err)
	}
	without, _ := ROCPlot("t", []Curve{{"a", pts}}, "svg")
	if !strings.Contains(string(with), "DP bound per user") || strings.Contains(string(without), "DP bound") {
		t.Error("the DP region's legend is missing from the plot with it, or present without")
	}
}

func TestDPRegionSignificant(t *testing.T) {
	r := DPRegion{Epsilon: 1, Delta: 1e-5, Unit: "user"}
	// One member ranked first of 20/20: above the region, not significantly.
	pts := []ROCPoint{{0, 0, 0}, {0, 0.05, 0}, {1, 1, 0}}
	if len(r.Above(pts, 0)) != 1 || len(r.Significant(pts, 20, 20, 0.025)) != 0 {
		t.Errorf("above %v significant %v", r.Above(pts, 0), r.Significant(pts, 20, 20, 0.025))
	}
	// A perfect attack is flagged already at 20/20 users (TPR >= 0.832,
	// FPR <= 0.168 at 2.5% each; the region allows 0.457 there), and on
	// 1000/1000 of course. (Hoeffding's margins, 0.43 each at 20, could
	// never flag it.)
	pts = []ROCPoint{{0, 0, 0}, {0, 1, 0}, {1, 1, 0}}
	for _, n := range []int{20, 1000} {
		if len(r.Significant(pts, n, n, 0.025)) != 1 {
			t.Errorf("a perfect attack on %d/%d users is not a significant violation", n, n)
		}
	}
	// At epsilon 2 (e^2 * 0.168 > 0.832) 20/20 users cannot show it.
	if got := (DPRegion{Epsilon: 2, Delta: 1e-5}).Significant(pts, 20, 20, 0.025); len(got) != 0 {
		t.Errorf("epsilon 2, 20/20: %v significant", got)
	}
}

// TestClopperPearson against closed forms (k = n: alpha^(1/n); k = 0:
// 1-alpha^(1/n)) and R's binom.test(3, 10, alternative="greater",
// conf.level=0.975) lower bound 0.06673951 / "less" upper 0.65245285.
func TestClopperPearson(t *testing.T) {
	for _, c := range []struct{ got, want float64 }{
		{ClopperPearsonLower(20, 20, 0.025), math.Pow(0.025, 1.0/20)},
		{ClopperPearsonUpper(0, 20, 0.025), 1 - math.Pow(0.025, 1.0/20)},
		{ClopperPearsonLower(3, 10, 0.025), 0.06673951},
		{ClopperPearsonUpper(3, 10, 0.025), 0.65245285},
		{ClopperPearsonLower(0, 10, 0.025), 0},
		{ClopperPearsonUpper(10, 10, 0.025), 1},
	} {
		if math.Abs(c.got-c.want) > 1e-7 {
			t.Errorf("%v, want %v", c.got, c.want)
		}
	}
}

// TestDPRegionVoid: a huge epsilon (a void group bound) allows everything
// but delta at FPR 0, with no NaN reaching the plot.
func TestDPRegionVoid(t *testing.T) {
	r := DPRegion{Epsilon: 8e6, Delta: 1e-5, Unit: "user"}
	if got := r.MaxTPR(0); got != 1e-5 {
		t.Errorf("MaxTPR(0) = %v, want delta", got)
	}
	if got := r.MaxTPR(0.01); got != 1 {
		t.Errorf("MaxTPR(0.01) = %v, want 1", got)
	}
	if _, err := ROCPlot("t", []Curve{{"a", []ROCPoint{{0, 0, 0}, {1, 1, 0}}}}, "svg", WithDPRegion(r)); err != nil {
		t.Error(err)
	}
}

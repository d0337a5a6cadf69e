package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
)

type fixture struct {
	Sklearn string `json:"sklearn"`
	Cases   []struct {
		Name   string    `json:"name"`
		Labels []bool    `json:"labels"`
		Scores []float64 `json:"scores"`
		AUROC  float64   `json:"auroc"`
		FPR    []float64 `json:"fpr"`
		TPR    []float64 `json:"tpr"`
	} `json:"cases"`
}

// TestAgainstScikitLearn: roc_auc_score and roc_curve(drop_intermediate=False)
// outputs of scikit-learn 1.2.1 (testdata/make_sklearn_fixture.py).
func TestAgainstScikitLearn(t *testing.T) {
	b, err := os.ReadFile("testdata/sklearn_fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			auc, err := AUROC(c.Scores, c.Labels)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(auc-c.AUROC) > 1e-12 {
				t.Errorf("AUROC %.15f, scikit-learn %.15f", auc, c.AUROC)
			}
			pts, err := ROC(c.Scores, c.Labels)
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) != len(c.FPR) {
				t.Fatalf("%d ROC points, scikit-learn %d", len(pts), len(c.FPR))
			}
			for i, p := range pts {
				if math.Abs(p.FPR-c.FPR[i]) > 1e-12 || math.Abs(p.TPR-c.TPR[i]) > 1e-12 {
					t.Fatalf("point %d: (%v, %v), scikit-learn (%v, %v)", i, p.FPR, p.TPR, c.FPR[i], c.TPR[i])
				}
			}
		})
	}
}

// mannWhitney counts pairs directly: the definition of AUROC.
func mannWhitney(scores []float64, member []bool) float64 {
	var wins, pairs float64
	for i := range scores {
		for j := range scores {
			if member[i] && !member[j] {
				pairs++
				switch {
				case scores[i] > scores[j]:
					wins++
				case scores[i] == scores[j]:
					wins += 0.5
				}
			}
		}
	}
	return wins / pairs
}

func TestAUROCMatchesPairCount(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		n := 2 + r.IntN(60)
		scores, member := make([]float64, n), make([]bool, n)
		for i := range scores {
			member[i] = i%2 == 0 || r.IntN(3) == 0
			scores[i] = float64(r.IntN(1 + trial%7)) // heavy ties on some trials
			if trial%2 == 0 {
				scores[i] = r.NormFloat64()
			}
		}
		member[1] = false
		got, err := AUROC(scores, member)
		if err != nil {
			t.Fatal(err)
		}
		if want := mannWhitney(scores, member); math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: AUROC %v, pair count %v", trial, got, want)
		}
	}
}

func TestSummarize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var scores []float64
	var member []bool
	for i := range 400 {
		m := i%2 == 0
		s := r.NormFloat64()
		if m {
			s += 1
		}
		scores, member = append(scores, s), append(member, m)
	}
	s, err := Summarize(scores, member, 500, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !(s.AUROCLo < s.AUROC && s.AUROC < s.AUROCHi) || s.AUROCHi-s.AUROCLo > 0.15 {
		t.Errorf("CI [%v, %v] around %v", s.AUROCLo, s.AUROCHi, s.AUROC)
	}
	if s2, _ := Summarize(scores, member, 500, 1); !reflect.DeepEqual(s2, s) {
		t.Error("the same seed gave another bootstrap")
	}
	// 200 non-members: TPR at 1% and 5% FPR, none at 0.1%.
	if s.NNonMembers != 200 || s.NMembers != 200 || s.TPRAt01FPR != nil || s.TPRAt1FPR == nil || s.TPRAt5FPR == nil {
		t.Fatalf("support: %+v", s)
	}
	if !(*s.TPRAt1FPR <= *s.TPRAt5FPR && *s.TPRAt5FPR < 1) {
		t.Errorf("TPRs %v %v not increasing", *s.TPRAt1FPR, *s.TPRAt5FPR)
	}
	// Perfect separation: AUROC 1, CI [1, 1].
	perfect, _ := Summarize([]float64{0, 1, 2, 3}, []bool{false, false, true, true}, 100, 1)
	if perfect.AUROC != 1 || perfect.AUROCLo != 1 {
		t.Errorf("perfect %+v", perfect)
	}
	if _, err := Summarize([]float64{1, 2}, []bool{true, true}, 10, 1); err == nil {
		t.Error("one class accepted")
	}
	if _, err := AUROC([]float64{math.NaN(), 1}, []bool{true, false}); err == nil {
		t.Error("NaN accepted")
	}
}

func TestPlots(t *testing.T) {
	scores := []float64{0.1, 0.4, 0.35, 0.8, 0.7, 0.2}
	member := []bool{false, false, true, true, true, false}
	pts, _ := ROC(scores, member)
	for _, format := range []string{"svg", "png"} {
		img, err := ROCPlot("ROC", []Curve{{"loss", pts}}, format)
		if err != nil || len(img) < 100 {
			t.Fatalf("%s ROC plot: %d bytes, %v", format, len(img), err)
		}
		img, err = ROCLogLogPlot("ROC", []Curve{{"loss", pts}}, format)
		if err != nil || len(img) < 100 {
			t.Fatalf("%s log-log ROC plot: %d bytes, %v", format, len(img), err)
		}
		if format == "svg" && !bytes.Contains(img, []byte("<svg")) {
			t.Errorf("not an SVG")
		}
		if _, err := HistogramPlot("scores", scores, member, format); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ROCPlot("x", nil, "bmp"); err == nil {
		t.Error("bmp accepted")
	}
}

func TestLinePlotAndSeriesOf(t *testing.T) {
	type row struct {
		attack string
		m, auc float64
	}
	rows := []row{{"ui", 1, 0.6}, {"loss", 1, 0.55}, {"ui", 2, 0.7}, {"loss", 2, 0.56}}
	series := SeriesOf(rows, func(r row) string { return r.attack }, func(r row) float64 { return r.m }, func(r row) float64 { return r.auc })
	want := []Series{{"ui", []float64{1, 2}, []float64{0.6, 0.7}}, {"loss", []float64{1, 2}, []float64{0.55, 0.56}}}
	if !reflect.DeepEqual(series, want) {
		t.Fatalf("SeriesOf = %+v, want %+v", series, want)
	}
	for _, format := range []string{"png", "svg"} {
		img, err := LinePlot(Axes{Title: "t", X: "m", Y: "AUROC", LogX: true}, series, format)
		if err != nil || len(img) < 100 {
			t.Fatalf("%s: %d bytes, %v", format, len(img), err)
		}
	}
	if _, err := LinePlot(Axes{}, []Series{{"bad", []float64{1}, nil}}, "png"); err == nil {
		t.Error("a series with unequal x and y plotted")
	}
	if _, err := LinePlot(Axes{LogX: true}, []Series{{"zero", []float64{0}, []float64{1}}}, "png"); err == nil {
		t.Error("x = 0 plotted on a log axis")
	}
}

// TestTPRNeedsSupport: TPR at FPR f is reported only with at least
// ceil(1/f) non-members; at 19 non-members TPR at 0.1%, 1% and 5% FPR are
// all n/a (they would all be TPR at FPR 0), at 20 the 5% one exists.
func TestTPRNeedsSupport(t *testing.T) {
	for _, tc := range []struct {
		fpr  float64
		want int
	}{{0.001, 1000}, {0.01, 100}, {0.05, 20}, {0.1, 10}, {0.5, 2}, {1, 1}} {
		if got := MinNonMembers(tc.fpr); got != tc.want {
			t.Errorf("MinNonMembers(%v) = %d, want %d", tc.fpr, got, tc.want)
		}
	}
	scoresWith := func(nNeg int) ([]float64, []bool) {
		var sc []float64
		var mem []bool
		for i := range nNeg {
			sc, mem = append(sc, float64(i)), append(mem, false)
		}
		for i := range 30 {
			sc, mem = append(sc, float64(i)+5.5), append(mem, true)
		}
		return sc, mem
	}
	for _, tc := range []struct {
		nNeg              int
		has01, has1, has5 bool
	}{{19, false, false, false}, {20, false, false, true}, {99, false, false, true}, {100, false, true, true}, {1000, true, true, true}} {
		sc, mem := scoresWith(tc.nNeg)
		s, err := Summarize(sc, mem, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if (s.TPRAt01FPR != nil) != tc.has01 || (s.TPRAt1FPR != nil) != tc.has1 || (s.TPRAt5FPR != nil) != tc.has5 {
			t.Errorf("%d non-members: TPR at 0.1%%/1%%/5%% present %v/%v/%v, want %v/%v/%v", tc.nNeg,
				s.TPRAt01FPR != nil, s.TPRAt1FPR != nil, s.TPRAt5FPR != nil, tc.has01, tc.has1, tc.has5)
		}
		if s.NNonMembers != tc.nNeg || s.NMembers != 30 {
			t.Errorf("%d non-members: support %d/%d", tc.nNeg, s.NMembers, s.NNonMembers)
		}
		pts, _ := ROC(sc, mem)
		if s.TPRAt5FPR != nil && *s.TPRAt5FPR != TPRAtFPR(pts, 0.05) {
			t.Errorf("%d non-members: TPR at 5%% FPR %v, want %v", tc.nNeg, *s.TPRAt5FPR, TPRAtFPR(pts, 0.05))
		}
	}
}

// TestPool: mean and sample std of the runs' AUROCs (checked by hand), and
// an interval that covers the spread between seeds (runs disagreeing
// widely give a wide interval, beyond either run's own bootstrap interval)
// and the spread between users (identical runs still give a user-level
// interval, close to Summarize's).
func TestPool(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	run := func(shift float64, n int) Labelled {
		var l Labelled
		for i := range n {
			m := i%2 == 0
			s := r.NormFloat64()
			if m {
				s += shift
			}
			l.Users, l.Scores, l.Member = append(l.Users, fmt.Sprint("u", i)), append(l.Scores, s), append(l.Member, m)
		}
		return l
	}
	low, high := run(0, 200), run(2, 200)
	p, err := Pool([]Labelled{low, high}, 2000, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := AUROC(low.Scores, low.Member)
	b, _ := AUROC(high.Scores, high.Member)
	if math.Abs(p.MeanAUROC-(a+b)/2) > 1e-12 || math.Abs(p.StdAUROC-math.Abs(a-b)/math.Sqrt2) > 1e-12 {
		t.Errorf("mean %v std %v, want %v and %v", p.MeanAUROC, p.StdAUROC, (a+b)/2, math.Abs(a-b)/math.Sqrt2)
	}
	sa, _ := Summarize(low.Scores, low.Member, 2000, 1)
	sb, _ := Summarize(high.Scores, high.Member, 2000, 1)
	if !(p.AUROCLo < sa.AUROCHi && p.AUROCHi > sb.AUROCLo && p.AUROCLo <= a+0.01 && p.AUROCHi >= b-0.01) {
		t.Errorf("pooled interval [%v, %v] does not cover the seeds' AUROCs %v and %v", p.AUROCLo, p.AUROCHi, a, b)
	}
	// Identical runs: no seed spread, the users' spread remains (as wide as
	// one run's bootstrap: averaging over seeds that share users does not
	// narrow it).
	same, _ := Pool([]Labelled{low, low, low}, 2000, 1)
	if same.StdAUROC != 0 || !(same.AUROCLo < a && a < same.AUROCHi) {
		t.Errorf("identical runs: std %v, interval [%v, %v] around %v", same.StdAUROC, same.AUROCLo, same.AUROCHi, a)
	}
	if w, ws := same.AUROCHi-same.AUROCLo, sa.AUROCHi-sa.AUROCLo; w < 0.8*ws || w > 1.25*ws {
		t.Errorf("identical runs: pooled width %v, one run's bootstrap width %v", w, ws)
	}
	if _, err := Pool([]Labelled{low}, 10, 1); err == nil {
		t.Error("one run pooled")
	}
}

// TestPoolTInterval: with two runs far apart, resampling the runs sees
// only their three combinations; the t interval over the runs' AUROCs
// (t_{1,0.975} = 12.706, published tables) is wider and is reported.
// Identical runs have a zero-width t interval: the bootstrap is reported.
func TestPoolTInterval(t *testing.T) {
	run := func(shift float64) Labelled {
		r := rand.New(rand.NewPCG(3, 3))
		var l Labelled
		for i := range 400 {
			m := i%2 == 0
			s := r.NormFloat64()
			if m {
				s += shift
			}
			l.Users, l.Scores, l.Member = append(l.Users, fmt.Sprint("u", i)), append(l.Scores, s), append(l.Member, m)
		}
		return l
	}
	low, high := run(0.3), run(0.6)
	p, err := Pool([]Labelled{low, high}, 500, 1)
	if err != nil {
		t.Fatal(err)
	}
	half := 12.706 * p.StdAUROC / math.Sqrt2
	if p.Interval != "t" || math.Abs(p.AUROCLo-max(0, p.MeanAUROC-half)) > 1e-3 || math.Abs(p.AUROCHi-min(1, p.MeanAUROC+half)) > 1e-3 {
		t.Errorf("interval %s [%v, %v], want t: %v ± %v (bootstrap [%v, %v])", p.Interval, p.AUROCLo, p.AUROCHi, p.MeanAUROC, half, p.BootLo, p.BootHi)
	}
	if p.THi-p.TLo <= p.BootHi-p.BootLo || p.AUROCHi-p.AUROCLo < p.BootHi-p.BootLo {
		t.Errorf("t [%v, %v] not wider than bootstrap [%v, %v]", p.TLo, p.THi, p.BootLo, p.BootHi)
	}
	// Three runs: t_{2,0.975} = 4.303.
	mid := run(0.45)
	p3, _ := Pool([]Labelled{low, mid, high}, 0, 1)
	if h := 4.303 * p3.StdAUROC / math.Sqrt(3); math.Abs(p3.THi-p3.TLo-2*h) > 2e-3 {
		t.Errorf("3 runs: t interval [%v, %v], want half-width %v", p3.TLo, p3.THi, h)
	}
	same, _ := Pool([]Labelled{low, low}, 500, 1)
	if same.Interval != "bootstrap" || same.AUROCLo != same.BootLo || same.AUROCLo == same.AUROCHi {
		t.Errorf("identical runs: %s [%v, %v]", same.Interval, same.AUROCLo, same.AUROCHi)
	}
}

package train

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/privacy"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
)

func tinyModel(t *testing.T) (*lm.Model, tokenizer.Tokenizer) {
	t.Helper()
	m, err := lm.New(lm.Tiny, backend.MustNew(""), 3)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// shortRecords are n one-window documents (user u%users), labelled a or b.
func shortRecords(n, users int) []data.Record {
	recs := make([]data.Record, n)
	for i := range recs {
		recs[i] = data.Record{UserID: fmt.Sprintf("u%d", i%users), DocID: fmt.Sprintf("d%d", i), Text: fmt.Sprintf("the cat %d sat", i), Label: []string{"a", "b"}[i%2]}
	}
	return recs
}

// TestLMAndClassifierCalibrateAlike: the same (q, steps, epsilon, delta,
// accountant, search) gives the same sigma in an LM run and in a GLUE-style
// classifier run, with either search. Both run the same 2 steps (without
// cfg.Steps their epoch rules differ: README, GLUE section).
func TestLMAndClassifierCalibrateAlike(t *testing.T) {
	recs := shortRecords(64, 64)
	for _, search := range []string{SearchBisection, SearchEWTune} {
		t.Run(search, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Steps, cfg.BatchSize, cfg.SeqLen, cfg.EvalEvery = 2, 8, 16, 0
			cfg.DP, cfg.TargetEpsilon, cfg.Accountant, cfg.NoiseSearch = "example", 8, "edgeworth", search
			m, tok := tinyModel(t)
			lmRes, err := Run(m, tok, recs, recs[:8], cfg, Options{OutputDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if lmRes.Privacy.SampleRate != 8.0/64 {
				t.Fatalf("LM run q = %v, want 1/8 (one window per document)", lmRes.Privacy.SampleRate)
			}
			base, tok := tinyModel(t)
			cm, _ := base.WithClassifier(2, 1)
			clsRes, err := RunClassifier(cm, tok, recs, recs[:8], []string{"a", "b"}, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			acc, _ := privacy.Parse("edgeworth")
			want, _, err := privacy.Sigma(acc, privacy.Search(search), 8, cfg.Delta, 8.0/64, 2)
			if err != nil {
				t.Fatal(err)
			}
			if lmRes.Steps != 2 || clsRes.Steps != 2 || lmRes.Privacy.Steps != 2 || clsRes.Privacy.Steps != 2 {
				t.Fatalf("steps: LM %d (accounted %d), classifier %d (accounted %d); want 2", lmRes.Steps, lmRes.Privacy.Steps, clsRes.Steps, clsRes.Privacy.Steps)
			}
			if lmRes.Privacy.Sigma != want || clsRes.Sigma != want {
				t.Errorf("sigma: LM %v, classifier %v, privacy.Sigma(%s) %v", lmRes.Privacy.Sigma, clsRes.Sigma, search, want)
			}
			for _, rep := range []*PrivacyReport{lmRes.Privacy, clsRes.Privacy} {
				if rep.Search != search || rep.Accountant != "edgeworth" {
					t.Errorf("report says search %q accountant %q, want %q edgeworth", rep.Search, rep.Accountant, search)
				}
			}
		})
	}
}

// TestPrivacyReportNamesTheUnit: a dp=example LM run logs the calibrating
// accountant's epsilon (not rdp's) with pld's beside it, names the window as
// its unit, and reports windows per document and user with group bounds.
func TestPrivacyReportNamesTheUnit(t *testing.T) {
	// 12 users x 4 documents; documents of 1 to 3 windows of 16 tokens.
	var recs []data.Record
	for u := range 12 {
		for d := range 4 {
			text := strings.Repeat(fmt.Sprintf("the cat %d sat on mat %d. ", u, d), 1+d%3*3)
			recs = append(recs, data.Record{UserID: fmt.Sprintf("u%d", u), DocID: fmt.Sprintf("u%d-d%d", u, d), Text: text})
		}
	}
	cfg := DefaultConfig()
	cfg.Steps, cfg.BatchSize, cfg.SeqLen, cfg.EvalEvery = 3, 8, 16, 0
	cfg.DP, cfg.TargetEpsilon, cfg.Accountant = "example", 4, "prv"
	m, tok := tinyModel(t)
	dir := t.TempDir()
	res, err := Run(m, tok, recs, recs[:4], cfg, Options{OutputDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Privacy
	perDoc, perUser := windowCounts(toExamples(tok, recs, 16))
	if rep.Unit != UnitWindow || !strings.Contains(rep.UnitNote, "16-token window") {
		t.Errorf("unit %q (%q), want window", rep.Unit, rep.UnitNote)
	}
	if d, u := spreadOf(perDoc), spreadOf(perUser); rep.WindowsPerDocument == nil || *rep.WindowsPerDocument != d || *rep.WindowsPerUser != u || d.Max < 2 {
		t.Errorf("windows per document %+v per user %+v, want %+v %+v (max > 1)", rep.WindowsPerDocument, rep.WindowsPerUser, d, u)
	}
	if len(rep.Groups) != 6 {
		t.Fatalf("groups %+v, want median/p90/max for document and user", rep.Groups)
	}
	for _, g := range rep.Groups {
		if !(g.Eps() > rep.PLDEpsilon) && g.K > 1 {
			t.Errorf("group %+v: epsilon not above the window's %v", g, rep.PLDEpsilon)
		}
	}
	if !(rep.UserEpsilon() > rep.PLDEpsilon) {
		t.Errorf("user epsilon %v, window %v", rep.UserEpsilon(), rep.PLDEpsilon)
	}
	// The log's epsilon is the calibrating accountant's, pld beside it.
	log, err := ReadLog(filepath.Join(dir, "training_log.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	last := log[len(log)-1]
	h := privacy.Single(rep.Sigma, rep.SampleRate, cfg.Steps)
	ew, _ := privacy.NewPRV(privacy.PRVOptions{}).Epsilon(h, cfg.Delta)
	pld, _ := privacy.NewPLD(privacy.PLDOptions{}).Epsilon(h, cfg.Delta)
	if last.Epsilon != ew || last.Epsilon != rep.AccountantEpsilon || last.EpsilonPLD != pld || rep.PLDEpsilon != pld {
		t.Errorf("log epsilon %v pld %v; prv %v (report %v), pld %v (report %v)", last.Epsilon, last.EpsilonPLD, ew, rep.AccountantEpsilon, pld, rep.PLDEpsilon)
	}
}

// TestGroupEpsilon: k = 1 is the run's own epsilon; with q = 1 a group of k
// is exactly the Gaussian mechanism with k times the sensitivity
// (sigma 10, k 2, 10 steps = sigma 5: epsilon 2.5943834 at 1e-5).
func TestGroupEpsilon(t *testing.T) {
	one, _, err := GroupEpsilon(1.1, 0.01, 500, 1, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	pld, _ := privacy.NewPLD(privacy.PLDOptions{}).Epsilon(privacy.Single(1.1, 0.01, 500), 1e-5)
	if one != pld {
		t.Errorf("k=1: %v, pld %v", one, pld)
	}
	two, _, err := GroupEpsilon(10, 1, 10, 2, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(two-2.5943834) > 2e-3 {
		t.Errorf("q=1, k=2: %v, want 2.5943834", two)
	}
	// Monotone in k, and never below the k=1 epsilon. k = 4 (sigma/k 0.275)
	// and k = 19 (0.058) are below pld's range: rdp bounds them, finite.
	prev := one
	for _, k := range []int{2, 4, 19} {
		e, acc, err := GroupEpsilon(1.1, 0.01, 500, k, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsInf(e, 0) || !(e > prev) {
			t.Errorf("k=%d: %v (%s) not a finite value above %v", k, e, acc, prev)
		}
		prev = e
	}
	// Small groups at the noise of real runs (sigma 0.6-1, 1% sampling,
	// 1000 steps; these were +Inf/null once pld refused sigma/k < 0.3): a
	// finite bound, by rdp equal to the subsampled-Gaussian RDP of the
	// dominating history (a naive minimum over the Opacus orders). The values
	// (sigma 1: 1.83, 24.2, 132, 382 for k = 1..4; sigma 0.6: 7.43, 130) are
	// the README's.
	for _, c := range []struct {
		sigma float64
		k     int
		acc   string
	}{{0.6, 2, "rdp"}, {0.6, 4, "rdp"}, {1, 2, "pld"}, {1, 3, "rdp"}, {1, 4, "rdp"}} {
		e, acc, err := GroupEpsilon(c.sigma, 0.01, 1000, c.k, 1e-5)
		if err != nil || math.IsInf(e, 0) || acc != c.acc {
			t.Errorf("sigma %v, k %d: %v, %s, %v; want finite by %s", c.sigma, c.k, e, acc, err, c.acc)
			continue
		}
		if acc == "rdp" {
			qk := 1 - math.Pow(1-0.01, float64(c.k))
			want := math.Inf(1)
			for _, a := range privacy.OpacusOrders() {
				r := 1000 * privacy.RDPSubsampledGaussian(qk, c.sigma/float64(c.k), a)
				want = math.Min(want, r-(math.Log(1e-5)+math.Log(a))/(a-1)+math.Log((a-1)/a))
			}
			if math.Abs(e-want) > 1e-9*want {
				t.Errorf("sigma %v, k %d: %v, naive rdp %v", c.sigma, c.k, e, want)
			}
		}
	}
}

// TestGroupsAboveHundred: a user of 50 windows at sigma 0.6 has an rdp
// bound above 100; the report gives it as it is, flagged, not null.
func TestGroupsAboveHundred(t *testing.T) {
	r := PrivacyReport{Sigma: 0.6, SampleRate: 0.01, Steps: 1000, Delta: 1e-5}
	if err := r.addGroups([]int{1, 2, 3}, []int{1, 50}); err != nil {
		t.Fatal(err)
	}
	for _, g := range r.Groups {
		if g.Epsilon == nil {
			t.Fatalf("%s %s (k %d): null", g.Group, g.Which, g.K)
		}
		if g.Meaningless != (*g.Epsilon > privacy.MaxEpsilon) {
			t.Errorf("%s %s (k %d): epsilon %v, meaningless %v", g.Group, g.Which, g.K, *g.Epsilon, g.Meaningless)
		}
	}
	if u := r.UserEpsilon(); !(u > privacy.MaxEpsilon) || math.IsInf(u, 0) {
		t.Errorf("user epsilon %v, want a finite value above 100", u)
	}
}

// TestUserLevelEpochsInWindows: for dp=user an epoch is as many windows as
// the data has; the report says how many windows a step saw on average.
func TestUserLevelEpochsInWindows(t *testing.T) {
	recs := shortRecords(60, 10) // 10 users x 6 one-window documents
	cfg := DefaultConfig()
	cfg.Epochs, cfg.BatchSize, cfg.SeqLen, cfg.EvalEvery, cfg.UserRows = 1, 2, 16, 0, 3
	cfg.DP, cfg.Sigma = "user", 1
	m, tok := tinyModel(t)
	res, err := Run(m, tok, recs, recs[:4], cfg, Options{OutputDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// 2 users x min(6, 3) windows = 6 windows a step: 60 windows = 10 steps.
	if res.Privacy.WindowsPerStep != 6 || res.Steps != 10 || res.Privacy.Unit != UnitUser {
		t.Errorf("windows per step %v, steps %d, unit %q; want 6, 10, user", res.Privacy.WindowsPerStep, res.Steps, res.Privacy.Unit)
	}
}

func TestClassifierSteps(t *testing.T) {
	// EW-Tune: 20 x floor(67349/2000) = 660 (../shared/PAPERS.md section 2).
	if got := ClassifierSteps(20, 67349, 2000); got != 660 {
		t.Errorf("%d, want 660", got)
	}
	if got := ClassifierSteps(1, 10, 32); got != 1 {
		t.Errorf("%d, want 1", got)
	}
}

// TestReportKeepsAccountantsThatRefuse: a run whose noise is outside one
// accountant's accurate range (gdp above epsilon 100, pld and gdp below
// sigma 0.3) still gets its report, naming the accountants that refused,
// with the RDP upper bound standing in for pld where pld refused.
func TestReportKeepsAccountantsThatRefuse(t *testing.T) {
	for _, tc := range []struct {
		sigma        float64
		refused      []string
		boundAccount string
	}{
		{sigma: 0.3, refused: []string{"gdp"}, boundAccount: "pld"},
		{sigma: 0.25, refused: []string{"pld", "gdp"}, boundAccount: "rdp"},
	} {
		cfg := DefaultConfig()
		cfg.DP, cfg.Sigma, cfg.Delta = "example", tc.sigma, 1e-5
		rep, err := NewPrivacyReport(cfg, Calibration{Sigma: tc.sigma, Accountant: "rdp"}, 16.0/300, 24)
		if err != nil {
			t.Fatalf("sigma %g: %v", tc.sigma, err)
		}
		for _, name := range tc.refused {
			if rep.EpsilonErrors[name] == "" {
				t.Errorf("sigma %g: %s not among the refusals %v", tc.sigma, name, rep.EpsilonErrors)
			}
			if _, ok := rep.Epsilon[name]; ok {
				t.Errorf("sigma %g: %s has an epsilon although it refused", tc.sigma, name)
			}
		}
		if rep.PLDAccountant != tc.boundAccount || !(rep.PLDEpsilon > 0) || math.IsInf(rep.PLDEpsilon, 0) {
			t.Errorf("sigma %g: upper bound %v by %q, want a finite bound by %s", tc.sigma, rep.PLDEpsilon, rep.PLDAccountant, tc.boundAccount)
		}
	}
}

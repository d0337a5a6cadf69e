package train

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
)

func weightsOf(t *testing.T, m *lm.Model) map[string][]float32 {
	t.Helper()
	w, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for n, v := range w {
		out[n] = v.Data
	}
	return out
}

// TestDPWithoutNoiseEqualsAdam: sigma = 0 and a clip bound no gradient
// reaches make DP-Adam the plain Adam step, step for step.
func TestDPWithoutNoiseEqualsAdam(t *testing.T) {
	be := backend.MustNew("")
	plain, _ := lm.New(lm.Tiny, be, 4)
	dp, _ := lm.New(lm.Tiny, be, 4)
	sp, err := NewStep(plain, optimizers.Adam().Done(), "none", "none", 1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := NewStep(dp, optimizers.Adam().Done(), "per-example", "example", 1e9, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	seqs := [][]int{{1, 5, 9, 200, 3}, {1, 44, 45, 46}, {1, 7, 7, 300, 301, 12}, {1, 2}}
	b, _ := lm.MakeBatch(seqs, 4, 8)
	for step := range 3 {
		in := StepInputs{Batch: b, LR: 1e-2, Denominator: 4}
		rp, err := sp.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		in.Sigma = 0
		rd, err := sd.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(rp.Loss-rd.Loss) > 1e-5*math.Abs(rp.Loss) {
			t.Fatalf("step %d: loss %v (plain) vs %v (dp)", step, rp.Loss, rd.Loss)
		}
	}
	wp, wd := weightsOf(t, plain), weightsOf(t, dp)
	for n := range wp {
		var diff, norm float64
		for i := range wp[n] {
			d := float64(wp[n][i] - wd[n][i])
			diff += d * d
			norm += float64(wp[n][i]) * float64(wp[n][i])
		}
		if math.Sqrt(diff) > 1e-5*math.Sqrt(norm) {
			t.Errorf("%s differs after 3 steps: |diff| %g, |w| %g", n, math.Sqrt(diff), math.Sqrt(norm))
		}
	}
}

// TestNoiseStandardDeviation: AddNoise draws N(0, (sigma*C)^2) (fixed seed,
// 200,000 draws: the sample std is within 1% and the mean within 5 s.e.).
func TestNoiseStandardDeviation(t *testing.T) {
	ctx := gctx.New()
	ctx.SetParam(gctx.ParamInitialSeed, int64(42))
	const n, sigma, clip = 200000, 1.3, 0.5
	exec, err := gctx.NewExec(backend.MustNew(""), ctx, func(ctx *gctx.Context, g *Graph) *Node {
		sums := map[string]*Node{"w": Zeros(g, shapes.Make(dtypes.Float32, n))}
		return AddNoise(ctx, sums, Scalar(g, dtypes.Float32, sigma), clip)["w"]
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec()
	if err != nil {
		t.Fatal(err)
	}
	x := tensors.MustCopyFlatData[float32](res[0])
	var mean, sq float64
	for _, v := range x {
		mean += float64(v)
		sq += float64(v) * float64(v)
	}
	mean /= n
	std := math.Sqrt(sq/n - mean*mean)
	if want := sigma * clip; math.Abs(std-want) > 0.01*want || math.Abs(mean) > 5*want/math.Sqrt(n) {
		t.Errorf("noise mean %g std %g, want 0 and %g", mean, std, want)
	}
}

// redditDocs reads n Reddit documents of the shared copy.
func redditDocs(t *testing.T, n int) []data.Record {
	t.Helper()
	f, err := os.Open(shareddata.Path(t, "reddit_college.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, _ := gzip.NewReader(f)
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var out []data.Record
	for sc.Scan() && len(out) < n {
		var r struct{ User, ID, Text string }
		json.Unmarshal(sc.Bytes(), &r)
		if len(r.Text) > 40 {
			out = append(out, data.Record{UserID: r.User, DocID: r.ID, Text: r.Text})
		}
	}
	return out
}

func stories(t *testing.T) (*lm.Model, tokenizer.Tokenizer) {
	t.Helper()
	cfg, w, err := lm.ReadLlama2C(shareddata.Path(t, "models/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := lm.FromWeights(cfg, w, backend.MustNew(""))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// TestFineTuneStoriesOnReddit: fine-tuning stories260K on Reddit text lowers
// the validation loss, keeps the best checkpoint, and a run interrupted in
// the middle resumes to exactly the uninterrupted result (DP, so the noise
// generator's state is part of the check).
func TestFineTuneStoriesOnReddit(t *testing.T) {
	docs := redditDocs(t, 400)
	train, val := docs[:340], docs[340:]
	cfg := DefaultConfig()
	cfg.Steps, cfg.BatchSize, cfg.SeqLen, cfg.EvalEvery, cfg.LearningRate = 12, 8, 32, 4, 3e-3
	cfg.DP, cfg.Sigma, cfg.ClipNorm = "example", 0.5, 1
	run := func(dir string, stopAt int) (Result, error) {
		m, tok := stories(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		return Run(m, tok, train, val, cfg, Options{OutputDir: dir, Context: ctx, Progress: func(p Progress) {
			if p.Step == stopAt {
				cancel()
			}
		}})
	}
	whole, err := run(filepath.Join(t.TempDir(), "whole"), -1)
	if err != nil {
		t.Fatal(err)
	}
	m0, tok := stories(t)
	s0, _ := m0.NewScorer(16)
	before, _ := meanLoss(s0, toExamples(tok, val, 32))
	log, err := ReadLog(whole.Log)
	if err != nil {
		t.Fatal(err)
	}
	best := math.Inf(1)
	for _, r := range log {
		if !math.IsNaN(r.ValLoss) {
			best = math.Min(best, r.ValLoss)
		}
	}
	t.Logf("validation loss %.3f -> best %.3f at step %d; log %d rows; epsilon %.2f (rdp)", before, whole.BestValLoss, whole.BestStep, len(log), whole.Privacy.Epsilon["rdp"])
	if !(whole.BestValLoss < before-0.05) {
		t.Errorf("validation loss did not fall: %.3f -> %.3f", before, whole.BestValLoss)
	}
	if whole.BestValLoss != best || len(log) != cfg.Steps {
		t.Errorf("best %v, but the log's best is %v (%d rows)", whole.BestValLoss, best, len(log))
	}
	// The best checkpoint scores the best validation loss.
	mb, _, err := lm.Open(whole.Best, backend.MustNew(""))
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := mb.NewScorer(16)
	if got, _ := meanLoss(sb, toExamples(tok, val, 32)); math.Abs(got-whole.BestValLoss) > 1e-9 {
		t.Errorf("best checkpoint scores %v, logged %v", got, whole.BestValLoss)
	}
	// Interrupt at step 7 (last saved state: step 4), then resume.
	dir := filepath.Join(t.TempDir(), "resumed")
	if _, err := run(dir, 7); err == nil {
		t.Fatal("the interrupted run reported success")
	}
	resumed, err := run(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	w1, _, _ := lm.Open(filepath.Join(filepath.Dir(whole.Best), lastDir), backend.MustNew(""))
	w2, _, _ := lm.Open(filepath.Join(dir, lastDir), backend.MustNew(""))
	a, b := weightsOf(t, w1), weightsOf(t, w2)
	for n := range a {
		if !slices.Equal(a[n], b[n]) {
			t.Fatalf("%s differs between the uninterrupted and the resumed run", n)
		}
	}
	if resumed.BestValLoss != whole.BestValLoss || resumed.BestStep != whole.BestStep {
		t.Errorf("resumed best %v at %d, uninterrupted %v at %d", resumed.BestValLoss, resumed.BestStep, whole.BestValLoss, whole.BestStep)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(whole.Best), "privacy_report.json")); err != nil {
		t.Errorf("no privacy report: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, mut := range []func(*Config){
		func(c *Config) { c.Steps, c.Epochs = 0, 0 },
		func(c *Config) { c.Clip = "sometimes" },
		func(c *Config) { c.DP = "example"; c.Sigma = 0; c.TargetEpsilon = 0 },
		func(c *Config) { c.DP = "example"; c.Sigma = 1; c.Accountant = "moments" },
		func(c *Config) { c.BatchSize = 0 },
		func(c *Config) { c.DP = "user"; c.Sigma = 1; c.UserRows = 0 },
		func(c *Config) { c.Optimizer = "rmsprop" },
		func(c *Config) { c.Optimizer = "sgd" }, // with the default weight decay 0.01
	} {
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

package experiment

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/privlm/privlm/datasets"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/privacy"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
	"github.com/privlm/privlm/framework/train"
)

// GLUEConfig is an EW-Tune style run: a classification head fine-tuned on a
// GLUE task, non-private or with example-level DP-SGD whose noise the
// chosen accountant calibrates.
type GLUEConfig struct {
	// Task is sst2, qnli, qqp or mnli (the subsets in ../shared/data).
	Task      string `json:"task"`
	Model     string `json:"model"`
	Tokenizer string `json:"tokenizer"`
	Backend   string `json:"backend"`
	// MaxTrain caps the training examples (0: all), for quick runs: a
	// random subset drawn with Train.Seed, in the file's order.
	MaxTrain int `json:"max_train"`
	// HoldOut, when > 0, holds that many training examples out of training
	// (drawn with HoldOutSeed, the same set for every run of a search) and
	// evaluates the run on them instead of the reported dev set: a
	// hyperparameter search that must not choose on the numbers it reports.
	// MaxTrain then samples from the rest.
	HoldOut int          `json:"hold_out,omitempty"`
	Train   train.Config `json:"train"`
}

// HoldOutSeed draws GLUEConfig.HoldOut's examples: fixed, so every run of
// a search (any Train.Seed) is evaluated on the same held-out examples.
const HoldOutSeed = 0x5ea7c4

// SplitHoldOut returns recs without n examples drawn with HoldOutSeed, and
// those n, each in the file's order; n <= 0 holds none out.
func SplitHoldOut(recs []data.Record, n int) (rest, held []data.Record, err error) {
	if n <= 0 {
		return recs, nil, nil
	}
	if n >= len(recs) {
		return nil, nil, fmt.Errorf("glue: hold_out %d: want fewer than the %d training examples", n, len(recs))
	}
	out := make([]bool, len(recs))
	for _, i := range rand.New(rand.NewPCG(HoldOutSeed, 0x61c8)).Perm(len(recs))[:n] {
		out[i] = true
	}
	for i, r := range recs {
		if out[i] {
			held = append(held, r)
		} else {
			rest = append(rest, r)
		}
	}
	return rest, held, nil
}

// DefaultGLUE is a non-private run on task: stories260K with a
// classification head, 300 steps of 32 examples of 64 tokens.
func DefaultGLUE(task string) GLUEConfig {
	t := train.DefaultConfig()
	t.Steps, t.BatchSize, t.SeqLen, t.LearningRate, t.ClipNorm = 300, 32, 64, 2e-3, 1
	return GLUEConfig{Task: task, Model: filepath.Join("models", "stories260K.bin"), Tokenizer: filepath.Join("models", "tok512.bin"), Train: t}
}

// WithDP returns c with example-level DP-SGD calibrated to epsilon by the
// accountant, with the run's noise search (train.noise_search: bisection
// unless EW-Tune's recipe is asked for, see WithEWTuneRecipe), as LM runs do.
func (c GLUEConfig) WithDP(accountant string, epsilon float64) GLUEConfig {
	c.Train.DP, c.Train.Accountant, c.Train.TargetEpsilon, c.Train.Sigma = "example", accountant, epsilon, 0
	return c
}

// WithNoiseSearch returns c calibrating its noise with search
// (train.SearchBisection or train.SearchEWTune).
func (c GLUEConfig) WithNoiseSearch(search string) GLUEConfig {
	c.Train.NoiseSearch = search
	return c
}

// WithEWTuneRecipe returns c calibrated as EW-Tune does: its grid search,
// and its step count epochs x floor(N/batch) (Train.Steps 0, Train.Epochs
// epochs). accountant "ew", "prv" or "rdp" names EW-Tune's accountants
// (privacy.EWTuneSpecEW, EWTuneSpecPRV, EWTuneSpecRDP); any other spec is
// used as given.
func (c GLUEConfig) WithEWTuneRecipe(accountant string, epsilon, epochs float64) GLUEConfig {
	switch accountant {
	case "ew":
		accountant = privacy.EWTuneSpecEW
	case "prv":
		accountant = privacy.EWTuneSpecPRV
	case "rdp":
		accountant = privacy.EWTuneSpecRDP
	}
	c = c.WithDP(accountant, epsilon)
	c.Train.NoiseSearch, c.Train.Steps, c.Train.Epochs = train.SearchEWTune, 0, epochs
	return c
}

// SampleRecords returns a random subset of n records drawn with seed, in
// their original order (all of them when n <= 0 or n >= len(recs)).
func SampleRecords(recs []data.Record, n int, seed uint64) []data.Record {
	if n <= 0 || n >= len(recs) {
		return recs
	}
	idx := rand.New(rand.NewPCG(seed, 0x61c8)).Perm(len(recs))[:n]
	slices.Sort(idx)
	out := make([]data.Record, n)
	for i, j := range idx {
		out[i] = recs[j]
	}
	return out
}

// GLUEResult is one GLUE run, flat for tables (glue.parquet).
type GLUEResult struct {
	Task          string  `parquet:"task" json:"task"`
	DP            string  `parquet:"dp" json:"dp"`
	Accountant    string  `parquet:"accountant" json:"accountant"`
	TargetEpsilon float64 `parquet:"target_epsilon" json:"target_epsilon"`
	Sigma         float64 `parquet:"sigma" json:"sigma"`
	// Delta is the delta of every epsilon below (absent without DP).
	Delta *float64 `parquet:"delta,optional" json:"delta,omitempty"`
	// Epsilon spent by the run according to each accountant (absent without DP).
	EpsilonRDP       *float64 `parquet:"epsilon_rdp,optional" json:"epsilon_rdp,omitempty"`
	EpsilonPLD       *float64 `parquet:"epsilon_pld,optional" json:"epsilon_pld,omitempty"`
	EpsilonEdgeworth *float64 `parquet:"epsilon_edgeworth,optional" json:"epsilon_edgeworth,omitempty"`
	Accuracy         float64  `parquet:"accuracy" json:"accuracy"`
	// Majority is the accuracy of always answering the commonest label.
	Majority     float64 `parquet:"majority" json:"majority"`
	Steps        int64   `parquet:"steps" json:"steps"`
	BatchSize    int64   `parquet:"batch_size" json:"batch_size"`
	LearningRate float64 `parquet:"learning_rate" json:"learning_rate"`
	Seed         int64   `parquet:"seed" json:"seed"`
	// Correct is how many of the EvalExamples were classified correctly.
	Correct       int64   `parquet:"correct" json:"correct"`
	TrainExamples int64   `parquet:"train_examples" json:"train_examples"`
	EvalExamples  int64   `parquet:"eval_examples" json:"eval_examples"`
	Eval          string  `parquet:"eval" json:"eval"`
	Seconds       float64 `parquet:"seconds" json:"seconds"`
	// NoiseSearch is how sigma was found (bisection or ewtune-grid) and
	// DPUnit what the epsilon protects (one example); empty without DP.
	NoiseSearch string `parquet:"noise_search" json:"noise_search"`
	DPUnit      string `parquet:"dp_unit" json:"dp_unit"`
	// Optimizer is adam or sgd; Trainable the trained weights' prefixes
	// (train.trainable; "all" when every weight trains).
	Optimizer string `parquet:"optimizer" json:"optimizer"`
	Trainable string `parquet:"trainable" json:"trainable"`
}

// RunGLUE fine-tunes and evaluates one GLUE configuration. progress, if
// not nil, is called after every step.
func RunGLUE(cfg GLUEConfig, progress func(train.Progress)) (GLUEResult, error) {
	var gt *datasets.GLUETask
	for i := range datasets.GLUETasks {
		if datasets.GLUETasks[i].Name == cfg.Task {
			gt = &datasets.GLUETasks[i]
		}
	}
	if gt == nil {
		return GLUEResult{}, fmt.Errorf("glue: task %q: want sst2, qnli, qqp or mnli", cfg.Task)
	}
	if err := cfg.Train.Validate(); err != nil {
		return GLUEResult{}, fmt.Errorf("glue: %w", err)
	}
	tmp, err := os.MkdirTemp("", "privlm-glue-*")
	if err != nil {
		return GLUEResult{}, err
	}
	defer os.RemoveAll(tmp)
	prep, err := datasets.Prepare("glue-"+gt.Name, "", filepath.Join(tmp, "glue.parquet"), nil)
	if err != nil {
		return GLUEResult{}, err
	}
	recs, err := data.ReadFile(prep.Out)
	if err != nil {
		return GLUEResult{}, err
	}
	var trainRecs, devRecs, testRecs []data.Record
	for _, r := range recs {
		switch r.Group {
		case "train":
			trainRecs = append(trainRecs, r)
		case "dev":
			devRecs = append(devRecs, r)
		case "test":
			testRecs = append(testRecs, r)
		}
	}
	trainRecs, heldRecs, err := SplitHoldOut(trainRecs, cfg.HoldOut)
	if err != nil {
		return GLUEResult{}, err
	}
	trainRecs = SampleRecords(trainRecs, cfg.MaxTrain, cfg.Train.Seed)
	evalName := "dev"
	switch {
	case len(heldRecs) > 0:
		devRecs, evalName = heldRecs, fmt.Sprintf("%d training examples held out", len(heldRecs))
	case len(testRecs) > 0: // SST-2's test.tsv here is the official GLUE dev set
		devRecs, evalName = testRecs, "GLUE dev (test.tsv)"
	}
	be, err := backend.New(cfg.Backend)
	if err != nil {
		return GLUEResult{}, err
	}
	modelPath, err := shareddata.Resolve(cfg.Model)
	if err != nil {
		return GLUEResult{}, fmt.Errorf("glue: model: %w", err)
	}
	tokPath, err := shareddata.Resolve(cfg.Tokenizer)
	if err != nil {
		return GLUEResult{}, fmt.Errorf("glue: tokenizer: %w", err)
	}
	base, _, err := lm.Open(modelPath, be)
	if err != nil {
		return GLUEResult{}, err
	}
	m, err := base.WithClassifier(len(gt.Labels), cfg.Train.Seed)
	if err != nil {
		return GLUEResult{}, err
	}
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		return GLUEResult{}, err
	}
	out, err := train.RunClassifier(m, tok, trainRecs, devRecs, gt.Labels, cfg.Train, progress)
	if err != nil {
		return GLUEResult{}, err
	}
	counts := map[string]int{}
	for _, r := range devRecs {
		counts[r.Label]++
	}
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	res := GLUEResult{Task: gt.Name, DP: cfg.Train.DP, Accountant: "-", Accuracy: out.Accuracy, Steps: int64(out.Steps),
		BatchSize: int64(cfg.Train.BatchSize), LearningRate: cfg.Train.LearningRate, Seed: int64(cfg.Train.Seed),
		Correct:       int64(math.Round(out.Accuracy * float64(len(devRecs)))),
		TrainExamples: int64(len(trainRecs)), EvalExamples: int64(len(devRecs)), Eval: evalName, Seconds: out.Duration.Seconds(),
		Optimizer: cmp.Or(cfg.Train.Optimizer, "adam"), Trainable: cmp.Or(cfg.Train.Trainable, "all")}
	if len(devRecs) > 0 {
		res.Majority = float64(most) / float64(len(devRecs))
	}
	if out.Privacy != nil {
		res.Accountant, res.TargetEpsilon, res.Sigma = cfg.Train.Accountant, cfg.Train.TargetEpsilon, out.Sigma
		res.setPrivacy(out.Privacy)
	}
	return res, nil
}

// setPrivacy copies a privacy report's unit, search, delta and epsilons.
func (res *GLUEResult) setPrivacy(rep *train.PrivacyReport) {
	res.NoiseSearch, res.DPUnit = rep.Search, rep.Unit
	delta := rep.Delta
	res.Delta = &delta
	eps := func(name string) *float64 {
		if v, ok := rep.Epsilon[name]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return &v
		}
		return nil
	}
	res.EpsilonRDP, res.EpsilonPLD, res.EpsilonEdgeworth = eps("rdp"), eps("pld"), eps("edgeworth")
}

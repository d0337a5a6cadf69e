package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/privacy"
	"github.com/privlm/privlm/framework/tokenizer"
)

// Progress is reported after every step.
type Progress struct {
	Step, TotalSteps int
	Loss             float64
	ValLoss          float64 // NaN when not evaluated at this step
	Epsilon          float64 // NaN without DP
	Elapsed          time.Duration
}

// Options are a run's inputs besides the config.
type Options struct {
	// OutputDir receives checkpoints, the training log and the privacy report.
	OutputDir string
	// Tokenizer path recorded in checkpoints.
	TokenizerPath string
	// Progress, if not nil, is called after every step.
	Progress func(Progress)
	// Context, if not nil, stops the run when done (the run can be resumed).
	Context context.Context
}

// Result says what a run wrote.
type Result struct {
	Best         string           `json:"best"`
	BestStep     int              `json:"best_step"`
	BestValLoss  float64          `json:"best_val_loss"`
	Checkpoints  []CheckpointInfo `json:"checkpoints"`
	Log          string           `json:"log"`
	Privacy      *PrivacyReport   `json:"privacy,omitempty"`
	Steps        int              `json:"steps"`
	StoppedEarly bool             `json:"stopped_early"`
}

// CheckpointInfo describes a kept checkpoint.
type CheckpointInfo struct {
	Path    string  `json:"path"`
	Step    int     `json:"step"`
	ValLoss float64 `json:"val_loss"`
}

// example is one token window and its owner.
type example struct {
	ids  []int
	user string
	doc  string
}

// state is what a run needs to resume, beside the checkpoint.
type state struct {
	Step         int              `json:"step"`
	BestStep     int              `json:"best_step"`
	BestValLoss  float64          `json:"-"`
	BestLoss     *float64         `json:"best_val_loss"` // BestValLoss; null while +Inf
	BadEvals     int              `json:"bad_evals"`
	Checkpoints  []CheckpointInfo `json:"checkpoints"`
	Log          []LogRow         `json:"log"`
	Sigma        float64          `json:"sigma"`
	StoppedEarly bool             `json:"stopped_early"`
}

const (
	lastDir   = "last"
	bestDir   = "best"
	stateFile = "train_state.json"
)

// Run fine-tunes m on train, evaluating on val. If OutputDir holds a
// checkpoint of an interrupted run with the same config, it resumes from it.
func Run(m *lm.Model, tok tokenizer.Tokenizer, trainRecs, valRecs []data.Record, cfg Config, opts Options) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if opts.OutputDir == "" {
		return Result{}, fmt.Errorf("train: no output directory")
	}
	if err := os.MkdirAll(opts.OutputDir, 0o755); err != nil {
		return Result{}, err
	}
	window := TrainingWindow(cfg.SeqLen, m.Config.MaxSeqLen)
	examples := toExamples(tok, trainRecs, window)
	if len(examples) == 0 {
		return Result{}, fmt.Errorf("train: no training examples")
	}
	val := toExamples(tok, valRecs, window)
	if len(val) > cfg.MaxValExamples && cfg.MaxValExamples > 0 {
		r := rand.New(rand.NewPCG(cfg.Seed, 7))
		r.Shuffle(len(val), func(i, j int) { val[i], val[j] = val[j], val[i] })
		val = val[:cfg.MaxValExamples]
	}
	sampler, err := newSampler(examples, cfg)
	if err != nil {
		return Result{}, err
	}
	totalSteps := cfg.Steps
	if totalSteps == 0 {
		// An epoch is as many windows as the training set has, for dp=user
		// too (a step sees windowsPerStep windows, not BatchSize).
		totalSteps = max(1, int(math.Ceil(cfg.Epochs*float64(len(examples))/sampler.windowsPerStep())))
	}
	// Resume?
	st := state{BestValLoss: math.Inf(1)}
	if b, err := os.ReadFile(filepath.Join(opts.OutputDir, stateFile)); err == nil && lm.IsCheckpointDir(filepath.Join(opts.OutputDir, lastDir)) {
		if err := json.Unmarshal(b, &st); err != nil {
			return Result{}, fmt.Errorf("train: %s: %w", stateFile, err)
		}
		st.BestValLoss = math.Inf(1)
		if st.BestLoss != nil {
			st.BestValLoss = *st.BestLoss
		}
		resumed, _, err := lm.LoadCheckpoint(filepath.Join(opts.OutputDir, lastDir), m.Backend)
		if err != nil {
			return Result{}, err
		}
		m = resumed
	}
	// Noise.
	var cal Calibration
	var logAcc privacy.Accountant
	if cfg.DP != "none" {
		if st.Sigma > 0 && cfg.Sigma == 0 { // resumed: the calibration is deterministic, keep the saved sigma
			cal = Calibration{Sigma: st.Sigma, Accountant: cfg.Accountant, Search: string(cfg.search())}
		} else if cal, err = Calibrate(cfg, sampler.q(), totalSteps); err != nil {
			return Result{}, err
		}
		if logAcc, err = privacy.Parse(cfg.Accountant); err != nil {
			return Result{}, err
		}
	}
	sigma := cal.Sigma
	st.Sigma = sigma
	opt := cfg.newOptimizer()
	mode := cfg.Clip
	if cfg.DP != "none" {
		mode = "per-example"
	}
	if _, err := FreezeAllBut(m, cfg.Trainable); err != nil {
		return Result{}, err
	}
	step, err := NewStep(m, opt, mode, cfg.DP, cfg.ClipNorm, sampler.rows(), cfg.Seed)
	if err != nil {
		return Result{}, err
	}
	scorer, err := m.NewScorer(16)
	if err != nil {
		return Result{}, err
	}
	sched := lm.TrainConfig{LearningRate: cfg.LearningRate, WarmupSteps: min(cfg.WarmupSteps, totalSteps/10), TotalSteps: totalSteps}
	evaluate := func() (float64, error) { return meanLoss(scorer, val) }
	start := time.Now()
	save := func(dir string) error {
		return m.SaveCheckpoint(filepath.Join(opts.OutputDir, dir), opts.TokenizerPath)
	}
	for st.Step < totalSteps && !st.StoppedEarly {
		if opts.Context != nil && opts.Context.Err() != nil {
			return Result{}, fmt.Errorf("train: interrupted at step %d (resumable): %w", st.Step, opts.Context.Err())
		}
		s := st.Step + 1
		batch, denom := sampler.batch(s, window)
		res, err := step.Run(StepInputs{Batch: batch, LR: sched.LearningRateAt(s), Denominator: denom, Sigma: sigma})
		if err != nil {
			return Result{}, fmt.Errorf("step %d: %w", s, err)
		}
		st.Step = s
		row := LogRow{Step: s, Epoch: float64(s) * sampler.windowsPerStep() / float64(len(examples)), TrainLoss: res.Loss,
			ValLoss: math.NaN(), LR: sched.LearningRateAt(s), Epsilon: math.NaN(), EpsilonPLD: math.NaN(), ClippedFraction: res.ClippedFraction}
		// Kept checkpoints are evaluated too: attacks over training plot AUROC
		// against validation loss.
		evalNow := (cfg.EvalEvery > 0 && s%cfg.EvalEvery == 0) || s == totalSteps || (cfg.CheckpointEvery > 0 && s%cfg.CheckpointEvery == 0)
		if evalNow && len(val) > 0 {
			if row.ValLoss, err = evaluate(); err != nil {
				return Result{}, err
			}
			if row.ValLoss < st.BestValLoss {
				st.BestValLoss, st.BestStep, st.BadEvals = row.ValLoss, s, 0
				if err := save(bestDir); err != nil {
					return Result{}, err
				}
			} else if st.BadEvals++; cfg.Patience > 0 && st.BadEvals >= cfg.Patience {
				st.StoppedEarly = true
			}
		}
		if cfg.DP != "none" && (evalNow || st.StoppedEarly) {
			// The calibrating accountant's epsilon, and the pld bound beside it.
			h := privacy.Single(sigma, sampler.q(), s)
			if eps, err := logAcc.Epsilon(h, cfg.Delta); err == nil {
				row.Epsilon = eps
			}
			if eps, err := privacy.NewPLD(privacy.PLDOptions{}).Epsilon(h, cfg.Delta); err == nil {
				row.EpsilonPLD = eps
			}
		}
		st.Log = append(st.Log, row)
		if cfg.CheckpointEvery > 0 && s%cfg.CheckpointEvery == 0 {
			dir := fmt.Sprintf("step-%06d", s)
			if err := save(dir); err != nil {
				return Result{}, err
			}
			st.Checkpoints = append(st.Checkpoints, CheckpointInfo{Path: filepath.Join(opts.OutputDir, dir), Step: s, ValLoss: row.ValLoss})
		}
		if evalNow || st.StoppedEarly || (cfg.CheckpointEvery > 0 && s%cfg.CheckpointEvery == 0) {
			if err := persist(m, opts, st); err != nil {
				return Result{}, err
			}
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Step: s, TotalSteps: totalSteps, Loss: res.Loss, ValLoss: row.ValLoss, Epsilon: row.Epsilon, Elapsed: time.Since(start)})
		}
	}
	if len(val) == 0 { // no validation data: the last state is the best
		if err := save(bestDir); err != nil {
			return Result{}, err
		}
		st.BestStep = st.Step
	}
	logPath := filepath.Join(opts.OutputDir, "training_log.parquet")
	if err := WriteLog(logPath, st.Log); err != nil {
		return Result{}, err
	}
	res := Result{Best: filepath.Join(opts.OutputDir, bestDir), BestStep: st.BestStep, BestValLoss: st.BestValLoss,
		Checkpoints: st.Checkpoints, Log: logPath, Steps: st.Step, StoppedEarly: st.StoppedEarly}
	if cfg.DP != "none" {
		repCfg := cfg
		repCfg.SeqLen = window // the window actually cut (at most the model's context)
		rep, err := NewPrivacyReport(repCfg, cal, sampler.q(), st.Step)
		if err != nil {
			return Result{}, err
		}
		if cfg.DP == "user" {
			rep.WindowsPerStep = sampler.windowsPerStep()
		} else if err := rep.addGroups(windowCounts(examples)); err != nil {
			return Result{}, err
		}
		if err := data.WriteJSON(filepath.Join(opts.OutputDir, "privacy_report.json"), rep); err != nil {
			return Result{}, err
		}
		res.Privacy = &rep
	}
	if err := persist(m, opts, st); err != nil {
		return Result{}, err
	}
	return res, nil
}

// persist saves the resumable state: the "last" checkpoint, then the state file.
func persist(m *lm.Model, opts Options, st state) error {
	st.BestLoss = nil
	if !math.IsInf(st.BestValLoss, 0) {
		st.BestLoss = &st.BestValLoss
	}
	if err := m.SaveCheckpoint(filepath.Join(opts.OutputDir, lastDir), opts.TokenizerPath); err != nil {
		return err
	}
	return data.WriteJSON(filepath.Join(opts.OutputDir, stateFile), st)
}

// TrainingWindow is the window training cuts texts into for seq_len and a
// model's context: seq_len, capped at the context.
func TrainingWindow(seqLen, context int) int { return min(seqLen, context) }

// TextWindows are the examples training makes of one text for a window
// (TrainingWindow): data.Chunk's windows, BOS then at most window tokens,
// those with a token to predict. What an attack scores must be these
// (oracle's tests compare).
func TextWindows(tok tokenizer.Tokenizer, text string, window int) [][]int {
	var out [][]int
	for _, c := range data.Chunk(tok, text, window) {
		if len(c) >= 2 {
			out = append(out, c)
		}
	}
	return out
}

func toExamples(tok tokenizer.Tokenizer, recs []data.Record, window int) []example {
	var out []example
	for _, r := range recs {
		for _, c := range TextWindows(tok, r.Text, window) {
			out = append(out, example{ids: c, user: r.UserID, doc: r.DocID})
		}
	}
	return out
}

// windowCounts returns the number of windows of each document and of each user.
func windowCounts(exs []example) (perDoc, perUser []int) {
	docs, users := map[[2]string]int{}, map[string]int{}
	for _, e := range exs {
		docs[[2]string{e.user, e.doc}]++
		users[e.user]++
	}
	for _, n := range docs {
		perDoc = append(perDoc, n)
	}
	for _, n := range users {
		perUser = append(perUser, n)
	}
	return perDoc, perUser
}

// meanLoss is the mean per-token negative log-likelihood of examples.
func meanLoss(s *lm.Scorer, exs []example) (float64, error) {
	seqs := make([][]int, len(exs))
	for i, e := range exs {
		seqs[i] = e.ids
	}
	lps, err := s.TokenLogProbs(seqs)
	if err != nil {
		return 0, err
	}
	sum, n := 0.0, 0
	for _, lp := range lps {
		for _, v := range lp {
			sum -= v
			n++
		}
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return sum / float64(n), nil
}

package train

import (
	"fmt"

	"github.com/privlm/privlm/framework/config"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/privacy"
)

// Config configures a fine-tuning run. Zero values take the defaults of
// DefaultConfig when passed through WithDefaults.
type Config struct {
	Seed uint64 `json:"seed"`
	// Steps of training; if 0, Epochs passes over the training examples.
	Steps  int     `json:"steps"`
	Epochs float64 `json:"epochs"`
	// BatchSize is the number of examples (dp "user": users) per step; for
	// Poisson sampling, the expected number.
	BatchSize int `json:"batch_size"`
	// SeqLen is the token window of an example (BOS + SeqLen tokens).
	SeqLen int `json:"seq_len"`
	// UserRows is, for dp "user", the most rows one user contributes to a step.
	UserRows int `json:"user_rows"`

	LearningRate float64 `json:"learning_rate"`
	WarmupSteps  int     `json:"warmup_steps"`
	WeightDecay  float64 `json:"weight_decay"`

	// EvalEvery steps, the validation loss is computed (0: only at the end).
	EvalEvery int `json:"eval_every"`
	// MaxValExamples caps the validation examples evaluated.
	MaxValExamples int `json:"max_val_examples"`
	// Patience evaluations without improvement stop training early (0: never).
	Patience int `json:"patience"`
	// CheckpointEvery steps, a checkpoint is kept (for attacks over training).
	CheckpointEvery int `json:"checkpoint_every"`

	// Clip is "none", "batch" or "per-example" (ignored when DP is on).
	Clip     string  `json:"clip"`
	ClipNorm float64 `json:"clip_norm"`
	// DP is "none", "example" or "user".
	DP string `json:"dp"`
	// Sigma is the noise multiplier; if 0 and TargetEpsilon > 0, it is
	// calibrated with Accountant.
	Sigma         float64 `json:"sigma"`
	TargetEpsilon float64 `json:"target_epsilon"`
	Delta         float64 `json:"delta"`
	Accountant    string  `json:"accountant"`
	// NoiseSearch is how sigma is calibrated: "bisection" (default) or
	// "ewtune-grid" (EW-Tune's grid, for its recipe). The same search serves
	// LM and classifier (GLUE) runs.
	NoiseSearch string `json:"noise_search"`
	// Sampling is "poisson" or "shuffle" (EW-Tune's regime).
	Sampling string `json:"sampling"`
	// Optimizer is "adam" (the default when empty: Adam with decoupled
	// weight decay, as DP-Adam under DP) or "sgd" (plain SGD without
	// momentum: DP-SGD as in Abadi et al. under DP; no weight decay). Under
	// DP, Adam rescales every coordinate of a noise-dominated gradient to
	// about the learning rate, so a model can drift where SGD's steps stay
	// proportional to the small noise.
	Optimizer string `json:"optimizer,omitempty"`
	// Trainable, when set, lists weight-name prefixes separated by '+':
	// only the weights whose names start with one of them are trained (and,
	// under DP, clipped and noised); the rest stay frozen. "cls." trains a
	// classifier's head alone (a linear probe), "cls.+norm" with the final
	// norm; empty (the default) trains every weight. A prefix matching no
	// weight is an error that lists the model's weight names.
	Trainable string `json:"trainable,omitempty"`
}

// DefaultConfig is a small, quick fine-tuning setup.
func DefaultConfig() Config {
	return Config{Seed: 1, Epochs: 1, BatchSize: 16, SeqLen: 64, UserRows: 4, LearningRate: lm.DefaultLearningRate,
		WarmupSteps: lm.DefaultWarmupSteps, WeightDecay: lm.DefaultWeightDecay, EvalEvery: 50, MaxValExamples: 256,
		Clip: "none", ClipNorm: 1, DP: "none", Delta: 1e-5, Accountant: "rdp", NoiseSearch: SearchBisection, Sampling: "poisson"}
}

// Validate reports the first bad field by its key.
func (c Config) Validate() error {
	if err := config.CheckFinite(&c); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	switch {
	case c.WarmupSteps < 0 || c.EvalEvery < 0 || c.MaxValExamples < 0 || c.Patience < 0 || c.CheckpointEvery < 0:
		return fmt.Errorf("train: warmup_steps %d, eval_every %d, max_val_examples %d, patience %d, checkpoint_every %d: want >= 0",
			c.WarmupSteps, c.EvalEvery, c.MaxValExamples, c.Patience, c.CheckpointEvery)
	case !(c.ClipNorm > 0):
		return fmt.Errorf("train: clip_norm = %v, want > 0", c.ClipNorm)
	case c.WeightDecay < 0:
		return fmt.Errorf("train: weight_decay = %v, want >= 0", c.WeightDecay)
	case c.TargetEpsilon < 0:
		return fmt.Errorf("train: target_epsilon = %v, want >= 0", c.TargetEpsilon)
	case c.Steps < 0 || c.Epochs < 0 || (c.Steps == 0 && !(c.Epochs > 0)):
		return fmt.Errorf("train: set steps > 0 or epochs > 0 (steps %d, epochs %v)", c.Steps, c.Epochs)
	case c.BatchSize < 1:
		return fmt.Errorf("train: batch_size = %d, want >= 1", c.BatchSize)
	case c.SeqLen < 2:
		return fmt.Errorf("train: seq_len = %d, want >= 2", c.SeqLen)
	case !(c.LearningRate > 0):
		return fmt.Errorf("train: learning_rate = %v, want > 0", c.LearningRate)
	case c.Clip != "none" && c.Clip != "batch" && c.Clip != "per-example":
		return fmt.Errorf("train: clip = %q, want none, batch or per-example", c.Clip)
	case c.DP != "none" && c.DP != "example" && c.DP != "user":
		return fmt.Errorf("train: dp = %q, want none, example or user", c.DP)
	case (c.Clip != "none" || c.DP != "none") && !(c.ClipNorm > 0):
		return fmt.Errorf("train: clip_norm = %v, want > 0", c.ClipNorm)
	case c.Sampling != "poisson" && c.Sampling != "shuffle":
		return fmt.Errorf("train: sampling = %q, want poisson or shuffle", c.Sampling)
	case c.DP == "user" && c.UserRows < 1:
		return fmt.Errorf("train: user_rows = %d, want >= 1", c.UserRows)
	case c.NoiseSearch != "" && c.NoiseSearch != SearchBisection && c.NoiseSearch != SearchEWTune:
		return fmt.Errorf("train: noise_search = %q, want %s or %s", c.NoiseSearch, SearchBisection, SearchEWTune)
	case c.Optimizer != "" && c.Optimizer != "adam" && c.Optimizer != "sgd":
		return fmt.Errorf("train: optimizer = %q, want adam or sgd", c.Optimizer)
	case c.Optimizer == "sgd" && c.WeightDecay != 0:
		return fmt.Errorf("train: optimizer = sgd has no weight decay, but weight_decay = %v: set weight_decay=0", c.WeightDecay)
	case c.Sigma < 0:
		return fmt.Errorf("train: sigma = %v, want >= 0", c.Sigma)
	}
	if c.Trainable != "" {
		if _, err := trainablePrefixes(c.Trainable); err != nil {
			return err
		}
	}
	if c.DP != "none" {
		if c.Sigma == 0 && !(c.TargetEpsilon > 0) {
			return fmt.Errorf("train: dp = %q needs sigma > 0 or target_epsilon > 0", c.DP)
		}
		if !(c.Delta > 0 && c.Delta < 1) {
			return fmt.Errorf("train: delta = %v, want 0 < delta < 1", c.Delta)
		}
		if _, err := privacy.Parse(c.Accountant); err != nil {
			return fmt.Errorf("train: accountant: %w", err)
		}
		if c.Sigma > 0 && c.Sigma < privacy.MinSigma && c.Accountant != "rdp" {
			return fmt.Errorf("train: sigma = %v: the %s accountant (and pld beside it) is accurate only for sigma >= %v; use accountant rdp", c.Sigma, c.Accountant, privacy.MinSigma)
		}
	}
	return nil
}

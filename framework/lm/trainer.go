package lm

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// Default training hyperparameters (AdamW as in PyTorch's defaults, a short
// warmup and a linear decay to zero).
const (
	DefaultLearningRate = 1e-3
	DefaultWeightDecay  = 0.01
	DefaultBeta1        = 0.9
	DefaultBeta2        = 0.999
	DefaultAdamEpsilon  = 1e-8
	DefaultWarmupSteps  = 10
)

// TrainConfig configures AdamW with linear warmup and linear decay.
type TrainConfig struct {
	LearningRate float64 `json:"learning_rate"`
	// WarmupSteps ramp the learning rate linearly from LearningRate/WarmupSteps.
	WarmupSteps int `json:"warmup_steps"`
	// TotalSteps > WarmupSteps decays the learning rate linearly to 0 at
	// TotalSteps; 0 keeps it constant after warmup.
	TotalSteps  int     `json:"total_steps"`
	WeightDecay float64 `json:"weight_decay"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Epsilon     float64 `json:"adam_epsilon"`
}

// DefaultTrainConfig returns the defaults above for a run of totalSteps.
func DefaultTrainConfig(totalSteps int) TrainConfig {
	return TrainConfig{LearningRate: DefaultLearningRate, WarmupSteps: min(DefaultWarmupSteps, totalSteps/10),
		TotalSteps: totalSteps, WeightDecay: DefaultWeightDecay, Beta1: DefaultBeta1, Beta2: DefaultBeta2,
		Epsilon: DefaultAdamEpsilon}
}

// LearningRateAt is the schedule: step counts from 1.
func (c TrainConfig) LearningRateAt(step int) float64 {
	switch {
	case c.WarmupSteps > 0 && step <= c.WarmupSteps:
		return c.LearningRate * float64(step) / float64(c.WarmupSteps)
	case c.TotalSteps > c.WarmupSteps:
		return c.LearningRate * math.Max(0, float64(c.TotalSteps-step)/float64(c.TotalSteps-c.WarmupSteps))
	default:
		return c.LearningRate
	}
}

// Validate reports the first bad field.
func (c TrainConfig) Validate() error {
	switch {
	case !(c.LearningRate > 0):
		return fmt.Errorf("train config: learning_rate = %g, want > 0", c.LearningRate)
	case c.WarmupSteps < 0 || c.TotalSteps < 0:
		return fmt.Errorf("train config: warmup_steps and total_steps must be >= 0")
	case c.WeightDecay < 0:
		return fmt.Errorf("train config: weight_decay = %g, want >= 0", c.WeightDecay)
	case !(c.Beta1 >= 0 && c.Beta1 < 1) || !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("train config: betas (%g, %g) must be in [0,1)", c.Beta1, c.Beta2)
	case !(c.Epsilon > 0):
		return fmt.Errorf("train config: adam_epsilon = %g, want > 0", c.Epsilon)
	}
	return nil
}

// Trainer takes AdamW steps on a model. Optimizer state lives in the model's
// context, so a GoMLX checkpoint of the model also holds it.
type Trainer struct {
	m    *Model
	cfg  TrainConfig
	exec *context.Exec
}

// NewTrainer prepares training steps for m.
func (m *Model) NewTrainer(cfg TrainConfig) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opt := optimizers.Adam().Betas(cfg.Beta1, cfg.Beta2).Epsilon(cfg.Epsilon).
		WeightDecay(cfg.WeightDecay).LearningRate(cfg.LearningRate).Done()
	exec, err := context.NewExec(m.Backend, m.Ctx, func(ctx *context.Context, inputs, valid, targets, weights, lr *Node) *Node {
		loss := MeanLoss(m.TokenLogProbs(inputs, valid, targets), weights)
		optimizers.LearningRateVar(ctx, dtypes.Float32, cfg.LearningRate).SetValueGraph(lr)
		opt.UpdateGraph(ctx, loss.Graph(), loss)
		return loss
	})
	if err != nil {
		return nil, fmt.Errorf("lm: building training step: %w", err)
	}
	return &Trainer{m: m, cfg: cfg, exec: exec}, nil
}

// MeanLoss is the mean negative log-likelihood over weighted positions.
func MeanLoss(logProbs, weights *Node) *Node {
	total := ReduceAllSum(Mul(Neg(logProbs), weights))
	count := Max(ReduceAllSum(weights), ScalarOne(weights.Graph(), weights.DType()))
	return Div(total, count)
}

// Steps is the number of steps taken so far (restored with a checkpoint).
func (t *Trainer) Steps() int { return int(optimizers.GetGlobalStep(t.m.Ctx)) }

// Step takes one AdamW step on the batch and returns its mean loss (before
// the update).
func (t *Trainer) Step(b Batch) (float64, error) {
	lr := float32(t.cfg.LearningRateAt(t.Steps() + 1))
	args := anySlice(b.Tensors())
	args = append(args, tensors.FromValue(lr))
	res, err := t.exec.Exec(args...)
	if err != nil {
		return 0, fmt.Errorf("lm: training step: %w", err)
	}
	loss := float64(tensors.MustCopyFlatData[float32](res[0])[0])
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("lm: training step %d: loss is %v", t.Steps(), loss)
	}
	return loss, nil
}

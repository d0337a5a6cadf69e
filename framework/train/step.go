package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/privlm/privlm/framework/lm"
)

// withGradients is the part of GoMLX's optimizers that takes gradients.
type withGradients interface {
	UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType)
}

// Step runs one optimisation step of a given mode on a fixed-shape batch.
type Step struct {
	m        *lm.Model
	exec     *context.Exec
	rows     int // rows per group (1 unless dp "user")
	clipNorm float64
}

// StepInputs are one step's data and scalars.
type StepInputs struct {
	Batch lm.Batch
	// LR is the learning rate of this step.
	LR float64
	// Denominator divides the gradient sum: the number of examples in the
	// batch, or for DP the expected number of groups (q * N).
	Denominator float64
	// Sigma is the DP noise multiplier (0: no noise).
	Sigma float64
}

// StepResult reports a step.
type StepResult struct {
	// Loss is the mean per-example loss of the batch (before the update).
	Loss float64
	// ClippedFraction is the fraction of groups whose gradient was clipped
	// (per-example and DP modes).
	ClippedFraction float64
}

// NewStep builds the training step for a mode: clip "none", "batch" or
// "per-example"; dp "example" or "user" (rows = rows per user group).
func NewStep(m *lm.Model, adam optimizers.Interface, clip, dp string, clipNorm float64, rows int, seed uint64) (*Step, error) {
	return newStep(m, adam, clip, dp, clipNorm, rows, seed, false)
}

// NewClassifierStep is NewStep for sequence classification: batches from
// ClassBatch, per-example cross-entropy of the classification head.
func NewClassifierStep(m *lm.Model, adam optimizers.Interface, clip, dp string, clipNorm float64, seed uint64) (*Step, error) {
	if m.Config.NumClasses == 0 {
		return nil, fmt.Errorf("train: the model has no classification head")
	}
	return newStep(m, adam, clip, dp, clipNorm, 1, seed, true)
}

func newStep(m *lm.Model, adam optimizers.Interface, clip, dp string, clipNorm float64, rows int, seed uint64, classify bool) (*Step, error) {
	opt, ok := adam.(withGradients)
	if !ok {
		return nil, fmt.Errorf("train: optimizer does not take gradients")
	}
	if rows < 1 {
		rows = 1
	}
	m.Ctx.SetParam(context.ParamInitialSeed, int64(seed))
	names := map[*context.Variable]string{}
	for _, n := range m.WeightNames() {
		names[m.Variable(n)] = n
	}
	perGroup := dp != "none" || clip == "per-example"
	exec, err := context.NewExec(m.Backend, m.Ctx, func(ctx *context.Context, in []*Node) []*Node {
		inputs, valid, targets, weights, lr, denom, sigma := in[0], in[1], in[2], in[3], in[4], in[5], in[6]
		g := inputs.Graph()
		taps := &lm.Taps{}
		var perExample *Node
		if classify {
			perExample = ClassLoss(m.ClassLogits(inputs, valid, weights, taps), targets, weights)
		} else {
			perExample = PerExampleLoss(m.TokenLogProbsWithTaps(inputs, valid, targets, taps), weights)
		}
		lossSum := ReduceAllSum(perExample)
		realRows := ReduceAllSum(ConvertDType(GreaterThan(ReduceSum(weights, -1), ScalarZero(g, dtypes.Float32)), dtypes.Float32))
		meanLoss := Div(lossSum, Max(realRows, ScalarOne(g, dtypes.Float32)))
		grads := map[string]*Node{}
		clipped := ScalarZero(g, dtypes.Float32)
		if perGroup {
			p := BackwardTrained(m, taps, lossSum, rows, func(name string) bool { return trains(m, name) })
			sq := p.SquaredNorms()
			factors := ClipFactors(sq, clipNorm)
			groupHasData := GreaterThan(ReduceSum(Reshape(weights, -1, rows*weights.Shape().Dimensions[1]), -1), ScalarZero(g, dtypes.Float32))
			isClipped := LogicalAnd(groupHasData, LessThan(factors, OnesLike(factors)))
			nGroups := Max(ReduceAllSum(ConvertDType(groupHasData, dtypes.Float32)), ScalarOne(g, dtypes.Float32))
			clipped = Div(ReduceAllSum(ConvertDType(isClipped, dtypes.Float32)), nGroups)
			sums := p.WeightedSums(factors)
			if dp != "none" {
				sums = AddNoise(ctx, sums, sigma, clipNorm)
			}
			for name, sum := range sums {
				grads[name] = Div(sum, denom)
			}
		} else {
			var params []*Node
			order := m.WeightNames()
			order = slices.DeleteFunc(order, func(n string) bool { return !trains(m, n) })
			for _, n := range order {
				params = append(params, m.Variable(n).ValueGraph(g))
			}
			gs := Gradient(Div(lossSum, denom), params...)
			if clip == "batch" {
				sq := ScalarZero(g, dtypes.Float64)
				for _, x := range gs {
					sq = Add(sq, ReduceAllSum(Square(ConvertDType(x, dtypes.Float64))))
				}
				norm := ConvertDType(Sqrt(sq), dtypes.Float32)
				f := Min(ScalarOne(g, dtypes.Float32), Div(Scalar(g, dtypes.Float32, clipNorm), AddScalar(norm, clipEps)))
				clipped = ConvertDType(LessThan(f, ScalarOne(g, dtypes.Float32)), dtypes.Float32)
				for i := range gs {
					gs[i] = Mul(gs[i], f)
				}
			}
			for i, n := range order {
				grads[n] = gs[i]
			}
		}
		optimizers.LearningRateVar(ctx, dtypes.Float32, 1e-3).SetValueGraph(lr)
		var ordered []*Node
		for v := range ctx.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) {
				name, ok := names[v]
				if !ok {
					panic(fmt.Sprintf("train: trainable variable %s is not a model weight", v.ScopeAndName()))
				}
				if grads[name] == nil {
					panic(fmt.Sprintf("train: trained weight %s got no gradient", name))
				}
				ordered = append(ordered, grads[name])
			}
		}
		if len(ordered) == 0 {
			panic("train: no trained weight is used by the step (train.trainable names only weights the model does not use)")
		}
		opt.UpdateGraphWithGradients(ctx, ordered, dtypes.Float32)
		return []*Node{meanLoss, clipped}
	})
	if err != nil {
		return nil, fmt.Errorf("train: building the step: %w", err)
	}
	return &Step{m: m, exec: exec, rows: rows, clipNorm: clipNorm}, nil
}

// Run takes one step.
func (s *Step) Run(in StepInputs) (StepResult, error) {
	args := anyOf(in.Batch.Tensors())
	args = append(args, tensors.FromValue(float32(in.LR)), tensors.FromValue(float32(in.Denominator)), tensors.FromValue(float32(in.Sigma)))
	res, err := s.exec.Exec(args...)
	if err != nil {
		return StepResult{}, fmt.Errorf("train: step: %w", err)
	}
	loss := float64(tensors.MustCopyFlatData[float32](res[0])[0])
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return StepResult{}, fmt.Errorf("train: loss is %v", loss)
	}
	return StepResult{Loss: loss, ClippedFraction: float64(tensors.MustCopyFlatData[float32](res[1])[0])}, nil
}

// AddNoise adds Gaussian noise of standard deviation sigma*clipNorm to every
// gradient sum, from the context's random number generator (seeded, and
// saved with checkpoints). Parameters are visited in name order, so the noise
// does not depend on map iteration.
func AddNoise(ctx *context.Context, sums map[string]*Node, sigma *Node, clipNorm float64) map[string]*Node {
	out := map[string]*Node{}
	for _, name := range sortedNames(sums) {
		sum := sums[name]
		noise := ctx.RandomNormal(sum.Graph(), sum.Shape())
		out[name] = Add(sum, Mul(noise, MulScalar(sigma, clipNorm)))
	}
	return out
}

func anyOf[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

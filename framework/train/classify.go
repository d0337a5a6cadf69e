package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/tokenizer"
)

// ClassBatch packs classification examples (BOS + tokens, at most T) into a
// batch: the label in Targets[b*T], Weights 1 at the last token (the pooled
// position). Rows past len(seqs) are padding.
func ClassBatch(seqs [][]int, labels []int, B, T int) lm.Batch {
	b := lm.Batch{B: B, T: T, Inputs: make([]int32, B*T), Targets: make([]int32, B*T), Valid: make([]bool, B*T), Weights: make([]float32, B*T)}
	for i, seq := range seqs {
		n := min(len(seq), T)
		for t := range n {
			b.Inputs[i*T+t], b.Valid[i*T+t] = int32(seq[t]), true
		}
		b.Targets[i*T] = int32(labels[i])
		b.Weights[i*T+n-1] = 1
	}
	return b
}

// ClassExamples encodes records as "text\ntext_b" with BOS, truncated to
// seqLen tokens, with label indices; an unknown label is an error.
func ClassExamples(tok tokenizer.Tokenizer, recs []data.Record, labels []string, seqLen int) ([][]int, []int, error) {
	var seqs [][]int
	var ys []int
	for i, r := range recs {
		y := slices.Index(labels, r.Label)
		if y < 0 {
			return nil, nil, fmt.Errorf("train: record %d (%s): label %q is not one of %v", i, r.DocID, r.Label, labels)
		}
		text := r.Text
		if r.TextB != "" {
			text += "\n" + r.TextB
		}
		ids := append([]int{tok.BOS()}, tok.Encode(text)...)
		seqs, ys = append(seqs, ids[:min(len(ids), seqLen)]), append(ys, y)
	}
	return seqs, ys, nil
}

// ClassResult reports a classification fine-tuning run.
type ClassResult struct {
	Accuracy float64        `json:"accuracy"`
	Steps    int            `json:"steps"`
	Sigma    float64        `json:"sigma"`
	Privacy  *PrivacyReport `json:"privacy,omitempty"`
	Duration time.Duration  `json:"duration_ns"`
}

// Accuracy classifies seqs in batches and compares with labels.
func Accuracy(m *lm.Model, seqs [][]int, labels []int, T int) (float64, error) {
	const B = 32
	exec, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, inputs, valid, weights *Node) *Node {
		return ArgMax(m.ClassLogits(inputs, valid, weights, nil), -1, dtypes.Int32)
	})
	if err != nil {
		return 0, err
	}
	correct := 0
	for start := 0; start < len(seqs); start += B {
		end := min(start+B, len(seqs))
		b := ClassBatch(seqs[start:end], labels[start:end], B, T)
		res, err := exec.Exec(tensors.FromFlatDataAndDimensions(b.Inputs, B, T), tensors.FromFlatDataAndDimensions(b.Valid, B, T),
			tensors.FromFlatDataAndDimensions(b.Weights, B, T))
		if err != nil {
			return 0, err
		}
		pred := tensors.MustCopyFlatData[int32](res[0])
		for i := range end - start {
			if int(pred[i]) == labels[start+i] {
				correct++
			}
		}
	}
	return float64(correct) / float64(max(1, len(seqs))), nil
}

// ClassifierSteps is EW-Tune's step count, epochs x floor(n / batch)
// (../shared/PAPERS.md section 2), at least 1.
func ClassifierSteps(epochs float64, n, batch int) int {
	return max(1, int(math.Floor(epochs*float64(n/batch))))
}

// RunClassifier fine-tunes a model with a classification head on train and
// reports accuracy on dev. cfg.DP "example" runs DP-SGD over examples
// (Poisson sampling, ghost clipping, noise calibrated with cfg.Accountant
// when cfg.Sigma is 0); cfg.Clip applies as in Run.
func RunClassifier(m *lm.Model, tok tokenizer.Tokenizer, trainRecs, devRecs []data.Record, labels []string, cfg Config, progress func(Progress)) (ClassResult, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return ClassResult{}, err
	}
	if cfg.DP == "user" {
		return ClassResult{}, fmt.Errorf("train: classification supports dp none or example (GLUE has one example per user)")
	}
	T := min(cfg.SeqLen, m.Config.MaxSeqLen)
	seqs, ys, err := ClassExamples(tok, trainRecs, labels, T)
	if err != nil {
		return ClassResult{}, err
	}
	devSeqs, devYs, err := ClassExamples(tok, devRecs, labels, T)
	if err != nil {
		return ClassResult{}, err
	}
	N := len(seqs)
	steps := cfg.Steps
	if steps == 0 {
		steps = ClassifierSteps(cfg.Epochs, N, cfg.BatchSize)
	}
	q := math.Min(1, float64(cfg.BatchSize)/float64(N))
	var cal Calibration
	if cfg.DP == "example" {
		if cal, err = Calibrate(cfg, q, steps); err != nil {
			return ClassResult{}, err
		}
	}
	sigma := cal.Sigma
	mode := cfg.Clip
	if cfg.DP != "none" {
		mode = "per-example"
	}
	if _, err := FreezeAllBut(m, cfg.Trainable); err != nil {
		return ClassResult{}, err
	}
	step, err := NewClassifierStep(m, cfg.newOptimizer(), mode, cfg.DP, cfg.ClipNorm, cfg.Seed)
	if err != nil {
		return ClassResult{}, err
	}
	maxB := cfg.BatchSize
	if cfg.DP != "none" && cfg.Sampling == "poisson" {
		mean := q * float64(N)
		maxB = min(N, int(math.Ceil(mean+8*math.Sqrt(mean)+8)))
	}
	sched := lm.TrainConfig{LearningRate: cfg.LearningRate, WarmupSteps: min(cfg.WarmupSteps, steps/10), TotalSteps: steps}
	for s := 1; s <= steps; s++ {
		r := rand.New(rand.NewPCG(cfg.Seed, uint64(s)))
		var idx []int
		if cfg.DP != "none" && cfg.Sampling == "poisson" {
			for i := range N {
				if r.Float64() < q {
					idx = append(idx, i)
				}
			}
			idx = idx[:min(len(idx), maxB)]
		} else {
			perm := rand.New(rand.NewPCG(cfg.Seed, 1<<40+uint64((s-1)*cfg.BatchSize/N))).Perm(N)
			off := ((s - 1) * cfg.BatchSize) % N
			for k := range cfg.BatchSize {
				idx = append(idx, perm[(off+k)%N])
			}
		}
		bs, by := make([][]int, len(idx)), make([]int, len(idx))
		for k, i := range idx {
			bs[k], by[k] = seqs[i], ys[i]
		}
		denom := math.Max(1, float64(len(idx)))
		if cfg.DP != "none" && cfg.Sampling == "poisson" {
			denom = q * float64(N)
		}
		rows := maxB
		if cfg.DP != "none" && cfg.Sampling == "poisson" {
			rows = padGroups(len(idx), maxB)
		}
		res, err := step.Run(StepInputs{Batch: ClassBatch(bs, by, rows, T), LR: sched.LearningRateAt(s), Denominator: denom, Sigma: sigma})
		if err != nil {
			return ClassResult{}, fmt.Errorf("step %d: %w", s, err)
		}
		if progress != nil {
			progress(Progress{Step: s, TotalSteps: steps, Loss: res.Loss, ValLoss: math.NaN(), Epsilon: math.NaN(), Elapsed: time.Since(start)})
		}
	}
	acc, err := Accuracy(m, devSeqs, devYs, T)
	if err != nil {
		return ClassResult{}, err
	}
	out := ClassResult{Accuracy: acc, Steps: steps, Sigma: sigma, Duration: time.Since(start)}
	if cfg.DP != "none" {
		rep, err := NewPrivacyReport(cfg, cal, q, steps)
		if err != nil {
			return out, err
		}
		rep.Unit, rep.UnitNote = UnitExample, "one classification example (one GLUE row)"
		out.Privacy = &rep
	}
	return out, nil
}

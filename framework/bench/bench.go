package bench

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/train"
)

// Preset is a named model shape with the batch it is benchmarked at.
type Preset struct {
	Config lm.Config
	// Batch rows of SeqLen tokens per step.
	Batch, SeqLen int
}

// Stories15M is the shape of llama2.c's stories15M checkpoint (Karpathy's
// TinyStories models), for benchmarks only.
var Stories15M = lm.Config{Arch: lm.Llama, VocabSize: 32000, Dim: 288, HiddenDim: 768, Layers: 6, Heads: 6,
	KVHeads: 6, MaxSeqLen: 256, TiedEmbeddings: true, NormEps: 1e-5, RopeTheta: 10000}

// Presets are the shapes of the README's performance table.
var Presets = map[string]Preset{
	"tiny":        {lm.Tiny, 4, 32},
	"small":       {lm.Small, 16, 128},
	"stories260k": {lm.Stories260K, 16, 128},
	"stories15m":  {Stories15M, 8, 256},
	"llama-125m":  {lm.Llama125M, 4, 256},
	// The user inference paper's families (PAPERS.md section 1): shapes
	// only, privlm side (pytorch_llama.py has Llama's block alone).
	"gpt-neo-125m": {lm.GPTNeo125M, 4, 256},
	"pythia-160m":  {lm.Pythia160M, 4, 256},
	"opt-125m":     {lm.OPT125M, 4, 256},
}

// PresetNames lists Presets in order of size.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return Presets[names[i]].Config.NumParams() < Presets[names[j]].Config.NumParams()
	})
	return names
}

// Stages that Run can measure.
const (
	StageTrain = "train" // AdamW step, no clipping
	StageDP    = "dp"    // per-example ghost clipping + noise, then AdamW
	StageScore = "score" // lm.Scorer log-likelihoods, no gradients
)

// AllStages in the order Run measures them.
var AllStages = []string{StageTrain, StageDP, StageScore}

// Options configure a benchmark.
type Options struct {
	Name   string
	Config lm.Config
	Batch  int
	SeqLen int
	// Warmup steps are run (after the one that compiles) and not timed.
	Warmup int
	// Steps are timed; the median is reported.
	Steps  int
	Stages []string
	// PeakGFLOPS, if > 0, gives MFU = achieved / peak.
	PeakGFLOPS float64
	// Backend is the GoMLX backend config ("" for the default).
	Backend string
	// Progress, if not nil, is told when a stage's timed loop starts (done
	// 0, after compilation) and after each of its steps.
	Progress func(stage string, done, total int)
}

// Result is what `privlm bench --json` prints; bench/pytorch_llama.py prints
// the same fields.
type Result struct {
	Impl         string        `json:"impl"`
	Model        string        `json:"model"`
	Params       int           `json:"params"`
	MatmulParams int           `json:"matmul_params"`
	Batch        int           `json:"batch"`
	SeqLen       int           `json:"seq_len"`
	Threads      int           `json:"threads"`
	Versions     string        `json:"versions"`
	FLOPFormula  string        `json:"flop_formula"`
	Stages       []StageResult `json:"stages"`
	// PeakRSSMB is the process's peak resident memory (VmHWM) at the end.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// GoSysMB is the memory the Go runtime obtained from the OS (MemStats.Sys).
	GoSysMB float64 `json:"go_sys_mb,omitempty"`
}

// StageResult is one measured stage.
type StageResult struct {
	Stage          string    `json:"stage"`
	CompileSeconds float64   `json:"compile_seconds"`
	StepSeconds    []float64 `json:"step_seconds"`
	MedianSeconds  float64   `json:"median_seconds"`
	TokensPerSec   float64   `json:"tokens_per_s"`
	GFLOPs         float64   `json:"gflop_per_step"`
	GFLOPS         float64   `json:"achieved_gflops"`
	MFU            *float64  `json:"mfu,omitempty"`
	// PeakRSSMB is the process's peak resident memory after this stage
	// (cumulative over the stages run before it in the same process).
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

// FLOPFormula names the FLOP count used for GFLOP/s.
const FLOPFormula = "PaLM app. B: train 6*N + 12*L*d*T per token, score 2*N + 4*L*d*T per token; N = matmul params incl. output head, excl. embedding lookup; DP credited as train"

// MatmulParams is N in the FLOP formula: the parameters of every matrix
// multiplication per token (attention and MLP projections and the output
// head), not embeddings looked up, norms or biases.
func MatmulParams(c lm.Config) int {
	hd := c.Dim / c.Heads
	attn := c.Dim*c.Heads*hd + 2*c.Dim*c.KVHeads*hd + c.Heads*hd*c.Dim
	mlp := 2 * c.Dim * c.HiddenDim // GPT-2, GPT-Neo, GPT-NeoX, OPT: fc and proj
	if c.Arch == lm.Llama {
		mlp = 3 * c.Dim * c.HiddenDim // SwiGLU w1, w2, w3
	}
	return c.Layers*(attn+mlp) + c.Dim*c.VocabSize
}

// StepFLOPs is the model FLOPs of one step of a stage on batch x seqLen tokens.
func StepFLOPs(c lm.Config, stage string, batch, seqLen int) float64 {
	n, tokens := float64(MatmulParams(c)), float64(batch*seqLen)
	attn := float64(c.Layers) * float64(c.Dim) * float64(seqLen)
	if stage == StageScore {
		return tokens * (2*n + 4*attn)
	}
	return tokens * (6*n + 12*attn)
}

// Validate checks the options.
func (o Options) Validate() error {
	if err := o.Config.Validate(); err != nil {
		return err
	}
	switch {
	case o.Batch < 1 || o.SeqLen < 1:
		return fmt.Errorf("bench: batch %d x seq_len %d, want both >= 1", o.Batch, o.SeqLen)
	case o.SeqLen > o.Config.MaxSeqLen:
		return fmt.Errorf("bench: seq_len %d is longer than the model's context of %d", o.SeqLen, o.Config.MaxSeqLen)
	case o.Steps < 1 || o.Warmup < 0:
		return fmt.Errorf("bench: steps %d (want >= 1), warmup %d (want >= 0)", o.Steps, o.Warmup)
	}
	for _, s := range o.Stages {
		if !slices.Contains(AllStages, s) {
			return fmt.Errorf("bench: unknown stage %q (known: %s)", s, strings.Join(AllStages, ", "))
		}
	}
	return nil
}

// Run measures the stages in order, each on a fresh model.
func Run(o Options) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	be, err := backend.New(o.Backend)
	if err != nil {
		return Result{}, err
	}
	res := Result{Impl: "privlm", Model: o.Name, Params: o.Config.NumParams(), MatmulParams: MatmulParams(o.Config),
		Batch: o.Batch, SeqLen: o.SeqLen, Threads: runtime.GOMAXPROCS(0),
		Versions: fmt.Sprintf("%s GOAMD64=%s backend=%s", runtime.Version(), goamd64(), be.Name()), FLOPFormula: FLOPFormula}
	batch, seqs, err := randomBatch(o.Config, o.Batch, o.SeqLen)
	if err != nil {
		return Result{}, err
	}
	for _, stage := range o.Stages {
		m, err := lm.New(o.Config, be, 1)
		if err != nil {
			return Result{}, err
		}
		step, err := stepFunc(m, stage, batch, seqs)
		if err != nil {
			return Result{}, err
		}
		t0 := time.Now()
		if err := step(); err != nil {
			return Result{}, fmt.Errorf("bench %s: %w", stage, err)
		}
		sr := StageResult{Stage: stage, CompileSeconds: time.Since(t0).Seconds()}
		total := o.Warmup + o.Steps
		if o.Progress != nil {
			o.Progress(stage, 0, total)
		}
		for i := range total {
			t := time.Now()
			if err := step(); err != nil {
				return Result{}, fmt.Errorf("bench %s step %d: %w", stage, i+1, err)
			}
			if i >= o.Warmup {
				sr.StepSeconds = append(sr.StepSeconds, time.Since(t).Seconds())
			}
			if o.Progress != nil {
				o.Progress(stage, i+1, total)
			}
		}
		sr.MedianSeconds = Median(sr.StepSeconds)
		sr.TokensPerSec = float64(o.Batch*o.SeqLen) / sr.MedianSeconds
		sr.GFLOPs = StepFLOPs(o.Config, stage, o.Batch, o.SeqLen) / 1e9
		sr.GFLOPS = sr.GFLOPs / sr.MedianSeconds
		if o.PeakGFLOPS > 0 {
			mfu := sr.GFLOPS / o.PeakGFLOPS
			sr.MFU = &mfu
		}
		sr.PeakRSSMB = PeakRSSMB()
		res.Stages = append(res.Stages, sr)
		m = nil
		runtime.GC()
	}
	res.PeakRSSMB = PeakRSSMB()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.GoSysMB = float64(ms.Sys) / (1 << 20)
	return res, nil
}

// randomBatch is rows x (seqLen+1) random tokens (fixed seed) and their
// full batch.
func randomBatch(c lm.Config, rows, seqLen int) (lm.Batch, [][]int, error) {
	r := rand.New(rand.NewPCG(1, 2))
	seqs := make([][]int, rows)
	for i := range seqs {
		seqs[i] = make([]int, seqLen+1)
		for j := range seqs[i] {
			seqs[i][j] = r.IntN(c.VocabSize)
		}
	}
	batch, err := lm.MakeBatch(seqs, rows, seqLen)
	return batch, seqs, err
}

// stepFunc returns one step of a stage on a model.
func stepFunc(m *lm.Model, stage string, batch lm.Batch, seqs [][]int) (func() error, error) {
	switch stage {
	case StageScore:
		s, err := m.NewScorer(batch.B)
		if err != nil {
			return nil, err
		}
		return func() error { _, err := s.TokenLogProbs(seqs); return err }, nil
	case StageTrain, StageDP:
		clip, dp := "none", "none"
		if stage == StageDP {
			clip, dp = "per-example", "example"
		}
		adam := optimizers.Adam().Betas(lm.DefaultBeta1, lm.DefaultBeta2).Epsilon(lm.DefaultAdamEpsilon).
			WeightDecay(lm.DefaultWeightDecay).LearningRate(lm.DefaultLearningRate).Done()
		st, err := train.NewStep(m, adam, clip, dp, 1, 1, 1)
		if err != nil {
			return nil, err
		}
		in := train.StepInputs{Batch: batch, LR: 1e-4, Denominator: float64(batch.B), Sigma: 1}
		return func() error { _, err := st.Run(in); return err }, nil
	}
	return nil, fmt.Errorf("bench: unknown stage %q", stage)
}

// Median of xs (mean of the middle two for an even count); NaN when empty.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return nan()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// PeakRSSMB is the process's peak resident set (VmHWM in /proc/self/status),
// in MiB; 0 where /proc is not available.
func PeakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 1 {
				kb, err := strconv.ParseFloat(fields[0], 64)
				if err == nil {
					return kb / 1024
				}
			}
		}
	}
	return 0
}

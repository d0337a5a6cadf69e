package bench

import (
	"math"
	"testing"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
)

// TestMatmulParamsCountsEveryMatrix: N of the FLOP formula is every matrix
// of the model's weights but the embedding tables (looked up, not
// multiplied), plus the output head (the tied embedding multiplied once
// more); vectors (norm gains, biases) are left out. Counted here from the
// model's own weight shapes, for every preset's family.
func TestMatmulParamsCountsEveryMatrix(t *testing.T) {
	for _, name := range PresetNames() {
		c := Presets[name].Config
		want := 0
		for w, s := range c.WeightShapes() {
			if len(s) == 2 && w != "tok_embeddings" && w != "wte" && w != "wpe" {
				want += s[0] * s[1]
			}
		}
		if c.TiedEmbeddings {
			want += c.VocabSize * c.Dim
		}
		if got := MatmulParams(c); got != want {
			t.Errorf("%s (%s): MatmulParams = %d, want %d", name, c.Arch, got, want)
		}
	}
}

// TestStepFLOPs checks the formula against a count by hand for the tiny
// preset: per token and layer, q/k/v/o are 2*d*(h*hd + 2*kv*hd + h*hd), the
// MLP 2*3*d*hidden, attention scores and values 2*2*T*d; the head 2*d*V.
func TestStepFLOPs(t *testing.T) {
	c := lm.Tiny // d 32, hidden 96, 2 layers, 4 heads (hd 8), 2 kv heads, vocab 512
	const B, T = 3, 16
	perLayer := 2.0*(32*32+2*32*16+32*32) + 2*3*32*96 + 4*T*32
	forward := B * T * (2*perLayer + 2*32*512)
	if got := StepFLOPs(c, StageScore, B, T); math.Abs(got-forward) > 1e-6 {
		t.Errorf("score FLOPs %v, want %v", got, forward)
	}
	for _, s := range []string{StageTrain, StageDP} {
		if got := StepFLOPs(c, s, B, T); math.Abs(got-3*forward) > 1e-6 {
			t.Errorf("%s FLOPs %v, want 3 x forward = %v", s, got, 3*forward)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(tc.xs); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
}

func TestRunTiny(t *testing.T) {
	p := Presets["tiny"]
	res, err := Run(Options{Name: "tiny", Config: p.Config, Batch: 2, SeqLen: 16, Warmup: 1, Steps: 3,
		Stages: AllStages, PeakGFLOPS: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stages) != 3 {
		t.Fatalf("%d stages, want 3", len(res.Stages))
	}
	for i, s := range res.Stages {
		if s.Stage != AllStages[i] || len(s.StepSeconds) != 3 || !(s.MedianSeconds > 0) {
			t.Errorf("stage %d: %+v", i, s)
		}
		if want := 32 / s.MedianSeconds; math.Abs(s.TokensPerSec-want) > 1e-9*want {
			t.Errorf("%s: %v tokens/s, want 32 tokens / median", s.Stage, s.TokensPerSec)
		}
		if s.MFU == nil || math.Abs(*s.MFU-s.GFLOPS/100) > 1e-12 {
			t.Errorf("%s: MFU %v for %v GFLOP/s of 100", s.Stage, s.MFU, s.GFLOPS)
		}
	}
	if !(res.PeakRSSMB > 1) {
		t.Errorf("peak RSS %v MB", res.PeakRSSMB)
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := Options{Config: lm.Tiny, Batch: 1, SeqLen: 8, Steps: 1, Stages: AllStages}
	for _, tc := range []struct {
		name string
		edit func(*Options)
	}{
		{"zero batch", func(o *Options) { o.Batch = 0 }},
		{"too long", func(o *Options) { o.SeqLen = lm.Tiny.MaxSeqLen + 1 }},
		{"no steps", func(o *Options) { o.Steps = 0 }},
		{"bad stage", func(o *Options) { o.Stages = []string{"infer"} }},
	} {
		o := ok
		tc.edit(&o)
		if o.Validate() == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}

// BenchmarkStories15MTrainStep is one AdamW step of the stories15M shape at
// 2 x 256 tokens (the preset's 8 rows take minutes a step on 2 cores), for
// the README's profile:
//
//	go test ./framework/bench -run XXX -bench Stories15M -benchtime 2x -cpuprofile /tmp/cpu.out
//	go tool pprof -top framework/bench.test /tmp/cpu.out
func BenchmarkStories15MTrainStep(b *testing.B) {
	c := Presets["stories15m"].Config
	batch, seqs, err := randomBatch(c, 2, 256)
	if err != nil {
		b.Fatal(err)
	}
	m, err := lm.New(c, backend.MustNew(""), 1)
	if err != nil {
		b.Fatal(err)
	}
	step, err := stepFunc(m, StageTrain, batch, seqs)
	if err != nil {
		b.Fatal(err)
	}
	if err := step(); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*256)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

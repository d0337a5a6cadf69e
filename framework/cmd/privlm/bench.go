package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/bench"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/progress"
)

func init() {
	register("bench", "measure training, DP training and scoring speed of a model shape", runBench)
}

func runBench(args []string, e *env) error {
	fs := newFlags("bench", "bench [--model PRESET | --dims vocab=V,dim=D,hidden=H,layers=L,heads=N[,kv_heads=K,arch=llama|gpt2]] [--batch B] [--seq-len T] [--warmup W] [--steps S] [--stages train,dp,score] [--peak-gflops P] [--json]", e.stderr)
	model := fs.String("model", "small", "preset shape: "+strings.Join(bench.PresetNames(), ", "))
	dims := fs.String("dims", "", "explicit dimensions instead of a preset, e.g. vocab=32000,dim=288,hidden=768,layers=6,heads=6")
	batch := fs.Int("batch", 0, "rows per step (default: the preset's)")
	seqLen := fs.Int("seq-len", 0, "tokens per row (default: the preset's)")
	warmup := fs.Int("warmup", 2, "untimed steps after the compiling one")
	steps := fs.Int("steps", 5, "timed steps (the median is reported)")
	stages := fs.String("stages", strings.Join(bench.AllStages, ","), "stages to measure: train (AdamW), dp (ghost clipping + noise), score")
	peak := fs.Float64("peak-gflops", 0, "peak GFLOP/s of the machine, for MFU (not guessed)")
	asJSON := fs.Bool("json", false, "print JSON (the schema of bench/pytorch_llama.py)")
	backendSpec := fs.String("backend", "", "GoMLX backend (default: $PRIVLM_BACKEND, $GOMLX_BACKEND, or "+backend.DefaultSpec+")")
	if err := parse(fs, args); err != nil {
		return err
	}
	opts := bench.Options{Name: *model, Warmup: *warmup, Steps: *steps, PeakGFLOPS: *peak, Backend: *backendSpec}
	if *dims != "" {
		cfg, err := parseDims(*dims)
		if err != nil {
			return err
		}
		opts.Name, opts.Config, opts.Batch, opts.SeqLen = "custom", cfg, 8, min(128, cfg.MaxSeqLen)
	} else {
		p, ok := bench.Presets[strings.ToLower(*model)]
		if !ok {
			return fmt.Errorf("--model %q: unknown preset (known: %s)", *model, strings.Join(bench.PresetNames(), ", "))
		}
		opts.Config, opts.Batch, opts.SeqLen = p.Config, p.Batch, p.SeqLen
	}
	if *batch > 0 {
		opts.Batch = *batch
	}
	if *seqLen > 0 {
		opts.SeqLen = *seqLen
	}
	for _, s := range strings.Split(*stages, ",") {
		if s = strings.TrimSpace(s); s != "" {
			opts.Stages = append(opts.Stages, s)
		}
	}
	var bar *progress.Bar
	barStage := ""
	opts.Progress = func(stage string, done, total int) {
		if stage != barStage || done == 0 {
			bar = progress.New(e.stderr, "bench "+stage, "steps", total)
			barStage = stage
			return
		}
		bar.Set(done, "")
	}
	if f, ok := e.stderr.(*os.File); !ok || f == nil {
		opts.Progress = nil // in-process callers (tests) get the result only
	}
	res, err := bench.Run(opts)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(e.stdout, "%s: %d params (%d in matmuls), %d x %d tokens, %d threads, %s\n",
		res.Model, res.Params, res.MatmulParams, res.Batch, res.SeqLen, res.Threads, res.Versions)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tcompile s\tmedian s/step\ttokens/s\tGFLOP/step\tGFLOP/s\tMFU\tpeak RSS MB\t")
	for _, s := range res.Stages {
		mfu := "-"
		if s.MFU != nil {
			mfu = fmt.Sprintf("%.1f%%", 100**s.MFU)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.3f\t%.0f\t%.2f\t%.2f\t%s\t%.0f\t\n", s.Stage, s.CompileSeconds, s.MedianSeconds,
			s.TokensPerSec, s.GFLOPs, s.GFLOPS, mfu, s.PeakRSSMB)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "FLOPs: %s\n", res.FLOPFormula)
	return nil
}

// parseDims reads "vocab=V,dim=D,hidden=H,layers=L,heads=N,kv_heads=K,
// max_seq_len=M,arch=llama" into a config (kv_heads defaults to heads,
// max_seq_len to 512, arch to llama; embeddings are tied).
func parseDims(s string) (lm.Config, error) {
	c := lm.Config{Arch: lm.Llama, MaxSeqLen: 512, TiedEmbeddings: true, NormEps: 1e-5, RopeTheta: 10000}
	ints := map[string]*int{"vocab": &c.VocabSize, "dim": &c.Dim, "hidden": &c.HiddenDim, "layers": &c.Layers,
		"heads": &c.Heads, "kv_heads": &c.KVHeads, "max_seq_len": &c.MaxSeqLen}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return c, fmt.Errorf("--dims: %q is not key=value", kv)
		}
		if k == "arch" {
			c.Arch = lm.Arch(v)
			if c.Arch == lm.GPT2 {
				c.RopeTheta = 0
			}
			continue
		}
		p, known := ints[k]
		if !known {
			return c, fmt.Errorf("--dims: unknown key %q (known: arch, vocab, dim, hidden, layers, heads, kv_heads, max_seq_len)", k)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("--dims: %s=%q, want a positive integer", k, v)
		}
		*p = n
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("--dims: %w", err)
	}
	return c, nil
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/privlm/privlm/datasets"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/config"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
	"github.com/privlm/privlm/framework/train"
)

func init() {
	register("glue", "fine-tune a classification head on a GLUE task (non-private or DP) and report dev accuracy", runGLUE)
}

func runGLUE(args []string, e *env) error {
	fs := newFlags("glue", "glue --task sst2|qnli|qqp|mnli [--model PATH] [--tokenizer PATH] [--dp] [--accountant rdp|edgeworth|pld] [--epsilon 8] [--set key=value ...] [--json]", e.stderr)
	task := fs.String("task", "sst2", "GLUE task: sst2, qnli, qqp or mnli (../shared/data subsets)")
	model := fs.String("model", filepath.Join("models", "stories260K.bin"), "base model (resolved under the shared data directory when not found)")
	tokPath := fs.String("tokenizer", filepath.Join("models", "tok512.bin"), "tokenizer")
	dp := fs.Bool("dp", false, "example-level DP-SGD")
	accountant := fs.String("accountant", "rdp", "accountant calibrating the noise (edgeworth uses EW-Tune's grid search)")
	epsilon := fs.Float64("epsilon", 8, "target epsilon with --dp")
	asJSON := fs.Bool("json", false, "print JSON")
	var sets multiFlag
	fs.Var(&sets, "set", "override a train config key (repeatable): key=value, e.g. steps=300")
	if err := parse(fs, args); err != nil {
		return err
	}
	var gt *datasets.GLUETask
	for i := range datasets.GLUETasks {
		if datasets.GLUETasks[i].Name == *task {
			gt = &datasets.GLUETasks[i]
		}
	}
	if gt == nil {
		return fmt.Errorf("--task %q: want sst2, qnli, qqp or mnli", *task)
	}
	cfg := train.DefaultConfig()
	cfg.Steps, cfg.BatchSize, cfg.SeqLen, cfg.LearningRate, cfg.ClipNorm = 300, 32, 64, 2e-3, 1
	if *dp {
		cfg.DP, cfg.TargetEpsilon, cfg.Accountant = "example", *epsilon, *accountant
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("--set %q: want key=value", s)
		}
		if err := config.Set(&cfg, strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp("", "privlm-glue-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	res, err := datasets.Prepare("glue-"+gt.Name, "", filepath.Join(tmp, "glue.parquet"), nil)
	if err != nil {
		return err
	}
	recs, err := data.ReadFile(res.Out)
	if err != nil {
		return err
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
	evalName := "dev"
	if len(testRecs) > 0 { // SST-2's test.tsv here is the official GLUE dev set
		devRecs, evalName = testRecs, "GLUE dev (test.tsv)"
	}
	be, err := backend.New("")
	if err != nil {
		return err
	}
	modelPath, err := shareddata.Resolve(*model)
	if err != nil {
		return err
	}
	tp, err := shareddata.Resolve(*tokPath)
	if err != nil {
		return err
	}
	base, _, err := lm.Open(modelPath, be)
	if err != nil {
		return err
	}
	m, err := base.WithClassifier(len(gt.Labels), cfg.Seed)
	if err != nil {
		return err
	}
	tok, err := tokenizer.Load(tp)
	if err != nil {
		return err
	}
	progress := func(p train.Progress) {
		if isTerminal(e.stderr) {
			fmt.Fprintf(e.stderr, "\rglue %s: step %d/%d loss %.3f", gt.Name, p.Step, p.TotalSteps, p.Loss)
		} else if p.Step%50 == 0 || p.Step == p.TotalSteps {
			fmt.Fprintf(e.stderr, "glue %s: step %d/%d loss %.3f\n", gt.Name, p.Step, p.TotalSteps, p.Loss)
		}
	}
	out, err := train.RunClassifier(m, tok, trainRecs, devRecs, gt.Labels, cfg, progress)
	if isTerminal(e.stderr) {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"task": gt.Name, "eval": evalName, "train_examples": len(trainRecs),
			"eval_examples": len(devRecs), "config": cfg, "result": out})
	}
	fmt.Fprintf(e.stdout, "%s: accuracy %.4f on %s (%d examples) after %d steps on %d training examples\n", gt.Name, out.Accuracy, evalName, len(devRecs), out.Steps, len(trainRecs))
	if out.Privacy != nil {
		fmt.Fprintf(e.stdout, "DP: sigma %.4f (calibrated to epsilon %g with %s), q %.6f, steps %d; epsilon by accountant: %v\n",
			out.Sigma, cfg.TargetEpsilon, cfg.Accountant, out.Privacy.SampleRate, out.Privacy.Steps, out.Privacy.Epsilon)
	}
	return nil
}

package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/privlm/privlm/framework/config"
	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/progress"
	"github.com/privlm/privlm/framework/train"
)

func init() {
	register("glue", "fine-tune a classification head on a GLUE task (non-private or DP) and report dev accuracy", runGLUE)
}

func runGLUE(args []string, e *env) error {
	fs := newFlags("glue", "glue --task sst2|qnli|qqp|mnli [--model PATH] [--tokenizer PATH] [--dp] [--accountant SPEC] [--epsilon 8] [--recipe ewtune --epochs E] [--max-train N] [--hold-out N] [--set key=value ...] [--json]", e.stderr)
	task := fs.String("task", "sst2", "GLUE task: sst2, qnli, qqp or mnli (../shared/data subsets)")
	def := experiment.DefaultGLUE("")
	model := fs.String("model", def.Model, "base model (resolved under the shared data directory when not found)")
	tokPath := fs.String("tokenizer", def.Tokenizer, "tokenizer")
	dp := fs.Bool("dp", false, "example-level DP-SGD")
	accountant := fs.String("accountant", "rdp", "accountant spec calibrating the noise (rdp, pld, prv, edgeworth, with options as in rdp?conversion=classic&orders=ewtune; with --recipe ewtune also ew, prv, rdp for EW-Tune's three)")
	recipe := fs.String("recipe", "", "ewtune: EW-Tune's recipe (its grid search, its accountants, steps = epochs x floor(N/batch)); default: bisection")
	epochs := fs.Float64("epochs", 20, "epochs with --recipe ewtune")
	epsilon := fs.Float64("epsilon", 8, "target epsilon with --dp")
	maxTrain := fs.Int("max-train", 0, "train on a random subset of this many training examples, drawn with the run's seed (0: all)")
	holdOut := fs.Int("hold-out", 0, "hold this many training examples out of training and report accuracy on them instead of the dev set (for hyperparameter searches; the same examples for every run)")
	asJSON := fs.Bool("json", false, "print JSON")
	var sets multiFlag
	fs.Var(&sets, "set", "override a train config key (repeatable): key=value, e.g. steps=300")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := experiment.DefaultGLUE(*task)
	cfg.Model, cfg.Tokenizer = *model, *tokPath
	if *maxTrain < 0 || *holdOut < 0 {
		return fmt.Errorf("--max-train %d, --hold-out %d: want >= 0", *maxTrain, *holdOut)
	}
	cfg.MaxTrain, cfg.HoldOut = *maxTrain, *holdOut
	switch {
	case *recipe == "ewtune":
		cfg = cfg.WithEWTuneRecipe(*accountant, *epsilon, *epochs)
	case *recipe != "":
		return fmt.Errorf("--recipe %q: want ewtune (or no --recipe)", *recipe)
	case *dp:
		cfg = cfg.WithDP(*accountant, *epsilon)
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("--set %q: want key=value", s)
		}
		if err := config.Set(&cfg.Train, strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return err
		}
	}
	var bar *progress.Bar
	report := func(p train.Progress) {
		if bar == nil {
			bar = progress.New(e.stderr, "glue "+cfg.Task, "steps", p.TotalSteps)
		}
		bar.Set(p.Step, fmt.Sprintf("loss %.3f", p.Loss))
	}
	res, err := experiment.RunGLUE(cfg, report)
	bar.Done()
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"config": cfg, "result": res})
	}
	fmt.Fprintf(e.stdout, "%s: accuracy %.4f on %s (%d examples; majority %.4f) after %d steps on %d training examples\n",
		res.Task, res.Accuracy, res.Eval, res.EvalExamples, res.Majority, res.Steps, res.TrainExamples)
	if res.DP != "none" {
		fmt.Fprintf(e.stdout, "DP (unit: one %s): sigma %.4f (calibrated to epsilon %g with %s by %s); epsilon at delta %s by accountant: rdp %s, pld %s, edgeworth %s\n",
			res.DPUnit, res.Sigma, res.TargetEpsilon, res.Accountant, res.NoiseSearch, fmtDelta(res.Delta), fmtEps(res.EpsilonRDP), fmtEps(res.EpsilonPLD), fmtEps(res.EpsilonEdgeworth))
	}
	return nil
}

func fmtEps(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *v)
}

func fmtDelta(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%g", *v)
}

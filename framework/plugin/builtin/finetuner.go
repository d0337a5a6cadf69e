package builtin

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/buildinfo"
	"github.com/privlm/privlm/framework/config"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/progress"
	"github.com/privlm/privlm/framework/tokenizer"
	"github.com/privlm/privlm/framework/train"
)

// FineTuneModes are the fine-tuner's modes.
var FineTuneModes = []string{"full", "clipped", "dp-example", "dp-user"}

// FineTuner wraps framework/train: mode "full" (plain AdamW), "clipped"
// (gradient clipping, no noise: per-example unless clip=batch), "dp-example"
// and "dp-user" (DP-SGD with ghost clipping). Every train.Config key is a
// parameter; mitigations' settings ("train.KEY") override them.
type FineTuner struct {
	mode string
	cfg  plugin.Config
}

func (*FineTuner) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindFineTuner, Name: "finetune", Version: buildinfo.Version,
		Description: "fine-tunes privlm's causal LM: full, clipped, dp-example or dp-user"}
}

// ConfigSchema exposes mode and every train.Config key (as strings, in the
// key=value syntax).
func (*FineTuner) ConfigSchema() []plugin.Param {
	params := []plugin.Param{{Name: "mode", Type: "string", Default: "full", Enum: FineTuneModes,
		Description: "full, clipped (no noise), dp-example or dp-user"}}
	var c train.Config
	for _, k := range config.Keys(&c) {
		params = append(params, plugin.Param{Name: k, Type: "string", Description: "train." + k + " (see framework/train.Config)"})
	}
	return params
}

func (f *FineTuner) Configure(cfg plugin.Config) error {
	f.mode, f.cfg = cfg.String("mode"), cfg
	_, err := f.trainConfig(nil)
	return err
}

// trainConfig builds the train.Config: defaults, mode, parameters, then settings.
func (f *FineTuner) trainConfig(settings map[string]string) (train.Config, error) {
	c := train.DefaultConfig()
	switch f.mode {
	case "clipped":
		c.Clip = "per-example"
	case "dp-example":
		c.DP = "example"
	case "dp-user":
		c.DP = "user"
	}
	var keys []string
	for k := range f.cfg {
		if k != "mode" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := config.Set(&c, k, fmt.Sprint(f.cfg[k])); err != nil {
			return c, err
		}
	}
	var skeys []string
	for k := range settings {
		skeys = append(skeys, k)
	}
	sort.Strings(skeys)
	for _, k := range skeys {
		key, ok := strings.CutPrefix(k, "train.")
		if !ok {
			return c, fmt.Errorf("setting %q is not a train.* key", k)
		}
		if err := config.Set(&c, key, settings[k]); err != nil {
			return c, fmt.Errorf("setting %s: %w", k, err)
		}
	}
	return c, c.Validate()
}

func (f *FineTuner) FineTune(ctx context.Context, req plugin.FineTuneRequest) (plugin.FineTuneResponse, error) {
	cfg, err := f.trainConfig(req.Settings)
	if err != nil {
		return plugin.FineTuneResponse{}, err
	}
	cfg.Seed = req.Seed
	be, err := backend.New(req.Backend)
	if err != nil {
		return plugin.FineTuneResponse{}, err
	}
	m, recorded, err := lm.Open(req.BaseCheckpoint, be)
	if err != nil {
		return plugin.FineTuneResponse{}, err
	}
	tokPath := req.Tokenizer
	if tokPath == "" {
		tokPath = recorded
	}
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		return plugin.FineTuneResponse{}, err
	}
	trainRecs, err := data.ReadFile(req.TrainPath)
	if err != nil {
		return plugin.FineTuneResponse{}, err
	}
	var valRecs []data.Record
	if req.ValidationPath != "" {
		if valRecs, err = data.ReadFile(req.ValidationPath); err != nil {
			return plugin.FineTuneResponse{}, err
		}
	}
	// The plugin's stderr goes to the host's log, not a terminal: a plain
	// progress line (steps, rate, ETA, loss) after the first step, then at
	// most every progress.Interval, and at the end.
	var bar *progress.Bar
	res, err := train.Run(m, tok, trainRecs, valRecs, cfg, train.Options{OutputDir: req.OutputDir, TokenizerPath: tokPath, Context: ctx,
		Progress: func(p train.Progress) {
			if bar == nil {
				bar = progress.New(logWriter{plugin.Logger()}, "fine-tuning", "steps", p.TotalSteps)
			}
			bar.Set(p.Step, fmt.Sprintf("loss %.4f", p.Loss))
		}})
	if err != nil {
		return plugin.FineTuneResponse{}, err
	}
	resp := plugin.FineTuneResponse{Best: res.Best, BestStep: res.BestStep, TrainingLog: res.Log}
	if v := res.BestValLoss; !math.IsInf(v, 0) && !math.IsNaN(v) {
		resp.BestValLoss = &v
	}
	for _, c := range res.Checkpoints {
		resp.Checkpoints = append(resp.Checkpoints, plugin.CheckpointInfo{Path: c.Path, Step: c.Step, ValLoss: c.ValLoss})
	}
	if res.Privacy != nil {
		resp.PrivacyReport = req.OutputDir + "/privacy_report.json"
	}
	return resp, nil
}

// logWriter turns each line written to it into an info message.
type logWriter struct{ log hclog.Logger }

func (w logWriter) Write(b []byte) (int, error) {
	w.log.Info(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

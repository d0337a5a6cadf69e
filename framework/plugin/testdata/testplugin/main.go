// Command testplugin is a plugin whose behaviour PRIVLM_TESTPLUGIN_MODE
// selects, for the SDK's failure tests.
package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/privlm/privlm/framework/plugin"
)

var mode = os.Getenv("PRIVLM_TESTPLUGIN_MODE")

type attack struct{ scale float64 }

func (*attack) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindAttack, Name: "testplugin", Version: "0.0.1", Description: "test attack"}
}
func (*attack) ConfigSchema() []plugin.Param {
	return []plugin.Param{{Name: "scale", Type: "float", Default: 1.0}}
}
func (a *attack) Configure(cfg plugin.Config) error { a.scale = cfg.Float("scale"); return nil }

func (a *attack) Score(ctx context.Context, req plugin.AttackRequest, oracle plugin.Oracle) (plugin.AttackResponse, error) {
	switch mode {
	case "panic":
		panic("deliberate panic in Score")
	case "crash":
		go func() { panic("deliberate panic in a goroutine") }()
		time.Sleep(time.Hour)
	case "exit":
		os.Exit(3)
	case "sleep":
		time.Sleep(time.Hour)
	}
	var resp plugin.AttackResponse
	for _, u := range req.Users {
		target, err := oracle.LogLikelihood(ctx, plugin.Target, u.Texts, true)
		if err != nil {
			return resp, err
		}
		ref, err := oracle.LogLikelihood(ctx, plugin.Reference, u.Texts, false)
		if err != nil {
			return resp, err
		}
		s := 0.0
		var per []float64
		for i := range target {
			d := target[i].LogLik - ref[i].LogLik
			per = append(per, d)
			s += d
		}
		score := a.scale * s / float64(len(target))
		if mode == "nan" {
			score = math.NaN()
		}
		resp.Scores = append(resp.Scores, plugin.UserScore{UserID: u.UserID, Score: score, SampleScores: per})
		if mode == "short" {
			break
		}
	}
	return resp, nil
}

type finetuner struct{ plugin.NoConfig }

func (finetuner) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindFineTuner, Name: "testplugin", Version: "0.0.1"}
}
func (finetuner) FineTune(_ context.Context, req plugin.FineTuneRequest) (plugin.FineTuneResponse, error) {
	if mode == "finetuner-files" { // the sandbox test: its inputs and output only
		if _, err := os.ReadFile(req.TrainPath); err != nil {
			return plugin.FineTuneResponse{}, err
		}
		if err := os.WriteFile(req.OutputDir+"/best", []byte("weights"), 0o644); err != nil {
			return plugin.FineTuneResponse{}, err
		}
		var leaks []string
		if _, err := os.ReadFile(req.Settings["forbidden_read"]); err == nil {
			leaks = append(leaks, "read "+req.Settings["forbidden_read"])
		}
		if err := os.WriteFile(req.Settings["forbidden_write"], []byte("x"), 0o644); err == nil {
			leaks = append(leaks, "wrote "+req.Settings["forbidden_write"])
		}
		if len(leaks) > 0 {
			return plugin.FineTuneResponse{}, fmt.Errorf("leak: %v", leaks)
		}
	}
	best := req.OutputDir + "/best"
	return plugin.FineTuneResponse{Checkpoints: []plugin.CheckpointInfo{{Path: best, Step: 7, ValLoss: 1.5}}, Best: best,
		TrainingLog: req.OutputDir + "/log.parquet"}, nil
}

type mitigation struct{ plugin.NoConfig }

func (mitigation) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMitigation, Name: "testplugin", Version: "0.0.1"}
}
func (mitigation) Apply(_ context.Context, req plugin.MitigationRequest) (plugin.MitigationResponse, error) {
	return plugin.MitigationResponse{Settings: map[string]string{"train.clip": "per-example"}, Summary: "seed " + fmt.Sprint(req.Seed)}, nil
}

func main() {
	switch mode {
	case "stdout":
		fmt.Println("hello from a plugin that talks too early")
	case "wrong-api":
		h := plugin.Handshake
		h.ProtocolVersion = plugin.APIVersion + 98
		goplugin.Serve(&goplugin.ServeConfig{HandshakeConfig: h, GRPCServer: goplugin.DefaultGRPCServer,
			VersionedPlugins: map[int]goplugin.PluginSet{plugin.APIVersion + 98: {}}})
		return
	case "finetuner", "finetuner-files":
		plugin.Serve(finetuner{})
	case "mitigation":
		plugin.Serve(mitigation{})
	}
	plugin.Serve(&attack{})
}

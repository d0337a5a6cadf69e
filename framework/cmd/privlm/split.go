package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/privlm/privlm/framework/experiment"
)

func init() {
	register("split", "make an experiment's user split only (data and split stages) and report its attacker/training overlap", runSplit)
}

func runSplit(args []string, e *env) error {
	fs := newFlags("split", "split [--preset default|quickstart|quick|repro|full] [--dataset NAME] [--config FILE] [--set key=value ...] [--out DIR] [--json]", e.stderr)
	preset := fs.String("preset", "default", "starting config: default, quickstart, quick (experiment.Quick) or full (experiment.Full)")
	dataset := fs.String("dataset", "", "dataset.name (for quick and full, the preset's dataset)")
	file := fs.String("config", "", "config file over the preset")
	out := fs.String("out", "", "results directory whose stages/ receive the data and split stages (default results/<name>)")
	asJSON := fs.Bool("json", false, "print users.json's summary as JSON")
	var sets multiFlag
	fs.Var(&sets, "set", "override a config key (repeatable): key=value")
	if err := parse(fs, args); err != nil {
		return err
	}
	var cfg experiment.Config
	switch *preset {
	case "default":
		cfg = experiment.Default()
	case "quickstart":
		cfg = experiment.Quickstart()
	case "quick", "repro", "full":
		if *dataset == "" {
			return fmt.Errorf("--preset %s needs --dataset", *preset)
		}
		switch *preset {
		case "quick":
			cfg = experiment.Quick(*dataset)
		case "repro":
			cfg = experiment.Repro(*dataset)
		default:
			var err error
			if cfg, err = experiment.Full(*dataset); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("--preset %q: want default, quickstart, quick, repro or full", *preset)
	}
	if *file != "" {
		var err error
		if cfg, err = experiment.LoadOver(cfg, *file); err != nil {
			return err
		}
	}
	if *dataset != "" {
		cfg.Dataset.Name = *dataset
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("--set %q: want key=value", s)
		}
		if err := cfg.Set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return err
		}
	}
	if *out == "" {
		*out = filepath.Join("results", cfg.Name)
	}
	info, err := experiment.RunSplit(cfg, *out, e.stderr)
	if err != nil {
		return err
	}
	members, canaries := 0, 0
	for _, u := range info.Users {
		if u.Member {
			members++
		}
		if u.Canary {
			canaries++
		}
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"name": cfg.Name, "dataset": cfg.Dataset.Name, "attack_users": len(info.Users),
			"members": members, "canaries": canaries, "train_docs": info.TrainDocs, "validation_docs": info.ValidationDocs, "attacker_overlap": info.Overlap})
	}
	fmt.Fprintf(e.stdout, "%s (%s): %d attack users (%d held in, %d canaries), %d training and %d validation documents\n",
		cfg.Name, cfg.Dataset.Name, len(info.Users), members, canaries, info.TrainDocs, info.ValidationDocs)
	if info.Overlap != nil {
		fmt.Fprintln(e.stdout, experiment.OverlapSummary(*info.Overlap))
	}
	return nil
}

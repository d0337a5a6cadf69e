package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/privacy"
	"github.com/privlm/privlm/framework/train"
)

func init() {
	register("quickstart", "run the quickstart user inference experiment (SpamAssassin email, stories260K)", runQuickstart)
	register("run", "run an experiment from a config file with key=value overrides", runRun)
}

// multiFlag collects repeated -set / -sweep flags.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runQuickstart(args []string, e *env) error {
	fs := newFlags("quickstart", "quickstart [--out DIR] [--set key=value ...] [--json]", e.stderr)
	out := fs.String("out", filepath.Join("results", "quickstart"), "results directory")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	var sets multiFlag
	fs.Var(&sets, "set", "override a config key (repeatable): key=value")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := experiment.Quickstart()
	for _, s := range sets {
		k, v, _ := strings.Cut(s, "=")
		if err := cfg.Set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return err
		}
	}
	return execute(cfg, *out, *asJSON, e)
}

func runRun(args []string, e *env) error {
	fs := newFlags("run", "run --config FILE [--set key=value ...] [--sweep key=v1,v2 ...] [--out DIR] [--json]", e.stderr)
	file := fs.String("config", "", "config file: JSON, or key = value lines (defaults fill the rest)")
	out := fs.String("out", "", "results directory (default results/<name>)")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	var sets, sweeps multiFlag
	fs.Var(&sets, "set", "override a config key (repeatable): key=value")
	fs.Var(&sweeps, "sweep", "sweep a key over values (repeatable, grid): key=v1,v2,...")
	keys := fs.Bool("keys", false, "list the config keys and exit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keys {
		fmt.Fprintln(e.stdout, strings.Join(experiment.Keys(), "\n"))
		return nil
	}
	cfg, err := loadConfig(*file, sets)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("results", cfg.Name)
	}
	if len(sweeps) > 0 {
		order, grid, err := parseSweeps(sweeps)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		rows, err := experiment.Sweep(ctx, cfg, order, grid, *out, e.stderr)
		if err != nil {
			return err
		}
		printMetrics(e.stdout, rows, *asJSON)
		fmt.Fprintf(e.stdout, "\nsweep results: %s\n", filepath.Join(*out, "sweep_metrics.parquet"))
		return nil
	}
	return execute(cfg, *out, *asJSON, e)
}

// loadConfig is the defaults, or file, with the --set overrides.
func loadConfig(file string, sets []string) (experiment.Config, error) {
	cfg := experiment.Default()
	if file != "" {
		var err error
		if cfg, err = experiment.Load(file); err != nil {
			return cfg, err
		}
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return cfg, fmt.Errorf("--set %q: want key=value", s)
		}
		if err := cfg.Set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// parseSweeps reads --sweep key=v1,v2 flags: the keys in order and their values.
func parseSweeps(sweeps []string) ([]string, map[string][]string, error) {
	grid := map[string][]string{}
	var order []string
	for _, s := range sweeps {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, nil, fmt.Errorf("--sweep %q: want key=v1,v2", s)
		}
		k = strings.TrimSpace(k)
		if _, dup := grid[k]; dup {
			return nil, nil, fmt.Errorf("--sweep %q: key %s swept twice", s, k)
		}
		order = append(order, k)
		for _, x := range strings.Split(v, ",") {
			grid[k] = append(grid[k], strings.TrimSpace(x))
		}
	}
	return order, grid, nil
}

func execute(cfg experiment.Config, out string, asJSON bool, e *env) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := experiment.Run(ctx, cfg, out, e.stderr)
	if err != nil {
		return err
	}
	printMetrics(e.stdout, res.Metrics, asJSON)
	if !asJSON && res.Manifest.AttackerOverlap != nil {
		fmt.Fprintf(e.stdout, "\n%s\n", experiment.OverlapSummary(*res.Manifest.AttackerOverlap))
	}
	for _, ps := range res.Manifest.PerSeed {
		if !asJSON && ps.AttackerOverlap != nil {
			fmt.Fprintf(e.stdout, "\nseed %d: %s\n", ps.Seed, experiment.OverlapSummary(*ps.AttackerOverlap))
		}
	}
	if !asJSON {
		for _, w := range res.Manifest.Warnings {
			fmt.Fprintf(e.stdout, "warning: %s\n", w)
		}
		fmt.Fprintf(e.stdout, "\nresults in %s: scores.parquet, metrics.parquet, training_log.parquet, roc.svg, roc.png, roc_loglog.svg, roc_loglog.png, manifest.json (%.0fs)\n", out, res.Duration.Seconds())
	}
	return nil
}

// printMetrics prints the headline rows (non-canary users; every group is
// in metrics.parquet); a TPR without the non-members to estimate it is n/a.
func printMetrics(w io.Writer, rows []experiment.MetricsRow, asJSON bool) {
	if asJSON {
		json.NewEncoder(w).Encode(rows)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	io.WriteString(tw, "EXPERIMENT\tATTACK\tAUROC\t95% CI\tP(CHANCE)\tTPR@0.1%FPR\tTPR@1%FPR\tTPR@5%FPR\tMEMBERS\tNON-MEMBERS\n")
	for _, r := range experiment.Headline(rows) {
		p := "n/a"
		if r.ChanceP != nil {
			p = fmt.Sprintf("%.4f", *r.ChanceP)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t[%.3f, %.3f]\t%s\t%s\t%s\t%s\t%d\t%d\n", r.ExperimentID, r.Attack, r.AUROC, r.AUROCLo, r.AUROCHi, p,
			rate(r.TPRAt01FPR), rate(r.TPRAt1FPR), rate(r.TPRAt5FPR), r.NMembers, r.NNonMembers)
	}
	tw.Flush()
	fmt.Fprintln(w, "(non-canary users; P(CHANCE): one-sided permutation p-value of no membership signal, 9999 label permutations within each seed; TPR at FPR f needs ceil(1/f) non-members, else n/a; every group (all, canary, non_canary) is in metrics.parquet)")
	printPrivacy(w, rows)
}

// rate formats an optional rate: n/a when absent.
func rate(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", *v)
}

// printPrivacy says what each DP experiment's epsilon protects: the unit's
// epsilon, and for dp=example a whole document's and a whole user's.
func printPrivacy(w io.Writer, rows []experiment.MetricsRow) {
	seen := map[string]bool{}
	opt := func(v *float64, acc string) string {
		s := "n/a (no finite bound)"
		switch {
		case v == nil:
		case *v > privacy.MaxEpsilon:
			s = fmt.Sprintf("%.4g (%s)", *v, train.MeaninglessNote)
		default:
			s = fmt.Sprintf("%.3g", *v)
		}
		if v != nil && acc != "" && acc != "pld" {
			s += " by " + acc
		}
		return s
	}
	for _, r := range rows {
		if r.Epsilon == nil || r.Delta == nil || seen[r.ExperimentID] {
			continue
		}
		seen[r.ExperimentID] = true
		unit := r.DPUnit
		if unit == "" {
			unit = "unit (unit not reported by the fine-tuner)"
		}
		fmt.Fprintf(w, "%s: DP (dp=%s) epsilon %.3g per %s at delta %g (%s)", r.ExperimentID, r.DPLevel, *r.Epsilon, unit, *r.Delta, r.Accountant)
		if r.DPUnit == "window" {
			fmt.Fprintf(w, "; a whole document: %s, a whole user: %s (group bounds for the largest)", opt(r.EpsilonDocument, r.AccountantDocument), opt(r.EpsilonUser, r.AccountantUser))
		}
		fmt.Fprintln(w)
	}
}

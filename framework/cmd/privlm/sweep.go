package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/sweep"
)

func init() {
	register("sweep", "run a sweep with worker processes or on Slurm: sweep run|status|collect|resubmit|worker", runSweep)
}

const sweepUsage = `sweep run --config FILE [--set key=value ...] --sweep key=v1,v2 [...] --out DIR [--executor local|slurm] [flags]
       privlm sweep status DIR [--json]
       privlm sweep collect DIR [--json]
       privlm sweep resubmit DIR [slurm flags]
       privlm sweep worker DIR --shared | --point I|array`

func runSweep(args []string, e *env) error {
	if len(args) == 0 {
		fmt.Fprintf(e.stderr, "usage: privlm %s\n", sweepUsage)
		return errUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "worker":
		return sweep.Worker(ctx, args[1:], e.stderr)
	case "run":
		return sweepRun(ctx, args[1:], e)
	case "status":
		return sweepStatus(ctx, args[1:], e)
	case "collect":
		return sweepCollect(args[1:], e)
	case "resubmit":
		return sweepResubmit(ctx, args[1:], e)
	}
	fmt.Fprintf(e.stderr, "privlm sweep: unknown subcommand %q\nusage: privlm %s\n", args[0], sweepUsage)
	return errUsage
}

func sweepRun(ctx context.Context, args []string, e *env) error {
	fs := newFlags("sweep run", sweepUsage, e.stderr)
	file := fs.String("config", "", "config file: JSON, or key = value lines (defaults fill the rest)")
	out := fs.String("out", "", "sweep directory (default results/<name>)")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	executor := fs.String("executor", "local", "local (worker processes here) or slurm (sbatch: shared job + job array)")
	workers := fs.Int("workers", 0, "local: worker processes at once (0: one per core)")
	wait := fs.Bool("wait", false, "slurm: wait for the jobs, then collect")
	var sets, sweeps multiFlag
	fs.Var(&sets, "set", "override a config key (repeatable): key=value")
	fs.Var(&sweeps, "sweep", "sweep a key over values (repeatable, grid): key=v1,v2,...")
	sl := addSlurmFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*file, sets)
	if err != nil {
		return err
	}
	if len(sweeps) == 0 {
		return fmt.Errorf("sweep run: no --sweep key=v1,v2")
	}
	order, grid, err := parseSweeps(sweeps)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("results", cfg.Name)
	}
	if _, err := experiment.PlanSweep(cfg, experiment.Grid(order, grid), *out); err != nil {
		return err
	}
	switch *executor {
	case "local":
		rows, err := sweep.Local{Workers: *workers, Log: e.stderr}.Run(ctx, *out)
		if err != nil {
			return err
		}
		printMetrics(e.stdout, rows, *asJSON)
		fmt.Fprintf(e.stdout, "\nsweep results: %s\n", filepath.Join(*out, "sweep_metrics.parquet"))
		return nil
	case "slurm":
		s := sl.slurm()
		sub, err := s.Submit(ctx, *out, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "submitted: shared stages job %s, points array job %s (%d points); scripts in %s\n", sub.Shared, sub.Array, len(sub.Points), filepath.Join(*out, "slurm"))
		if !*wait {
			fmt.Fprintf(e.stdout, "follow with: privlm sweep status %s; then privlm sweep collect %s\n", *out, *out)
			return nil
		}
		states, err := sweep.Wait(ctx, *out, 5*time.Second)
		if err != nil {
			return err
		}
		if failed := sweep.Failed(states); len(failed) > 0 {
			printStates(e, states)
			return fmt.Errorf("sweep: %d points failed; resubmit them with: privlm sweep resubmit %s", len(failed), *out)
		}
		return sweepCollect([]string{*out}, e)
	}
	return fmt.Errorf("sweep run: --executor %q, want local or slurm", *executor)
}

// slurmOptions are the flags of the Slurm executor's resources.
type slurmOptions struct {
	cpus, gpus                 *int
	mem, time, part, acct, cmd *string
	extra, setup               multiFlag
}

func addSlurmFlags(fs *flag.FlagSet) *slurmOptions {
	o := &slurmOptions{}
	o.cpus = fs.Int("cpus", 0, "slurm: --cpus-per-task of each job (0: the cluster's default)")
	o.gpus = fs.Int("gpus", 0, "slurm: --gres=gpu:N for each job (XLA points)")
	o.mem = fs.String("mem", "", "slurm: --mem of each job, e.g. 16G")
	o.time = fs.String("time", "", "slurm: --time of each job, e.g. 04:00:00")
	o.part = fs.String("partition", "", "slurm: --partition")
	o.acct = fs.String("account", "", "slurm: --account")
	o.cmd = fs.String("worker", "", "slurm: the worker command on the nodes (default: this privlm's path, then 'sweep worker')")
	fs.Var(&o.extra, "sbatch", "slurm: an extra sbatch option, e.g. --qos=short (repeatable)")
	fs.Var(&o.setup, "setup", "slurm: a shell line run before the worker, e.g. 'module load cuda' (repeatable)")
	return o
}

func (o *slurmOptions) slurm() sweep.Slurm {
	return o.over(sweep.Slurm{}, nil)
}

// over sets on s the options given (set: the flags named on the command
// line; nil: all).
func (o *slurmOptions) over(s sweep.Slurm, set map[string]bool) sweep.Slurm {
	given := func(name string) bool { return set == nil || set[name] }
	if given("cpus") {
		s.CPUs = *o.cpus
	}
	if given("gpus") {
		s.GPUs = *o.gpus
	}
	if given("mem") {
		s.Mem = *o.mem
	}
	if given("time") {
		s.Time = *o.time
	}
	if given("partition") {
		s.Partition = *o.part
	}
	if given("account") {
		s.Account = *o.acct
	}
	if given("sbatch") {
		s.Extra = o.extra
	}
	if given("setup") {
		s.Setup = o.setup
	}
	if given("worker") && *o.cmd != "" {
		s.Command = strings.Fields(*o.cmd)
	}
	return s
}

// parseDir parses "DIR [flags]" or "[flags] DIR".
func parseDir(fs *flag.FlagSet, args []string) (string, error) {
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return "", err
	}
	if dir == "" && fs.NArg() == 1 {
		dir = fs.Arg(0)
	} else if dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(fs.Output(), "want one sweep directory")
		fs.Usage()
		return "", errUsage
	}
	return dir, nil
}

func sweepStatus(ctx context.Context, args []string, e *env) error {
	fs := newFlags("sweep status", "sweep status DIR [--json]", e.stderr)
	asJSON := fs.Bool("json", false, "print the points' states as JSON")
	dir, err := parseDir(fs, args)
	if err != nil {
		return err
	}
	states, err := sweep.Status(ctx, dir)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(states)
	}
	printStates(e, states)
	if failed := sweep.Failed(states); len(failed) > 0 {
		fmt.Fprintf(e.stdout, "%d points failed; resubmit them with: privlm sweep resubmit %s\n", len(failed), dir)
	}
	return nil
}

func printStates(e *env, states []sweep.PointState) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POINT\tSETTINGS\tSTATE\tJOB")
	for _, s := range states {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Point, s.State, s.Job)
	}
	tw.Flush()
}

func sweepCollect(args []string, e *env) error {
	fs := newFlags("sweep collect", "sweep collect DIR [--json]", e.stderr)
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	dir, err := parseDir(fs, args)
	if err != nil {
		return err
	}
	rows, err := experiment.CollectSweep(dir)
	if err != nil {
		return err
	}
	printMetrics(e.stdout, rows, *asJSON)
	fmt.Fprintf(e.stdout, "\nsweep results: %s\n", filepath.Join(dir, "sweep_metrics.parquet"))
	return nil
}

func sweepResubmit(ctx context.Context, args []string, e *env) error {
	fs := newFlags("sweep resubmit", "sweep resubmit DIR [slurm flags]", e.stderr)
	sl := addSlurmFlags(fs)
	dir, err := parseDir(fs, args)
	if err != nil {
		return err
	}
	// The first submission's resources, with the flags given here over them.
	s, err := sweep.LoadSlurm(dir)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	sub, err := sl.over(s, set).Resubmit(ctx, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "resubmitted points %v: shared stages job %s, points array job %s\n", sub.Points, sub.Shared, sub.Array)
	return nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/privlm/privlm/framework/notebook"
)

func init() {
	register("notebooks", "notebooks: run (execute headlessly and check), check (an executed notebook)", subcommands("notebooks", map[string]func([]string, *env) error{
		"run":   runNotebooksRun,
		"check": runNotebooksCheck,
	}))
}

func runNotebooksRun(args []string, e *env) error {
	fs := newFlags("notebooks run", "notebooks run [--mode quick|repro|full] [--out DIR] [--keep] [NOTEBOOK.ipynb ...] (default notebooks/*.ipynb; for repro, those with a repro mode)", e.stderr)
	mode := fs.String("mode", notebook.Quick, "notebook mode exported as $"+notebook.ModeEnv)
	out := fs.String("out", filepath.Join("build", "notebooks"), "folder for the executed notebooks")
	keep := fs.Bool("keep", false, "copy each notebook that passes into results/reference/<notebook>/<mode> (tables, figures, the executed notebook, run.json with machine, backend, commit and time)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !notebook.ValidMode(*mode) {
		return fmt.Errorf("--mode %q: want quick, repro or full", *mode)
	}
	paths := fs.Args()
	if len(paths) == 0 {
		root, err := notebook.RepoRoot()
		if err != nil {
			return err
		}
		if paths, err = filepath.Glob(filepath.Join(root, "notebooks", "*.ipynb")); err != nil {
			return err
		}
		sort.Strings(paths)
		if len(paths) == 0 {
			return fmt.Errorf("no notebooks in %s", filepath.Join(root, "notebooks"))
		}
		if *mode == notebook.Repro {
			if paths, err = notebook.WithMode(paths, notebook.Repro); err != nil {
				return err
			}
			if len(paths) == 0 {
				return fmt.Errorf("no notebook in %s has a repro mode", filepath.Join(root, "notebooks"))
			}
		}
	}
	if *mode == notebook.Repro && fs.NArg() > 0 {
		// A named notebook without a repro variant would run its quick
		// sizes into results/<notebook>/repro, labelled as a reproduction.
		for _, p := range paths {
			ok, err := notebook.HasMode(p, notebook.Repro)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%s has no repro variant (its code never names notebook.Repro); run it with --mode quick or full", p)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed := 0
	for i, p := range paths {
		fmt.Fprintf(e.stdout, "[%d/%d] %s (%s) ... ", i+1, len(paths), filepath.Base(p), *mode)
		started := time.Now()
		var atStart notebook.GitState
		if *keep {
			root, err := notebook.RepoRoot()
			if err != nil {
				return err
			}
			atStart = notebook.ReadGitState(root)
		}
		res, err := notebook.Execute(ctx, p, notebook.ExecOptions{Mode: *mode, OutDir: *out})
		if err != nil {
			fmt.Fprintln(e.stdout, "FAILED")
			return err
		}
		if len(res.Problems) == 0 {
			fmt.Fprintf(e.stdout, "ok in %.0fs\n", res.Duration.Seconds())
			if *keep {
				root, err := notebook.RepoRoot()
				if err != nil {
					return err
				}
				dir, err := notebook.Keep(root, res, *mode, started, atStart)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "    kept in %s\n", dir)
			}
			continue
		}
		failed++
		fmt.Fprintf(e.stdout, "FAILED in %.0fs (%s)\n", res.Duration.Seconds(), res.Executed)
		for _, pr := range res.Problems {
			fmt.Fprintf(e.stdout, "    %s\n", pr)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d notebooks failed", failed, len(paths))
	}
	return nil
}

func runNotebooksCheck(args []string, e *env) error {
	fs := newFlags("notebooks check", "notebooks check EXECUTED.ipynb ...", e.stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("notebooks check: name executed notebooks")
	}
	bad := 0
	for _, p := range fs.Args() {
		problems, err := notebook.Check(p)
		if err != nil {
			return err
		}
		for _, pr := range problems {
			fmt.Fprintf(e.stdout, "%s: %s\n", p, pr)
		}
		if len(problems) > 0 {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d notebooks have problems", bad, fs.NArg())
	}
	return nil
}

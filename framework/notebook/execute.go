package notebook

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ExecOptions configure a headless run.
type ExecOptions struct {
	// Mode is exported as $PRIVLM_NOTEBOOK_MODE ("" leaves each notebook's own).
	Mode string
	// OutDir receives the executed notebook, same name (required).
	OutDir string
	// CellTimeout bounds one cell (default 20 minutes; 3 hours in repro and full mode).
	CellTimeout time.Duration
	// Env is added to the kernel's environment.
	Env []string
}

// Result is one executed notebook.
type Result struct {
	Notebook string
	Executed string // the executed copy
	Duration time.Duration
	Problems []Problem
}

// Execute runs a notebook headlessly with `jupyter nbconvert --execute`
// (errors allowed, so every cell runs and Check sees every failure) and
// checks the executed copy. The GoNB kernel is looked up by Jupyter as
// usual; with build/jupyter (from notebooks/setup.sh) present in the
// repository, that one is used. A notebook that ran but has problems
// returns them in Result with a nil error.
func Execute(ctx context.Context, path string, opts ExecOptions) (Result, error) {
	res := Result{Notebook: path}
	if opts.OutDir == "" {
		return res, fmt.Errorf("notebook: ExecOptions.OutDir is required")
	}
	if opts.CellTimeout <= 0 {
		opts.CellTimeout = 20 * time.Minute
		if opts.Mode == Repro || opts.Mode == Full {
			// A repro cell runs several fine-tunings (notebook 01: 8 runs of
			// about 5 minutes each on 2 cores); 20 minutes cut it off.
			opts.CellTimeout = 3 * time.Hour
		}
	}
	jupyter, err := exec.LookPath("jupyter")
	if err != nil {
		return res, fmt.Errorf("notebook: jupyter is not installed (run notebooks/setup.sh): %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return res, err
	}
	outDir, err := filepath.Abs(opts.OutDir)
	if err != nil {
		return res, err
	}
	res.Executed = filepath.Join(outDir, filepath.Base(path))
	// nbconvert appends .ipynb to --output.
	tmpName := "." + strings.TrimSuffix(filepath.Base(path), ".ipynb") + ".tmp"
	cmd := exec.CommandContext(ctx, jupyter, "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
		fmt.Sprintf("--ExecutePreprocessor.timeout=%d", int(opts.CellTimeout.Seconds())),
		"--ExecutePreprocessor.kernel_name=gonb", "--output-dir", outDir, "--output", tmpName, abs)
	cmd.Dir = filepath.Dir(abs)
	cmd.Env = append(kernelEnv(), opts.Env...)
	if opts.Mode != "" {
		cmd.Env = append(cmd.Env, ModeEnv+"="+opts.Mode)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	res.Duration = time.Since(start)
	tmp := filepath.Join(outDir, tmpName+".ipynb")
	if err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("notebook: %s: nbconvert failed: %w\n%s", path, err, tail(stderr.String(), 40))
	}
	if err := os.Rename(tmp, res.Executed); err != nil {
		return res, err
	}
	res.Problems, err = Check(res.Executed)
	return res, err
}

// kernelEnv is the environment with the repository's GoNB install
// (build/bin, build/jupyter from notebooks/setup.sh) preferred.
func kernelEnv() []string {
	env := os.Environ()
	root, err := RepoRoot()
	if err != nil {
		return env
	}
	if _, err := os.Stat(filepath.Join(root, "build", "jupyter", "kernels", "gonb")); err == nil {
		env = append(env, "JUPYTER_DATA_DIR="+filepath.Join(root, "build", "jupyter"))
	}
	if _, err := os.Stat(filepath.Join(root, "build", "bin", "gonb")); err == nil {
		env = append(env, "PATH="+filepath.Join(root, "build", "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	return env
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

package notebook

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// ReferenceRun is results/reference/<notebook>/<mode>/run.json: how a kept
// reference run was made.
type ReferenceRun struct {
	Notebook string    `json:"notebook"`
	Mode     string    `json:"mode"`
	Started  time.Time `json:"started"`
	// Seconds is the notebook's wall time in this execution. StagesReused
	// says whether any stage folder (results/<notebook>/<mode>/.../stages/*)
	// predates it: then the wall time is short, and those stages were
	// computed by the code of an earlier run (stage keys name the plugin
	// version string, not the code), which Commit does not pin.
	Seconds      float64 `json:"seconds"`
	StagesReused bool    `json:"stages_reused"`
	// CommitAtStart and Commit are the repository's HEAD when the execution
	// started and ended; Modified says the notebooks may have compiled code
	// that neither names: the tree had changes (tracked or untracked, outside
	// ignored paths) at the start or the end, or HEAD moved in between (the
	// notebooks compile the live checkout, cell by cell).
	CommitAtStart string `json:"commit_at_start"`
	Commit        string `json:"commit"`
	Modified      bool   `json:"modified"`
	// Backends are the distinct backends the runs' manifests name.
	Backends  []string `json:"backends"`
	CPU       string   `json:"cpu"`
	Cores     int      `json:"cores"`
	LoadAvg   string   `json:"load_avg"` // /proc/loadavg when the run ended
	GoVersion string   `json:"go_version"`
	// Files are the kept files, relative to the reference folder.
	Files []string `json:"files"`
}

// Keep copies an executed notebook's results into the committed reference
// folder of the repository at root, results/reference/<notebook>/<mode>: the
// top-level tables (Parquet) and figures (PNG) of results/<notebook>/<mode>,
// the executed notebook, and run.json (ReferenceRun: machine, backend,
// commit, time). Run folders, stages and sweeps are not kept. A table or
// figure older than this execution (started) is refused: it would be an
// earlier run's, kept under this one's commit. The folder is written under
// a temporary name and renamed into place, replacing an earlier reference
// of the same notebook and mode (which is restored if the rename fails).
func Keep(root string, res Result, mode string, started time.Time, atStart GitState) (string, error) {
	name := strings.TrimSuffix(filepath.Base(res.Notebook), ".ipynb")
	src := filepath.Join(root, "results", name, mode)
	dst := filepath.Join(root, "results", "reference", name, mode)
	entries, err := os.ReadDir(src)
	if err != nil {
		return "", fmt.Errorf("notebook: keeping %s: %w", name, err)
	}
	reused, err := stagesBefore(src, started)
	if err != nil {
		return "", err
	}
	run := ReferenceRun{Notebook: name, Mode: mode, Started: started.UTC(), Seconds: res.Duration.Seconds(), StagesReused: reused,
		Cores: runtime.NumCPU(), GoVersion: runtime.Version(), CPU: cpuModel(), LoadAvg: loadAvg()}
	end := ReadGitState(root)
	run.CommitAtStart, run.Commit = atStart.Commit, end.Commit
	run.Modified = atStart.Dirty || end.Dirty || atStart.Commit != end.Commit
	if run.Backends, err = manifestBackends(src); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+mode+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	copyOne := func(from, to string) error {
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		run.Files = append(run.Files, to)
		return os.WriteFile(filepath.Join(tmp, to), b, 0o644)
	}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".parquet" || ext == ".png") {
			info, err := e.Info()
			if err != nil {
				return "", err
			}
			if info.ModTime().Before(started) {
				return "", fmt.Errorf("notebook: keeping %s: %s was written before this execution (an earlier run's output; remove it and run again)", name, filepath.Join(src, e.Name()))
			}
			if err := copyOne(filepath.Join(src, e.Name()), e.Name()); err != nil {
				return "", err
			}
		}
	}
	if len(run.Files) == 0 {
		return "", fmt.Errorf("notebook: keeping %s: no tables or figures in %s", name, src)
	}
	if err := copyOne(res.Executed, filepath.Base(res.Notebook)); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "run.json"), append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	// Move the earlier reference aside, put the new one in place, then
	// drop the earlier one (or put it back if the new one cannot go in).
	old := tmp + ".old"
	hadOld := false
	if _, err := os.Stat(dst); err == nil {
		if err := os.Rename(dst, old); err != nil {
			return "", err
		}
		hadOld = true
	}
	if err := os.Rename(tmp, dst); err != nil {
		if hadOld {
			_ = os.Rename(old, dst)
		}
		return "", err
	}
	if hadOld {
		if err := os.RemoveAll(old); err != nil {
			return "", err
		}
	}
	return dst, nil
}

// stagesBefore says whether any stage folder under dir (a child of a
// folder named stages) was last changed before t.
func stagesBefore(dir string, t time.Time) (bool, error) {
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found || !d.IsDir() || filepath.Base(filepath.Dir(p)) != "stages" {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().Before(t) {
			found = true
		}
		return filepath.SkipDir
	})
	return found, err
}

// manifestBackends collects the "backend" of every manifest.json under dir.
func manifestBackends(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "manifest.json" {
			return err
		}
		var m struct {
			Backend string `json:"backend"`
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("notebook: %s: %w", p, err)
		}
		if m.Backend != "" && !slices.Contains(out, m.Backend) {
			out = append(out, m.Backend)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// GitState is a checkout's HEAD and whether its tree has changes: tracked
// or untracked files outside ignored paths and outside results/ (run
// outputs and kept references, which no notebook compiles).
type GitState struct {
	Commit string
	Dirty  bool
}

// ReadGitState reads root's GitState; without git, Commit says so.
func ReadGitState(root string) GitState {
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return GitState{Commit: "unknown (no git)"}
	}
	status, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", ".", ":(exclude)results").Output()
	return GitState{Commit: strings.TrimSpace(string(head)), Dirty: err != nil || len(strings.TrimSpace(string(status))) > 0}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

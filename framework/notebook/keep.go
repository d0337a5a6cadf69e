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
	// Seconds is the notebook's wall time in this execution. Stages reused
	// from an earlier run make it short: StagesReused says whether any
	// stage folder (results/<notebook>/<mode>/.../stages/*) predates it.
	Seconds      float64 `json:"seconds"`
	StagesReused bool    `json:"stages_reused"`
	// Commit is the repository's HEAD, Modified whether the working tree
	// had uncommitted changes to tracked files (the notebooks compile the
	// checkout they sit in).
	Commit   string `json:"commit"`
	Modified bool   `json:"modified"`
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
// commit, time). Run folders, stages and sweeps are not kept. The folder
// is written under a temporary name and renamed into place, replacing an
// earlier reference of the same notebook and mode.
func Keep(root string, res Result, mode string, started time.Time) (string, error) {
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
	run.Commit, run.Modified = gitState(root)
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
	if err := os.RemoveAll(dst); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
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

func gitState(root string) (commit string, modified bool) {
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown (no git)", false
	}
	status, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	return strings.TrimSpace(string(head)), err != nil || len(strings.TrimSpace(string(status))) > 0
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

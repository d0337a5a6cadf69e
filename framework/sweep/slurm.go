package sweep

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/experiment"
)

// Slurm submits a sweep to a Slurm cluster: the shared stages as one job,
// the points as a job array depending on it (afterok).
type Slurm struct {
	CPUs      int      // --cpus-per-task (0: not set)
	Mem       string   // --mem, e.g. 8G
	Time      string   // --time, e.g. 02:00:00
	GPUs      int      // --gres=gpu:N, for XLA points (0: none)
	Partition string   // --partition
	Account   string   // --account
	Extra     []string // further #SBATCH lines, e.g. "--qos=short" or "#SBATCH --constraint=a100"
	Setup     []string // shell lines run before the worker (module load ..., export ...)
	Command   []string // a worker's command before its arguments; nil: DefaultCommand
}

// Submission is one submission of a sweep: the shared job and the array.
type Submission struct {
	Shared    string    `json:"shared_job"`
	Array     string    `json:"array_job"`
	Points    []int     `json:"points"`
	Submitted time.Time `json:"submitted"`
}

// jobsFile records a sweep's submissions.
const jobsFile = "jobs.json"

// JobName is the Slurm job name of a sweep directory's jobs: privlm- and a
// hash of its absolute path, so squeue can find them.
func JobName(dir string) string {
	abs, _ := filepath.Abs(dir)
	sum := sha256.Sum256([]byte(abs))
	return "privlm-" + hex.EncodeToString(sum[:5])
}

// Script writes the sweep's sbatch scripts into DIR/slurm and returns
// their paths. The array's indices are given at submission
// (--array), so the points script serves resubmissions too.
func (s Slurm) Script(dir string) (shared, points string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	cmd := s.Command
	if cmd == nil {
		if cmd, err = DefaultCommand(); err != nil {
			return "", "", err
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	sdir := filepath.Join(abs, "slurm")
	if err := os.MkdirAll(filepath.Join(abs, "logs"), 0o755); err != nil {
		return "", "", err
	}
	header := func(name, output string) string {
		var b strings.Builder
		b.WriteString("#!/bin/bash\n")
		fmt.Fprintf(&b, "# privlm sweep %s: %s (written by privlm sweep run --executor slurm)\n", abs, name)
		fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", JobName(abs))
		fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(abs, "logs", output))
		fmt.Fprintf(&b, "#SBATCH --chdir=%s\n", wd)
		b.WriteString("#SBATCH --nodes=1\n#SBATCH --ntasks=1\n")
		if s.CPUs > 0 {
			fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", s.CPUs)
		}
		if s.Mem != "" {
			fmt.Fprintf(&b, "#SBATCH --mem=%s\n", s.Mem)
		}
		if s.Time != "" {
			fmt.Fprintf(&b, "#SBATCH --time=%s\n", s.Time)
		}
		if s.GPUs > 0 {
			fmt.Fprintf(&b, "#SBATCH --gres=gpu:%d\n", s.GPUs)
		}
		if s.Partition != "" {
			fmt.Fprintf(&b, "#SBATCH --partition=%s\n", s.Partition)
		}
		if s.Account != "" {
			fmt.Fprintf(&b, "#SBATCH --account=%s\n", s.Account)
		}
		for _, x := range s.Extra {
			if !strings.HasPrefix(x, "#SBATCH") {
				x = "#SBATCH " + x
			}
			b.WriteString(x + "\n")
		}
		b.WriteString("set -eo pipefail\n")
		for _, x := range s.Setup {
			b.WriteString(x + "\n")
		}
		return b.String()
	}
	quoted := make([]string, len(cmd))
	for i, c := range cmd {
		quoted[i] = shellQuote(c)
	}
	run := strings.Join(quoted, " ") + " " + shellQuote(abs)
	shared = filepath.Join(sdir, "shared.sbatch")
	points = filepath.Join(sdir, "points.sbatch")
	if err := data.WriteBytes(shared, []byte(header("shared stages (data, split, reference)", "shared-%j.out")+"exec "+run+" --shared\n")); err != nil {
		return "", "", err
	}
	if err := data.WriteBytes(points, []byte(header("points (a job array: --array=INDICES at submission)", "point-%a-%A.out")+"exec "+run+" --point \"$SLURM_ARRAY_TASK_ID\"\n")); err != nil {
		return "", "", err
	}
	return shared, points, nil
}

// shellQuote quotes s for bash.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '=' || r == ':' || r == ',' || r == '+' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Submit submits the sweep in dir: the shared job, then the array of the
// given points (nil: every point not done) depending on it. It returns the
// submission, also appended to DIR/slurm/jobs.json.
func (s Slurm) Submit(ctx context.Context, dir string, points []int) (Submission, error) {
	plan, err := experiment.LoadSweep(dir)
	if err != nil {
		return Submission{}, err
	}
	if points == nil {
		for i := range plan.Points {
			if !experiment.SweepPointDone(dir, i) {
				points = append(points, i)
			}
		}
	}
	if len(points) == 0 {
		return Submission{}, fmt.Errorf("sweep: %s: every point is done; nothing to submit", dir)
	}
	shared, pts, err := s.Script(dir)
	if err != nil {
		return Submission{}, err
	}
	sub := Submission{Points: points, Submitted: time.Now().UTC()}
	if sub.Shared, err = sbatch(ctx, shared); err != nil {
		return Submission{}, err
	}
	idx := make([]string, len(points))
	for i, p := range points {
		idx[i] = strconv.Itoa(p)
	}
	if sub.Array, err = sbatch(ctx, "--array="+strings.Join(idx, ","), "--dependency=afterok:"+sub.Shared, pts); err != nil {
		exec.Command("scancel", sub.Shared).Run()
		return Submission{}, err
	}
	subs, err := Submissions(dir)
	if err != nil {
		return Submission{}, err
	}
	if b, err := json.MarshalIndent(s, "", "  "); err != nil {
		return Submission{}, err
	} else if err := data.WriteBytes(filepath.Join(dir, "slurm", executorFile), append(b, '\n')); err != nil {
		return Submission{}, err
	}
	b, _ := json.MarshalIndent(append(subs, sub), "", "  ")
	return sub, data.WriteBytes(filepath.Join(dir, "slurm", jobsFile), append(b, '\n'))
}

// executorFile keeps the last submission's resources, for resubmissions.
const executorFile = "executor.json"

// LoadSlurm reads the resources of the sweep's last submission
// (DIR/slurm/executor.json).
func LoadSlurm(dir string) (Slurm, error) {
	var s Slurm
	b, err := os.ReadFile(filepath.Join(dir, "slurm", executorFile))
	if err != nil {
		return s, fmt.Errorf("sweep: %s was not submitted to Slurm: %w", dir, err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("sweep: %s: %w", filepath.Join(dir, "slurm", executorFile), err)
	}
	return s, nil
}

// Submissions reads DIR/slurm/jobs.json (none yet: nil).
func Submissions(dir string) ([]Submission, error) {
	b, err := os.ReadFile(filepath.Join(dir, "slurm", jobsFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var subs []Submission
	if err := json.Unmarshal(b, &subs); err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", filepath.Join(dir, "slurm", jobsFile), err)
	}
	return subs, nil
}

// sbatch runs sbatch --parsable and returns the job id.
func sbatch(ctx context.Context, args ...string) (string, error) {
	var out, errb bytes.Buffer
	c := exec.CommandContext(ctx, "sbatch", append([]string{"--parsable"}, args...)...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("sweep: sbatch %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out.String()), ";") // "id;cluster"
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("sweep: sbatch printed %q, want a job id", out.String())
	}
	return id, nil
}

// PointState is where one point stands.
type PointState struct {
	Index int    `json:"index"`
	Name  string `json:"name"`  // point-NNN
	Point string `json:"point"` // key=value,...
	// State: done, pending, running, failed (its last job ended without
	// results; Slurm's state when accounting says), or not submitted.
	State string `json:"state"`
	Job   string `json:"job,omitempty"` // the last job that ran it, e.g. 12_3
}

// Status is where every point of the sweep in dir stands, from the points'
// completion markers, squeue (pending/running) and, where Slurm
// accounting is enabled, sacct (why a job ended). A point whose last job
// left the queue without results is failed.
func Status(ctx context.Context, dir string) ([]PointState, error) {
	plan, err := experiment.LoadSweep(dir)
	if err != nil {
		return nil, err
	}
	subs, err := Submissions(dir)
	if err != nil {
		return nil, err
	}
	last := map[int]string{} // point -> array job of its last submission
	for _, s := range subs {
		for _, p := range s.Points {
			last[p] = s.Array
		}
	}
	queued := map[string]string{} // "array_index" -> state
	if len(subs) > 0 {
		if queued, err = squeue(ctx, JobName(dir)); err != nil {
			return nil, err
		}
	}
	acct := sacct(ctx, subs)
	states := make([]PointState, len(plan.Points))
	for i, p := range plan.Points {
		st := PointState{Index: i, Name: experiment.PointName(i), Point: p.String()}
		job, submitted := last[i]
		if submitted {
			st.Job = job + "_" + strconv.Itoa(i)
		}
		switch q, inQueue := queued[st.Job]; {
		case experiment.SweepPointDone(dir, i):
			st.State = "done"
		case !submitted:
			st.State = "not submitted"
		case inQueue && q == "NEVER":
			st.State = "failed (the shared stages' job failed; cancel with scancel " + job + ", see logs/shared-*.out)"
		case inQueue && q == "PENDING":
			st.State = "pending"
		case inQueue:
			st.State = "running"
		default:
			st.State = "failed"
			if a := acct[st.Job]; a != "" {
				st.State = "failed (" + a + ")"
			}
		}
		states[i] = st
	}
	return states, nil
}

// squeue lists the queued jobs named name: "array_index" -> state, pending
// array ranges expanded.
func squeue(ctx context.Context, name string) (map[string]string, error) {
	var out, errb bytes.Buffer
	c := exec.CommandContext(ctx, "squeue", "-h", "-r", "--name="+name, "-o", "%i|%T|%r")
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("sweep: squeue: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	jobs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		id, state := f[0], f[1]
		if state == "PENDING" && f[2] == "DependencyNeverSatisfied" {
			state = "NEVER" // the shared job failed: these never start
		}
		for _, j := range expandArray(id) {
			jobs[j] = state
		}
	}
	return jobs, nil
}

// expandArray expands "12_[0-2,5%2]" to 12_0, 12_1, 12_2, 12_5; other ids
// stay as they are.
func expandArray(id string) []string {
	job, rest, ok := strings.Cut(id, "_[")
	if !ok {
		return []string{id}
	}
	rest, _, _ = strings.Cut(strings.TrimSuffix(rest, "]"), "%")
	var ids []string
	for _, part := range strings.Split(rest, ",") {
		a, b, isRange := strings.Cut(part, "-")
		lo, err1 := strconv.Atoi(a)
		hi := lo
		var err2 error
		if isRange {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil {
			continue
		}
		for i := lo; i <= hi; i++ {
			ids = append(ids, job+"_"+strconv.Itoa(i))
		}
	}
	return ids
}

// sacct is the final state of the submissions' array tasks ("12_3" ->
// "CANCELLED by 0"), or nothing where accounting is off.
func sacct(ctx context.Context, subs []Submission) map[string]string {
	states := map[string]string{}
	if len(subs) == 0 {
		return states
	}
	var ids []string
	for _, s := range subs {
		ids = append(ids, s.Array)
	}
	out, err := exec.CommandContext(ctx, "sacct", "-n", "-P", "-X", "-j", strings.Join(ids, ","), "-o", "JobID,State").Output()
	if err != nil {
		return states
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if id, state, ok := strings.Cut(line, "|"); ok {
			states[id] = state
		}
	}
	return states
}

// Failed is the points of states that failed, by name.
func Failed(states []PointState) []PointState {
	var out []PointState
	for _, s := range states {
		if strings.HasPrefix(s.State, "failed") {
			out = append(out, s)
		}
	}
	return out
}

// Resubmit submits again every point that is not done and not queued
// (failed or never submitted); finished points are not redone.
func (s Slurm) Resubmit(ctx context.Context, dir string) (Submission, error) {
	states, err := Status(ctx, dir)
	if err != nil {
		return Submission{}, err
	}
	var points []int
	for _, st := range states {
		if strings.HasPrefix(st.State, "failed") || st.State == "not submitted" {
			points = append(points, st.Index)
		}
	}
	sort.Ints(points)
	if len(points) == 0 {
		return Submission{}, fmt.Errorf("sweep: %s: no failed or unsubmitted points", dir)
	}
	return s.Submit(ctx, dir, points)
}

// Wait polls Status every interval until no point is pending or running.
func Wait(ctx context.Context, dir string, interval time.Duration) ([]PointState, error) {
	for {
		states, err := Status(ctx, dir)
		if err != nil {
			return nil, err
		}
		busy := false
		for _, s := range states {
			busy = busy || s.State == "pending" || s.State == "running"
		}
		if !busy {
			return states, nil
		}
		select {
		case <-ctx.Done():
			return states, ctx.Err()
		case <-time.After(interval):
		}
	}
}

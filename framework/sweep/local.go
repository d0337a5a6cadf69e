package sweep

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/privlm/privlm/framework/experiment"
)

// Local runs a sweep's workers as processes on this machine.
type Local struct {
	Workers int       // processes at once; 0: runtime.NumCPU()
	Command []string  // a worker's command before its arguments; nil: DefaultCommand
	Log     io.Writer // progress lines; each worker's output goes to DIR/logs
}

// Run runs the shared stages once, then every point not yet done, Workers
// at a time, then collects. Failed points are named in the error (with
// their logs); the others' results stay, so running again redoes only the
// failed ones.
func (l Local) Run(ctx context.Context, dir string) ([]experiment.MetricsRow, error) {
	plan, err := experiment.LoadSweep(dir)
	if err != nil {
		return nil, err
	}
	cmd := l.Command
	if cmd == nil {
		if cmd, err = DefaultCommand(); err != nil {
			return nil, err
		}
	}
	log := l.Log
	if log == nil {
		log = io.Discard
	}
	workers := l.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	unlock, err := experiment.LockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	start := func(name string, args ...string) error {
		f, err := os.Create(filepath.Join(logs, name+".log"))
		if err != nil {
			return err
		}
		defer f.Close()
		c := exec.CommandContext(ctx, cmd[0], append(append(append([]string{}, cmd[1:]...), dir), args...)...)
		c.Stdout, c.Stderr = f, f
		if err := c.Run(); err != nil {
			return fmt.Errorf("%w (log: %s)", err, f.Name())
		}
		return nil
	}
	fmt.Fprintf(log, "privlm: sweep %s: shared stages\n", dir)
	if err := start("shared", "--shared"); err != nil {
		return nil, fmt.Errorf("sweep: shared stages failed: %w", err)
	}
	var todo []int
	for i := range plan.Points {
		if !experiment.SweepPointDone(dir, i) {
			todo = append(todo, i)
		}
	}
	fmt.Fprintf(log, "privlm: sweep %s: %d of %d points to run, %d workers\n", dir, len(todo), len(plan.Points), workers)
	var mu sync.Mutex
	var failed []string
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				name := experiment.PointName(i)
				err := start(name, "--point", fmt.Sprint(i))
				mu.Lock()
				if err != nil {
					failed = append(failed, fmt.Sprintf("%s (%s): %v", name, plan.Points[i], err))
					fmt.Fprintf(log, "privlm: sweep point %s (%s) failed: %v\n", name, plan.Points[i], err)
				} else {
					fmt.Fprintf(log, "privlm: sweep point %s (%s) done\n", name, plan.Points[i])
				}
				mu.Unlock()
			}
		}()
	}
	for _, i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(failed) > 0 {
		return nil, fmt.Errorf("sweep: %d points failed (run again to redo only those): %s", len(failed), strings.Join(failed, "; "))
	}
	return experiment.CollectSweep(dir)
}

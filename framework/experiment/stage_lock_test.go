//go:build unix

package experiment

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privlm/privlm/framework/shareddata"
)

// TestStageComputedOnceAtATime: goroutines (each its own open file, so
// flock sees them as separate holders) asking for one stage at once run it
// once; the others wait and reuse it, never reading it half-written.
func TestStageComputedOnceAtATime(t *testing.T) {
	stages := t.TempDir()
	var runs atomic.Int32
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir, err := stage(stages, "slow", []any{"k"}, io.Discard, func(dir string) error {
				runs.Add(1)
				time.Sleep(300 * time.Millisecond)
				return os.WriteFile(filepath.Join(dir, "out.txt"), []byte("whole"), 0o644)
			})
			if err == nil {
				var b []byte
				if b, err = os.ReadFile(filepath.Join(dir, "out.txt")); err == nil && string(b) != "whole" {
					err = fmt.Errorf("read %q", b)
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the stage ran %d times, want once", n)
	}
}

// TestSharedStagesHelper is not a test: with PRIVLM_SHARED_STAGES=stages,out,go
// it waits for the file go, then runs a tiny experiment into out with the
// shared stages directory, as a sweep worker would.
func TestSharedStagesHelper(t *testing.T) {
	env := os.Getenv("PRIVLM_SHARED_STAGES")
	if env == "" {
		t.Skip("helper process only")
	}
	parts := strings.Split(env, ",")
	for {
		if _, err := os.Stat(parts[2]); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := run(context.Background(), tinyConfig(t, "shared"), parts[1], parts[0], os.Stdout); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func tinyConfig(t *testing.T, name string) Config {
	c := Default()
	c.Name = name
	for _, kv := range []string{"dataset.name=shakespeare", "dataset.max_chars=200", "split.max_users=40", "split.max_docs=6",
		"train.steps=12", "train.eval_every=4", "train.batch_size=8", "train.seq_len=32", "attacks=loss", "bootstrap=200"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestTwoWorkersShareStages: two processes running the same experiment
// into different outs with one stages directory, released at the same
// instant, compute every stage exactly once between them (counted from
// their "running" log lines); the other process reuses it.
func TestTwoWorkersShareStages(t *testing.T) {
	shareddata.Path(t, "models/stories260K.bin")
	root := t.TempDir()
	stages, start := filepath.Join(root, "stages"), filepath.Join(root, "go")
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSharedStagesHelper$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("PRIVLM_SHARED_STAGES=%s,%s,%s", stages, filepath.Join(root, fmt.Sprint("out", i)), start))
		var b strings.Builder
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &b)
	}
	time.Sleep(2 * time.Second) // both have started and are polling
	os.WriteFile(start, nil, 0o644)
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v\n%s", i, err, outs[i])
		}
	}
	running := regexp.MustCompile(`running \(([^)]+)\)`)
	count := map[string]int{}
	for _, b := range outs {
		for _, m := range running.FindAllStringSubmatch(b.String(), -1) {
			count[m[1]]++
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(stages, "*"))
	var want []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && !strings.HasPrefix(fi.Name(), ".") {
			want = append(want, filepath.Base(d))
		}
	}
	if len(want) < 5 {
		t.Fatalf("stages %v: want data, split, train-counts, finetune, attack", want)
	}
	for _, d := range want {
		if count[d] != 1 {
			t.Errorf("stage %s computed %d times by the two workers, want once\n%s\n%s", d, count[d], outs[0], outs[1])
		}
	}
}

//go:build unix

package experiment

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/privlm/privlm/framework/shareddata"
)

// TestLockHelper is not a test: run with PRIVLM_LOCK_HELPER=dir, it holds the
// run lock on dir as another privlm process would, until killed.
func TestLockHelper(t *testing.T) {
	dir := os.Getenv("PRIVLM_LOCK_HELPER")
	if dir == "" {
		t.Skip("helper process only")
	}
	if _, err := lockDir(dir); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// holdLock starts a helper process holding the lock on dir.
func holdLock(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$")
	cmd.Env = append(os.Environ(), "PRIVLM_LOCK_HELPER="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper: %q", line)
	}
	return cmd
}

// TestSecondRunOnOneOutFails: while another process runs on --out, a run
// on the same --out fails before any work with an error naming that
// process; once it is gone (even killed), the lock is free again.
func TestSecondRunOnOneOutFails(t *testing.T) {
	shareddata.Path(t, "models/stories260K.bin")
	out := t.TempDir()
	helper := holdLock(t, out)
	c := Default()
	c.Name = "locked"
	for _, kv := range []string{"dataset.name=shakespeare", "split.max_users=20", "train.steps=2", "attacks=loss"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Run(context.Background(), c, out, nil)
	want := fmt.Sprintf("is in use by another privlm run (pid %d", helper.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second run: %v, want an error containing %q", err, want)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 || entries[0].Name() != lockFileName {
		t.Errorf("the refused run wrote into --out: %v", entries)
	}
	helper.Process.Kill()
	helper.Wait()
	unlock, err := lockDir(out)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	unlock()
}

// TestRunSplitTakesTheLock: privlm split writes stages and cleans stale
// temporaries, so it too refuses an --out another run holds.
func TestRunSplitTakesTheLock(t *testing.T) {
	shareddata.Path(t, "models/stories260K.bin")
	out := t.TempDir()
	helper := holdLock(t, out)
	c := Default()
	c.Name = "locked-split"
	for _, kv := range []string{"dataset.name=shakespeare", "split.max_users=20"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	_, err := RunSplit(c, out, nil)
	want := fmt.Sprintf("is in use by another privlm run (pid %d", helper.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("split: %v, want an error containing %q", err, want)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 || entries[0].Name() != lockFileName {
		t.Errorf("the refused split wrote into --out: %v", entries)
	}
}

// TestLockIsReentrantInProcess: a sweep or repeats run holds its folder's
// lock while its runs take it again; the lock is free only after the last
// hold is released.
func TestLockIsReentrantInProcess(t *testing.T) {
	dir := t.TempDir()
	outer, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := lockDir(dir)
	if err != nil {
		t.Fatalf("second hold in one process: %v", err)
	}
	inner()
	inner() // idempotent: does not release the outer hold
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$")
	cmd.Env = append(os.Environ(), "PRIVLM_LOCK_HELPER="+dir)
	if b, _ := cmd.Output(); !strings.Contains(string(b), "in use") {
		t.Fatalf("another process took the lock while the outer hold is held: %q", b)
	}
	outer()
	holdLock(t, dir) // free now
}

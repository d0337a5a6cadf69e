//go:build unix

package experiment

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// held counts this process's holds per locked directory: a sweep or a
// repeats run holds its directory's lock around the runs it starts, which
// take it again (flock would refuse a second open file of one process).
var (
	heldMu sync.Mutex
	held   = map[string]*heldLock{}
)

type heldLock struct {
	f     *os.File
	count int
}

// lockFileName is the lock a run holds on its directory.
const lockFileName = ".privlm.lock"

// lockDir takes an exclusive flock on dir/.privlm.lock for as long as the
// run lasts (the kernel drops it when the process dies, so a killed run
// leaves no stale lock). The file holds the holder's pid, which the error
// of a second run names. Stages, stale-temp cleanup and results are written
// only under this lock.
func lockDir(dir string) (unlock func(), err error) {
	key, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	heldMu.Lock()
	defer heldMu.Unlock()
	if h := held[key]; h != nil {
		h.count++
		return releaser(key, h), nil
	}
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("experiment: locking %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := strings.TrimSpace(string(b))
			if holder == "" {
				holder = "unknown"
			}
			return nil, fmt.Errorf("experiment: %s is in use by another privlm run (pid %s, holding %s); wait for it to finish or choose another --out", dir, holder, path)
		}
		return nil, fmt.Errorf("experiment: locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "%d\n", os.Getpid())
	}
	h := &heldLock{f: f, count: 1}
	held[key] = h
	return releaser(key, h), nil
}

// releaser is one hold's unlock (idempotent); the last closes the file.
func releaser(key string, h *heldLock) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			heldMu.Lock()
			defer heldMu.Unlock()
			if h.count--; h.count == 0 {
				delete(held, key)
				h.f.Close()
			}
		})
	}
}

// lockStage takes an exclusive flock on path (a stage directory's lock
// file), waiting while another process holds it, and says how long it
// waited.
func lockStage(path string) (unlock func(), waited time.Duration, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("experiment: locking stage %s: %w", path, err)
	}
	start := time.Now()
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("experiment: locking stage %s: %w", path, err)
	}
	return func() { f.Close() }, time.Since(start), nil
}

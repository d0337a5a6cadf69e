package experiment_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/privlm/privlm/framework/experiment"
)

// syncBuffer is a log the plugins' goroutines may write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var spyProbes = []string{"read-train", "read-checkpoint", "read-home", "read-host-cmdline", "host-env", "tcp-connect"}

// spyProcessProbes are what the plugin process inherits; they must be
// denied in the sandbox (the control run needs none of them to succeed:
// as non-root there are no capabilities to leak).
var spyProcessProbes = []string{"host-stdin", "host-session", "inherited-fd", "capabilities"}

// spyResults reads the spy's "SPY probe=NAME result=R" lines.
func spyResults(t *testing.T, log string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`SPY probe=(\S+) result=(\S+)`).FindAllStringSubmatch(log, -1) {
		got[m[1]] = m[2]
	}
	for _, p := range append(append([]string{}, spyProbes...), spyProcessProbes...) {
		if got[p] == "" {
			t.Fatalf("the spy did not report probe %s; log:\n%s", p, log)
		}
	}
	return got
}

// TestSpyAttackIsConfined runs a spy attack plugin that tries to read the
// run's training data and target checkpoint, the host's $HOME, the host's
// command line and environment, and to connect to a local TCP listener. In
// the sandbox every attempt fails and the spy still scores through the
// oracle; with the sandbox off (the control) every attempt succeeds, so the
// probes can detect a leak.
func TestSpyAttackIsConfined(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a fine-tuning")
	}
	spy := filepath.Join(t.TempDir(), "spy")
	if out, err := exec.Command("go", "build", "-o", spy, "./testdata/spy").CombinedOutput(); err != nil {
		t.Fatalf("building the spy: %v\n%s", err, out)
	}
	home := t.TempDir()
	secret := filepath.Join(home, "secret.txt")
	if err := os.WriteFile(secret, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	canary := fmt.Sprintf("canary-%d", os.Getpid())
	t.Setenv("PRIVLM_SPY_CANARY", canary)
	// The host's stdin is a pipe the user feeds (go-plugin hands os.Stdin to
	// the plugin), and the host holds a descriptor on a secret opened without
	// O_CLOEXEC.
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinW.Close()
	defer stdinR.Close()
	stdinW.WriteString("typed by the user " + canary + "\n")
	oldStdin := os.Stdin
	os.Stdin = stdinR
	defer func() { os.Stdin = oldStdin }()
	fdSecret := filepath.Join(home, "fd-secret.txt")
	if err := os.WriteFile(fdSecret, []byte(canary), 0o600); err != nil {
		t.Fatal(err)
	}
	leakyFD, err := syscall.Open(fdSecret, syscall.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leakyFD)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	out := t.TempDir()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	// The spy is named by a path that climbs with ../ (like
	// attacks=../../x/loss): its stage must still be named by its Info
	// name, under --out/stages.
	wd, _ := os.Getwd()
	relSpy, err := filepath.Rel(wd, spy)
	if err != nil || !strings.HasPrefix(relSpy, "../") {
		t.Fatalf("want a ../ path to the spy, got %q (%v)", relSpy, err)
	}
	spec := func(run string) string {
		return fmt.Sprintf("%s?out=%s&home=%s&pid=%d&port=%s&canary=%s&run=%s", relSpy, out, secret, os.Getpid(), port, canary, run)
	}
	c := tiny(t, "spy")
	for _, kv := range [][2]string{{"split.max_users", "20"}, {"train.steps", "4"}, {"train.eval_every", "2"}} {
		if err := c.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	c.Attacks = []string{spec("sandboxed")}
	var log syncBuffer
	res, err := experiment.Run(context.Background(), c, out, &log)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log.String())
	}
	stageDirs, err := os.ReadDir(filepath.Join(out, "stages"))
	if err != nil {
		t.Fatal(err)
	}
	spyStage := false
	for _, e := range stageDirs {
		if !regexp.MustCompile(`^[a-z]+(-[A-Za-z0-9_.-]+)?-[0-9a-f]{12}$`).MatchString(e.Name()) || !e.IsDir() {
			t.Errorf("stage %q is not a plain stage folder", e.Name())
		}
		spyStage = spyStage || strings.HasPrefix(e.Name(), "attack-spy-")
	}
	if !spyStage {
		t.Errorf("no attack-spy-* stage under %s/stages: the stage is not named by the plugin's Info name", out)
	}
	var iso = res.Manifest.PluginIsolation
	if len(iso) != 2 { // the fine-tuner and the spy
		t.Fatalf("manifest plugin_isolation %v, want an entry per plugin", iso)
	}
	for name, i := range iso {
		if i.Sandbox != "on" || i.Env != "scrubbed" {
			t.Errorf("plugin %s: isolation %+v, want the sandbox on with a scrubbed environment", name, i)
		}
	}
	var spyIso = iso["spy"]
	if spyIso.LandlockABI < 4 && !spyIso.NetNS {
		t.Skipf("this kernel offers no Landlock ABI >= 4 and no network namespace (%v): nothing to test", spyIso)
	}
	for p, r := range spyResults(t, log.String()) {
		if r != "denied" {
			t.Errorf("sandboxed spy: probe %s %s, want denied", p, r)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the sandboxed spy reached the host's TCP listener %d times", n)
	}
	scored := false
	for _, m := range res.Metrics {
		if strings.HasPrefix(m.Attack, "spy") && m.NUsers > 0 {
			scored = true
		}
	}
	if !scored {
		t.Errorf("the spy's scores did not reach the metrics: %+v", res.Metrics)
	}

	// Control: without the sandbox the same probes succeed.
	t.Setenv("PRIVLM_PLUGIN_SANDBOX", "off")
	c.Attacks = []string{spec("control")}
	var log2 syncBuffer
	if _, err := experiment.Run(context.Background(), c, out, &log2); err != nil {
		t.Fatalf("control run: %v\nlog:\n%s", err, log2.String())
	}
	control := spyResults(t, log2.String())
	for _, p := range append([]string{"host-stdin", "inherited-fd"}, spyProbes...) {
		if r := control[p]; r != "ok" {
			t.Errorf("unsandboxed spy: probe %s %s, want ok (the probe cannot detect a leak)", p, r)
		}
	}
}

package plugin_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/privlm/privlm/framework/plugin"
)

var testPlugin string

func TestMain(m *testing.M) {
	if os.Getenv("PRIVLM_TEST_HOST") != "" { // helper host for TestNoPluginOutlivesHost
		helperHost()
		return
	}
	dir, err := os.MkdirTemp("", "privlm-plugin-test-*")
	if err != nil {
		panic(err)
	}
	testPlugin = filepath.Join(dir, "testplugin")
	if out, err := exec.Command("go", "build", "-o", testPlugin, "./testdata/testplugin").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fakeOracle: log p(text) = -len(text) under the target, -2*len under the reference.
type fakeOracle struct{ calls int }

func (o *fakeOracle) LogLikelihood(_ context.Context, model plugin.Model, texts []string, perToken bool) ([]plugin.SequenceScore, error) {
	o.calls++
	out := make([]plugin.SequenceScore, len(texts))
	for i, t := range texts {
		f := -1.0
		if model == plugin.Reference {
			f = -2
		}
		out[i] = plugin.SequenceScore{LogLik: f * float64(len(t)), NumTokens: len(t)}
		if perToken {
			for range t {
				out[i].TokenLogProbs = append(out[i].TokenLogProbs, f)
			}
		}
	}
	return out, nil
}

var users = plugin.AttackRequest{Users: []plugin.UserSamples{
	{UserID: "alice", Texts: []string{"ab", "abcd"}},
	{UserID: "bob", Texts: []string{"abcdef"}},
}}

func open(t *testing.T, mode string, opts plugin.Options) *plugin.Client {
	t.Helper()
	opts.Env = append(opts.Env, "PRIVLM_TESTPLUGIN_MODE="+mode)
	opts.Log = testWriter{t}
	c, err := plugin.Open(testPlugin, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestAttackRoundTrip(t *testing.T) {
	c := open(t, "ok", plugin.Options{})
	if info := c.Info(); info.Kind != plugin.KindAttack || info.Name != "testplugin" || info.APIVersion != plugin.APIVersion {
		t.Fatalf("info %+v", info)
	}
	if err := c.Configure(context.Background(), plugin.Config{"scale": "2"}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Attack(context.Background(), users, &fakeOracle{})
	if err != nil {
		t.Fatal(err)
	}
	// alice: ratios len(t) = 2, 4 -> mean 3, scaled 6; bob: 6 -> 12.
	want := map[string]float64{"alice": 6, "bob": 12}
	for _, s := range resp.Scores {
		if s.Score != want[s.UserID] {
			t.Errorf("%s: score %v, want %v", s.UserID, s.Score, want[s.UserID])
		}
	}
	// Configuration is checked on the host side.
	for _, cfg := range []plugin.Config{{"nope": 1.0}, {"scale": "big"}} {
		if err := c.Configure(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "testplugin") {
			t.Errorf("Configure(%v) error = %v, want one naming the plugin", cfg, err)
		}
	}
}

func TestFineTunerAndMitigationRoundTrip(t *testing.T) {
	ft := open(t, "finetuner", plugin.Options{})
	resp, err := ft.FineTune(context.Background(), plugin.FineTuneRequest{OutputDir: "/out", Seed: 3})
	if err != nil || resp.Best != "/out/best" || len(resp.Checkpoints) != 1 || resp.Checkpoints[0].Step != 7 {
		t.Fatalf("fine-tune: %+v, %v", resp, err)
	}
	if _, err := ft.Attack(context.Background(), users, &fakeOracle{}); err == nil {
		t.Error("calling Attack on a fine-tuner gave no error")
	}
	m := open(t, "mitigation", plugin.Options{})
	mresp, err := m.Mitigate(context.Background(), plugin.MitigationRequest{Seed: 42})
	if err != nil || mresp.Settings["train.clip"] != "per-example" || mresp.Summary != "seed 42" {
		t.Fatalf("mitigate: %+v, %v", mresp, err)
	}
}

// TestFailures: each broken plugin gives a clear error within seconds and
// the host stays usable.
func TestFailures(t *testing.T) {
	tests := []struct {
		mode   string
		opts   plugin.Options
		atOpen bool
		want   string
	}{
		{"panic", plugin.Options{}, false, "plugin panicked: deliberate panic in Score"},
		{"crash", plugin.Options{}, false, "crashed or exited"},
		{"exit", plugin.Options{}, false, "crashed or exited"},
		{"sleep", plugin.Options{Timeout: 2 * time.Second}, false, "did not finish within 2s"},
		{"nan", plugin.Options{}, false, "is NaN"},
		{"short", plugin.Options{}, false, "returned 1 scores for 2 users"},
		{"wrong-api", plugin.Options{}, true, "incompatible API version"},
		{"stdout", plugin.Options{}, true, "hello from a plugin"},
		{"ok", plugin.Options{SHA256: strings.Repeat("ab", 32)}, true, "checksum"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			start := time.Now()
			opts := tc.opts
			opts.Env = []string{"PRIVLM_TESTPLUGIN_MODE=" + tc.mode}
			opts.Log = testWriter{t}
			c, err := plugin.Open(testPlugin, opts)
			if !tc.atOpen {
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_, err = c.Attack(context.Background(), users, &fakeOracle{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("took %v to fail", el)
			}
			if !tc.atOpen && tc.mode != "panic" && tc.mode != "nan" && tc.mode != "short" {
				// A dead or stopped plugin refuses further calls at once.
				if _, err := c.Attack(context.Background(), users, &fakeOracle{}); err == nil || !strings.Contains(err.Error(), "exited") {
					t.Errorf("second call on a dead plugin: %v", err)
				}
			}
			// The host is still usable.
			ok := open(t, "ok", plugin.Options{})
			if _, err := ok.Attack(context.Background(), users, &fakeOracle{}); err != nil {
				t.Errorf("host unusable after the failure: %v", err)
			}
		})
	}
}

func TestChecksumPinning(t *testing.T) {
	sum, err := plugin.SHA256File(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	c := open(t, "ok", plugin.Options{SHA256: sum})
	if _, err := c.Attack(context.Background(), users, &fakeOracle{}); err != nil {
		t.Fatal(err)
	}
}

// TestNoPluginOutlivesHost SIGKILLs a host process and checks its plugin dies.
func TestNoPluginOutlivesHost(t *testing.T) {
	self, _ := os.Executable()
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "PRIVLM_TEST_HOST=1", "PRIVLM_TEST_PLUGIN="+testPlugin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(out, &pid); err != nil || pid <= 0 {
		cmd.Process.Kill()
		t.Fatalf("helper host did not report a plugin pid: %v", err)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatalf("plugin %d is not running", pid)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, syscall.WNOHANG, nil) // reap if it is our zombie
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("plugin %d outlived its SIGKILLed host", pid)
}

func helperHost() {
	os.Setenv("PRIVLM_TESTPLUGIN_MODE", "ok")
	c, err := plugin.Open(os.Getenv("PRIVLM_TEST_PLUGIN"), plugin.Options{Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = c
	fmt.Println(pluginPid())
	time.Sleep(time.Hour)
}

// pluginPid finds the test plugin among our children.
func pluginPid() int {
	me := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		var ppid int
		if len(fields) > 1 {
			fmt.Sscan(fields[1], &ppid)
		}
		if ppid == me {
			return pid
		}
	}
	return -1
}

func TestCheckConfig(t *testing.T) {
	schema := []plugin.Param{{Name: "k", Type: "float", Default: 0.2}, {Name: "n", Type: "int"}, {Name: "on", Type: "bool"},
		{Name: "how", Type: "string", Default: "mean", Enum: []string{"mean", "max"}}}
	cfg, err := plugin.CheckConfig(schema, plugin.Config{"n": "3", "on": "true"})
	if err != nil || cfg.Float("k") != 0.2 || cfg.Int("n") != 3 || !cfg.Bool("on") || cfg.String("how") != "mean" {
		t.Fatalf("cfg %v, %v", cfg, err)
	}
	for _, bad := range []plugin.Config{{"n": 1.5}, {"how": "median"}, {"on": "maybe"}, {"zzz": 1.0}, {"k": "NaN"}} {
		if _, err := plugin.CheckConfig(schema, bad); err == nil {
			t.Errorf("CheckConfig(%v) accepted", bad)
		}
	}
}

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// benchJSON is the schema shared by `privlm bench --json` and
// framework/lm/bench/pytorch_llama.py --json.
type benchJSON struct {
	Impl         string `json:"impl"`
	Model        string `json:"model"`
	Params       int    `json:"params"`
	MatmulParams int    `json:"matmul_params"`
	Batch        int    `json:"batch"`
	SeqLen       int    `json:"seq_len"`
	Stages       []struct {
		Stage          string    `json:"stage"`
		StepSeconds    []float64 `json:"step_seconds"`
		MedianSeconds  float64   `json:"median_seconds"`
		TokensPerSec   float64   `json:"tokens_per_s"`
		GFLOPs         float64   `json:"gflop_per_step"`
		AchievedGFLOPS float64   `json:"achieved_gflops"`
		PeakRSSMB      float64   `json:"peak_rss_mb"`
		Unavailable    string    `json:"unavailable"`
	} `json:"stages"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

func checkBenchJSON(t *testing.T, impl, out string) benchJSON {
	t.Helper()
	var r benchJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%s: %v\n%s", impl, err, out)
	}
	if r.Impl != impl || r.Model != "tiny" || r.Batch != 4 || r.SeqLen != 32 || len(r.Stages) != 3 || !(r.PeakRSSMB > 0) {
		t.Fatalf("%s: unexpected result %+v", impl, r)
	}
	for _, s := range r.Stages {
		if s.Unavailable != "" {
			t.Logf("%s %s: n/a (%s)", impl, s.Stage, s.Unavailable)
			continue
		}
		if len(s.StepSeconds) != 2 || !(s.MedianSeconds > 0) || !(s.TokensPerSec > 0) || !(s.AchievedGFLOPS > 0) {
			t.Errorf("%s %s: %+v", impl, s.Stage, s)
		}
	}
	return r
}

// TestBenchJSONMatchesPyTorch: `privlm bench --json` and the PyTorch script
// run the tiny shape and agree on the model's size and each stage's FLOPs.
func TestBenchJSONMatchesPyTorch(t *testing.T) {
	args := []string{"--model", "tiny", "--warmup", "1", "--steps", "2", "--json"}
	out, stderr, status := run(t, "", append([]string{"bench"}, args...)...)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	ours := checkBenchJSON(t, "privlm", out)

	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch part skipped: %s cannot import torch (apt-get install python3-torch): %v", python, err)
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "lm", "bench", "pytorch_llama.py")
	cmd := exec.Command(python, append([]string{script}, args...)...)
	cmd.Env = withoutEnv(os.Environ(), "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
	pyOut, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	theirs := checkBenchJSON(t, "pytorch", string(pyOut))
	if ours.Params != theirs.Params || ours.MatmulParams != theirs.MatmulParams {
		t.Errorf("params: privlm %d (%d in matmuls), PyTorch %d (%d)", ours.Params, ours.MatmulParams, theirs.Params, theirs.MatmulParams)
	}
	for i := range ours.Stages {
		if o, p := ours.Stages[i], theirs.Stages[i]; o.Stage != p.Stage || (p.Unavailable == "" && o.GFLOPs != p.GFLOPs) {
			t.Errorf("stage %d: privlm %s %.6g GFLOP, PyTorch %s %.6g GFLOP", i, o.Stage, o.GFLOPs, p.Stage, p.GFLOPs)
		}
	}
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

func TestBenchErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--model", "gpt-neo-9t"}, "unknown preset"},
		{[]string{"bench", "--dims", "vocab=512,dim=32"}, "--dims"},
		{[]string{"bench", "--dims", "vocab=512,width=32"}, "unknown key \"width\""},
		{[]string{"bench", "--model", "tiny", "--stages", "infer"}, "unknown stage"},
		{[]string{"bench", "--model", "tiny", "--seq-len", "65"}, "longer than the model's context"},
	} {
		_, stderr, status := run(t, "", tc.args...)
		if status == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: status %d, stderr %q, want an error containing %q", tc.args, status, stderr, tc.want)
		}
	}
}

func TestParseDims(t *testing.T) {
	c, err := parseDims("vocab=512,dim=32,hidden=96,layers=2,heads=4,kv_heads=2,max_seq_len=64")
	if err != nil {
		t.Fatal(err)
	}
	if c.VocabSize != 512 || c.Dim != 32 || c.HiddenDim != 96 || c.Layers != 2 || c.Heads != 4 || c.KVHeads != 2 || c.MaxSeqLen != 64 {
		t.Errorf("parsed %+v", c)
	}
	c, err = parseDims("vocab=512,dim=32,hidden=96,layers=2,heads=4")
	if err != nil || c.KVHeads != 4 {
		t.Errorf("kv_heads default: %+v, %v", c, err)
	}
}

package experiment_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/duckdb"
	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/shareddata"
)

// tiny is a quick experiment: few users, short documents, few steps.
func tiny(t *testing.T, name string) experiment.Config {
	t.Helper()
	shareddata.Path(t, "models/stories260K.bin")
	c := experiment.Default()
	c.Name = name
	for _, kv := range []string{"dataset.name=shakespeare", "dataset.max_chars=200", "split.max_users=40", "split.max_docs=6",
		"train.steps=12", "train.eval_every=4", "train.batch_size=8", "train.seq_len=32", "attacks=user-inference,loss", "bootstrap=200"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestBadConfigsFailBeforeWork(t *testing.T) {
	tests := []struct {
		set  []string
		want string
	}{
		{[]string{"nope=1"}, `unknown key "nope"`},
		{[]string{"train.steps=many"}, `key "train.steps": "many" is not an integer`},
		{[]string{"dataset.name=imagenet"}, `dataset.name: datasets: unknown dataset "imagenet"`},
		{[]string{"attacks=loss,telepathy"}, `attacks: unknown plugin "telepathy"`},
		{[]string{"attacks=loss?k=3"}, `unknown parameter "k"`},
		{[]string{"mitigations=loss"}, "is a attack, not a mitigation"},
		{[]string{"train.clip=sometimes"}, "train: train: clip"},
		{[]string{"model.reference=/no/such/model.bin"}, "model.reference"},
		{[]string{"split.held_in_fraction=2"}, "held_in_fraction"},
		{[]string{"attack.checkpoints=some"}, `attack.checkpoints: "some", want best or all`},
		{[]string{"attack.checkpoints=all"}, "all needs train.checkpoint_every"},
		// issue 19: non-finite and out-of-range numbers, each naming its key.
		{[]string{"train.learning_rate=Inf"}, `key "train.learning_rate": "Inf" is not a finite number`},
		{[]string{"train.sigma=NaN"}, `key "train.sigma": "NaN" is not a finite number`},
		{[]string{"train.clip_norm=NaN"}, `key "train.clip_norm": "NaN" is not a finite number`},
		{[]string{"train.weight_decay=NaN"}, `key "train.weight_decay": "NaN" is not a finite number`},
		{[]string{"train.clip_norm=-1"}, "clip_norm = -1, want > 0"},
		{[]string{"train.weight_decay=-0.1"}, "weight_decay = -0.1, want >= 0"},
		{[]string{"split.max_users=-5"}, "split.max_users: -5, want >= 0"},
		{[]string{"bootstrap=0"}, "bootstrap: 0, want >= 100"},
		{[]string{"mitigations=cap?max_docs=-3"}, `parameter "max_docs": -3 is outside [1, +inf]`},
		{[]string{"attacks=min-k?k=0"}, "k = 0, want 0 < k <= 1"},
		{[]string{"model.reference_seed=3"}, "model.reference_seed: 3, but model.pretrain = none"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.set, " "), func(t *testing.T) {
			c := tiny(t, "bad")
			out := t.TempDir()
			var err error
			for _, kv := range tc.set {
				k, v, _ := strings.Cut(kv, "=")
				if err = c.Set(k, v); err != nil {
					break
				}
			}
			if err == nil {
				_, err = experiment.Run(context.Background(), c, out, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("a rejected config did work: %d entries in the run directory", len(entries))
			}
		})
	}
	// m larger than a user's samples fails before fine-tuning.
	c := tiny(t, "m")
	c.Attack.Samples = 50
	out := t.TempDir()
	_, err := experiment.Run(context.Background(), c, out, nil)
	if err == nil || !strings.Contains(err.Error(), "attack.samples = 50") {
		t.Fatalf("error %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "stages", "finetune-*")); len(m) != 0 {
		t.Error("fine-tuning started despite attack.samples")
	}
}

// TestRedditEndToEnd runs a quick experiment on reddit users and checks the
// results with DuckDB, joined with the dataset on user_id.
func TestRedditEndToEnd(t *testing.T) {
	shareddata.Path(t, "reddit_college.jsonl.gz")
	c := tiny(t, "reddit-quick")
	c.Set("dataset.name", "reddit")
	c.Set("split.min_docs", "10")
	c.Set("split.max_docs", "10")
	out := t.TempDir()
	var log bytes.Buffer
	res, err := experiment.Run(context.Background(), c, out, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	// Two attacks, each over all users and non-canary users (no canaries here).
	if len(res.Metrics) != 4 || len(experiment.Headline(res.Metrics)) != 2 {
		t.Fatalf("%d metrics rows (%d headline), want 4 (2)", len(res.Metrics), len(experiment.Headline(res.Metrics)))
	}
	for _, f := range []string{"scores.parquet", "metrics.parquet", "training_log.parquet", "roc.svg", "roc.png", "roc_loglog.svg", "roc_loglog.png", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	// A rerun skips every stage.
	log.Reset()
	if _, err := experiment.Run(context.Background(), c, out, &log); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "running") {
		t.Errorf("rerun recomputed stages:\n%s", log.String())
	}
	duckdb.Available(t)
	dataFile, _ := filepath.Glob(filepath.Join(out, "stages", "data-*", "data.parquet"))
	rows, err := duckdb.Query(fmt.Sprintf(`SELECT s.attack, count(*) AS users, sum(CASE WHEN s.member THEN 1 ELSE 0 END) AS members, count(DISTINCT d.user_id) AS joined
		FROM read_parquet('%s') s JOIN (SELECT DISTINCT user_id FROM read_parquet('%s')) d ON s.user_id = d.user_id GROUP BY s.attack ORDER BY s.attack`,
		filepath.Join(out, "scores.parquet"), dataFile[0]))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		m := experiment.Headline(res.Metrics)[i]
		if r["attack"] != m.Attack || duckdb.Int(r["users"]) != m.NUsers || duckdb.Int(r["joined"]) != m.NUsers || duckdb.Int(r["members"]) != m.NMembers ||
			m.NMembers+m.NNonMembers != m.NUsers {
			t.Errorf("DuckDB %v vs privlm %+v", r, m)
		}
	}
	mrows, err := duckdb.Query(fmt.Sprintf(`SELECT attack, auroc FROM read_parquet('%s') WHERE "group" = 'non_canary' ORDER BY attack`, filepath.Join(out, "metrics.parquet")))
	if err != nil || len(mrows) != 2 {
		t.Fatalf("metrics via DuckDB: %v %v", mrows, err)
	}
}

// TestKilledRunResumes SIGKILLs `privlm run` during fine-tuning, reruns it,
// and compares the results with an uninterrupted run.
func TestKilledRunResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline three times")
	}
	bin := filepath.Join(t.TempDir(), "privlm")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/privlm/privlm/framework/cmd/privlm").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cfgFile := filepath.Join(t.TempDir(), "tiny.conf")
	c := tiny(t, "resume")
	_ = c
	os.WriteFile(cfgFile, []byte(strings.Join([]string{"name = resume", "dataset.name = shakespeare", "dataset.max_chars = 200",
		"split.max_users = 40", "split.max_docs = 6", "train.steps = 16", "train.eval_every = 4", "train.batch_size = 8",
		"train.seq_len = 32", "attacks = user-inference,loss", "bootstrap = 200", ""}, "\n")), 0o644)
	run := func(out string) *exec.Cmd {
		cmd := exec.Command(bin, "run", "--config", cfgFile, "--out", out)
		cmd.Env = os.Environ()
		return cmd
	}
	whole := t.TempDir()
	if out, err := run(whole).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	killed := t.TempDir()
	cmd := run(killed)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		states, _ := filepath.Glob(filepath.Join(killed, "stages", "finetune-*", "train_state.json"))
		if len(states) > 0 {
			break // at least one evaluation (step 4) is saved: mid-fine-tuning
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("fine-tuning never started")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if out, err := run(killed).CombinedOutput(); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	for _, f := range []string{"scores.parquet", "metrics.parquet"} {
		a, _ := os.ReadFile(filepath.Join(whole, f))
		b, _ := os.ReadFile(filepath.Join(killed, f))
		if !bytes.Equal(a, b) {
			ra, _ := data.ReadParquet[experiment.MetricsRow](filepath.Join(whole, "metrics.parquet"))
			rb, _ := data.ReadParquet[experiment.MetricsRow](filepath.Join(killed, "metrics.parquet"))
			t.Fatalf("%s differs after resuming:\n%+v\n%+v", f, ra, rb)
		}
	}
	// No partial files anywhere.
	filepath.Walk(killed, func(p string, info os.FileInfo, err error) error {
		if err == nil && (strings.Contains(filepath.Base(p), ".tmp")) {
			t.Errorf("partial file left: %s", p)
		}
		return nil
	})
}

// TestDynamics attacks every kept checkpoint: one row per checkpoint and
// attack, with the checkpoint's validation loss, in dynamics.parquet.
func TestDynamics(t *testing.T) {
	c := tiny(t, "dynamics")
	c.Train.CheckpointEvery = 4
	c.Attack.Checkpoints = "all"
	out := t.TempDir()
	res, err := experiment.Run(context.Background(), c, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Dynamics) != 3*2 { // steps 4, 8, 12 x two attacks
		t.Fatalf("%d dynamics rows, want 6: %+v", len(res.Dynamics), res.Dynamics)
	}
	for i, r := range res.Dynamics {
		if want := int64(4 * (i/2 + 1)); r.Step != want || !(r.ValLoss > 0) || r.AUROC < 0 || r.AUROC > 1 {
			t.Errorf("row %d: %+v (want step %d, a validation loss)", i, r, want)
		}
	}
	table, err := data.ReadParquet[experiment.DynamicsRow](filepath.Join(out, "dynamics.parquet"))
	if err != nil || len(table) != len(res.Dynamics) {
		t.Fatalf("dynamics.parquet: %d rows, %v", len(table), err)
	}
	if res.Metrics[0].ValLoss == nil || !(*res.Metrics[0].ValLoss > 0) {
		t.Errorf("metrics carry no validation loss: %+v", res.Metrics[0])
	}
}

// TestCanaryUsersAreAttacked: canaries go to users the split keeps, however
// few split.max_users keeps of many.
func TestCanaryUsersAreAttacked(t *testing.T) {
	c := tiny(t, "canaries")
	for _, kv := range []string{"split.max_users=12", "canary.users=4", "canary.tokens=8", "train.steps=4", "attacks=loss"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	res, err := experiment.Run(context.Background(), c, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := data.ReadParquet[experiment.ScoreRow](filepath.Join(res.OutDir, "scores.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	canaries := 0
	for _, s := range scores {
		if s.Canary {
			canaries++
		}
		// A user's documents are counted as the split keeps them (at most
		// split.max_docs = 6): for members, training plus attacker samples.
		if s.NUserDocs > 6 || (s.Member && s.NUserDocs != s.NTrainSamples+s.NAttackSamples) {
			t.Errorf("user %s: %d docs, %d training, %d attacker samples", s.UserID, s.NUserDocs, s.NTrainSamples, s.NAttackSamples)
		}
	}
	if canaries != 4 || len(scores) != 11 { // 12 users: one validation user, 11 attacked
		t.Errorf("%d canary users among %d attacked, want 4 among 11", canaries, len(scores))
	}
}

// TestTrainCountsAfterMitigations: n_train_samples and n_train_tokens are
// what the fine-tuning read, after cap?max_docs=2, not the split's counts.
func TestTrainCountsAfterMitigations(t *testing.T) {
	c := tiny(t, "capped")
	for _, kv := range []string{"split.max_users=12", "mitigations=cap?max_docs=2", "train.steps=4", "attacks=loss"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	res, err := experiment.Run(context.Background(), c, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := data.ReadParquet[experiment.ScoreRow](filepath.Join(res.OutDir, "scores.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	capped, _ := filepath.Glob(filepath.Join(out, "stages", "mitigate-cap-*", "*.parquet"))
	if len(capped) != 1 {
		t.Fatalf("capped training files: %v", capped)
	}
	recs, err := data.ReadFile(capped[0])
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]int64{}
	for _, r := range recs {
		docs[r.UserID]++
	}
	members := 0
	for _, s := range scores {
		if s.NTrainSamples != docs[s.UserID] || (s.Member && (s.NTrainSamples != 2 || s.NTrainTokens <= 0)) || (!s.Member && s.NTrainTokens != 0) {
			t.Errorf("user %s (member %v): n_train_samples %d, n_train_tokens %d; the capped file has %d documents", s.UserID, s.Member, s.NTrainSamples, s.NTrainTokens, docs[s.UserID])
		}
		if s.Member {
			members++
		}
	}
	if members == 0 {
		t.Fatal("no members")
	}
}

// TestNonFiniteFieldsSetInGo: a notebook sets fields directly, not through
// Set; Validate still names the key.
func TestNonFiniteFieldsSetInGo(t *testing.T) {
	for key, set := range map[string]func(c *experiment.Config){
		"train.learning_rate":    func(c *experiment.Config) { c.Train.LearningRate = math.Inf(1) },
		"train.sigma":            func(c *experiment.Config) { c.Train.Sigma = math.NaN() },
		"split.held_in_fraction": func(c *experiment.Config) { c.Split.HeldInFraction = math.NaN() },
	} {
		c := experiment.Default()
		set(&c)
		_, err := experiment.Validate(c)
		if err == nil || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("%s: %v, want an error naming the key", key, err)
		}
	}
}

// TestRelativeOutDir: a run into a relative --out (the quickstart's default
// results/quickstart) works although plugins run in an empty working
// directory of their own; before paths were made absolute, the fine-tuner
// could not open the split's train.parquet.
func TestRelativeOutDir(t *testing.T) {
	c := tiny(t, "relative")
	shared, err := filepath.Abs(shareddata.Dir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(shareddata.EnvVar, shared) // found from the working directory otherwise
	t.Chdir(t.TempDir())
	res, err := experiment.Run(context.Background(), c, filepath.Join("results", "relative"), nil)
	if err != nil {
		t.Fatalf("run into a relative out: %v", err)
	}
	if !filepath.IsAbs(res.OutDir) || len(res.Metrics) == 0 {
		t.Errorf("out dir %q (want absolute), %d metrics rows", res.OutDir, len(res.Metrics))
	}
	if _, err := os.Stat(filepath.Join("results", "relative", "metrics.parquet")); err != nil {
		t.Errorf("metrics not under the relative out: %v", err)
	}
}

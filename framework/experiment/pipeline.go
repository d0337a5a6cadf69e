package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/privlm/privlm/datasets"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/oracle"
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
	"github.com/privlm/privlm/framework/train"
)

// splitVersion changes whenever what the split stage writes changes, so
// that cached splits of older versions are not reused.
const splitVersion = "split-v3: attacker overlap check; canaries balanced, within attack.max_tokens"

// plan is a validated config with its resources resolved.
type plan struct {
	cfg         Config
	source      string
	reference   string
	tokenizer   string
	mitigations []PluginSpec
	attacks     []PluginSpec
	plugins     map[string]string           // name -> binary
	versions    map[string]string           // name -> version
	names       map[string]string           // spec name (maybe a path) -> stage name (from the plugin's Info)
	isolation   map[string]plugin.Isolation // stage name -> what the sandbox enforced
	tok         tokenizer.Tokenizer
	log         io.Writer // plugins' log lines
	overlap     *data.OverlapReport
	scoring     ScoringInfo // how the attacker's samples were scored
	warnings    []string    // for the output and the manifest
	protect     []string    // the run's data paths no plugin may reach through a system-folder grant
}

// protectRun names the run's data paths for the plugin sandbox's guard
// (plugin.Options.Protect): --out, the stages, the models, the source and
// the plugin cache.
func (p *plan) protectRun(out, stages string) {
	p.protect = nil
	for _, f := range []string{out, stages} {
		if f != "" { // a shared-stages run has no out
			p.protect = append(p.protect, f)
		}
	}
	for _, f := range []string{p.reference, p.source, p.tokenizer, plugin.BuiltinDir()} {
		if _, err := os.Stat(f); err == nil { // names like "gpt2" are no paths
			p.protect = append(p.protect, f)
		}
	}
}

// Validate checks a config and everything it names before any work: keys,
// values, the dataset, the models, the plugins and their configurations.
func Validate(cfg Config) (*plan, error) {
	p := &plan{cfg: cfg, plugins: map[string]string{}, versions: map[string]string{}, isolation: map[string]plugin.Isolation{}, names: map[string]string{}}
	fail := func(key string, err error) (*plan, error) { return nil, fmt.Errorf("experiment: %s: %w", key, err) }
	if strings.TrimSpace(cfg.Name) == "" || strings.ContainsAny(cfg.Name, "/\\") {
		return fail("name", fmt.Errorf("%q: want a non-empty name without slashes", cfg.Name))
	}
	if err := checkRanges(cfg); err != nil {
		return nil, err
	}
	d, err := datasets.Lookup(cfg.Dataset.Name)
	if err != nil {
		return fail("dataset.name", err)
	}
	if p.source, err = d.ResolveSource(cfg.Dataset.Source); err != nil {
		return fail("dataset.source", err)
	}
	if cfg.Dataset.MaxChars < 0 {
		return fail("dataset.max_chars", fmt.Errorf("%d, want >= 0", cfg.Dataset.MaxChars))
	}
	if err := splitConfig(cfg).Validate(); err != nil {
		return fail("split", err)
	}
	if o := cfg.Split.AttackerOverlap; o != "" && o != data.OverlapDrop && o != data.OverlapKeep {
		return fail("split.attacker_overlap", fmt.Errorf("%q, want %s or %s", o, data.OverlapDrop, data.OverlapKeep))
	}
	if p.reference, err = shareddata.Resolve(cfg.Model.Reference); err != nil {
		return fail("model.reference", err)
	}
	if p.tokenizer, err = shareddata.Resolve(cfg.Model.Tokenizer); err != nil && cfg.Model.Tokenizer != "gpt2" {
		return fail("model.tokenizer", err)
	} else if cfg.Model.Tokenizer == "gpt2" {
		p.tokenizer = "gpt2"
	}
	if p.tok, err = tokenizer.Load(p.tokenizer); err != nil {
		return fail("model.tokenizer", err)
	}
	if err := cfg.Train.Validate(); err != nil {
		return fail("train", err)
	}
	if cfg.Canary.Users < 0 || (cfg.Canary.Users > 0 && cfg.Canary.Tokens <= 0) {
		return fail("canary", fmt.Errorf("users %d, tokens %d: canaries need tokens > 0", cfg.Canary.Users, cfg.Canary.Tokens))
	}
	if cfg.Model.Pretrain == "" {
		cfg.Model.Pretrain = "none"
		p.cfg.Model.Pretrain = "none"
	}
	if cfg.Model.Pretrain != "none" && cfg.Model.Pretrain != "pool" {
		return fail("model.pretrain", fmt.Errorf("%q, want none or pool", cfg.Model.Pretrain))
	}
	if cfg.Model.Pretrain == "pool" && cfg.Model.PretrainSteps < 1 {
		return fail("model.pretrain_steps", fmt.Errorf("%d, want >= 1", cfg.Model.PretrainSteps))
	}
	if cfg.Model.PretrainLearningRate < 0 || cfg.Model.PretrainLearningRate > 0 && cfg.Model.Pretrain != "pool" {
		return fail("model.pretrain_learning_rate", fmt.Errorf("%v, want 0 (train.learning_rate) or > 0 with model.pretrain = pool (now %s)", cfg.Model.PretrainLearningRate, cfg.Model.Pretrain))
	}
	if cfg.Model.ReferenceSeed != 0 && cfg.Model.Pretrain != "pool" {
		return fail("model.reference_seed", fmt.Errorf("%d, but model.pretrain = %s: only a pool-adapted reference has a seed (the base model is already shared)", cfg.Model.ReferenceSeed, cfg.Model.Pretrain))
	}
	if cfg.Repeats < 0 {
		return fail("repeats", fmt.Errorf("%d, want >= 0 (0 or 1: one run)", cfg.Repeats))
	}
	if cfg.Attack.Samples < 0 {
		return fail("attack.samples", fmt.Errorf("%d, want >= 0 (0: all)", cfg.Attack.Samples))
	}
	if cfg.Attack.MinSamples < 0 {
		return fail("attack.min_samples", fmt.Errorf("%d, want >= 0 (0: attack.samples)", cfg.Attack.MinSamples))
	}
	if cfg.Attack.MaxTokens < 0 {
		return fail("attack.max_tokens", fmt.Errorf("%d, want >= 0 (0: score samples whole)", cfg.Attack.MaxTokens))
	}
	if cfg.Attack.Checkpoints == "" {
		p.cfg.Attack.Checkpoints = "best"
	} else if cfg.Attack.Checkpoints != "best" && cfg.Attack.Checkpoints != "all" {
		return fail("attack.checkpoints", fmt.Errorf("%q, want best or all", cfg.Attack.Checkpoints))
	}
	if cfg.Attack.Checkpoints == "all" && cfg.Train.CheckpointEvery < 1 {
		return fail("attack.checkpoints", fmt.Errorf("all needs train.checkpoint_every >= 1"))
	}
	if len(cfg.Attacks) == 0 {
		return fail("attacks", fmt.Errorf("no attack plugins"))
	}
	if _, err := backend.New(cfg.Backend); err != nil {
		return fail("backend", err)
	}
	// Plugins: build the built-ins, find each, check kind and configuration.
	if _, err := plugin.BuildBuiltins(); err != nil {
		if _, statErr := os.Stat(plugin.BuiltinDir()); statErr != nil {
			return fail("plugins", err)
		}
	}
	// Info name (per kind) -> the binary that claims it: two different
	// binaries with one name would share stages and labels.
	claimed := map[string]string{}
	check := func(key string, spec PluginSpec, kind plugin.Kind) error {
		path, err := plugin.Find(spec.Name, plugin.Dirs()...)
		if err != nil {
			return err
		}
		c, err := plugin.Open(path, plugin.Options{Log: io.Discard})
		if err != nil {
			return err
		}
		defer c.Close()
		if c.Info().Kind != kind {
			return fmt.Errorf("plugin %s is a %s, not a %s", spec.Name, c.Info().Kind, kind)
		}
		if _, err := plugin.CheckConfig(c.ConfigSchema(), spec.Config); err != nil {
			return fmt.Errorf("plugin %s: %w", spec.Name, err)
		}
		// The plugin's own checks too, before any stage runs.
		if err := c.Configure(context.Background(), spec.Config); err != nil {
			return err
		}
		p.plugins[spec.Name], p.versions[spec.Name] = path, c.Info().Version
		name, err := pluginStageName(c.Info().Name)
		if err != nil {
			return fmt.Errorf("plugin %s: %w", spec.Name, err)
		}
		if other, ok := claimed[string(kind)+"/"+name]; ok && other != path {
			return fmt.Errorf("plugins %s and %s both call themselves %s %q: their stages and labels would mix; rename one", other, path, kind, c.Info().Name)
		}
		claimed[string(kind)+"/"+name] = path
		p.names[spec.Name], p.isolation[name] = name, c.Isolation()
		return nil
	}
	for _, s := range cfg.Mitigations {
		spec, err := ParseSpec(s)
		if err != nil {
			return fail("mitigations", err)
		}
		if err := check("mitigations", spec, plugin.KindMitigation); err != nil {
			return fail("mitigations", err)
		}
		p.mitigations = append(p.mitigations, spec)
	}
	ft := PluginSpec{Name: cfg.FineTuner, Config: trainParams(cfg)}
	if err := check("finetuner", ft, plugin.KindFineTuner); err != nil {
		return fail("finetuner", err)
	}
	for _, s := range cfg.Attacks {
		spec, err := ParseSpec(s)
		if err != nil {
			return fail("attacks", err)
		}
		if err := check("attacks", spec, plugin.KindAttack); err != nil {
			return fail("attacks", err)
		}
		p.attacks = append(p.attacks, spec)
	}
	return p, nil
}

func splitConfig(cfg Config) data.SplitConfig {
	return data.SplitConfig{Seed: cfg.Seed, MinDocs: cfg.Split.MinDocs, MaxDocs: cfg.Split.MaxDocs, MaxUsers: cfg.Split.MaxUsers,
		HeldInFraction: cfg.Split.HeldInFraction, AttackerFraction: cfg.Split.AttackerFraction, ValidationFraction: cfg.Split.ValidationFraction}
}

// trainParams turns the train config into the fine-tuner's key=value parameters.
func trainParams(cfg Config) map[string]any {
	b, _ := json.Marshal(cfg.Train)
	var m map[string]any
	json.Unmarshal(b, &m)
	out := map[string]any{}
	for k, v := range m {
		if k == "seed" {
			continue
		}
		out[k] = fmt.Sprint(v)
	}
	return out
}

// Stage is one step of the pipeline as a value: its name (the stage
// directory's prefix), the stages whose outputs it reads (Inputs, by their
// directories; they must have run before it), the rest of what its output
// depends on (Key: configuration, file hashes, plugin versions), and Run,
// which writes the output into the stage directory.
type Stage struct {
	Name   string
	Inputs []string // directories of the stages it reads
	Key    any
	Run    func(dir string) error
}

// pipeline runs stages in order (a DAG given in a topological order) into
// one stages directory, which other processes may share: see stage.
type pipeline struct {
	stages string
	log    io.Writer
	ran    map[string]bool // stage directories this pipeline has produced or reused
}

func newPipeline(stages string, log io.Writer) *pipeline {
	return &pipeline{stages: stages, log: log, ran: map[string]bool{}}
}

// run runs s (or reuses its cached output) and returns its directory. Its
// cache key covers its inputs' directories (themselves keyed by what they
// depend on) and s.Key; an input that has not run in this pipeline is an
// error, so the order is a valid topological order of the DAG.
func (pl *pipeline) run(s Stage) (string, error) {
	for _, in := range s.Inputs {
		if !pl.ran[in] {
			return "", fmt.Errorf("experiment: stage %s: input %s has not run", s.Name, in)
		}
	}
	key := []any{s.Key}
	for _, in := range s.Inputs {
		key = append(key, filepath.Base(in))
	}
	dir, err := stage(pl.stages, s.Name, key, pl.log, s.Run)
	if err == nil {
		pl.ran[dir] = true
	}
	return dir, err
}

// stage runs fn in a directory of stages keyed by hash(key), unless it is
// done. Keys hash everything a stage's output depends on, so runs may share
// a stages directory (Sweep does), also from several processes at once: a
// stage directory is computed under an exclusive lock on
// <stages>/<dir>/.lock, and done when its .done marker (written last,
// atomically) exists; a process finding a stage neither done nor free
// waits for the lock, then reuses what the holder finished. So a stage is
// never computed twice at once, nor read half-written.
func stage(stages, name string, key any, log io.Writer, fn func(dir string) error) (string, error) {
	if err := checkStageName(name); err != nil {
		return "", err
	}
	b, err := json.Marshal(key)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append([]byte(name+"\x00"), b...))
	dir := filepath.Join(stages, name+"-"+hex.EncodeToString(sum[:6]))
	if stageDone(dir) {
		fmt.Fprintf(log, "privlm: %-14s cached (%s)\n", name, filepath.Base(dir))
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, waited, err := lockStage(filepath.Join(dir, stageLockFile))
	if err != nil {
		return "", err
	}
	defer unlock()
	if stageDone(dir) {
		fmt.Fprintf(log, "privlm: %-14s cached (%s, computed by another process while this one waited %.1fs)\n", name, filepath.Base(dir), waited.Seconds())
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	removeStaleTemps(dir)
	start := time.Now()
	fmt.Fprintf(log, "privlm: %-14s running (%s)\n", name, filepath.Base(dir))
	if err := fn(dir); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if err := writeDone(dir); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "privlm: %-14s done in %.1fs\n", name, time.Since(start).Seconds())
	return dir, nil
}

// stageLockFile, in a stage directory, is locked while the stage is computed.
const stageLockFile = ".lock"

// doneFile marks a finished stage directory; it is written last.
const doneFile = ".done"

// stageDone says whether dir's stage has finished.
func stageDone(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, doneFile))
	return err == nil
}

// writeDone writes dir's completion marker (atomically: temp file, fsync,
// rename), after everything else in dir.
func writeDone(dir string) error {
	return data.WriteBytes(filepath.Join(dir, doneFile), []byte(time.Now().Format(time.RFC3339)+"\n"))
}

// removeStaleTemps deletes temporary files and directories an interrupted
// run left behind (".NAME.tmp-*", "NAME.tmp"); what they were becoming is
// rewritten by the stage.
func removeStaleTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); strings.Contains(n, ".tmp-") || strings.HasSuffix(n, ".tmp") {
			os.RemoveAll(filepath.Join(dir, n))
		}
	}
}

// dirOrFileHash hashes a model: a file's content, or a checkpoint
// directory's model file and weights listing.
func dirOrFileHash(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !info.IsDir() {
		return fileHash(path)
	}
	h := sha256.New()
	filepath.Walk(path, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			fh, _ := fileHash(p)
			fmt.Fprintf(h, "%s %s\n", strings.TrimPrefix(p, path), fh)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fileHash is the sha256 of a file.
// fineTuneKey is the fine-tune stage's cache key: the training and
// validation files' hashes (validation picks the best checkpoint), the
// reference's, the seed, the training config and the fine-tuner.
func fineTuneKey(cfg Config, trainPath, valPath, reference string, settings map[string]string, version string) ([]any, error) {
	trainHash, err := fileHash(trainPath)
	if err != nil {
		return nil, err
	}
	valHash, err := fileHash(valPath)
	if err != nil {
		return nil, err
	}
	refHash, err := dirOrFileHash(reference)
	if err != nil {
		return nil, err
	}
	return []any{trainHash, valHash, refHash, cfg.Seed, cfg.Train, settings, cfg.FineTuner, version, cfg.Backend}, nil
}

func fileHash(path string) (string, error) {
	return plugin.SHA256File(path)
}

// Result is what an experiment produced.
type Result struct {
	OutDir  string       `json:"out_dir"`
	Metrics []MetricsRow `json:"metrics"`
	// Dynamics are the attacks over training (attack.checkpoints = all).
	Dynamics []DynamicsRow `json:"dynamics,omitempty"`
	Manifest Manifest      `json:"manifest"`
	Duration time.Duration `json:"duration_ns"`
}

// Run validates cfg and runs the experiment into out, logging stages to log.
// Finished stages (in out/stages) are reused, so an interrupted or repeated
// run redoes only what changed.
//
// One run at a time per --out: Run holds an exclusive lock on out for as
// long as it runs, and a second Run on the same out fails at once. Stages
// themselves are locked one by one (see stage), so processes running
// different outs may share one stages directory.
func Run(ctx context.Context, cfg Config, out string, log io.Writer) (*Result, error) {
	// A bad config fails before anything (the lock file included) is written.
	if _, err := Validate(cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return run(ctx, cfg, out, filepath.Join(out, "stages"), log)
}

// runOnce is one run under cfg.Seed (cfg.Repeats is not looked at).
func runOnce(ctx context.Context, cfg Config, out, stages string, log io.Writer) (*Result, error) {
	return runStages(ctx, cfg, out, stages, log, false)
}

// runShared runs the stages of cfg that sweep points share (data, split,
// reference) into stages, and nothing else: what a scheduler runs once
// before the points.
func runShared(ctx context.Context, cfg Config, stages string, log io.Writer) error {
	_, err := runStages(ctx, cfg, "", stages, log, true)
	return err
}

// runStages is the pipeline of one run: the stages, in order, through one
// pipeline sharing the stages directory. sharedOnly stops after the
// reference model (nothing is written to out).
func runStages(ctx context.Context, cfg Config, out, stages string, log io.Writer, sharedOnly bool) (*Result, error) {
	start := time.Now()
	if log == nil {
		log = io.Discard
	}
	p, err := Validate(cfg)
	if err != nil {
		return nil, err
	}
	p.log = log
	// Plugins run in an empty working directory of their own (the
	// sandbox), so every path they are given is made absolute here: a
	// relative --out (the quickstart's default results/quickstart) would
	// name nothing inside the plugin.
	if stages, err = filepath.Abs(stages); err != nil {
		return nil, err
	}
	if out != "" {
		if out, err = filepath.Abs(out); err != nil {
			return nil, err
		}
	}
	p.protectRun(out, stages)
	if !sharedOnly {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, err
		}
	}
	pl := newPipeline(stages, log)
	// 1. Data.
	dataPath, dataHash, dataDir, err := dataStage(p, pl)
	if err != nil {
		return nil, err
	}
	// 2. Split (+ canaries).
	splitKey := splitStageKey(p, dataHash)
	splitDir, err := pl.run(Stage{Name: "split", Inputs: []string{dataDir}, Key: splitKey, Run: func(dir string) error { return makeSplit(p, dataPath, dir) }})
	if err != nil {
		return nil, err
	}
	users, err := readUsers(filepath.Join(splitDir, "users.json"))
	if err != nil {
		return nil, err
	}
	if users.Overlap != nil {
		p.overlap = users.Overlap
		fmt.Fprintf(log, "privlm: split: %s\n", OverlapSummary(*users.Overlap))
	}
	if before := max(users.MinAttackerSamplesBeforeOverlap, users.MinAttackerSamples); cfg.Attack.Samples > before {
		return nil, fmt.Errorf("experiment: attack.samples = %d, but the split gives some users only %d attacker samples (raise split.attacker_fraction or split.min_docs, or lower attack.samples)", cfg.Attack.Samples, before)
	}
	// 3. Reference: the base model, or the base adapted on the disjoint pool.
	refInputs := []string{splitDir}
	if cfg.Model.Pretrain == "pool" {
		poolPath := filepath.Join(splitDir, "pretrain.parquet")
		poolHash, _ := fileHash(poolPath)
		baseHash, _ := fileHash(p.reference)
		var ref plugin.FineTuneResponse
		pre := *p
		pre.cfg.Train = pretrainConfig(cfg)
		valPath := filepath.Join(splitDir, "validation.parquet")
		inputs := []string{splitDir}
		key := []any{poolHash, baseHash, cfg.Seed, pre.cfg.Train, cfg.Model, p.versions[cfg.FineTuner], cfg.Backend}
		if cfg.Model.ReferenceSeed != 0 {
			// One reference for every seed and sweep point: it reads only
			// the pool and its held-back tenth, keyed by their contents,
			// not by the split it was written with.
			valPath = filepath.Join(splitDir, poolValidationFile)
			valHash, err := fileHash(valPath)
			if err != nil {
				return nil, fmt.Errorf("experiment: shared reference: %w", err)
			}
			pre.cfg.Seed = cfg.Model.ReferenceSeed
			inputs = []string{dataDir}
			key = []any{"shared", poolHash, valHash, baseHash, pre.cfg.Train, cfg.Model, p.versions[cfg.FineTuner], cfg.Backend}
		}
		refDir, err := pl.run(Stage{Name: "reference", Inputs: inputs, Key: key,
			Run: func(dir string) error {
				ref, err = runFineTune(ctx, &pre, poolPath, valPath, nil, dir, log)
				if err != nil {
					return err
				}
				return data.WriteJSON(filepath.Join(dir, "response.json"), ref)
			}})
		if err != nil {
			return nil, err
		}
		if err := readJSONFile(filepath.Join(refDir, "response.json"), &ref); err != nil {
			return nil, err
		}
		p.reference = ref.Best
		refInputs = append(refInputs, refDir)
	}
	if sharedOnly {
		return nil, nil
	}
	// 4. Mitigations, each reading the previous one's training file.
	trainPath := filepath.Join(splitDir, "train.parquet")
	trainDir := splitDir
	settings := map[string]string{}
	var summaries []string
	for _, spec := range p.mitigations {
		h, _ := fileHash(trainPath)
		var resp plugin.MitigationResponse
		dir, err := pl.run(Stage{Name: "mitigate-" + p.names[spec.Name], Inputs: []string{trainDir},
			Key: []any{h, spec, p.versions[spec.Name], cfg.Seed},
			Run: func(dir string) error {
				resp, err = runMitigation(ctx, p, spec, trainPath, dir)
				if err != nil {
					return err
				}
				return data.WriteJSON(filepath.Join(dir, "response.json"), resp)
			}})
		if err != nil {
			return nil, err
		}
		if err := readJSONFile(filepath.Join(dir, "response.json"), &resp); err != nil {
			return nil, err
		}
		if resp.TrainPath != "" {
			if err := checkStageFile(resp.TrainPath, dir); err != nil {
				return nil, fmt.Errorf("experiment: mitigation %s returned train_path: %w", spec.Name, err)
			}
			trainPath = resp.TrainPath
		}
		trainDir = dir
		for k, v := range resp.Settings {
			settings[k] = v
		}
		summaries = append(summaries, spec.Name+": "+resp.Summary)
	}
	if err := countTraining(p, pl, trainDir, trainPath, &users); err != nil {
		return nil, err
	}
	// 5. Fine-tune.
	ftKey, err := fineTuneKey(cfg, trainPath, filepath.Join(splitDir, "validation.parquet"), p.reference, settings, p.versions[cfg.FineTuner])
	if err != nil {
		return nil, err
	}
	var ft plugin.FineTuneResponse
	ftDir, err := pl.run(Stage{Name: "finetune", Inputs: append([]string{trainDir}, refInputs...), Key: ftKey,
		Run: func(dir string) error {
			ft, err = runFineTune(ctx, p, trainPath, filepath.Join(splitDir, "validation.parquet"), settings, dir, log)
			if err != nil {
				return err
			}
			return data.WriteJSON(filepath.Join(dir, "response.json"), ft)
		}})
	if err != nil {
		return nil, err
	}
	if err := readJSONFile(filepath.Join(ftDir, "response.json"), &ft); err != nil {
		return nil, err
	}
	// 6. Attacks, through one oracle shared by every attack (it caches scores).
	requests, short, err := attackRequest(filepath.Join(splitDir, "attacker.parquet"), cfg.Attack.Samples, cfg.Attack.MinSamples, cfg.Seed)
	if err != nil {
		return nil, err
	}
	if short > 0 {
		w := fmt.Sprintf("%d users have fewer than attack.samples = %d attacker samples after samples copied in the training data were dropped: they are not attacked (the population differs from runs with smaller attack.samples)", short, cfg.Attack.Samples)
		if cfg.Attack.MinSamples > 0 && cfg.Attack.MinSamples >= cfg.Attack.Samples {
			w = fmt.Sprintf("%d users have fewer than attack.min_samples = %d attacker samples after samples copied in the training data were dropped: they are not attacked (at every attack.samples up to %d the same users are)", short, cfg.Attack.MinSamples, cfg.Attack.MinSamples)
		}
		p.warnings = append(p.warnings, w)
		fmt.Fprintf(log, "privlm: warning: %s\n", w)
	}
	if len(requests.Users) < 2 {
		return nil, fmt.Errorf("experiment: %d users have attack.samples = %d attacker samples after the overlap drop; need at least 2", len(requests.Users), cfg.Attack.Samples)
	}
	requests, p.scoring = cutSamples(p.tok, requests, cfg.Attack.MaxTokens)
	p.warnings = append(p.warnings, attackedUsersWarnings(requests, users)...)
	for _, w := range p.warnings {
		fmt.Fprintf(log, "privlm: warning: %s\n", w)
	}
	if p.scoring.SamplesCut > 0 {
		fmt.Fprintf(log, "privlm: attack.max_tokens = %d cut %d of %d attacker samples (%d tokens)\n",
			cfg.Attack.MaxTokens, p.scoring.SamplesCut, p.scoring.Samples, p.scoring.TokensCut)
	}
	scores, err := attackCheckpoint(ctx, p, pl, []string{ftDir, splitDir}, "", ft.Best, []any{ftKey, splitKey}, requests, users, log)
	if err != nil {
		return nil, err
	}
	// 7. Metrics and results.
	rows, curves, err := computeMetrics(cfg, scores)
	if err != nil {
		return nil, err
	}
	setOverlapColumns(rows, p.overlap)
	for i := range rows {
		rows[i].AttackUsersShort = int64(short)
	}
	// 8. Attacks over training: every kept checkpoint, for attack.checkpoints = all.
	var dynamics []DynamicsRow
	if cfg.Attack.Checkpoints == "all" {
		for _, ck := range ft.Checkpoints {
			sc, err := attackCheckpoint(ctx, p, pl, []string{ftDir, splitDir}, fmt.Sprintf("-step%d", ck.Step), ck.Path, []any{ftKey, splitKey, ck.Step}, requests, users, log)
			if err != nil {
				return nil, err
			}
			ms, _, err := computeMetrics(cfg, sc)
			if err != nil {
				return nil, err
			}
			gap := lossGap(sc)
			for _, m := range Headline(ms) {
				dynamics = append(dynamics, DynamicsRow{ExperimentID: cfg.Name, Seed: int64(cfg.Seed), Attack: m.Attack, Step: int64(ck.Step), ValLoss: ck.ValLoss,
					AUROC: m.AUROC, AUROCLo: m.AUROCLo, AUROCHi: m.AUROCHi, TPRAt1FPR: m.TPRAt1FPR, TPRAt5FPR: m.TPRAt5FPR,
					NMembers: m.NMembers, NNonMembers: m.NNonMembers, ChanceP: m.ChanceP, LossGap: gap})
			}
		}
	}
	man, err := writeResults(p, out, scores, rows, curves, ft, dataHash, summaries, settings)
	if err != nil {
		return nil, err
	}
	if dynamics != nil {
		if err := data.WriteParquet(filepath.Join(out, "dynamics.parquet"), dynamics); err != nil {
			return nil, err
		}
	}
	return &Result{OutDir: out, Metrics: rows, Dynamics: dynamics, Manifest: man, Duration: time.Since(start)}, nil
}

// attackCheckpoint runs every attack against one checkpoint, through one
// oracle shared by the attacks (it caches scores). suffix names the stages
// of checkpoints other than the attacked best one.
func attackCheckpoint(ctx context.Context, p *plan, pl *pipeline, inputs []string, suffix, checkpoint string, key []any, requests plugin.AttackRequest,
	users SplitInfo, log io.Writer) ([]ScoreRow, error) {
	cfg := p.cfg
	var shared *oracle.LM
	getOracle := func() (*oracle.LM, error) {
		var err error
		if shared == nil {
			shared, err = newOracle(p, checkpoint)
		}
		return shared, err
	}
	var scores []ScoreRow
	for _, spec := range p.attacks {
		stageKey := append(append([]any{}, key...), spec, p.versions[spec.Name], cfg.Attack.Samples, cfg.Attack.MaxTokens, scoringVersion)
		if cfg.Attack.MinSamples > cfg.Attack.Samples {
			// Only when it changes who is attacked, so that caches made
			// before the key existed stay valid.
			stageKey = append(stageKey, "min_samples", cfg.Attack.MinSamples)
		}
		dir, err := pl.run(Stage{Name: "attack-" + p.names[spec.Name] + suffix, Inputs: inputs, Key: stageKey, Run: func(dir string) error {
			o, err := getOracle()
			if err != nil {
				return err
			}
			resp, err := runAttack(ctx, p, spec, o, requests)
			if err != nil {
				return err
			}
			if err := data.WriteJSON(filepath.Join(dir, "oracle.json"), map[string]int{"window": o.Window()}); err != nil {
				return err
			}
			return data.WriteJSON(filepath.Join(dir, "scores.json"), resp)
		}})
		if err != nil {
			return nil, err
		}
		var resp plugin.AttackResponse
		if err := readJSONFile(filepath.Join(dir, "scores.json"), &resp); err != nil {
			return nil, err
		}
		var oi struct{ Window int }
		if err := readJSONFile(filepath.Join(dir, "oracle.json"), &oi); err != nil {
			return nil, err
		}
		p.scoring.Window = oi.Window
		for _, s := range resp.Scores {
			u := users.Users[s.UserID]
			scores = append(scores, ScoreRow{ExperimentID: cfg.Name, Seed: int64(cfg.Seed), Attack: attackLabel(p.names[spec.Name], spec), UserID: s.UserID, Member: u.Member,
				Canary: u.Canary, NAttackSamples: int64(samplesOf(requests, s.UserID)), NTrainSamples: int64(u.TrainDocs), NTrainTokens: int64(u.TrainTokens), NUserDocs: int64(u.TotalDocs), Score: s.Score})
		}
	}
	sort.Slice(scores, func(i, j int) bool {
		if scores[i].Attack != scores[j].Attack {
			return scores[i].Attack < scores[j].Attack
		}
		return scores[i].UserID < scores[j].UserID
	})
	return scores, nil
}

// pretrainConfig is the training configuration of the reference model's
// domain adaptation: the fine-tuning's optimiser and shapes, for
// model.pretrain_steps steps, without clipping, DP, early stopping or
// kept checkpoints (so that sweeping those reuses one reference), at
// model.pretrain_learning_rate when set.
func pretrainConfig(cfg Config) train.Config {
	t := cfg.Train
	t.Steps, t.Epochs = cfg.Model.PretrainSteps, 0
	if cfg.Model.PretrainLearningRate > 0 {
		t.LearningRate = cfg.Model.PretrainLearningRate
	}
	t.Clip, t.DP, t.Sigma, t.TargetEpsilon, t.Patience, t.CheckpointEvery = "none", "none", 0, 0, 0, 0
	// The reference adapts every weight with Adam whatever the fine-tuning
	// trains and with: one reference serves runs that differ in those.
	t.Trainable, t.Optimizer = "", ""
	if cfg.Train.Optimizer == "sgd" {
		t.WeightDecay = train.DefaultConfig().WeightDecay // sgd needs weight_decay 0; Adam takes the default
	}
	return t
}

// attackLabel names an attack in the results: its stage name, and its
// parameters if any.
func attackLabel(name string, s PluginSpec) string {
	if len(s.Config) == 0 {
		return name
	}
	keys := make([]string, 0, len(s.Config))
	for k := range s.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, s.Config[k]))
	}
	return name + "?" + strings.Join(parts, "&")
}

func samplesOf(req plugin.AttackRequest, user string) int {
	for _, u := range req.Users {
		if u.UserID == user {
			return len(u.Texts)
		}
	}
	return 0
}

// checkStageFile accepts a path a plugin returned only if it is a regular
// file inside the plugin's stage directory dir (symlinks resolved): a
// mitigation must not point fine-tuning at another stage's or the host's
// files.
func checkStageFile(path, dir string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	realDir, err := filepath.EvalSymlinks(absDir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if !strings.HasPrefix(real, realDir+string(filepath.Separator)) {
		return fmt.Errorf("%s is not inside the stage directory %s", path, dir)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}

package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/privlm/privlm/datasets"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/oracle"
	"github.com/privlm/privlm/framework/plugin"
)

// UserInfo is what the split says about a user.
type UserInfo struct {
	Member       bool `json:"member"`
	Canary       bool `json:"canary"`
	TrainDocs    int  `json:"train_docs"`
	AttackerDocs int  `json:"attacker_docs"`
	// TotalDocs is the user's documents in the split (after
	// split.max_docs), held in or not: attacker samples plus the user's
	// would-be share of the training data.
	TotalDocs int `json:"total_docs"`
	// TrainTokens is the tokens (without BOS/EOS) of the user's training
	// documents. In users.json TrainDocs and TrainTokens are the split's;
	// a run replaces both with the counts of the final training file (after
	// mitigations, see countTraining) before it reports them.
	TrainTokens int `json:"train_tokens"`
}

// SplitInfo is the split stage's users.json.
type SplitInfo struct {
	Users              map[string]UserInfo `json:"users"`
	MinAttackerSamples int                 `json:"min_attacker_samples"`
	// MinAttackerSamplesBeforeOverlap is the fewest the split gave a user,
	// before samples with copies were dropped.
	MinAttackerSamplesBeforeOverlap int           `json:"min_attacker_samples_before_overlap"`
	Canaries                        []data.Canary `json:"canaries,omitempty"`
	TrainDocs                       int           `json:"train_docs"`
	ValidationDocs                  int           `json:"validation_docs"`
	// Overlap is what the attacker/training overlap check found.
	Overlap *data.OverlapReport `json:"attacker_overlap,omitempty"`
}

func readUsers(path string) (SplitInfo, error) {
	var s SplitInfo
	return s, readJSONFile(path, &s)
}

func truncate(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// dataStage prepares the dataset (the "data" stage) and returns the
// Parquet file and its hash.
func dataStage(p *plan, pl *pipeline) (path, hash, dir string, err error) {
	cfg := p.cfg
	d, err := datasets.Lookup(cfg.Dataset.Name)
	if err != nil {
		return "", "", "", err
	}
	dir, err = pl.run(Stage{Name: "data", Key: []any{cfg.Dataset, p.source, d.Version}, Run: func(dir string) error {
		_, err := datasets.PrepareWith(cfg.Dataset.Name, cfg.Dataset.Source, filepath.Join(dir, "data.parquet"), datasets.ConvertOptions{KeepQuotes: cfg.Dataset.KeepQuotes}, nil)
		return err
	}})
	if err != nil {
		return "", "", "", err
	}
	path = filepath.Join(dir, "data.parquet")
	hash, err = fileHash(path)
	return path, hash, dir, err
}

// canaryVersion is in the split stage's key when there are canaries:
// "users-first" draws both groups of canary users before any substring;
// "whole characters" draws windows that decode to valid UTF-8.
const canaryVersion = "canaries: users-first, windows of whole characters"

// splitStageKey is what the split stage depends on.
func splitStageKey(p *plan, dataHash string) []any {
	cfg := p.cfg
	key := []any{splitVersion, dataHash, cfg.Seed, cfg.Split, cfg.Canary, cfg.Dataset.MaxChars, p.tok.Name(), cfg.Model.Pretrain, cfg.Model.PretrainSteps, cfg.Train.BatchSize}
	if cfg.Canary.Users > 0 {
		key = append(key, cfg.Attack.MaxTokens, canaryVersion) // canaries are placed within max_tokens
	}
	if cfg.Model.ReferenceSeed != 0 {
		key = append(key, "reference_seed", cfg.Model.ReferenceSeed, sharedPoolVersion) // draws the pool
	}
	return key
}

// RunSplit runs only the data and split stages of cfg into out/stages (as
// Run would, so a later Run reuses them) and returns the split's
// users.json: attack users, canaries and the attacker/training overlap.
func RunSplit(cfg Config, out string, log io.Writer) (SplitInfo, error) {
	if log == nil {
		log = io.Discard
	}
	p, err := Validate(cfg)
	if err != nil {
		return SplitInfo{}, err
	}
	p.log = log
	stages := filepath.Join(out, "stages")
	p.protectRun(out, stages)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return SplitInfo{}, err
	}
	unlock, err := lockDir(out)
	if err != nil {
		return SplitInfo{}, err
	}
	defer unlock()
	pl := newPipeline(stages, log)
	dataPath, dataHash, dataDir, err := dataStage(p, pl)
	if err != nil {
		return SplitInfo{}, err
	}
	dir, err := pl.run(Stage{Name: "split", Inputs: []string{dataDir}, Key: splitStageKey(p, dataHash), Run: func(dir string) error { return makeSplit(p, dataPath, dir) }})
	if err != nil {
		return SplitInfo{}, err
	}
	return readUsers(filepath.Join(dir, "users.json"))
}

// makeSplit reads the dataset, truncates, splits users, checks the
// attacker samples against everything trained on (split.attacker_overlap),
// inserts canaries into users the split keeps and writes the split.
func makeSplit(p *plan, dataPath, dir string) error {
	cfg := p.cfg
	recs, err := data.ReadFile(dataPath)
	if err != nil {
		return err
	}
	kept := recs[:0]
	for _, r := range recs {
		// Non-empty text always encodes to tokens (byte fallback).
		if r.Text = truncate(r.Text, cfg.Dataset.MaxChars); r.Text != "" {
			kept = append(kept, r)
		}
	}
	recs = kept
	// The split depends on users and documents, not on text: the split
	// before canaries is the split after them, document for document.
	first, err := data.MakeSplit(recs, splitConfig(cfg))
	if err != nil {
		return err
	}
	pool, poolVal, err := referencePool(cfg, recs)
	if err != nil {
		return err
	}
	// Overlap is judged on the data as it comes (a canary is a deliberate
	// copy across a user's documents, not a leak), against everything the
	// reference reads.
	overlap, drop, err := data.CheckAttackerOverlap(first, append(slices.Clip(pool), poolVal...), attackerOverlap(cfg))
	if err != nil {
		return err
	}
	first.DropAttackerDocs(drop)
	var canaries []data.Canary
	if cfg.Canary.Users > 0 {
		// Canaries go to attack users the split keeps (split.max_users may
		// keep a few of many; the overlap check may drop some), half held in.
		var in, out []string
		for u := range first.Attacker {
			if first.Member(u) {
				in = append(in, u)
			} else {
				out = append(out, u)
			}
		}
		recs, canaries, err = data.InsertCanaries(recs, in, out, p.tok, data.CanaryConfig{Users: cfg.Canary.Users, Tokens: cfg.Canary.Tokens, Seed: cfg.Seed, WithinTokens: cfg.Attack.MaxTokens})
		if err != nil {
			return err
		}
	}
	s, err := data.MakeSplit(recs, splitConfig(cfg))
	if err != nil {
		return err
	}
	// The split's own attacker samples per user, before the overlap drop:
	// attack.samples above this is a split setting problem (an error);
	// users below it only after the drop leave the attack (pipeline).
	minBefore := 1 << 30
	for _, docs := range s.Attacker {
		minBefore = min(minBefore, len(docs))
	}
	s.DropAttackerDocs(drop)
	if len(s.Attacker) < 2 {
		return fmt.Errorf("split: %d attack users are left after dropping attacker samples copied in the training data (%s); need at least 2", len(s.Attacker), OverlapSummary(overlap))
	}
	if cfg.Model.Pretrain == "pool" {
		if err := data.WriteFile(filepath.Join(dir, "pretrain.parquet"), pool); err != nil {
			return err
		}
	}
	if cfg.Model.ReferenceSeed != 0 {
		if err := data.WriteFile(filepath.Join(dir, poolValidationFile), poolVal); err != nil {
			return err
		}
	}
	info := SplitInfo{Users: map[string]UserInfo{}, Canaries: canaries, TrainDocs: len(s.Train), ValidationDocs: len(s.Validation), MinAttackerSamples: 1 << 30, MinAttackerSamplesBeforeOverlap: minBefore, Overlap: &overlap}
	isCanary := map[string]bool{}
	for _, c := range canaries {
		isCanary[c.UserID] = true
	}
	// A user's documents as the split sees them (after split.max_docs): the
	// attacker's, plus the training documents of members or the held-back
	// rest of non-members.
	totals := map[string]int{}
	for _, docs := range [][]data.Record{s.Train, s.HeldOutRest} {
		for _, r := range docs {
			totals[r.UserID]++
		}
	}
	var attacker []data.Record
	for u, docs := range s.Attacker {
		info.Users[u] = UserInfo{Member: s.Member(u), Canary: isCanary[u], AttackerDocs: len(docs), TotalDocs: len(docs) + totals[u]}
		info.MinAttackerSamples = min(info.MinAttackerSamples, len(docs))
		attacker = append(attacker, docs...)
	}
	for _, r := range s.Train {
		if u, ok := info.Users[r.UserID]; ok {
			u.TrainDocs++
			info.Users[r.UserID] = u
		}
	}
	slices.SortFunc(attacker, func(a, b data.Record) int {
		if a.UserID != b.UserID {
			return strings.Compare(a.UserID, b.UserID)
		}
		return strings.Compare(a.DocID, b.DocID)
	})
	for name, recs := range map[string][]data.Record{"train.parquet": s.Train, "validation.parquet": s.Validation, "attacker.parquet": attacker} {
		if err := data.WriteFile(filepath.Join(dir, name), recs); err != nil {
			return err
		}
	}
	return data.WriteJSON(filepath.Join(dir, "users.json"), info)
}

// referencePool is the documents the reference model is adapted on for
// model.pretrain = pool: the users with fewer than split.min_docs
// documents, at most twice the pretraining's steps x batch of them
// (pretraining sees no more; reddit's pool has 500k), sorted by DocID.
// Both are nil for model.pretrain = none.
//
// Drawn with the run's seed, the reference's checkpoint is chosen on the
// split's validation users (val is nil). With model.reference_seed set,
// the pool is drawn with that seed and whole users holding about a tenth
// of it (at least one document, at most about poolValidationMax) are held
// back as val, so that pool and val depend on the data and the reference
// seed alone, and val's users are not trained on.
func referencePool(cfg Config, recs []data.Record) (pool, val []data.Record, err error) {
	if cfg.Model.Pretrain != "pool" {
		return nil, nil, nil
	}
	for _, docs := range data.ByUser(recs) {
		if len(docs) < cfg.Split.MinDocs {
			pool = append(pool, docs...)
		}
	}
	byDoc := func(a, b data.Record) int { return strings.Compare(a.DocID, b.DocID) }
	slices.SortFunc(pool, byDoc)
	shared := cfg.Model.ReferenceSeed != 0
	if len(pool) == 0 || (shared && len(data.ByUser(pool)) < 2) {
		return nil, nil, fmt.Errorf("model.pretrain = pool, but users with fewer than split.min_docs = %d documents are %d with %d documents (need at least %d users)", cfg.Split.MinDocs, len(data.ByUser(pool)), len(pool), map[bool]int{false: 1, true: 2}[shared])
	}
	seed := cfg.Seed
	if shared {
		seed = cfg.Model.ReferenceSeed
	}
	limit := 2 * cfg.Model.PretrainSteps * cfg.Train.BatchSize
	if !shared && len(pool) <= limit {
		return pool, nil, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x706f6f6c))
	if shared {
		// Held back by user: whole users, drawn at random, until a tenth
		// of the documents (at most poolValidationMax), so that the
		// reference is validated on people it never trained on.
		users := data.ByUser(pool)
		ids := make([]string, 0, len(users))
		for u := range users {
			ids = append(ids, u)
		}
		slices.Sort(ids)
		rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		want := min(max(1, len(pool)/10), poolValidationMax)
		held := map[string]bool{}
		for _, u := range ids[:len(ids)-1] { // at least one user trains
			if len(val) >= want {
				break
			}
			held[u] = true
			val = append(val, users[u]...)
		}
		rest := pool[:0:0]
		for _, r := range pool {
			if !held[r.UserID] {
				rest = append(rest, r)
			}
		}
		pool = rest
		slices.SortFunc(val, byDoc)
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	pool = pool[:min(len(pool), limit)]
	slices.SortFunc(pool, byDoc)
	return pool, val, nil
}

// sharedPoolVersion is in the split stage's key with model.reference_seed:
// change it whenever referencePool's shared draw changes, or splits made
// by the old code are reused.
const sharedPoolVersion = "shared-pool-v2: validation holds back whole users"

// poolValidationFile, in a split stage's folder, is the pool's held-back
// documents a shared reference (model.reference_seed) is validated on.
const poolValidationFile = "pretrain-validation.parquet"

// poolValidationMax caps the held-back tenth of a shared reference's
// pool: enough documents to choose a checkpoint, about as many as the
// split's validation users have at the repro presets' size (evaluated
// every train.eval_every steps, more would slow the adaptation).
const poolValidationMax = 100

// trainCount is one user's documents and tokens in a training file.
type trainCount struct {
	Docs   int `json:"docs"`
	Tokens int `json:"tokens"`
}

// countTraining counts every user's documents and tokens (tok.Encode,
// without BOS/EOS) in the training file the fine-tuning reads: after every
// mitigation, so that n_train_samples under cap or dedup is what was
// trained on. The counts are cached as a stage keyed by the file's hash.
func countTraining(p *plan, pl *pipeline, trainDir, trainPath string, users *SplitInfo) error {
	h, err := fileHash(trainPath)
	if err != nil {
		return err
	}
	var counts map[string]trainCount
	dir, err := pl.run(Stage{Name: "train-counts", Inputs: []string{trainDir}, Key: []any{h, p.tok.Name()}, Run: func(dir string) error {
		recs, err := data.ReadFile(trainPath)
		if err != nil {
			return err
		}
		counts = map[string]trainCount{}
		for _, r := range recs {
			c := counts[r.UserID]
			c.Docs++
			c.Tokens += len(p.tok.Encode(r.Text))
			counts[r.UserID] = c
		}
		return data.WriteJSON(filepath.Join(dir, "counts.json"), counts)
	}})
	if err != nil {
		return err
	}
	if err := readJSONFile(filepath.Join(dir, "counts.json"), &counts); err != nil {
		return err
	}
	for id, u := range users.Users {
		u.TrainDocs, u.TrainTokens = counts[id].Docs, counts[id].Tokens
		users.Users[id] = u
	}
	return nil
}

// attackerOverlap is split.attacker_overlap, drop when unset.
func attackerOverlap(cfg Config) string {
	if cfg.Split.AttackerOverlap == "" {
		return data.OverlapDrop
	}
	return cfg.Split.AttackerOverlap
}

// OverlapSummary is one line on what the split's attacker/training overlap
// check found, as a run prints it.
func OverlapSummary(r data.OverlapReport) string {
	t := r.Total
	s := fmt.Sprintf("attacker overlap (split.attacker_overlap=%s): %d of %d attacker samples have a copy in an attack user's other documents, held-in and held-out judged alike (%d exact, %d near: Jaccard >= %.1f with one document or >= %.0f%% of its %d-word shingles contained in the documents)",
		r.Policy, t.TrainExact+t.TrainNear, t.Samples, t.TrainExact, t.TrainNear, r.NearJaccard, 100*r.NearContainment, r.ShingleWords)
	s += fmt.Sprintf(" (held-in users' samples %d, held-out %d)", r.HeldIn.TrainExact+r.HeldIn.TrainNear, r.HeldOut.TrainExact+r.HeldOut.TrainNear)
	s += fmt.Sprintf("; copies in the reference pool %d (%d exact)", t.PoolExact+t.PoolNear, t.PoolExact)
	if r.Policy == data.OverlapDrop {
		s += fmt.Sprintf("; dropped %d samples (held-in %d, held-out %d), %d users left the attack (held-in %d, held-out %d)",
			t.Dropped, r.HeldIn.Dropped, r.HeldOut.Dropped, t.UsersDropped, r.HeldIn.UsersDropped, r.HeldOut.UsersDropped)
	}
	return s + fmt.Sprintf("; copies in validation %d (%d exact; not trained on, counted only)",
		t.ValidationExact+t.ValidationNear, t.ValidationExact)
}

func runMitigation(ctx context.Context, p *plan, spec PluginSpec, trainPath, dir string) (plugin.MitigationResponse, error) {
	c, err := plugin.Open(p.plugins[spec.Name], plugin.Options{Log: p.log, Read: []string{trainPath}, Write: []string{dir}, Protect: p.protect})
	if err != nil {
		return plugin.MitigationResponse{}, err
	}
	defer c.Close()
	if err := c.Configure(ctx, spec.Config); err != nil {
		return plugin.MitigationResponse{}, err
	}
	return c.Mitigate(ctx, plugin.MitigationRequest{TrainPath: trainPath, OutputDir: dir, Seed: p.cfg.Seed})
}

func runFineTune(ctx context.Context, p *plan, trainPath, valPath string, settings map[string]string, dir string, log io.Writer) (plugin.FineTuneResponse, error) {
	read, devices := fineTunerInputs(p, trainPath, valPath)
	c, err := plugin.Open(p.plugins[p.cfg.FineTuner], plugin.Options{Timeout: 72 * time.Hour, Log: log,
		Read: read, Write: []string{dir}, Devices: devices, Protect: p.protect})
	if err != nil {
		return plugin.FineTuneResponse{}, err
	}
	defer c.Close()
	if err := c.Configure(ctx, trainParams(p.cfg)); err != nil {
		return plugin.FineTuneResponse{}, err
	}
	return c.FineTune(ctx, plugin.FineTuneRequest{BaseCheckpoint: p.reference, Tokenizer: p.tokenizer, TrainPath: trainPath,
		ValidationPath: valPath, OutputDir: dir, Seed: p.cfg.Seed, Settings: settings, Backend: p.cfg.Backend})
}

// fineTunerInputs are the files the fine-tuner's sandbox may read: the base
// checkpoint, the tokenizer (unless built in), the training and validation
// data; with the XLA backend also the PJRT plugin's folder, /proc and /sys
// (the CUDA driver reads them) and the NVIDIA devices. (The XLA rules are
// untested on a GPU: PRIVLM_PLUGIN_SANDBOX=off is the way out if they fall
// short.)
func fineTunerInputs(p *plan, trainPath, valPath string) (read, devices []string) {
	read = []string{p.reference, trainPath, valPath}
	if p.tokenizer != "gpt2" {
		read = append(read, p.tokenizer)
	}
	spec := backend.Spec(p.cfg.Backend)
	if backend.Name(spec) == "xla" {
		read = append(read, "/proc", "/sys")
		if _, so, _ := strings.Cut(spec, ":"); filepath.IsAbs(so) {
			read = append(read, filepath.Dir(so))
		}
		devices, _ = filepath.Glob("/dev/nvidia*")
		devices = append(devices, "/dev/shm")
	}
	return read, devices
}

// attackRequest is every user's attacker samples, m = samples of them (0:
// all), drawn by a shuffle seeded by the seed and the user id, so the
// first m of one shuffle: a smaller m's samples are a subset of a larger
// one's. A user with fewer than max(m, minSamples) (left so by the overlap
// drop) is not attacked; short counts them.
func attackRequest(path string, samples, minSamples int, seed uint64) (req plugin.AttackRequest, short int, err error) {
	recs, err := data.ReadFile(path)
	if err != nil {
		return plugin.AttackRequest{}, 0, err
	}
	for i := 0; i < len(recs); {
		j := i
		var texts []string
		for j < len(recs) && recs[j].UserID == recs[i].UserID {
			texts = append(texts, recs[j].Text)
			j++
		}
		have := len(texts)
		if samples > 0 && len(texts) > samples {
			r := rand.New(rand.NewPCG(seed, userSeed(recs[i].UserID)))
			r.Shuffle(len(texts), func(a, b int) { texts[a], texts[b] = texts[b], texts[a] })
			texts = texts[:samples]
		}
		if have < max(samples, minSamples) {
			short++
		} else {
			req.Users = append(req.Users, plugin.UserSamples{UserID: recs[i].UserID, Texts: texts})
		}
		i = j
	}
	return req, short, nil
}

func userSeed(u string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(u); i++ {
		h = (h ^ uint64(u[i])) * 1099511628211
	}
	return h
}

// newOracle loads the target and the reference behind a caching oracle
// that scores texts over the fine-tuning's windows (train.seq_len).
func newOracle(p *plan, target string) (*oracle.LM, error) {
	be, err := backend.New(p.cfg.Backend)
	if err != nil {
		return nil, err
	}
	tm, _, err := lm.Open(target, be)
	if err != nil {
		return nil, err
	}
	rm, _, err := lm.Open(p.reference, be)
	if err != nil {
		return nil, err
	}
	return scoringOracle(p.cfg, tm, rm, p.tok)
}

func runAttack(ctx context.Context, p *plan, spec PluginSpec, o *oracle.LM, req plugin.AttackRequest) (plugin.AttackResponse, error) {
	c, err := plugin.Open(p.plugins[spec.Name], plugin.Options{Log: p.log, Protect: p.protect})
	if err != nil {
		return plugin.AttackResponse{}, err
	}
	defer c.Close()
	if err := c.Configure(ctx, spec.Config); err != nil {
		return plugin.AttackResponse{}, err
	}
	return c.Attack(ctx, req, o)
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

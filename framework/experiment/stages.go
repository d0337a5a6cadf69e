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
}

// SplitInfo is the split stage's users.json.
type SplitInfo struct {
	Users              map[string]UserInfo `json:"users"`
	MinAttackerSamples int                 `json:"min_attacker_samples"`
	Canaries           []data.Canary       `json:"canaries,omitempty"`
	TrainDocs          int                 `json:"train_docs"`
	ValidationDocs     int                 `json:"validation_docs"`
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

// makeSplit reads the dataset, truncates, inserts canaries and splits users.
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
	var canaries []data.Canary
	if cfg.Canary.Users > 0 {
		// Canaries go to users the split keeps (split.max_users may keep a
		// few of many): split once to learn them. A split depends on users
		// and documents, not on text, so the split below is the same one.
		first, err := data.MakeSplit(recs, splitConfig(cfg))
		if err != nil {
			return err
		}
		var candidates []string
		for u := range first.Attacker {
			candidates = append(candidates, u)
		}
		recs, canaries, err = data.InsertCanaries(recs, candidates, p.tok, data.CanaryConfig{Users: cfg.Canary.Users, Tokens: cfg.Canary.Tokens, Seed: cfg.Seed})
		if err != nil {
			return err
		}
	}
	s, err := data.MakeSplit(recs, splitConfig(cfg))
	if err != nil {
		return err
	}
	var pool []data.Record
	if cfg.Model.Pretrain == "pool" {
		for _, docs := range data.ByUser(recs) {
			if len(docs) < cfg.Split.MinDocs {
				pool = append(pool, docs...)
			}
		}
		slices.SortFunc(pool, func(a, b data.Record) int { return cmpStr(a.DocID, b.DocID) })
		if len(pool) == 0 {
			return fmt.Errorf("model.pretrain = pool, but no user has fewer than split.min_docs = %d documents", cfg.Split.MinDocs)
		}
		// Pretraining sees at most steps x batch examples: a seeded sample of
		// twice that many documents serves it (reddit's pool has 500k).
		if limit := 2 * cfg.Model.PretrainSteps * cfg.Train.BatchSize; len(pool) > limit {
			rng := rand.New(rand.NewPCG(cfg.Seed, 0x706f6f6c))
			rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
			pool = pool[:limit]
			slices.SortFunc(pool, func(a, b data.Record) int { return cmpStr(a.DocID, b.DocID) })
		}
		if err := data.WriteFile(filepath.Join(dir, "pretrain.parquet"), pool); err != nil {
			return err
		}
	}
	info := SplitInfo{Users: map[string]UserInfo{}, Canaries: canaries, TrainDocs: len(s.Train), ValidationDocs: len(s.Validation), MinAttackerSamples: 1 << 30}
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
		u := info.Users[r.UserID]
		u.TrainDocs++
		info.Users[r.UserID] = u
	}
	slices.SortFunc(attacker, func(a, b data.Record) int {
		if a.UserID != b.UserID {
			return cmpStr(a.UserID, b.UserID)
		}
		return cmpStr(a.DocID, b.DocID)
	})
	for name, recs := range map[string][]data.Record{"train.parquet": s.Train, "validation.parquet": s.Validation, "attacker.parquet": attacker} {
		if err := data.WriteFile(filepath.Join(dir, name), recs); err != nil {
			return err
		}
	}
	return data.WriteJSON(filepath.Join(dir, "users.json"), info)
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func runMitigation(ctx context.Context, p *plan, spec PluginSpec, trainPath, dir string) (plugin.MitigationResponse, error) {
	c, err := plugin.Open(p.plugins[spec.Name], plugin.Options{Log: p.log, Read: []string{trainPath}, Write: []string{dir}})
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
		Read: read, Write: []string{dir}, Devices: devices})
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

// attackRequest groups the attacker's documents by user; with samples > 0,
// each user keeps that many, drawn from the seed.
func attackRequest(path string, samples int, seed uint64) (plugin.AttackRequest, error) {
	recs, err := data.ReadFile(path)
	if err != nil {
		return plugin.AttackRequest{}, err
	}
	var req plugin.AttackRequest
	for i := 0; i < len(recs); {
		j := i
		var texts []string
		for j < len(recs) && recs[j].UserID == recs[i].UserID {
			texts = append(texts, recs[j].Text)
			j++
		}
		if samples > 0 && len(texts) > samples {
			r := rand.New(rand.NewPCG(seed, userSeed(recs[i].UserID)))
			r.Shuffle(len(texts), func(a, b int) { texts[a], texts[b] = texts[b], texts[a] })
			texts = texts[:samples]
		}
		req.Users = append(req.Users, plugin.UserSamples{UserID: recs[i].UserID, Texts: texts})
		i = j
	}
	return req, nil
}

func userSeed(u string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(u); i++ {
		h = (h ^ uint64(u[i])) * 1099511628211
	}
	return h
}

// newOracle loads the target and the reference behind a caching oracle.
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
	o, err := oracle.New(tm, rm, p.tok, 16)
	if err != nil {
		return nil, err
	}
	o.SetMaxTokens(p.cfg.Attack.MaxTokens)
	return o, nil
}

func runAttack(ctx context.Context, p *plan, spec PluginSpec, o *oracle.LM, req plugin.AttackRequest) (plugin.AttackResponse, error) {
	c, err := plugin.Open(p.plugins[spec.Name], plugin.Options{Log: p.log})
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

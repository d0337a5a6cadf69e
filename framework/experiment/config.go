package experiment

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/privlm/privlm/framework/config"
	"github.com/privlm/privlm/framework/train"
)

// Config is a user inference experiment. Every field is settable with
// key=value (see Set); Validate checks it before any work starts.
type Config struct {
	Name    string `json:"name"`
	Seed    uint64 `json:"seed"`
	Backend string `json:"backend"`

	Dataset DatasetConfig `json:"dataset"`
	Split   SplitConfig   `json:"split"`
	Model   ModelConfig   `json:"model"`
	// Canaries: users with a shared substring of canary.tokens tokens in all documents.
	Canary CanaryConfig `json:"canary"`
	// Mitigations are data/settings plugins applied in order, as
	// "name" or "name?key=value&key=value" (e.g. "cap?max_docs=5,dedup").
	Mitigations []string `json:"mitigations"`
	// FineTuner is the fine-tuner plugin and Train its configuration.
	FineTuner string       `json:"finetuner"`
	Train     train.Config `json:"train"`
	// Attacks are attack plugins, as mitigations.
	Attacks []string     `json:"attacks"`
	Attack  AttackConfig `json:"attack"`
	// Bootstrap resamples for the AUROC interval.
	Bootstrap int `json:"bootstrap"`
	// Repeats, when > 1, runs the split, fine-tuning and attacks under
	// seeds seed, seed+1, ..., seed+repeats-1 and pools them (see Run).
	Repeats int `json:"repeats"`
}

// DatasetConfig selects and trims the data.
type DatasetConfig struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	// MaxChars truncates every document (0: no limit), for quick runs.
	MaxChars int `json:"max_chars"`
	// KeepQuotes keeps quoted replies and forwarded mails in mail datasets
	// (enron, email), which by default are stripped at preparation.
	KeepQuotes bool `json:"keep_quotes"`
}

// SplitConfig is the user-level split.
type SplitConfig struct {
	MinDocs            int     `json:"min_docs"`
	MaxDocs            int     `json:"max_docs"`
	MaxUsers           int     `json:"max_users"`
	HeldInFraction     float64 `json:"held_in_fraction"`
	AttackerFraction   float64 `json:"attacker_fraction"`
	ValidationFraction float64 `json:"validation_fraction"`
	// AttackerOverlap is what becomes of an attacker sample with an exact
	// (normalised) or near copy in the training data: "drop" (default) or
	// "keep" (counted only). See data.CheckAttackerOverlap.
	AttackerOverlap string `json:"attacker_overlap"`
}

// ModelConfig names the base model and how the reference is made.
type ModelConfig struct {
	// Reference is a checkpoint lm.Open reads: the base model.
	Reference string `json:"reference"`
	Tokenizer string `json:"tokenizer"`
	// Pretrain "pool" first adapts the base model to the dataset's domain on a
	// disjoint pool (the users with fewer than split.min_docs documents, who
	// are never attack users); the adapted model is the reference and the
	// fine-tuning starts from it. "none" uses the base model as reference.
	Pretrain      string `json:"pretrain"`
	PretrainSteps int    `json:"pretrain_steps"`
	// ReferenceSeed, when non-zero, makes the pool-adapted reference one
	// model shared by every seed and sweep point, as in the paper (one
	// pre-trained reference for every fine-tuning): its pool is drawn and
	// its adaptation run with this seed, and its checkpoint is chosen on a
	// held-back tenth of the pool instead of the split's validation users,
	// so nothing of it depends on the split. 0 (the default) adapts a
	// reference per run seed. Needs model.pretrain = pool.
	ReferenceSeed uint64 `json:"reference_seed,omitempty"`
	// PretrainLearningRate, when non-zero, is the learning rate of the
	// reference's pool adaptation; 0 (the default) uses train.learning_rate.
	// Set it to sweep train.learning_rate (a DP recipe's, say) over one
	// shared reference: otherwise each learning rate adapts its own.
	PretrainLearningRate float64 `json:"pretrain_learning_rate,omitempty"`
}

// CanaryConfig makes canary users.
type CanaryConfig struct {
	Users  int `json:"users"`
	Tokens int `json:"tokens"`
}

// AttackConfig is the attacker's knowledge.
type AttackConfig struct {
	// Samples is m, the attacker's samples per user (0: all held back).
	Samples int `json:"samples"`
	// MinSamples, when above Samples, attacks only the users with at least
	// that many attacker samples (after the overlap drop), so that a sweep
	// over attack.samples up to MinSamples attacks the same users at every
	// m (0: every user with at least Samples).
	MinSamples int `json:"min_samples"`
	// MaxTokens, when > 0, cuts each attacker sample to its first MaxTokens
	// tokens before any attack sees it (the manifest counts what it cut).
	// 0, the default, scores every sample whole over the fine-tuning's
	// train.seq_len windows, as training saw it.
	MaxTokens int `json:"max_tokens"`
	// Checkpoints is "best" (attack the checkpoint with the lowest
	// validation loss, as the paper) or "all" (also attack every checkpoint
	// kept by train.checkpoint_every, into dynamics.parquet).
	Checkpoints string `json:"checkpoints"`
}

// Default is the paper's setup with privlm's quick defaults.
func Default() Config {
	t := train.DefaultConfig()
	t.Epochs, t.SeqLen, t.BatchSize, t.EvalEvery, t.LearningRate = 3, 64, 16, 25, 2e-3
	return Config{
		Name: "experiment", Seed: 1,
		Dataset:   DatasetConfig{Name: "email"},
		Split:     SplitConfig{MinDocs: 5, HeldInFraction: 0.5, AttackerFraction: 0.1, ValidationFraction: 0.05, AttackerOverlap: "drop"},
		Model:     ModelConfig{Reference: "models/stories260K.bin", Tokenizer: "models/tok512.bin", Pretrain: "none", PretrainSteps: 150},
		FineTuner: "finetune", Train: t,
		Attacks:   []string{"user-inference", "loss", "zlib", "min-k"},
		Attack:    AttackConfig{Checkpoints: "best"},
		Bootstrap: 1000,
	}
}

// Set applies one key=value.
func (c *Config) Set(key, value string) error { return config.Set(c, key, value) }

// Keys lists the settable keys.
func Keys() []string {
	var c Config
	return config.Keys(&c)
}

// Load reads a config file over the defaults: JSON, or key = value lines
// (# comments).
func Load(path string) (Config, error) {
	return LoadOver(Default(), path)
}

// LoadOver reads a config file over c (a preset, say).
func LoadOver(c Config, path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("experiment: %w", err)
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("experiment: %s: %w", path, err)
		}
		return c, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return c, fmt.Errorf("experiment: %s line %d: %q is not key = value", path, line, l)
		}
		if err := c.Set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return c, fmt.Errorf("experiment: %s line %d: %w", path, line, err)
		}
	}
	return c, nil
}

// PluginSpec is a plugin name with its configuration.
type PluginSpec struct {
	Name   string
	Config map[string]any
}

// ParseSpec reads "name" or "name?key=value&key=value".
func ParseSpec(s string) (PluginSpec, error) {
	name, query, _ := strings.Cut(s, "?")
	if strings.TrimSpace(name) == "" {
		return PluginSpec{}, fmt.Errorf("empty plugin name in %q", s)
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return PluginSpec{}, fmt.Errorf("plugin spec %q: %w", s, err)
	}
	spec := PluginSpec{Name: strings.TrimSpace(name), Config: map[string]any{}}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec.Config[k] = vals.Get(k)
	}
	return spec, nil
}

package lm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
)

// ModelFile is the file in a checkpoint directory that holds the model config.
const ModelFile = "privlm_model.json"

type modelFile struct {
	Format int    `json:"privlm_checkpoint_format"`
	Config Config `json:"config"`
	// Tokenizer is where the model's tokenizer came from, when known.
	Tokenizer string `json:"tokenizer,omitempty"`
}

// SaveCheckpoint writes the model (weights and any optimizer state in its
// context) as a GoMLX checkpoint directory plus privlm_model.json. The
// directory is written under a temporary name and renamed into place, so dir
// is either the old checkpoint or the complete new one.
func (m *Model) SaveCheckpoint(dir, tokenizerPath string) error {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	defer os.RemoveAll(tmp)
	h, err := checkpoints.Build(m.Ctx).Dir(tmp).Keep(1).Done()
	if err != nil {
		return fmt.Errorf("lm: checkpoint %s: %w", dir, err)
	}
	if err := h.Save(); err != nil {
		return fmt.Errorf("lm: checkpoint %s: %w", dir, err)
	}
	meta, _ := json.MarshalIndent(modelFile{Format: 1, Config: m.Config, Tokenizer: tokenizerPath}, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, ModelFile), append(meta, '\n'), 0o644); err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("lm: replacing checkpoint %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return fmt.Errorf("lm: %w", err)
	}
	if old != "" {
		_ = os.RemoveAll(old)
	}
	return nil
}

// IsCheckpointDir reports whether dir holds a privlm checkpoint.
func IsCheckpointDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ModelFile))
	return err == nil
}

// LoadCheckpoint reads a directory written by SaveCheckpoint, optimizer state
// included. It also returns the tokenizer path recorded at save time.
func LoadCheckpoint(dir string, backend backends.Backend) (*Model, string, error) {
	data, err := os.ReadFile(filepath.Join(dir, ModelFile))
	if err != nil {
		return nil, "", fmt.Errorf("lm: %s is not a privlm checkpoint: %w", dir, err)
	}
	var mf modelFile
	if err := json.Unmarshal(data, &mf); err != nil {
		return nil, "", fmt.Errorf("lm: %s: %w", filepath.Join(dir, ModelFile), err)
	}
	if mf.Format != 1 {
		return nil, "", fmt.Errorf("lm: %s: checkpoint format %d, this privlm reads format 1", dir, mf.Format)
	}
	// Create the weights first (so they are trainable), then let the checkpoint
	// overwrite them and add the optimizer state.
	zero := Weights{}
	for name, s := range mf.Config.WeightShapes() {
		zero[name] = &Tensor{Shape: s, Data: make([]float32, s.size())}
	}
	m, err := FromWeights(mf.Config, zero, backend)
	if err != nil {
		return nil, "", fmt.Errorf("lm: %s: %w", dir, err)
	}
	if _, err := checkpoints.Build(m.Ctx).Dir(dir).Immediate().Done(); err != nil {
		return nil, "", fmt.Errorf("lm: loading checkpoint %s: %w", dir, err)
	}
	isWeight := map[string]bool{}
	for _, v := range m.vars {
		isWeight[v.ParameterName()] = true
	}
	for v := range m.Ctx.IterVariables() {
		if !isWeight[v.ParameterName()] {
			v.SetTrainable(false) // optimizer state, step counters
		}
	}
	// The loaded values must have the config's shapes.
	w, err := m.Weights()
	if err != nil {
		return nil, "", err
	}
	if err := mf.Config.CheckWeights(w); err != nil {
		return nil, "", fmt.Errorf("lm: checkpoint %s: %w", dir, err)
	}
	return m, mf.Tokenizer, nil
}

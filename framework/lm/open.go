package lm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
)

// Open loads a model, picking the format from the path:
//
//	directory with privlm_model.json   a privlm (GoMLX) checkpoint
//	directory with config.json         a Hugging Face model (safetensors)
//	*.safetensors                      a Hugging Face model file (config.json beside it)
//	*.bin                              a llama2.c checkpoint
//
// It returns the tokenizer path recorded in a privlm checkpoint, if any.
func Open(path string, backend backends.Backend) (*Model, string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("lm: %w", err)
	}
	var cfg Config
	var w Weights
	switch {
	case info.IsDir() && IsCheckpointDir(path):
		return LoadCheckpoint(path, backend)
	case info.IsDir():
		if _, err := os.Stat(filepath.Join(path, "config.json")); err != nil {
			return nil, "", fmt.Errorf("lm: directory %s has neither %s (privlm checkpoint) nor config.json (Hugging Face model)", path, ModelFile)
		}
		cfg, w, err = LoadHF(path)
	case strings.HasSuffix(path, ".safetensors"):
		cfg, w, err = LoadHF(path)
	case strings.HasSuffix(path, ".bin"):
		cfg, w, err = ReadLlama2C(path)
	default:
		return nil, "", fmt.Errorf("lm: %s: unknown model format (want a privlm checkpoint directory, a Hugging Face directory or .safetensors file, or a llama2.c .bin)", path)
	}
	if err != nil {
		return nil, "", err
	}
	m, err := FromWeights(cfg, w, backend)
	return m, "", err
}

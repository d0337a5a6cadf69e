package lm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Description is what a model file or directory holds, read from its
// config alone (no weights are loaded, except for llama2.c files).
type Description struct {
	Path string `json:"path"`
	// Format: "huggingface", "privlm checkpoint" or "llama2.c".
	Format string `json:"format"`
	// Files are the weight files (HF: the safetensors shards).
	Files  []string `json:"files,omitempty"`
	Config Config   `json:"config"`
	// Params counts every parameter once (a tied output is not counted twice).
	Params int `json:"params"`
}

// Describe reads the config of the model at path (the forms Open takes).
func Describe(path string) (Description, error) {
	d := Description{Path: path}
	info, err := os.Stat(path)
	if err != nil {
		return d, fmt.Errorf("lm: %w", err)
	}
	switch {
	case info.IsDir() && IsCheckpointDir(path):
		data, err := os.ReadFile(filepath.Join(path, ModelFile))
		if err != nil {
			return d, fmt.Errorf("lm: %w", err)
		}
		var mf modelFile
		if err := json.Unmarshal(data, &mf); err != nil {
			return d, fmt.Errorf("lm: %s: %w", filepath.Join(path, ModelFile), err)
		}
		d.Format, d.Config = "privlm checkpoint", mf.Config
	case info.IsDir() || strings.HasSuffix(path, ".safetensors"):
		dir := path
		if !info.IsDir() {
			dir = filepath.Dir(path)
		}
		cfg, err := readHFConfig(dir)
		if err != nil {
			return d, err
		}
		d.Format, d.Config = "huggingface", cfg
		index, err := readShardIndex(dir)
		switch {
		case err != nil:
			return d, err
		case !info.IsDir():
			d.Files = []string{filepath.Base(path)}
		case index != nil:
			for _, f := range index.files(dir) {
				d.Files = append(d.Files, filepath.Base(f))
			}
		default:
			files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
			for _, f := range files {
				d.Files = append(d.Files, filepath.Base(f))
			}
		}
		if len(d.Files) == 0 {
			return d, fmt.Errorf("lm: HF model %s has no .safetensors file", dir)
		}
	case strings.HasSuffix(path, ".bin"):
		cfg, _, err := ReadLlama2C(path)
		if err != nil {
			return d, err
		}
		d.Format, d.Config, d.Files = "llama2.c", cfg, []string{filepath.Base(path)}
	default:
		return d, fmt.Errorf("lm: %s: unknown model format (want a privlm checkpoint directory, a Hugging Face directory or .safetensors file, or a llama2.c .bin)", path)
	}
	d.Params = d.Config.NumParams()
	return d, nil
}

// readHFConfig parses dir/config.json.
func readHFConfig(dir string) (Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("lm: HF model %s: %w", dir, err)
	}
	var hc hfConfig
	if err := json.Unmarshal(data, &hc); err != nil {
		return Config{}, fmt.Errorf("lm: %s: %w", path, err)
	}
	cfg, err := hc.toConfig()
	if err != nil {
		return Config{}, fmt.Errorf("lm: %s: %w", path, err)
	}
	return cfg, nil
}

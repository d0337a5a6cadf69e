package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tokenizer turns text into token ids and back.
type Tokenizer interface {
	// Encode returns the token ids of text, without BOS or EOS.
	Encode(text string) []int
	// Decode returns the text of ids; BOS, EOS and other control ids are skipped.
	Decode(ids []int) string
	// BOS is the id that starts a sequence.
	BOS() int
	// EOS is the id that ends a sequence.
	EOS() int
	// VocabSize is the number of ids.
	VocabSize() int
	// Name says which tokenizer this is, e.g. "llama2c:tok512.bin".
	Name() string
}

// Load opens a tokenizer, picking the format by name or file:
//
//	"gpt2", "r50k_base"  the built-in GPT-2 BPE vocabulary
//	*.model              a SentencePiece model
//	*.bin                a llama2.c tokenizer file
//
// A directory is searched for tokenizer.model, then tokenizer.bin.
func Load(path string) (Tokenizer, error) {
	switch strings.ToLower(path) {
	case "gpt2", "r50k_base":
		return GPT2()
	case "":
		return nil, fmt.Errorf("tokenizer: no tokenizer given (want a .model or .bin file, or \"gpt2\")")
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if info.IsDir() {
		for _, name := range []string{"tokenizer.model", "tokenizer.bin"} {
			if _, err := os.Stat(filepath.Join(path, name)); err == nil {
				return Load(filepath.Join(path, name))
			}
		}
		return nil, fmt.Errorf("tokenizer: directory %s has neither tokenizer.model nor tokenizer.bin", path)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".model":
		return LoadSentencePiece(path)
	case ".bin":
		return LoadLlama2C(path)
	}
	return nil, fmt.Errorf("tokenizer: %s: unknown tokenizer format (want a SentencePiece .model, a llama2.c .bin, or \"gpt2\")", path)
}

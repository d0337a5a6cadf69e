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
//	tokenizer.json       a Hugging Face byte-level BPE (GPT-NeoX, GPT-2, ...)
//	vocab.json           GPT-2 style vocab.json + merges.txt
//
// A directory is searched for tokenizer.model, tokenizer.json, vocab.json
// (with merges.txt) and tokenizer.bin, in that order.
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
		if file, ok := FindInDir(path); ok {
			return Load(file)
		}
		return nil, fmt.Errorf("tokenizer: directory %s has no tokenizer.model, tokenizer.json, vocab.json or tokenizer.bin", path)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".model":
		return LoadSentencePiece(path)
	case ".bin":
		return LoadLlama2C(path)
	case ".json":
		return LoadHF(path)
	}
	return nil, fmt.Errorf("tokenizer: %s: unknown tokenizer format (want a SentencePiece .model, a llama2.c .bin, a Hugging Face tokenizer.json or vocab.json, or \"gpt2\")", path)
}

// tokenizerFiles are the files Load looks for in a directory, in order.
var tokenizerFiles = []string{"tokenizer.model", "tokenizer.json", "vocab.json", "tokenizer.bin"}

// FindInDir returns the tokenizer file Load would use in dir (a model
// snapshot directory, say), if it has one.
func FindInDir(dir string) (string, bool) {
	for _, name := range tokenizerFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name), true
		}
	}
	return "", false
}

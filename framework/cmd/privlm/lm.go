package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/progress"
	"github.com/privlm/privlm/framework/tokenizer"
)

func init() {
	register("lm", "language-model tools: score", subcommands("lm", map[string]func([]string, *env) error{
		"score": runLMScore,
	}))
}

func runLMScore(args []string, e *env) error {
	fs := newFlags("lm score", "lm score --checkpoint PATH [--tokenizer PATH] [--json] < texts", e.stderr)
	checkpoint := fs.String("checkpoint", "", "model: privlm checkpoint dir, Hugging Face dir/.safetensors, or llama2.c .bin")
	tokPath := fs.String("tokenizer", "", "tokenizer: .bin (llama2.c), .model (SentencePiece), tokenizer.json or vocab.json (Hugging Face byte-level BPE) or gpt2; default: the one recorded in the checkpoint, else the one in the model's directory")
	asJSON := fs.Bool("json", false, `print one JSON object per line: {"text", "ids", "loglik"}`)
	perToken := fs.Bool("per-token", false, "with --json, also print token_logprobs")
	batch := fs.Int("batch", lm.DefaultScoreBatch, "texts scored per graph execution")
	backendSpec := fs.String("backend", "", "GoMLX backend (default: $PRIVLM_BACKEND, $GOMLX_BACKEND, or "+backend.DefaultSpec+")")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *checkpoint == "" {
		return fmt.Errorf("--checkpoint is required")
	}
	be, err := backend.New(*backendSpec)
	if err != nil {
		return err
	}
	model, recorded, err := lm.Open(*checkpoint, be)
	if err != nil {
		return err
	}
	if *tokPath == "" {
		*tokPath = recorded
	}
	if *tokPath == "" { // a model snapshot directory with its tokenizer
		dir := *checkpoint
		if info, err := os.Stat(dir); err == nil && !info.IsDir() {
			dir = filepath.Dir(dir)
		}
		if file, ok := tokenizer.FindInDir(dir); ok {
			*tokPath = file
		}
	}
	if *tokPath == "" {
		return fmt.Errorf("--tokenizer is required (the checkpoint records none and its directory has no tokenizer file)")
	}
	tok, err := tokenizer.Load(*tokPath)
	if err != nil {
		return err
	}
	if tok.VocabSize() > model.Config.VocabSize {
		return fmt.Errorf("tokenizer %s has %d ids but the model only %d", tok.Name(), tok.VocabSize(), model.Config.VocabSize)
	}
	texts, err := readLines(e.stdin)
	if err != nil {
		return fmt.Errorf("reading texts from stdin: %w", err)
	}
	scorer, err := model.NewScorer(*batch)
	if err != nil {
		return err
	}
	if isTerminal(e.stderr) || len(texts) >= 1000 {
		bar := progress.New(e.stderr, "lm score", "texts", len(texts))
		scorer.SetProgress(func(done, _ int) { bar.Set(done, "") })
	}
	scored, err := scorer.ScoreTexts(tok, texts)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, s := range scored {
		if !*asJSON {
			fmt.Fprintf(w, "%.6f\t%d\t%s\n", s.LogLik, len(s.TokenLogProbs), s.Text)
			continue
		}
		if !*perToken {
			s.TokenLogProbs = nil
		}
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return nil
}

// readLines reads texts one per line (a trailing \r is dropped).
func readLines(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var out []string
	for line := 1; sc.Scan(); line++ {
		if !utf8.Valid(sc.Bytes()) {
			return nil, fmt.Errorf("line %d: invalid UTF-8 (it would be scored as U+FFFD)", line)
		}
		out = append(out, strings.TrimSuffix(sc.Text(), "\r"))
	}
	return out, sc.Err()
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/tokenizer"
)

func init() {
	register("models", "models: describe (family, parameters, context, vocabulary, tokenizer of a model path)", subcommands("models", map[string]func([]string, *env) error{
		"describe": runModelsDescribe,
	}))
}

// modelDescription is what models describe prints.
type modelDescription struct {
	lm.Description
	// Tokenizer is the tokenizer file found beside the model ("" if none).
	Tokenizer      string `json:"tokenizer"`
	TokenizerName  string `json:"tokenizer_name,omitempty"`
	TokenizerVocab int    `json:"tokenizer_vocab,omitempty"`
	BOS            *int   `json:"bos,omitempty"`
	EOS            *int   `json:"eos,omitempty"`
	TokenizerError string `json:"tokenizer_error,omitempty"`
}

func runModelsDescribe(args []string, e *env) error {
	fs := newFlags("models describe", "models describe [--json] PATH...", e.stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per model")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("models describe needs a model path (a Hugging Face snapshot directory, a privlm checkpoint or a llama2.c .bin)")
	}
	for _, path := range fs.Args() {
		d, err := lm.Describe(path)
		if err != nil {
			return err
		}
		md := modelDescription{Description: d}
		dir := path
		if info, err := os.Stat(path); err == nil && !info.IsDir() {
			dir = filepath.Dir(path)
		}
		if file, ok := tokenizer.FindInDir(dir); ok {
			md.Tokenizer = file
			if tok, err := tokenizer.Load(file); err != nil {
				md.TokenizerError = err.Error()
			} else {
				bos, eos := tok.BOS(), tok.EOS()
				md.TokenizerName, md.TokenizerVocab, md.BOS, md.EOS = tok.Name(), tok.VocabSize(), &bos, &eos
			}
		}
		if *asJSON {
			b, _ := json.Marshal(md)
			fmt.Fprintln(e.stdout, string(b))
			continue
		}
		c := d.Config
		w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "path\t%s\n", d.Path)
		fmt.Fprintf(w, "format\t%s (%s)\n", d.Format, strings.Join(d.Files, ", "))
		fmt.Fprintf(w, "family\t%s\n", c.Arch)
		fmt.Fprintf(w, "parameters\t%d (%.1fM)\n", d.Params, float64(d.Params)/1e6)
		fmt.Fprintf(w, "context\t%d tokens\n", c.MaxSeqLen)
		fmt.Fprintf(w, "vocabulary\t%d\n", c.VocabSize)
		fmt.Fprintf(w, "shape\t%d layers, dim %d, %d heads (%d kv), mlp %d\n", c.Layers, c.Dim, c.Heads, c.KVHeads, c.HiddenDim)
		if c.AttentionTypes != "" {
			fmt.Fprintf(w, "attention\t%s (window %d)\n", c.AttentionTypes, c.WindowSize)
		}
		if c.RotaryDim > 0 {
			fmt.Fprintf(w, "rotary\t%d of %d dims per head, base %g, parallel residual %v\n", c.RotaryDim, c.HeadDim(), c.RopeTheta, c.ParallelResidual)
		}
		fmt.Fprintf(w, "tied output\t%v\n", c.TiedEmbeddings)
		switch {
		case md.Tokenizer == "":
			fmt.Fprintf(w, "tokenizer\tnone found (pass --tokenizer)\n")
		case md.TokenizerError != "":
			fmt.Fprintf(w, "tokenizer\t%s: cannot load: %s\n", md.Tokenizer, md.TokenizerError)
		default:
			fmt.Fprintf(w, "tokenizer\t%s (%s, %d ids, BOS %d, EOS %d)\n", md.Tokenizer, md.TokenizerName, md.TokenizerVocab, *md.BOS, *md.EOS)
			if md.TokenizerVocab > c.VocabSize {
				fmt.Fprintf(w, "warning\tthe tokenizer has %d ids but the model only %d: lm score refuses this pair\n", md.TokenizerVocab, c.VocabSize)
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

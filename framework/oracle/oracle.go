// Package oracle is the host side of the attack threat model: it answers
// log-likelihoods of texts under the target and reference models and
// nothing else, and is what attack plugins reach through the plugin broker.
package oracle

import (
	"context"
	"fmt"

	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/tokenizer"
)

// LM answers with privlm language models. It caches per-token scores, so
// several attacks over the same samples score each text once per model.
type LM struct {
	tok                  tokenizer.Tokenizer
	target, reference    *lm.Scorer
	maxTokens            int
	cache                map[plugin.Model]map[string][]float64
	Calls, TextsAnswered int
}

// New returns an oracle over a target and a reference model that share a
// tokenizer. Texts longer than the models' context are truncated to it.
func New(target, reference *lm.Model, tok tokenizer.Tokenizer, batch int) (*LM, error) {
	ts, err := target.NewScorer(batch)
	if err != nil {
		return nil, err
	}
	rs, err := reference.NewScorer(batch)
	if err != nil {
		return nil, err
	}
	return &LM{tok: tok, target: ts, reference: rs, maxTokens: min(target.Config.MaxSeqLen, reference.Config.MaxSeqLen),
		cache: map[plugin.Model]map[string][]float64{}}, nil
}

// SetMaxTokens truncates scored texts to n tokens after BOS (n <= 0 or above
// the models' context: the context).
func (o *LM) SetMaxTokens(n int) {
	if n > 0 && n < o.maxTokens {
		o.maxTokens = n
		o.cache = map[plugin.Model]map[string][]float64{}
	}
}

// Encode is the encoding the oracle scores: BOS, then at most the context's tokens.
func (o *LM) Encode(text string) []int {
	ids := append([]int{o.tok.BOS()}, o.tok.Encode(text)...)
	return ids[:min(len(ids), o.maxTokens+1)]
}

// LogLikelihood implements plugin.Oracle.
func (o *LM) LogLikelihood(ctx context.Context, model plugin.Model, texts []string, perToken bool) ([]plugin.SequenceScore, error) {
	var s *lm.Scorer
	switch model {
	case plugin.Target:
		s = o.target
	case plugin.Reference:
		s = o.reference
	default:
		return nil, fmt.Errorf("oracle: unknown model %q (want target or reference)", model)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cache := o.cache[model]
	if cache == nil {
		cache = map[string][]float64{}
		o.cache[model] = cache
	}
	var missing []string
	var seqs [][]int
	seen := map[string]bool{}
	for _, t := range texts {
		if _, ok := cache[t]; !ok && !seen[t] {
			seen[t] = true
			missing = append(missing, t)
			seqs = append(seqs, o.Encode(t))
		}
	}
	if len(seqs) > 0 {
		got, err := s.TokenLogProbs(seqs)
		if err != nil {
			return nil, err
		}
		for i, t := range missing {
			cache[t] = got[i]
		}
	}
	lps := make([][]float64, len(texts))
	for i, t := range texts {
		lps[i] = cache[t]
	}
	o.Calls++
	o.TextsAnswered += len(texts)
	out := make([]plugin.SequenceScore, len(texts))
	for i, lp := range lps {
		sum := 0.0
		for _, v := range lp {
			sum += v
		}
		out[i] = plugin.SequenceScore{LogLik: sum, NumTokens: len(lp)}
		if perToken {
			out[i].TokenLogProbs = lp
		}
	}
	return out, nil
}

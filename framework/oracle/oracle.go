// Package oracle is the host side of the attack threat model: it answers
// log-likelihoods of texts under the target and reference models and
// nothing else, and is what attack plugins reach through the plugin broker.
//
// A text is scored the way fine-tuning saw it: cut into the same token
// windows as training (data.Chunk: BOS, then at most window tokens), every
// token scored exactly once, the log-likelihood summed over the windows.
// The oracle never truncates a text; cutting samples short is the caller's
// explicit choice (experiment's attack.max_tokens).
package oracle

import (
	"context"
	"fmt"
	"sync"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/tokenizer"
)

// LM answers with privlm language models. It caches per-token scores, so
// several attacks over the same samples score each text once per model.
// It is safe for concurrent use (the plugin broker's gRPC server hands it
// a plugin's concurrent requests): one call at a time reads and fills the
// cache and counts (scoring is serialised in lm.Scorer anyway).
type LM struct {
	tok               tokenizer.Tokenizer
	target, reference *lm.Scorer
	window            int
	mu                sync.Mutex // guards cache, Calls, TextsAnswered
	cache             map[plugin.Model]map[string][]float64
	// Calls and TextsAnswered count the answered calls and texts; read them
	// only when no call is in flight.
	Calls, TextsAnswered int
}

// New returns an oracle over a target and a reference model that share a
// tokenizer. window is the fine-tuning's window (train.seq_len): texts are
// scored over windows of that many tokens, as training cut them; window <= 0
// or above the models' context means the context (as training caps it).
func New(target, reference *lm.Model, tok tokenizer.Tokenizer, window, batch int) (*LM, error) {
	ts, err := target.NewScorer(batch)
	if err != nil {
		return nil, err
	}
	rs, err := reference.NewScorer(batch)
	if err != nil {
		return nil, err
	}
	context := min(target.Config.MaxSeqLen, reference.Config.MaxSeqLen)
	if window <= 0 || window > context {
		window = context
	}
	return &LM{tok: tok, target: ts, reference: rs, window: window,
		cache: map[plugin.Model]map[string][]float64{}}, nil
}

// Window is the number of tokens per scored window (after BOS).
func (o *LM) Window() int { return o.window }

// Windows is what the oracle scores for a text: the windows fine-tuning
// trains on (data.Chunk), each BOS then at most Window() tokens. A text
// that encodes to nothing has no window and scores 0 over 0 tokens.
func (o *LM) Windows(text string) [][]int {
	return data.Chunk(o.tok, text, o.window)
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
	o.mu.Lock()
	defer o.mu.Unlock()
	cache := o.cache[model]
	if cache == nil {
		cache = map[string][]float64{}
		o.cache[model] = cache
	}
	// Every window of every text not yet scored, in one batch; owner[k] is
	// the text of window k (windows of a text stay in order).
	var missing []string
	var seqs [][]int
	var owner []int
	seen := map[string]bool{}
	for _, t := range texts {
		if _, ok := cache[t]; !ok && !seen[t] {
			seen[t] = true
			for _, w := range o.Windows(t) {
				seqs = append(seqs, w)
				owner = append(owner, len(missing))
			}
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		got, err := s.TokenLogProbs(seqs)
		if err != nil {
			return nil, err
		}
		joined := make([][]float64, len(missing))
		for k, lp := range got {
			joined[owner[k]] = append(joined[owner[k]], lp...)
		}
		for i, t := range missing {
			cache[t] = joined[i]
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

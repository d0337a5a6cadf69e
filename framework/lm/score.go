package lm

import (
	"fmt"
	"slices"
	"sync"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/privlm/privlm/framework/tokenizer"
)

// DefaultScoreBatch is the number of sequences scored per graph execution.
const DefaultScoreBatch = 16

// Scorer computes log-likelihoods with a model. It is safe for concurrent use
// (calls are serialised).
//
// A call's sequences are sorted by length and scored in chunks of at most
// batchSize rows. Each chunk is padded to a bucketed shape: its row count to
// RowBucket (powers of two up to batchSize) and its length to SeqBucket
// (powers of two up to the model's context), so a call with 2 short texts
// runs a 2-row graph instead of a full batch. Each shape compiles once and is
// cached by the exec (at most len(row buckets) x len(length buckets) graphs).
// Rows never interact in the forward pass, so a sequence's log-probabilities
// do not depend on the bucket it was scored in (TestScorerRowBucketsMatchFullBatch).
type Scorer struct {
	m         *Model
	batchSize int
	mu        sync.Mutex
	exec      *context.Exec
	// ranShape, when set (by tests), is told the rows x length of each
	// graph execution.
	ranShape func(rows, length int)
	// padRowsToBatch, when set (by benchmarks), pads every chunk to
	// batchSize rows as the scorer did before row buckets.
	padRowsToBatch bool
	progress       func(done, total int)
}

// SetProgress makes each TokenLogProbs call report the number of its
// sequences scored so far (after every graph execution) of its total; nil
// turns reporting off.
func (s *Scorer) SetProgress(f func(done, total int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.progress = f
}

// NewScorer returns a scorer running batchSize sequences at a time
// (DefaultScoreBatch if <= 0).
func (m *Model) NewScorer(batchSize int) (*Scorer, error) {
	if batchSize <= 0 {
		batchSize = DefaultScoreBatch
	}
	exec, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, inputs, valid, targets, weights *Node) *Node {
		return Mul(m.TokenLogProbs(inputs, valid, targets), weights)
	})
	if err != nil {
		return nil, fmt.Errorf("lm: building scorer: %w", err)
	}
	exec.SetMaxCache(len(bucketSizes(batchSize, 1)) * len(bucketSizes(m.Config.MaxSeqLen, 16)))
	return &Scorer{m: m, batchSize: batchSize, exec: exec}, nil
}

// TokenLogProbs returns, for each sequence (BOS included), the natural-log
// probabilities log p(seq[t] | seq[<t]) for t >= 1: len(seq)-1 values.
func (s *Scorer) TokenLogProbs(seqs [][]int) ([][]float64, error) {
	maxLen := s.m.Config.MaxSeqLen
	for i, seq := range seqs {
		if len(seq) < 1 {
			return nil, fmt.Errorf("lm: sequence %d is empty (it needs at least BOS)", i)
		}
		if len(seq)-1 > maxLen {
			return nil, fmt.Errorf("lm: sequence %d has %d tokens, more than the model's context of %d (+1 for BOS)", i, len(seq), maxLen)
		}
		for t, id := range seq {
			if id < 0 || id >= s.m.Config.VocabSize {
				return nil, fmt.Errorf("lm: sequence %d token %d is id %d, outside the vocabulary [0,%d)", i, t, id, s.m.Config.VocabSize)
			}
		}
	}
	// Score in order of length so that each batch pads little.
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(seqs[a]) - len(seqs[b]) })
	out := make([][]float64, len(seqs))
	s.mu.Lock()
	defer s.mu.Unlock()
	for start := 0; start < len(order); start += s.batchSize {
		idx := order[start:min(start+s.batchSize, len(order))]
		chunk := make([][]int, len(idx))
		longest := 1
		for j, i := range idx {
			chunk[j] = seqs[i]
			longest = max(longest, len(seqs[i])-1)
		}
		rows := RowBucket(len(chunk), s.batchSize)
		if s.padRowsToBatch {
			rows = s.batchSize
		}
		batch, err := MakeBatch(chunk, rows, SeqBucket(longest, maxLen))
		if err != nil {
			return nil, err
		}
		if s.ranShape != nil {
			s.ranShape(batch.B, batch.T)
		}
		res, err := s.exec.Exec(anySlice(batch.Tensors())...)
		if err != nil {
			return nil, fmt.Errorf("lm: scoring: %w", err)
		}
		flat, err := tensors.CopyFlatData[float32](res[0])
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			n := len(seqs[i]) - 1
			lp := make([]float64, n)
			for t := range n {
				lp[t] = float64(flat[j*batch.T+t])
			}
			out[i] = lp
		}
		if s.progress != nil {
			s.progress(start+len(idx), len(seqs))
		}
	}
	return out, nil
}

// Scored is the log-likelihood of one text.
type Scored struct {
	Text string `json:"text"`
	// IDs is the encoding with BOS prepended.
	IDs []int `json:"ids"`
	// TokenLogProbs[t] is log p(IDs[t+1] | IDs[<=t]).
	TokenLogProbs []float64 `json:"token_logprobs,omitempty"`
	// LogLik is the sum of TokenLogProbs (natural log).
	LogLik float64 `json:"loglik"`
}

// ScoreTexts encodes each text with BOS prepended and scores it.
func (s *Scorer) ScoreTexts(tok tokenizer.Tokenizer, texts []string) ([]Scored, error) {
	seqs := make([][]int, len(texts))
	for i, text := range texts {
		seqs[i] = append([]int{tok.BOS()}, tok.Encode(text)...)
	}
	lps, err := s.TokenLogProbs(seqs)
	if err != nil {
		return nil, err
	}
	out := make([]Scored, len(texts))
	for i := range texts {
		sum := 0.0
		for _, lp := range lps[i] {
			sum += lp
		}
		out[i] = Scored{Text: texts[i], IDs: seqs[i], TokenLogProbs: lps[i], LogLik: sum}
	}
	return out, nil
}

func anySlice[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// RowBucket returns the number of rows a chunk of n sequences is padded to:
// the next power of two, capped at max (the scorer's batch size).
func RowBucket(n, max int) int {
	b := 1
	for b < n {
		b *= 2
	}
	return min(b, max)
}

// bucketSizes lists the distinct powers of two from first up to max, plus max
// itself: the shapes RowBucket (first 1) or SeqBucket (first 16) can return.
func bucketSizes(max, first int) []int {
	var out []int
	for b := first; b < max; b *= 2 {
		out = append(out, b)
	}
	return append(out, max)
}

package lm

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Batch is a right-padded batch of next-token prediction problems: row b
// predicts Targets[b,t] from Inputs[b,<=t]. Shapes are fixed (B rows of T
// positions) so that one compiled graph serves many batches; unused rows and
// positions have Valid false and Weights 0.
type Batch struct {
	B, T    int
	Inputs  []int32   // [B*T]
	Targets []int32   // [B*T]
	Valid   []bool    // [B*T]: input position holds a real token
	Weights []float32 // [B*T]: 1 where the target counts in the loss
}

// MakeBatch packs token sequences (BOS included) into a Batch: a sequence of
// n tokens gives n-1 predictions, so n-1 must be at most T. Rows past
// len(seqs) are padding.
func MakeBatch(seqs [][]int, B, T int) (Batch, error) {
	if len(seqs) > B {
		return Batch{}, fmt.Errorf("lm: %d sequences do not fit a batch of %d rows", len(seqs), B)
	}
	b := Batch{B: B, T: T, Inputs: make([]int32, B*T), Targets: make([]int32, B*T),
		Valid: make([]bool, B*T), Weights: make([]float32, B*T)}
	for i, seq := range seqs {
		if len(seq)-1 > T {
			return Batch{}, fmt.Errorf("lm: sequence %d has %d tokens, more than %d+1", i, len(seq), T)
		}
		for t := 0; t+1 < len(seq); t++ {
			b.Inputs[i*T+t] = int32(seq[t])
			b.Targets[i*T+t] = int32(seq[t+1])
			b.Valid[i*T+t] = true
			b.Weights[i*T+t] = 1
		}
	}
	return b, nil
}

// Tensors returns the batch as graph inputs: inputs, valid, targets, weights.
func (b Batch) Tensors() []*tensors.Tensor {
	return []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(b.Inputs, b.B, b.T),
		tensors.FromFlatDataAndDimensions(b.Valid, b.B, b.T),
		tensors.FromFlatDataAndDimensions(b.Targets, b.B, b.T),
		tensors.FromFlatDataAndDimensions(b.Weights, b.B, b.T),
	}
}

// NumTargets is the number of weighted prediction positions.
func (b Batch) NumTargets() int {
	n := 0
	for _, w := range b.Weights {
		if w > 0 {
			n++
		}
	}
	return n
}

// SeqBucket returns the padded length used for sequences needing n
// positions: the next power of two (at least 16), capped at max. Few buckets
// mean few graph compilations.
func SeqBucket(n, max int) int {
	b := 16
	for b < n {
		b *= 2
	}
	if b > max {
		b = max
	}
	return b
}

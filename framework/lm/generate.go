package lm

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Greedy decodes greedily (argmax) from prompt (BOS included), appending at
// most maxNew tokens and stopping early at stop tokens (typically BOS and
// EOS). It returns the new tokens. Each step reruns the whole window on a
// fixed-size graph: simple and exact, meant for short checks, not serving.
func (m *Model) Greedy(prompt []int, maxNew int, stop ...int) ([]int, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("lm: greedy decoding needs a prompt (at least BOS)")
	}
	T := SeqBucket(len(prompt)+maxNew, m.Config.MaxSeqLen)
	exec, err := context.NewExec(m.Backend, m.Ctx, func(_ *context.Context, tokens, valid, pos *Node) *Node {
		logits := m.Logits(tokens, valid) // [1,T,V]
		return ArgMax(Gather(Reshape(logits, T, m.Config.VocabSize), Reshape(pos, 1, 1)), -1, dtypes.Int32)
	})
	if err != nil {
		return nil, err
	}
	seq := append([]int(nil), prompt...)
	var out []int
	for range maxNew {
		if len(seq) > T {
			break
		}
		ids := make([]int32, T)
		valid := make([]bool, T)
		for i, id := range seq {
			ids[i], valid[i] = int32(id), true
		}
		res, err := exec.Exec(tensors.FromFlatDataAndDimensions(ids, 1, T),
			tensors.FromFlatDataAndDimensions(valid, 1, T), tensors.FromValue(int32(len(seq)-1)))
		if err != nil {
			return nil, fmt.Errorf("lm: greedy step: %w", err)
		}
		next := int(tensors.MustCopyFlatData[int32](res[0])[0])
		for _, s := range stop {
			if next == s {
				return out, nil
			}
		}
		out = append(out, next)
		seq = append(seq, next)
	}
	return out, nil
}

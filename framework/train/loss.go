package train

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// PerExampleLoss is each row's mean negative log-likelihood over its weighted
// positions ([B,T] log-probs and weights give [B]); rows without targets give 0.
func PerExampleLoss(logProbs, weights *Node) *Node {
	total := ReduceSum(Mul(Neg(logProbs), weights), -1)
	count := Max(ReduceSum(weights, -1), OnesLike(total))
	return Div(total, count)
}

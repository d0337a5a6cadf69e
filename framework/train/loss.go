package train

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// PerExampleLoss is each row's mean negative log-likelihood over its weighted
// positions ([B,T] log-probs and weights give [B]); rows without targets give 0.
func PerExampleLoss(logProbs, weights *Node) *Node {
	total := ReduceSum(Mul(Neg(logProbs), weights), -1)
	count := Max(ReduceSum(weights, -1), OnesLike(total))
	return Div(total, count)
}

// ClassLoss is each row's cross-entropy of class logits [B,C] against the
// label in targets[:,0]; rows without a marked position (weights all 0) give 0.
func ClassLoss(logits, targets, weights *Node) *Node {
	C := logits.Shape().Dimensions[1]
	B := logits.Shape().Dimensions[0]
	T := targets.Shape().Dimensions[1]
	// labels = targets[b, 0] (integers carry no gradient, so Gather is safe here)
	first := Reshape(Gather(Reshape(targets, -1), Reshape(MulScalar(Iota(logits.Graph(), shapes.Make(dtypes.Int32, B), 0), T), B, 1)), B)
	shifted := Sub(logits, StopGradient(ReduceAndKeep(logits, ReduceMax, -1)))
	lse := Log(ReduceSum(Exp(shifted), -1))
	target := ReduceSum(Mul(shifted, OneHot(first, C, dtypes.Float32)), -1)
	has := ConvertDType(GreaterThan(ReduceSum(weights, -1), ScalarZero(logits.Graph(), dtypes.Float32)), dtypes.Float32)
	return Mul(Sub(lse, target), has)
}

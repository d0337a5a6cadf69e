package graphx

import (
	"fmt"
	"reflect"
	"slices"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// SlowDotGeneralVJP is GoMLX's own DotGeneral gradient, kept for tests and
// benchmarks that compare against it.
var SlowDotGeneralVJP = VJPRegistration[NodeTypeDotGeneral]

func init() {
	VJPRegistration[NodeTypeDotGeneral] = dotGeneralVJP
}

// dotGeneralAxes are the axes a DotGeneral node was built with.
type dotGeneralAxes struct {
	lhsContracting, lhsBatch, rhsContracting, rhsBatch []int
}

// readDotGeneralAxes reads the axes of a DotGeneral node. GoMLX v0.26.0 keeps
// them in unexported fields; reflect can read (not write) those. A change of
// that layout in a later GoMLX makes this panic with a clear message, and
// TestFastDotGeneralGradientMatchesGoMLX fails.
func readDotGeneralAxes(node *Node) dotGeneralAxes {
	inputs := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !inputs.IsValid() || inputs.IsNil() {
		panic(fmt.Sprintf("graphx: cannot read the inputs of DotGeneral node %s: GoMLX internals changed", node))
	}
	params := inputs.Elem()
	if params.Kind() == reflect.Pointer {
		params = params.Elem()
	}
	read := func(field string) []int {
		f := params.FieldByName(field)
		if !f.IsValid() || f.Kind() != reflect.Slice {
			panic(fmt.Sprintf("graphx: DotGeneral node has no %s field: GoMLX internals changed", field))
		}
		axes := make([]int, f.Len())
		for i := range axes {
			axes[i] = int(f.Index(i).Int())
		}
		return axes
	}
	return dotGeneralAxes{
		lhsContracting: read("lhsContractingAxes"),
		lhsBatch:       read("lhsBatchAxes"),
		rhsContracting: read("rhsContractingAxes"),
		rhsBatch:       read("rhsBatchAxes"),
	}
}

// crossAxes are the axes of an operand that are neither batch nor contracted,
// in increasing order: the order DotGeneral puts them in its output.
func crossAxes(rank int, contracting, batch []int) []int {
	var cross []int
	for a := range rank {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			cross = append(cross, a)
		}
	}
	return cross
}

// dotGeneralVJP: the output of DotGeneral is laid out [batch, lhsCross, rhsCross].
//
//	dL/dlhs = DotGeneral(v, rhs) contracting v's rhsCross axes with rhs's cross axes,
//	          giving [batch, lhsCross, rhsContracting (in rhs axis order)], then transposed.
//	dL/drhs = DotGeneral(v, lhs) contracting v's lhsCross axes with lhs's cross axes,
//	          giving [batch, rhsCross, lhsContracting (in lhs axis order)], then transposed.
func dotGeneralVJP(node *Node, vjps []*Node, _ shapes.Shape) []*Node {
	v := vjps[0]
	ax := readDotGeneralAxes(node)
	lhs, rhs := node.Inputs()[0], node.Inputs()[1]
	nBatch := len(ax.lhsBatch)
	lhsCross := crossAxes(lhs.Rank(), ax.lhsContracting, ax.lhsBatch)
	rhsCross := crossAxes(rhs.Rank(), ax.rhsContracting, ax.rhsBatch)
	vBatch := iota(0, nBatch)
	vLhsCross := iota(nBatch, len(lhsCross))
	vRhsCross := iota(nBatch+len(lhsCross), len(rhsCross))

	grad := func(other *Node, otherContracting, otherBatch, otherCross []int, vOtherCross []int,
		this *Node, thisContracting, thisBatch, thisCross []int) *Node {
		// Contract v's "other cross" axes with other's cross axes.
		g := DotGeneral(v, vOtherCross, vBatch, other, otherCross, otherBatch)
		// g is [batch, thisCross, otherContracting in increasing order of other's axes].
		// Map each of those to the matching contracting axis of this operand.
		sortedOtherContracting := slices.Clone(otherContracting)
		slices.Sort(sortedOtherContracting)
		perm := make([]int, this.Rank()) // perm[thisAxis] = axis of g
		for i, a := range thisBatch {
			perm[a] = i
		}
		for i, a := range thisCross {
			perm[a] = nBatch + i
		}
		for i, oa := range sortedOtherContracting {
			k := slices.Index(otherContracting, oa)
			perm[thisContracting[k]] = nBatch + len(thisCross) + i
		}
		if !isIdentity(perm) {
			g = TransposeAllAxes(g, perm...)
		}
		if g.DType() != this.DType() {
			g = ConvertDType(g, this.DType())
		}
		return g
	}
	var lhsGrad, rhsGrad *Node
	lhsGrad = grad(rhs, ax.rhsContracting, ax.rhsBatch, rhsCross, vRhsCross, lhs, ax.lhsContracting, ax.lhsBatch, lhsCross)
	rhsGrad = grad(lhs, ax.lhsContracting, ax.lhsBatch, lhsCross, vLhsCross, rhs, ax.rhsContracting, ax.rhsBatch, rhsCross)
	return []*Node{lhsGrad, rhsGrad}
}

func iota(start, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = start + i
	}
	return s
}

func isIdentity(perm []int) bool {
	for i, p := range perm {
		if i != p {
			return false
		}
	}
	return true
}

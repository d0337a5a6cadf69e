package graphx

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/privlm/privlm/framework/backend"
)

func randTensor(r *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// TestFastDotGeneralGradientMatchesGoMLX compares the replacement gradient with
// GoMLX's own on DotGenerals of every layout privlm uses (plain matmul, weights
// stored [out,in], batched attention, several batch and contracting axes).
func TestFastDotGeneralGradientMatchesGoMLX(t *testing.T) {
	be := backend.MustNew("")
	tests := []struct {
		name     string
		lhsDims  []int
		rhsDims  []int
		equation string
	}{
		{"matmul", []int{3, 4}, []int{4, 5}, "ij,jk->ik"},
		{"linear out-in", []int{2, 3, 4}, []int{5, 4}, "bti,oi->bto"},
		{"attention scores", []int{2, 3, 2, 4}, []int{2, 5, 2, 4}, "bthd,bshd->bhts"},
		{"attention values", []int{2, 2, 3, 5}, []int{2, 5, 2, 4}, "bhts,bshd->bthd"},
		{"two contracted, permuted", []int{3, 2, 4}, []int{4, 5, 3}, "ajb,bka->jk"},
		{"batch not leading", []int{4, 2, 3}, []int{3, 2, 5}, "ibj,jbk->bik"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			lhs, rhs := randTensor(r, tc.lhsDims...), randTensor(r, tc.rhsDims...)
			gradients := func(lhs, rhs *Node) []*Node {
				out := Einsum(tc.equation, lhs, rhs)
				// A non-uniform upstream gradient: sum of out * (fixed weights).
				w := IotaFull(out.Graph(), out.Shape())
				loss := ReduceAllSum(Mul(out, Sin(w)))
				return Gradient(loss, lhs, rhs)
			}
			fast := MustExecOnceN(be, gradients, lhs, rhs)
			VJPRegistration[NodeTypeDotGeneral] = SlowDotGeneralVJP
			slow := MustExecOnceN(be, gradients, lhs, rhs)
			VJPRegistration[NodeTypeDotGeneral] = dotGeneralVJP
			for i := range fast {
				f := tensors.MustCopyFlatData[float32](fast[i])
				s := tensors.MustCopyFlatData[float32](slow[i])
				if !fast[i].Shape().Equal(slow[i].Shape()) {
					t.Fatalf("gradient %d: shape %s, want %s", i, fast[i].Shape(), slow[i].Shape())
				}
				for j := range f {
					if math.Abs(float64(f[j]-s[j])) > 1e-4*(1+math.Abs(float64(s[j]))) {
						t.Fatalf("gradient %d[%d] = %g, GoMLX's own gives %g", i, j, f[j], s[j])
					}
				}
			}
		})
	}
}

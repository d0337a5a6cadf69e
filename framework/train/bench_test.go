package train

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
)

// BenchmarkStep compares a non-private AdamW step with a DP step (ghost
// clipping + noise) on the default small model, T = 64 tokens.
func BenchmarkStep(b *testing.B) {
	const T = 64
	for _, B := range []int{16, 64} {
		for _, mode := range []struct{ name, clip, dp string }{{"plain", "none", "none"}, {"dp", "per-example", "example"}} {
			b.Run(fmt.Sprintf("B%d/%s", B, mode.name), func(b *testing.B) {
				m, err := lm.New(lm.Small, backend.MustNew(""), 1)
				if err != nil {
					b.Fatal(err)
				}
				step, err := NewStep(m, optimizers.Adam().Done(), mode.clip, mode.dp, 1, 1, 1)
				if err != nil {
					b.Fatal(err)
				}
				r := rand.New(rand.NewPCG(1, 1))
				seqs := make([][]int, B)
				for i := range seqs {
					seqs[i] = make([]int, T+1)
					for j := range seqs[i] {
						seqs[i][j] = r.IntN(lm.Small.VocabSize)
					}
				}
				batch, _ := lm.MakeBatch(seqs, B, T)
				in := StepInputs{Batch: batch, LR: 1e-3, Denominator: float64(B), Sigma: 1}
				if _, err := step.Run(in); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := step.Run(in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(B*T)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.Sys)/(1<<20), "MB-sys")
			})
		}
	}
}

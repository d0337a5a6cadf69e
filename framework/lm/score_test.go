package lm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/privlm/privlm/framework/backend"
)

func TestRowBucket(t *testing.T) {
	for _, tc := range []struct{ n, max, want int }{
		{1, 16, 1}, {2, 16, 2}, {3, 16, 4}, {5, 16, 8}, {9, 16, 16}, {16, 16, 16},
		{17, 24, 24}, {9, 12, 12}, {1, 1, 1},
	} {
		if got := RowBucket(tc.n, tc.max); got != tc.want {
			t.Errorf("RowBucket(%d, %d) = %d, want %d", tc.n, tc.max, got, tc.want)
		}
	}
	if got, want := bucketSizes(16, 1), []int{1, 2, 4, 8, 16}; !slices.Equal(got, want) {
		t.Errorf("bucketSizes(16, 1) = %v, want %v", got, want)
	}
	if got, want := bucketSizes(24, 16), []int{16, 24}; !slices.Equal(got, want) {
		t.Errorf("bucketSizes(24, 16) = %v, want %v", got, want)
	}
}

func randomSeqs(r *rand.Rand, n, maxLen, vocab int) [][]int {
	seqs := make([][]int, n)
	for i := range seqs {
		seqs[i] = make([]int, 2+r.IntN(maxLen-1))
		seqs[i][0] = 1
		for j := 1; j < len(seqs[i]); j++ {
			seqs[i][j] = r.IntN(vocab)
		}
	}
	return seqs
}

// fullBatchLogProbs scores one sequence the way the scorer did before row
// bucketing: padded to all batchSize rows.
func fullBatchLogProbs(t *testing.T, s *Scorer, seq []int) []float64 {
	t.Helper()
	batch, err := MakeBatch([][]int{seq}, s.batchSize, SeqBucket(len(seq)-1, s.m.Config.MaxSeqLen))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.exec.Exec(anySlice(batch.Tensors())...)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := tensors.CopyFlatData[float32](res[0])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(seq)-1)
	for i := range out {
		out[i] = float64(flat[i])
	}
	return out
}

// TestScorerRowBucketsMatchFullBatch: small calls run small graphs (the
// cost follows the work), and give the same log-probabilities, bit for bit,
// as the same sequences padded to the full batch.
func TestScorerRowBucketsMatchFullBatch(t *testing.T) {
	for _, cfg := range []struct {
		name string
		cfg  Config
	}{{"tiny", Tiny}, {"small", Small}} {
		t.Run(cfg.name, func(t *testing.T) {
			m, err := New(cfg.cfg, backend.MustNew(""), 3)
			if err != nil {
				t.Fatal(err)
			}
			const batchSize = 8
			s, err := m.NewScorer(batchSize)
			if err != nil {
				t.Fatal(err)
			}
			var rows []int
			s.ranShape = func(b, _ int) { rows = append(rows, b) }
			r := rand.New(rand.NewPCG(5, 6))
			seqs := randomSeqs(r, 11, min(cfg.cfg.MaxSeqLen, 60), cfg.cfg.VocabSize)
			for _, n := range []int{1, 2, 3, 5, 8, 11} {
				t.Run(fmt.Sprint(n, "seqs"), func(t *testing.T) {
					rows = nil
					got, err := s.TokenLogProbs(seqs[:n])
					if err != nil {
						t.Fatal(err)
					}
					wantRows := []int{RowBucket(n, batchSize)}
					if n > batchSize {
						wantRows = []int{batchSize, RowBucket(n-batchSize, batchSize)}
					}
					if !slices.Equal(rows, wantRows) {
						t.Errorf("%d sequences ran graphs of %v rows, want %v", n, rows, wantRows)
					}
					for i, seq := range seqs[:n] {
						want := fullBatchLogProbs(t, s, seq)
						for j := range want {
							if got[i][j] != want[j] {
								t.Fatalf("seq %d token %d: %v in a %d-row bucket, %v in the full batch", i, j, got[i][j], rows[0], want[j])
							}
						}
					}
				})
			}
		})
	}
}

func TestScorerProgress(t *testing.T) {
	m, err := New(Tiny, backend.MustNew(""), 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewScorer(4)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]int
	s.SetProgress(func(done, total int) { got = append(got, [2]int{done, total}) })
	if _, err := s.TokenLogProbs(randomSeqs(rand.New(rand.NewPCG(1, 1)), 10, 20, Tiny.VocabSize)); err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{4, 10}, {8, 10}, {10, 10}}; !slices.Equal(got, want) {
		t.Errorf("progress %v, want %v", got, want)
	}
}

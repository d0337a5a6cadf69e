package lm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/privlm/privlm/framework/backend"
)

// Benchmark shapes: the same batch and length are used by the PyTorch
// baseline in bench/pytorch_llama.py.
const benchB, benchT = 16, 128

var benchConfigs = []struct {
	name string
	cfg  Config
}{{"small", Small}, {"stories260k", Stories260K}}

func benchBatch(cfg Config) Batch {
	r := rand.New(rand.NewPCG(1, 1))
	seqs := make([][]int, benchB)
	for i := range seqs {
		seqs[i] = make([]int, benchT+1)
		for j := range seqs[i] {
			seqs[i][j] = r.IntN(cfg.VocabSize)
		}
	}
	b, err := MakeBatch(seqs, benchB, benchT)
	if err != nil {
		panic(err)
	}
	return b
}

func reportPeakMemory(b *testing.B) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "MB-sys")
}

// BenchmarkTrainStep: one AdamW step on B x T tokens.
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range benchConfigs {
		b.Run(fmt.Sprintf("%s/B%d_T%d", bc.name, benchB, benchT), func(b *testing.B) {
			m, err := New(bc.cfg, backend.MustNew(""), 1)
			if err != nil {
				b.Fatal(err)
			}
			tr, err := m.NewTrainer(DefaultTrainConfig(1 << 20))
			if err != nil {
				b.Fatal(err)
			}
			batch := benchBatch(bc.cfg)
			if _, err := tr.Step(batch); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := tr.Step(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchB*benchT)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			reportPeakMemory(b)
		})
	}
}

// BenchmarkScore: per-token log-likelihoods of B x T tokens.
func BenchmarkScore(b *testing.B) {
	for _, bc := range benchConfigs {
		b.Run(fmt.Sprintf("%s/B%d_T%d", bc.name, benchB, benchT), func(b *testing.B) {
			m, err := New(bc.cfg, backend.MustNew(""), 1)
			if err != nil {
				b.Fatal(err)
			}
			s, err := m.NewScorer(benchB)
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(2, 2))
			seqs := make([][]int, benchB)
			for i := range seqs {
				seqs[i] = make([]int, benchT+1)
				for j := range seqs[i] {
					seqs[i][j] = r.IntN(bc.cfg.VocabSize)
				}
			}
			if _, err := s.TokenLogProbs(seqs); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.TokenLogProbs(seqs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchB*benchT)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			reportPeakMemory(b)
		})
	}
}

// BenchmarkScorePerUserCalls: 32 users with 2 texts of 40 tokens each,
// scored once per user (as a per-user attack calls the oracle) or in one
// call, with row buckets or with every call padded to the full batch of 16
// rows (the scorer before row buckets).
func BenchmarkScorePerUserCalls(b *testing.B) {
	const users, perUser, textLen = 32, 2, 40
	m, err := New(Small, backend.MustNew(""), 1)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 3))
	seqs := make([][]int, users*perUser)
	for i := range seqs {
		seqs[i] = make([]int, textLen+1)
		for j := range seqs[i] {
			seqs[i][j] = r.IntN(Small.VocabSize)
		}
	}
	for _, pad := range []bool{false, true} {
		rows := "bucketed"
		if pad {
			rows = "full"
		}
		for _, perUserCalls := range []bool{true, false} {
			calls := "one_call"
			if perUserCalls {
				calls = "per_user"
			}
			b.Run(fmt.Sprintf("rows=%s/%s", rows, calls), func(b *testing.B) {
				s, err := m.NewScorer(benchB)
				if err != nil {
					b.Fatal(err)
				}
				s.padRowsToBatch = pad
				score := func() {
					if !perUserCalls {
						if _, err := s.TokenLogProbs(seqs); err != nil {
							b.Fatal(err)
						}
						return
					}
					for u := range users {
						if _, err := s.TokenLogProbs(seqs[u*perUser : (u+1)*perUser]); err != nil {
							b.Fatal(err)
						}
					}
				}
				score() // compile
				b.ResetTimer()
				for b.Loop() {
					score()
				}
				b.ReportMetric(float64(users*perUser*textLen)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

package lm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privlm/privlm/framework/backend"
)

var scoreTexts = []string{
	"Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
	"Lily and Tom went to the store. They bought a cake.",
	"park. the in Lily. named outside play to loved She girl little a was there time, a upon Once",
	"The end.",
}

// TestStoriesMatchReference scores stories260K against the float64 oracle.
func TestStoriesMatchReference(t *testing.T) {
	m, tok := loadStories(t)
	w, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewScorer(4)
	if err != nil {
		t.Fatal(err)
	}
	scored, err := s.ScoreTexts(tok, scoreTexts)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scored {
		ref := refLogProbs(m.Config, w, sc.IDs)
		refSum := 0.0
		for i, lp := range ref {
			refSum += lp
			if d := math.Abs(lp - sc.TokenLogProbs[i]); d > 1e-4*math.Max(1, math.Abs(lp)) {
				t.Errorf("%q token %d: logprob %.7f, reference %.7f", sc.Text, i, sc.TokenLogProbs[i], lp)
			}
		}
		if d := math.Abs(refSum - sc.LogLik); d > 1e-4*math.Abs(refSum) {
			t.Errorf("%q: loglik %.6f, reference %.6f", sc.Text, sc.LogLik, refSum)
		}
	}
	// The model knows its training distribution: the golden story is likely,
	// the same words shuffled are not (NOTES: about -0.18 vs -5.8 nats/token).
	perToken := func(sc Scored) float64 { return sc.LogLik / float64(len(sc.TokenLogProbs)) }
	if got := perToken(scored[0]); math.Abs(got-(-0.18)) > 0.01 {
		t.Errorf("golden story: %.3f nats/token, want about -0.18", got)
	}
	if got := perToken(scored[2]); got > -3 {
		t.Errorf("shuffled words: %.3f nats/token, want far below the story", got)
	}
}

// TestEncodeMatchesGreedyIDs: the ids the model produced greedily are the ids
// BPE gives for their decoded text, an independent check of the merges.
func TestEncodeMatchesGreedyIDs(t *testing.T) {
	m, tok := loadStories(t)
	out, err := m.Greedy([]int{tok.BOS()}, 40, tok.BOS(), tok.EOS())
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode(tok.Decode(out)); !slices.Equal(got, out) {
		t.Errorf("Encode(Decode(greedy ids)) =\n%v\nwant the greedy ids\n%v", got, out)
	}
}

// TestRandomModelsMatchReference covers both families, GQA, untied outputs
// and padding: every row of a padded batch equals the oracle.
func TestRandomModelsMatchReference(t *testing.T) {
	untied := Tiny
	untied.TiedEmbeddings = false
	untied.KVHeads = 1
	tests := []struct {
		name string
		cfg  Config
	}{{"llama tiny GQA", Tiny}, {"llama untied MQA", untied}, {"gpt2 tiny", GPT2Tiny}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.cfg, backend.MustNew(""), 7)
			if err != nil {
				t.Fatal(err)
			}
			// Larger weights than the init so that errors show.
			w, _ := m.Weights()
			r := rand.New(rand.NewPCG(3, 4))
			for _, name := range w.Names() {
				for i := range w[name].Data {
					w[name].Data[i] += float32(r.NormFloat64() * 0.2)
				}
			}
			m, err = FromWeights(tc.cfg, w, m.Backend)
			if err != nil {
				t.Fatal(err)
			}
			seqs := [][]int{{1, 5, 9, 200, 3}, {1, 44}, {1, 7, 7, 7, 7, 7, 7, 7, 300, 301, 12, 13}}
			s, err := m.NewScorer(4)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.TokenLogProbs(seqs)
			if err != nil {
				t.Fatal(err)
			}
			for i, seq := range seqs {
				ref := refLogProbs(tc.cfg, w, seq)
				for j := range ref {
					if math.Abs(ref[j]-got[i][j]) > 1e-4*math.Max(1, math.Abs(ref[j])) {
						t.Errorf("seq %d token %d: %.6f, reference %.6f", i, j, got[i][j], ref[j])
					}
				}
			}
		})
	}
}

func TestScoreErrors(t *testing.T) {
	m, err := New(Tiny, backend.MustNew(""), 1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewScorer(2)
	long := make([]int, Tiny.MaxSeqLen+2)
	for _, seqs := range [][][]int{{{}}, {long}, {{1, 9999}}, {{1, -1}}} {
		if _, err := s.TokenLogProbs(seqs); err == nil {
			t.Errorf("TokenLogProbs(%v...) gave no error", seqs[0][:min(3, len(seqs[0]))])
		}
	}
}

package lm

import (
	"testing"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
)

const goldenStory = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball."

func loadStories(t testing.TB) (*Model, tokenizer.Tokenizer) {
	t.Helper()
	cfg, w, err := ReadLlama2C(shareddata.Path(t, "models/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := FromWeights(cfg, w, backend.MustNew(""))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

func TestGreedyGoldenStory(t *testing.T) {
	m, tok := loadStories(t)
	want := tok.Encode(goldenStory)
	out, err := m.Greedy([]int{tok.BOS()}, len(want), tok.BOS(), tok.EOS())
	if err != nil {
		t.Fatal(err)
	}
	got := tok.Decode(out)
	if got != goldenStory {
		t.Fatalf("greedy decoding from BOS gave\n%q\nwant llama2.c's golden\n%q", got, goldenStory)
	}
}

package tokenizer

import (
	"fmt"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

// GPT2EndOfText is GPT-2's <|endoftext|> id, used as both BOS and EOS.
const GPT2EndOfText = 50256

// GPT2BPE is GPT-2's byte-level BPE (tiktoken's r50k_base).
type GPT2BPE struct{ enc *tiktoken.Tiktoken }

var loadGPT2 = sync.OnceValues(func() (*GPT2BPE, error) {
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
	enc, err := tiktoken.GetEncoding("r50k_base")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: GPT-2 BPE: %w", err)
	}
	return &GPT2BPE{enc: enc}, nil
})

// GPT2 returns the GPT-2 tokenizer; its vocabulary is compiled into the
// binary, so it needs no file and no network.
func GPT2() (*GPT2BPE, error) { return loadGPT2() }

func (g *GPT2BPE) Name() string   { return "gpt2" }
func (g *GPT2BPE) BOS() int       { return GPT2EndOfText }
func (g *GPT2BPE) EOS() int       { return GPT2EndOfText }
func (g *GPT2BPE) VocabSize() int { return GPT2EndOfText + 1 }

// Encode treats special-token text such as "<|endoftext|>" as plain text:
// user data must never inject control tokens.
func (g *GPT2BPE) Encode(text string) []int { return g.enc.EncodeOrdinary(text) }

func (g *GPT2BPE) Decode(ids []int) string {
	keep := make([]int, 0, len(ids))
	for _, id := range ids {
		if id >= 0 && id < GPT2EndOfText {
			keep = append(keep, id)
		}
	}
	return g.enc.Decode(keep)
}

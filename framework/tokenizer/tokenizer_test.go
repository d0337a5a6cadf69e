package tokenizer

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/shareddata"
)

var roundTripTexts = []string{
	"Once upon a time, there was a little girl named Lily.",
	" leading space and  double  spaces ",
	"Ünïcödé, 日本語 and emoji 🙂 fall back to bytes",
	"tabs\tand\nnewlines\n",
	"x",
}

func TestRoundTrip(t *testing.T) {
	paths := []string{
		shareddata.Path(t, "models/tok512.bin"),
		shareddata.Path(t, "models/llama2_tokenizer.model"),
		"gpt2",
	}
	for _, path := range paths {
		tok, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range roundTripTexts {
			t.Run(tok.Name()+"/"+text, func(t *testing.T) {
				ids := tok.Encode(text)
				for _, id := range ids {
					if id < 0 || id >= tok.VocabSize() {
						t.Fatalf("id %d out of range [0,%d)", id, tok.VocabSize())
					}
				}
				if got := tok.Decode(ids); got != text {
					t.Errorf("Decode(Encode(%q)) = %q (ids %v)", text, got, ids)
				}
				withSpecials := append(append([]int{tok.BOS()}, ids...), tok.EOS())
				if got := tok.Decode(withSpecials); got != text {
					t.Errorf("Decode(BOS+ids+EOS) = %q, want %q", got, text)
				}
			})
		}
	}
}

// TestGPT2KnownIDs checks GPT-2's published ids.
func TestGPT2KnownIDs(t *testing.T) {
	tok, err := Load("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want []int
	}{
		{"Hello world", []int{15496, 995}},
		{"<|endoftext|>", []int{27, 91, 437, 1659, 5239, 91, 29}}, // special text is plain text
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
	if tok.VocabSize() != 50257 || tok.BOS() != 50256 {
		t.Errorf("vocab %d bos %d, want 50257 and 50256", tok.VocabSize(), tok.BOS())
	}
}

// TestLlama2CMerges checks the merge procedure on a hand-made vocabulary where
// the result can be worked out by hand: scores decide the order of merges, and
// the leftmost pair wins ties.
func TestLlama2CMerges(t *testing.T) {
	pieces := []string{"<unk>", "<s>", "</s>"}
	for b := range 256 {
		pieces = append(pieces, string(rune(0))) // placeholder, replaced below
		pieces[len(pieces)-1] = byteName(byte(b))
	}
	extra := map[string]float32{" ": 0, "a": 0, "b": 0, "c": 0, "ab": -1, "bc": -2, " ab": -3, "abc": -10, " abc": -0.5}
	names := []string{" ", "a", "b", "c", "ab", "bc", " ab", "abc", " abc"}
	scores := make([]float32, len(pieces))
	for _, n := range names {
		pieces = append(pieces, n)
		scores = append(scores, extra[n])
	}
	tok, err := ReadLlama2C(bytes.NewReader(writeLlama2C(pieces, scores)))
	if err != nil {
		t.Fatal(err)
	}
	id := func(p string) int { return slices.Index(pieces, p) }
	tests := []struct {
		text string
		want []int
	}{
		// " " a b c: best pair is "ab" (-1), then " ab" (-3) beats "abc"(-10): " ab" c; " abc" exists: merged.
		{"abc", []int{id(" abc")}},
		// " " b c: "bc" (-2); " bc" is no piece.
		{"bc", []int{id(" "), id("bc")}},
		// unknown code point: bytes of "é" (0xC3 0xA9) + 3.
		{"é", []int{id(" "), 3 + 0xC3, 3 + 0xA9}},
		{"", nil},
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
		}
		if got := tok.Decode(tok.Encode(tc.text)); got != tc.text {
			t.Errorf("Decode(Encode(%q)) = %q", tc.text, got)
		}
	}
}

func byteName(b byte) string {
	const hex = "0123456789ABCDEF"
	return "<0x" + string(hex[b>>4]) + string(hex[b&15]) + ">"
}

func writeLlama2C(pieces []string, scores []float32) []byte {
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, int32(16))
	for i, p := range pieces {
		_ = binary.Write(&buf, binary.LittleEndian, scores[i])
		_ = binary.Write(&buf, binary.LittleEndian, int32(len(p)))
		buf.WriteString(p)
	}
	return buf.Bytes()
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, want string
	}{
		{"missing", dir + "/nope.bin", "no such file"},
		{"unknown extension", writeFile(t, dir, "x.txt", []byte("hi")), "unknown tokenizer format"},
		{"truncated llama2c", writeFile(t, dir, "t.bin", []byte{16, 0, 0, 0, 1, 2}), "piece 0"},
		{"bad header", writeFile(t, dir, "h.bin", []byte{0xff, 0xff, 0xff, 0xff}), "max_token_length"},
		{"garbage model", writeFile(t, dir, "g.model", []byte("not a protobuf at all \xff\xff")), "SentencePiece"},
		{"empty dir", dir, "no tokenizer.model, tokenizer.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load(%s) error = %v, want one containing %q", tc.path, err, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := dir + "/" + name
	if err := writeAll(p, data); err != nil {
		t.Fatal(err)
	}
	return p
}

func FuzzLlama2CRoundTrip(f *testing.F) {
	for _, s := range roundTripTexts {
		f.Add(s)
	}
	path := shareddata.Path(f, "models/tok512.bin")
	tok, err := LoadLlama2C(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8Valid(s) {
			return
		}
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	})
}

// TestLlama2KnownIDs checks ids published for the Llama 2 tokenizer.
func TestLlama2KnownIDs(t *testing.T) {
	tok, err := Load(shareddata.Path(t, "models/llama2_tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 32000 || tok.BOS() != 1 || tok.EOS() != 2 {
		t.Fatalf("vocab %d bos %d eos %d, want 32000, 1, 2", tok.VocabSize(), tok.BOS(), tok.EOS())
	}
	if got, want := tok.Encode("Hello world"), []int{15043, 3186}; !slices.Equal(got, want) {
		t.Errorf("Encode(Hello world) = %v, want %v", got, want)
	}
}

// TestFastMergeMatchesLlama2C: the heap-based merge gives exactly the ids of
// llama2.c's quadratic loop, on real text and on random byte soup.
func TestFastMergeMatchesLlama2C(t *testing.T) {
	for _, path := range []string{shareddata.Path(t, "models/tok512.bin"), shareddata.Path(t, "models/llama2_tokenizer.model")} {
		tok, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		bpe := tok.(*ScoredBPE)
		texts := append([]string{}, roundTripTexts...)
		texts = append(texts, strings.Repeat("aaaa bbbb abab ", 40), "the the the then there their", "    spaces    and\ttabs\n\n")
		r := rand.New(rand.NewPCG(1, 2))
		for range 200 {
			b := make([]byte, 1+r.IntN(80))
			for i := range b {
				b[i] = " etaoinshrdlu.,\n\u00e9"[r.IntN(16)]
			}
			texts = append(texts, string(b))
		}
		for _, text := range texts {
			initial := bpe.Encode(text) // fast
			// Rebuild the pre-merge sequence the same way and merge naively.
			naive := bpe.mergeNaive(bpe.initialIDs(text))
			if !slices.Equal(initial, naive) {
				t.Fatalf("%s: %q: fast %v, llama2.c %v", tok.Name(), text, initial, naive)
			}
		}
	}
}

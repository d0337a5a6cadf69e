package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

// gpt2Files rebuilds GPT-2's vocab.json and merges from tiktoken's r50k_base
// ranks (the vocabulary privlm compiles in): a token's merge is the pair
// that BPE over its bytes with the lower ranks only leaves.
var gpt2Files = sync.OnceValues(func() (map[string]int, [][2]string) {
	ranks, err := tiktokenloader.NewOfflineLoader().LoadTiktokenBpe("https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken")
	if err != nil {
		panic(err)
	}
	type tokRank struct {
		tok  string
		rank int
	}
	var order []tokRank
	vocab := map[string]int{}
	toAlphabet := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			b.WriteRune(byteToRune[s[i]])
		}
		return b.String()
	}
	for tok, r := range ranks {
		order = append(order, tokRank{tok, r})
		vocab[toAlphabet(tok)] = r
	}
	vocab["<|endoftext|>"] = GPT2EndOfText // as GPT-2's vocab.json has it
	sort.Slice(order, func(i, j int) bool { return order[i].rank < order[j].rank })
	var merges [][2]string
	for _, tr := range order {
		if len(tr.tok) < 2 {
			continue
		}
		parts := make([]string, len(tr.tok))
		for i := range parts {
			parts[i] = tr.tok[i : i+1]
		}
		for len(parts) > 2 {
			best, bestRank := -1, tr.rank
			for i := 0; i+1 < len(parts); i++ {
				if r, ok := ranks[parts[i]+parts[i+1]]; ok && r < bestRank {
					best, bestRank = i, r
				}
			}
			if best < 0 {
				break
			}
			parts = slices.Concat(parts[:best], []string{parts[best] + parts[best+1]}, parts[best+2:])
		}
		if len(parts) != 2 {
			panic("cannot rebuild the merge of " + tr.tok)
		}
		merges = append(merges, [2]string{toAlphabet(parts[0]), toAlphabet(parts[1])})
	}
	return vocab, merges
})

// writeGPT2TokenizerJSON writes a tokenizer.json as HF's GPT-2 one is laid
// out, with extra added tokens and normalizer.
func writeGPT2TokenizerJSON(t testing.TB, dir string, added []AddedToken, normalizer any) string {
	t.Helper()
	vocab, merges := gpt2Files()
	ms := make([]string, len(merges))
	for i, m := range merges {
		ms[i] = m[0] + " " + m[1]
	}
	added = append([]AddedToken{{ID: GPT2EndOfText, Content: "<|endoftext|>", Special: true}}, added...)
	doc := map[string]any{
		"version": "1.0", "added_tokens": added, "normalizer": normalizer,
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"post_processor": map[string]any{"type": "ByteLevel"}, "decoder": map[string]any{"type": "ByteLevel"},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "vocab": vocab, "merges": ms},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var gpt2AgreeTexts = []string{
	"Once upon a time, there was a little girl named Lily.",
	"Hello world! It's John's book; they're here, we've been, I'm sure, you'll see, he'd go.",
	"She SAID 'STOP' and 'Ll 's",
	"  leading spaces,   inner runs\t\ttabs\n\n\nnewlines  \n trailing   ",
	"numbers 12345 3.14159 1,000,000 and x2y3 ⅷ",
	"code: func main() { fmt.Println(\"hi\") } // done;;; ->>= ...",
	"Ünïcödé, 日本語, русский, العربية and emoji 🙂👍🏽 fall back to bytes",
	"Subject: RE: meeting @ 10am -- see <http://example.com/a_b?c=d&e=f>",
	"<|endoftext|> in user text stays text",
	"\u00a0non-breaking\u2003em space\u3000ideographic",
	"",
}

// TestHFTokenizerMatchesGPT2: a tokenizer.json (and a vocab.json +
// merges.txt) built from GPT-2's ranks gives tiktoken's ids, and decodes
// back to the text.
func TestHFTokenizerMatchesGPT2(t *testing.T) {
	gpt2, err := GPT2()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeGPT2TokenizerJSON(t, dir, nil, nil)
	fromJSON, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	vocab, merges := gpt2Files()
	vb, _ := json.Marshal(vocab)
	var mb strings.Builder
	mb.WriteString("#version: 0.2\n")
	for _, m := range merges {
		mb.WriteString(m[0] + " " + m[1] + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir2, "vocab.json"), vb, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir2, "merges.txt"), []byte(mb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	fromVocab, err := Load(dir2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []Tokenizer{fromJSON, fromVocab} {
		if tok.BOS() != GPT2EndOfText || tok.EOS() != GPT2EndOfText || tok.VocabSize() != GPT2EndOfText+1 {
			t.Fatalf("BOS %d EOS %d vocab %d, want GPT-2's", tok.BOS(), tok.EOS(), tok.VocabSize())
		}
		for _, text := range gpt2AgreeTexts {
			got, want := tok.Encode(text), gpt2.Encode(text)
			if !slices.Equal(got, want) {
				t.Errorf("%T Encode(%q) = %v, tiktoken %v", tok, text, got, want)
			}
			if back := tok.Decode(append(append([]int{tok.BOS()}, got...), tok.EOS())); back != text {
				t.Errorf("Decode(Encode(%q)) = %q", text, back)
			}
		}
	}
}

// TestHFTokenizerAddedTokensAndNFC: non-special added tokens (GPT-NeoX's
// space runs) are matched before BPE, longest first; special ones in the
// text stay plain text; the NFC normalizer composes; BOS/EOS come from
// tokenizer_config.json (string or object) or config.json ids.
func TestHFTokenizerAddedTokensAndNFC(t *testing.T) {
	dir := t.TempDir()
	writeGPT2TokenizerJSON(t, dir, []AddedToken{
		{ID: 50257, Content: "<|padding|>", Special: true},
		{ID: 50258, Content: "   "}, {ID: 50259, Content: "  "},
	}, map[string]any{"type": "NFC"})
	cfg := `{"bos_token": {"content": "<|padding|>", "lstrip": false}, "eos_token": "<|endoftext|>"}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.BOS() != 50257 || tok.EOS() != GPT2EndOfText || tok.VocabSize() != 50260 {
		t.Fatalf("BOS %d EOS %d vocab %d", tok.BOS(), tok.EOS(), tok.VocabSize())
	}
	gpt2, _ := GPT2()
	ids := tok.Encode("a     b<|padding|>")
	want := slices.Concat(gpt2.Encode("a"), []int{50258, 50259}, gpt2.Encode("b<|padding|>"))
	if !slices.Equal(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
	if got := tok.Decode(ids); got != "a     b<|padding|>" {
		t.Errorf("decoded %q", got)
	}
	if !slices.Equal(tok.Encode("cafe\u0301"), tok.Encode("caf\u00e9")) {
		t.Errorf("NFC: decomposed é encodes differently")
	}

	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"add_prefix_space": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "add_prefix_space") {
		t.Errorf("add_prefix_space true: err = %v", err)
	}
	os.Remove(filepath.Join(dir, "tokenizer_config.json"))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"bos_token_id": 50259, "eos_token_id": 50257}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.BOS() != 50259 || tok.EOS() != 50257 {
		t.Fatalf("from config.json: BOS %d EOS %d", tok.BOS(), tok.EOS())
	}
}

func TestHFTokenizerErrors(t *testing.T) {
	tests := []struct{ name, json, substr string }{
		{"wordpiece", `{"model": {"type": "WordPiece", "vocab": {}}}`, "WordPiece"},
		{"metaspace", `{"pre_tokenizer": {"type": "Metaspace"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}`, "Metaspace"},
		{"missing bytes", `{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}`, "byte 0x00"},
		{"bad merge", `{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {}, "merges": ["abc"]}}`, "merge 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			os.WriteFile(path, []byte(tc.json), 0o644)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tc.substr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want one naming %s and %q", err, path, tc.substr)
			}
		})
	}
}

var fuzzHF = sync.OnceValues(func() (*ByteLevelBPE, error) {
	vocab, merges := gpt2Files()
	return NewByteLevelBPE("gpt2-rebuilt", vocab, merges,
		[]AddedToken{{ID: GPT2EndOfText, Content: "<|endoftext|>", Special: true}}, "", "")
})

// invalidUTF8Texts are byte strings that are not valid UTF-8: a lone
// continuation byte, a truncated sequence, an overlong encoding, an encoded
// surrogate, Latin-1 bytes, and these mixed with contractions, spaces and
// digits.
var invalidUTF8Texts = []string{"\xff", "\x80", "caf\xe9 ok", "a\xc3", "\xc0\xaf", "\xed\xa0\x80x",
	"it'\xffs 12\xfe3  \xff\xfe end", "'\xe2\x82", " \xf0\x9f\x98 hi", "\xc3\xa9\xc3"}

// FuzzHFByteLevelBPE: for any valid UTF-8 text, the byte-level BPE rebuilt
// from GPT-2's files gives tiktoken's ids; for any bytes at all, valid
// UTF-8 or not, it decodes back to exactly the input.
func FuzzHFByteLevelBPE(f *testing.F) {
	for _, s := range gpt2AgreeTexts {
		f.Add(s)
	}
	for _, s := range invalidUTF8Texts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tok, err := fuzzHF()
		if err != nil {
			t.Fatal(err)
		}
		ids := tok.Encode(text)
		if back := tok.Decode(ids); back != text {
			t.Fatalf("Decode(Encode(%q)) = %q", text, back)
		}
		if !utf8.ValidString(text) {
			return // tiktoken (like HF, which takes str) sees U+FFFD instead
		}
		gpt2, _ := GPT2()
		if want := gpt2.Encode(text); !slices.Equal(ids, want) {
			t.Fatalf("Encode(%q) = %v, tiktoken %v", text, ids, want)
		}
	})
}

// TestByteLevelInvalidUTF8: invalid bytes stay themselves through Encode
// and Decode (they used to become U+FFFD), each piece of the
// pre-tokenization is a substring of the input, and valid text next to them
// is split as without them.
func TestByteLevelInvalidUTF8(t *testing.T) {
	tok, err := fuzzHF()
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range invalidUTF8Texts {
		if back := tok.Decode(tok.Encode(text)); back != text {
			t.Errorf("Decode(Encode(%q)) = %q", text, back)
		}
		if got := strings.Join(preTokenize(text), ""); got != text {
			t.Errorf("preTokenize(%q) pieces join to %q", text, got)
		}
	}
	if got, want := preTokenize("it'\xffs 12\xfe3  \xff\xfe end"), []string{"it", "'\xff", "s", " 12", "\xfe", "3", " ", " \xff\xfe", " end"}; !slices.Equal(got, want) {
		t.Errorf("preTokenize = %q, want %q", got, want)
	}
}

// TestVocabMergesOPTStyle: an OPT-style vocab.json (<s>, <pad>, </s>, <unk>
// first) with BOS </s> from tokenizer_config.json; Decode skips the special
// tokens it names (pad, unk, and <s> through added_tokens_decoder).
func TestVocabMergesOPTStyle(t *testing.T) {
	dir := t.TempDir()
	vocab := map[string]int{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
	for b := range 256 {
		vocab[string(byteToRune[b])] = 4 + b
	}
	vocab["Ġw"] = 260
	vb, _ := json.Marshal(vocab)
	files := map[string]string{
		"vocab.json": string(vb),
		"merges.txt": "#version: 0.2\nĠ w\n",
		"tokenizer_config.json": `{"bos_token": {"content": "</s>", "__type": "AddedToken"}, "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>", "add_bos_token": true,
			"added_tokens_decoder": {"0": {"content": "<s>", "special": true}, "1": {"content": "<pad>", "special": true}}}`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("a w<pad>")
	if want := []int{4 + 'a', 260, 4 + '<', 4 + 'p', 4 + 'a', 4 + 'd', 4 + '>'}; !slices.Equal(ids, want) {
		t.Errorf("ids %v, want %v (special text stays text)", ids, want)
	}
	if tok.BOS() != 2 || tok.EOS() != 2 {
		t.Errorf("BOS %d EOS %d, want 2 (</s>)", tok.BOS(), tok.EOS())
	}
	if got := tok.Decode(append([]int{2, 1, 3, 0}, ids...)); got != "a w<pad>" {
		t.Errorf("Decode = %q", got)
	}
}

// TestVocabMergesConfigIDsOnly: an OPT-style vocab.json + merges.txt without
// <|endoftext|> and with only config.json's bos_token_id/eos_token_id (2)
// loads with BOS = EOS = 2 (the default <|endoftext|> text is not looked up
// when config.json gives an id); an id outside the vocabulary is refused.
func TestVocabMergesConfigIDsOnly(t *testing.T) {
	dir := t.TempDir()
	vocab := map[string]int{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
	for b := range 256 {
		vocab[string(byteToRune[b])] = 4 + b
	}
	vb, _ := json.Marshal(vocab)
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("vocab.json", string(vb))
	write("merges.txt", "#version: 0.2\n")
	write("config.json", `{"model_type": "opt", "bos_token_id": 2, "eos_token_id": 2, "pad_token_id": 1}`)
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.BOS() != 2 || tok.EOS() != 2 {
		t.Errorf("BOS %d EOS %d, want 2 (</s>, from config.json)", tok.BOS(), tok.EOS())
	}
	if got := tok.Decode([]int{2, 4 + 'a', 2}); got != "a" {
		t.Errorf("Decode skips BOS/EOS: got %q", got)
	}
	write("config.json", `{"bos_token_id": 2, "eos_token_id": 400}`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "eos_token_id 400") {
		t.Errorf("eos_token_id outside the vocabulary: err = %v", err)
	}
}

// TestHFTokenizerConcurrentEncode: Encode is safe for concurrent use (its
// piece cache is shared). Under -race this fails without the cache's lock
// (checked); without -race it checks the results only.
func TestHFTokenizerConcurrentEncode(t *testing.T) {
	tok, err := fuzzHF()
	if err != nil {
		t.Fatal(err)
	}
	gpt2, _ := GPT2()
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				text := strings.Repeat(gpt2AgreeTexts[(g+i)%len(gpt2AgreeTexts)], 1+i%3) + string(rune('a'+i%26))
				if got := tok.Encode(text); !slices.Equal(got, gpt2.Encode(text)) {
					errs <- text
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for text := range errs {
		t.Errorf("concurrent Encode(%q) differs from tiktoken", text)
	}
}

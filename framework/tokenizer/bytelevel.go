package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// ByteLevelBPE is a byte-level BPE tokenizer as GPT-2, GPT-Neo, GPT-NeoX
// (Pythia) and OPT ship it: Hugging Face's tokenizer.json (model type BPE,
// pre-tokenizer ByteLevel) or GPT-2's vocab.json + merges.txt.
//
// Encoding: the text is split at the tokenizer's non-special added tokens
// (e.g. GPT-NeoX's runs of spaces), each other span is split by GPT-2's
// pre-tokenization pattern, each piece's bytes are mapped to GPT-2's
// printable byte alphabet and merged pair by pair, lowest merge rank first.
// Special added tokens (<|endoftext|>, <pad>, ...) in the text are encoded
// as plain text, never as control ids: user data must not inject them.
type ByteLevelBPE struct {
	name  string
	vocab map[string]int // byte-alphabet token -> id
	// pieces[id] is the token's text in the byte alphabet, or an added
	// token's content (added[id] set).
	pieces []string
	added  map[int]bool
	// special ids are skipped by Decode.
	special map[int]bool
	// splitters are the non-special added tokens, longest first.
	splitters  []string
	splitterID map[string]int
	// specials are the special added tokens (BOS/EOS are looked up there first).
	specials []AddedToken
	ranks    map[[2]string]int
	bos, eos int
	mu       sync.Mutex // guards cache
	cache    map[string][]int
}

// byteToRune is GPT-2's reversible map from bytes to printable runes: the
// printable Latin-1 bytes map to themselves, the others to 256, 257, ...
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := map[rune]byte{}
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// preTokenize splits text as GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// does (written out as a scanner: Go's regexp has no lookahead). It scans
// the text's own bytes: a byte that is not valid UTF-8 stays that byte (in
// the class [^\s\p{L}\p{N}], as U+FFFD would be) instead of becoming
// U+FFFD, so that byte-level BPE, which covers all 256 bytes, decodes back
// to the exact input.
func preTokenize(text string) []string {
	var out []string
	// rs[k] is the k-th rune (utf8.RuneError for an invalid byte) and at[k]
	// its byte offset; at[len(rs)] = len(text).
	var rs []rune
	var at []int
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		rs, at = append(rs, r), append(at, i)
		i += size
	}
	at = append(at, len(text))
	isL, isN, isS := unicode.IsLetter, unicode.IsNumber, unicode.IsSpace
	other := func(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }
	run := func(i int, f func(rune) bool) int { // end of the run of f from i
		for i < len(rs) && f(rs[i]) {
			i++
		}
		return i
	}
	for i := 0; i < len(rs); {
		end := -1
		if rs[i] == '\'' {
			for _, c := range []string{"s", "t", "re", "ve", "m", "ll", "d"} {
				if strings.HasPrefix(text[at[i+1]:at[min(len(rs), i+3)]], c) {
					end = i + 1 + len(c)
					break
				}
			}
		}
		if end < 0 {
			j := i
			if rs[j] == ' ' && j+1 < len(rs) {
				j++
			}
			for _, f := range []func(rune) bool{isL, isN, other} {
				if f(rs[j]) {
					end = run(j, f)
					break
				}
			}
		}
		if end < 0 { // whitespace: \s+(?!\S), else \s+
			e := run(i, isS)
			if e < len(rs) && e-i > 1 {
				e-- // leave the last space to prefix the next word
			}
			end = e
		}
		out = append(out, text[at[i]:at[end]])
		i = end
	}
	return out
}

// Encode returns the ids of text (no BOS or EOS). It is safe for
// concurrent use.
func (t *ByteLevelBPE) Encode(text string) []int {
	var ids []int
	// next[i] is where splitter i next occurs at or after pos (-1: nowhere).
	next := make([]int, len(t.splitters))
	for i := range next {
		next[i] = -2 // not searched yet
	}
	for pos := 0; pos < len(text); {
		at, best := len(text), -1
		for i, s := range t.splitters {
			if next[i] == -2 || (next[i] >= 0 && next[i] < pos) {
				next[i] = -1
				if k := strings.Index(text[pos:], s); k >= 0 {
					next[i] = pos + k
				}
			}
			if next[i] >= 0 && next[i] < at { // leftmost; longest first on ties
				at, best = next[i], i
			}
		}
		for _, piece := range preTokenize(text[pos:at]) {
			ids = append(ids, t.encodePiece(piece)...)
		}
		if best < 0 {
			break
		}
		ids = append(ids, t.splitterID[t.splitters[best]])
		pos = at + len(t.splitters[best])
	}
	return ids
}

func (t *ByteLevelBPE) encodePiece(piece string) []int {
	t.mu.Lock()
	ids, ok := t.cache[piece]
	t.mu.Unlock()
	if ok {
		return ids
	}
	syms := make([]string, 0, len(piece))
	for i := 0; i < len(piece); i++ {
		syms = append(syms, string(byteToRune[piece[i]]))
	}
	for len(syms) > 1 {
		best, bestRank := -1, 0
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := t.ranks[[2]string{syms[i], syms[i+1]}]; ok && (best < 0 || r < bestRank) {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		a, b := syms[best], syms[best+1]
		merged := syms[:0:0]
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
				merged = append(merged, a+b)
				i++
			} else {
				merged = append(merged, syms[i])
			}
		}
		syms = merged
	}
	ids = make([]int, len(syms))
	for i, s := range syms {
		ids[i] = t.vocab[s] // every single byte is in the vocabulary (checked on load)
	}
	t.mu.Lock()
	if len(t.cache) < 1<<16 {
		t.cache[piece] = ids
	}
	t.mu.Unlock()
	return ids
}

// Decode returns the text of ids, skipping special and unknown ids.
func (t *ByteLevelBPE) Decode(ids []int) string {
	var b []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.pieces) || t.special[id] || t.pieces[id] == "" {
			continue
		}
		if t.added[id] {
			b = append(b, t.pieces[id]...)
			continue
		}
		for _, r := range t.pieces[id] {
			b = append(b, runeToByte[r])
		}
	}
	return string(b)
}

func (t *ByteLevelBPE) BOS() int       { return t.bos }
func (t *ByteLevelBPE) EOS() int       { return t.eos }
func (t *ByteLevelBPE) VocabSize() int { return len(t.pieces) }
func (t *ByteLevelBPE) Name() string   { return t.name }

// AddedToken is an entry of tokenizer.json's added_tokens.
type AddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	Special    bool   `json:"special"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
}

// NewByteLevelBPE builds a tokenizer from a vocabulary (byte-alphabet token
// -> id), merges in rank order, added tokens and the BOS/EOS token texts.
func NewByteLevelBPE(name string, vocab map[string]int, merges [][2]string, added []AddedToken, bos, eos string) (*ByteLevelBPE, error) {
	t, err := newByteLevelBPE(name, vocab, merges, added)
	if err != nil {
		return nil, err
	}
	if t.bos, err = t.specialID("BOS", bos); err != nil {
		return nil, err
	}
	if t.eos, err = t.specialID("EOS", eos); err != nil {
		return nil, err
	}
	t.special[t.bos], t.special[t.eos] = true, true
	return t, nil
}

// newByteLevelBPE builds a tokenizer without BOS and EOS (the caller sets them).
func newByteLevelBPE(name string, vocab map[string]int, merges [][2]string, added []AddedToken) (*ByteLevelBPE, error) {
	t := &ByteLevelBPE{name: name, vocab: map[string]int{}, added: map[int]bool{}, special: map[int]bool{},
		ranks: map[[2]string]int{}, cache: map[string][]int{}, splitterID: map[string]int{}}
	size := 0
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("vocab: token %q has negative id %d", tok, id)
		}
		size = max(size, id+1)
	}
	for _, a := range added {
		if a.ID < 0 {
			return nil, fmt.Errorf("added token %q has negative id %d", a.Content, a.ID)
		}
		size = max(size, a.ID+1)
	}
	t.pieces = make([]string, size)
	for tok, id := range vocab {
		if t.pieces[id] != "" {
			return nil, fmt.Errorf("vocab: id %d is both %q and %q", id, t.pieces[id], tok)
		}
		t.pieces[id] = tok
		t.vocab[tok] = id
	}
	for b := range 256 {
		if _, ok := t.vocab[string(byteToRune[b])]; !ok {
			return nil, fmt.Errorf("vocab lacks the token of byte 0x%02x (%q): not a byte-level BPE vocabulary", b, string(byteToRune[b]))
		}
	}
	for i, m := range merges {
		if _, ok := t.vocab[m[0]+m[1]]; !ok {
			return nil, fmt.Errorf("merge %d (%q %q) makes %q, which is not in the vocabulary", i, m[0], m[1], m[0]+m[1])
		}
		if _, dup := t.ranks[m]; !dup {
			t.ranks[m] = i
		}
	}
	for _, a := range added {
		if a.Content == "" {
			return nil, fmt.Errorf("added token %d has no content", a.ID)
		}
		// Added tokens decode to their content as is (not in the byte alphabet).
		t.pieces[a.ID], t.added[a.ID] = a.Content, true
		if a.Special {
			t.special[a.ID] = true
			t.specials = append(t.specials, a)
			continue
		}
		if a.SingleWord || a.LStrip || a.RStrip {
			return nil, fmt.Errorf("added token %q: single_word, lstrip and rstrip are not supported", a.Content)
		}
		t.splitters = append(t.splitters, a.Content)
		t.splitterID[a.Content] = a.ID
	}
	slices.SortStableFunc(t.splitters, func(a, b string) int { return len(b) - len(a) })
	return t, nil
}

func (t *ByteLevelBPE) specialID(what, text string) (int, error) {
	if text == "" {
		text = "<|endoftext|>"
	}
	for _, a := range t.specials {
		if a.Content == text {
			return a.ID, nil
		}
	}
	if id, ok := t.vocab[text]; ok {
		return id, nil
	}
	return 0, fmt.Errorf("%s token %q is not in the vocabulary", what, text)
}

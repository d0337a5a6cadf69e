package tokenizer

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Ids fixed by the llama2.c / Llama 2 vocabulary layout.
const (
	llamaUNK = 0
	llamaBOS = 1
	llamaEOS = 2
	// byteOffset is the id of the byte 0x00 token: bytes follow <unk>, <s>, </s>.
	byteOffset = 3
)

// ScoredBPE is a vocabulary of pieces with merge scores, encoded with
// llama2.c's procedure. It serves llama2.c .bin files and SentencePiece BPE
// .model files (Llama 2 style, with byte fallback) alike: llama2.c's
// tokenizer.bin is exported from exactly such a model.
type ScoredBPE struct {
	name   string
	pieces []string
	scores []float32
	// index maps the text of each mergeable piece to its id (the first one).
	index map[string]int
	// byteIDs[b] is the id of the piece for raw byte b; isByte marks those ids.
	byteIDs [256]int
	isByte  map[int]bool
	// skip are ids Decode drops (unknown and control pieces).
	skip     map[int]bool
	bos, eos int
	// dummyPrefix: Encode adds a leading " " and Decode strips it.
	dummyPrefix bool
}

// Llama2C is the tokenizer of a llama2.c .bin file.
type Llama2C = ScoredBPE

// LoadLlama2C reads a llama2.c tokenizer file: int32 max_token_length, then
// per piece float32 score, int32 length and the piece's bytes.
func LoadLlama2C(path string) (*ScoredBPE, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	t, err := ReadLlama2C(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	t.name = "llama2c:" + filepath.Base(path)
	return t, nil
}

// ReadLlama2C parses the llama2.c tokenizer format from r.
func ReadLlama2C(r io.Reader) (*ScoredBPE, error) {
	var maxLen int32
	if err := binary.Read(r, binary.LittleEndian, &maxLen); err != nil {
		return nil, fmt.Errorf("reading max_token_length: %w", err)
	}
	if maxLen <= 0 || maxLen > 1<<16 {
		return nil, fmt.Errorf("max_token_length %d is not a llama2.c tokenizer header", maxLen)
	}
	t := &ScoredBPE{name: "llama2c", index: map[string]int{}, isByte: map[int]bool{},
		skip: map[int]bool{llamaUNK: true, llamaBOS: true, llamaEOS: true}, bos: llamaBOS, eos: llamaEOS, dummyPrefix: true}
	for i := 0; ; i++ {
		var score float32
		if err := binary.Read(r, binary.LittleEndian, &score); err != nil {
			if errors.Is(err, io.EOF) && i > 0 {
				break
			}
			return nil, fmt.Errorf("piece %d: reading score: %w", i, err)
		}
		var n int32
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, fmt.Errorf("piece %d: reading length: %w", i, err)
		}
		if n < 0 || n > 4*maxLen+16 {
			return nil, fmt.Errorf("piece %d: length %d is out of range (max_token_length %d)", i, n, maxLen)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("piece %d: reading %d bytes: %w", i, n, err)
		}
		if math.IsNaN(float64(score)) {
			return nil, fmt.Errorf("piece %d (%q): score is NaN", i, b)
		}
		piece := string(b)
		t.pieces = append(t.pieces, piece)
		t.scores = append(t.scores, score)
		if _, dup := t.index[piece]; !dup { // llama2.c's lookup finds the first match.
			t.index[piece] = i
		}
	}
	if len(t.pieces) < byteOffset+256 {
		return nil, fmt.Errorf("only %d pieces: a llama2.c vocabulary has <unk>, <s>, </s> and 256 byte pieces at least", len(t.pieces))
	}
	for b := range 256 {
		t.byteIDs[b] = byteOffset + b
		if isBytePiece(t.pieces[byteOffset+b]) {
			t.isByte[byteOffset+b] = true
		}
	}
	return t, nil
}

func (t *ScoredBPE) Name() string   { return t.name }
func (t *ScoredBPE) BOS() int       { return t.bos }
func (t *ScoredBPE) EOS() int       { return t.eos }
func (t *ScoredBPE) VocabSize() int { return len(t.pieces) }

// Piece returns the text of one id as stored in the vocabulary (with
// SentencePiece's "▁" already turned into a space).
func (t *ScoredBPE) Piece(id int) string { return t.pieces[id] }

// Encode follows llama2.c's encode(): a dummy-prefix " " for non-empty text,
// one token per UTF-8 code point (or one per byte when the code point is not
// a piece), then repeatedly merge the adjacent pair whose concatenation is the
// best-scoring piece (the leftmost on ties).
func (t *ScoredBPE) Encode(text string) []int {
	return t.merge(t.initialIDs(text))
}

// initialIDs is the sequence before merges: the dummy prefix, then one id
// per code point, or one per byte for code points that are not pieces.
func (t *ScoredBPE) initialIDs(text string) []int {
	if text == "" {
		return nil
	}
	ids := make([]int, 0, len(text)+1)
	if t.dummyPrefix {
		if id, ok := t.index[" "]; ok {
			ids = append(ids, id)
		} else {
			ids = append(ids, t.byteIDs[' '])
		}
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		cp := text[i : i+size]
		if r == utf8.RuneError && size == 1 {
			cp = text[i : i+1]
		}
		if id, ok := t.index[cp]; ok {
			ids = append(ids, id)
		} else {
			for _, b := range []byte(cp) {
				ids = append(ids, t.byteIDs[b])
			}
		}
		i += size
	}
	return ids
}

// mergeNaive is llama2.c's merge loop verbatim (quadratic): the test oracle
// for merge.
func (t *ScoredBPE) mergeNaive(ids []int) []int {
	var buf strings.Builder
	for {
		bestScore := float32(-1e10)
		bestID, bestIdx := -1, -1
		for i := 0; i+1 < len(ids); i++ {
			buf.Reset()
			buf.WriteString(t.pieces[ids[i]])
			buf.WriteString(t.pieces[ids[i+1]])
			if id, ok := t.index[buf.String()]; ok && t.scores[id] > bestScore {
				bestScore, bestID, bestIdx = t.scores[id], id, i
			}
		}
		if bestIdx < 0 {
			return ids
		}
		ids[bestIdx] = bestID
		ids = append(ids[:bestIdx+1], ids[bestIdx+2:]...)
	}
}

// candidate is a mergeable adjacent pair: left symbol (by original
// position), the ids it expects, and the merged id.
type candidate struct {
	score       float32
	pos         int
	left, right int
	merged      int
}

// merge applies llama2.c's rule (repeatedly merge the best-scoring pair, the
// leftmost on ties) in O(n log n) with a heap over a linked list of symbols.
func (t *ScoredBPE) merge(ids []int) []int {
	n := len(ids)
	if n < 2 {
		return ids
	}
	sym := slices.Clone(ids)
	next := make([]int, n)
	prev := make([]int, n)
	alive := make([]bool, n)
	for i := range n {
		next[i], prev[i], alive[i] = i+1, i-1, true
	}
	next[n-1] = -1
	h := &candidateHeap{}
	var buf strings.Builder
	push := func(i int) {
		j := next[i]
		if i < 0 || j < 0 {
			return
		}
		buf.Reset()
		buf.WriteString(t.pieces[sym[i]])
		buf.WriteString(t.pieces[sym[j]])
		if id, ok := t.index[buf.String()]; ok {
			heap.Push(h, candidate{score: t.scores[id], pos: i, left: sym[i], right: sym[j], merged: id})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	for h.Len() > 0 {
		c := heap.Pop(h).(candidate)
		i := c.pos
		j := next[i]
		if !alive[i] || j < 0 || sym[i] != c.left || sym[j] != c.right {
			continue // stale
		}
		sym[i] = c.merged
		alive[j] = false
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if prev[i] >= 0 {
			push(prev[i])
		}
		push(i)
	}
	out := ids[:0]
	for i := 0; i >= 0; i = next[i] {
		out = append(out, sym[i])
	}
	return out
}

// candidateHeap orders by score (highest first), then position (leftmost first).
type candidateHeap []candidate

func (h candidateHeap) Len() int { return len(h) }
func (h candidateHeap) Less(a, b int) bool {
	if h[a].score != h[b].score {
		return h[a].score > h[b].score
	}
	return h[a].pos < h[b].pos
}
func (h candidateHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *candidateHeap) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *candidateHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Decode concatenates pieces, turning <0xXX> pieces back into bytes and
// dropping the dummy-prefix space that Encode added.
func (t *ScoredBPE) Decode(ids []int) string {
	var out []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.pieces) || t.skip[id] {
			continue
		}
		if t.isByte[id] {
			out = append(out, byte(hexByte(t.pieces[id])))
			continue
		}
		out = append(out, t.pieces[id]...)
	}
	if t.dummyPrefix && len(out) > 0 && out[0] == ' ' {
		out = out[1:]
	}
	return string(out)
}

// hexByte parses a "<0xXX>" piece.
func hexByte(p string) int {
	v, err := strconv.ParseUint(p[3:5], 16, 8)
	if err != nil {
		return 0
	}
	return int(v)
}

func isBytePiece(p string) bool {
	return len(p) == 6 && strings.HasPrefix(p, "<0x") && strings.HasSuffix(p, ">")
}

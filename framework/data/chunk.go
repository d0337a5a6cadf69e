package data

import "github.com/privlm/privlm/framework/tokenizer"

// Chunk encodes text and cuts it into token windows for a model with
// context window: each chunk is BOS followed by at most window tokens.
// Text that encodes to nothing gives no chunk.
func Chunk(tok tokenizer.Tokenizer, text string, window int) [][]int {
	ids := tok.Encode(text)
	var out [][]int
	for start := 0; start < len(ids); start += window {
		end := min(start+window, len(ids))
		chunk := make([]int, 0, end-start+1)
		chunk = append(chunk, tok.BOS())
		out = append(out, append(chunk, ids[start:end]...))
	}
	return out
}

// ChunkAll chunks every record's text, returning the chunks and, for each,
// the index of its record.
func ChunkAll(tok tokenizer.Tokenizer, recs []Record, window int) (chunks [][]int, owner []int) {
	for i, r := range recs {
		for _, c := range Chunk(tok, r.Text, window) {
			chunks = append(chunks, c)
			owner = append(owner, i)
		}
	}
	return chunks, owner
}

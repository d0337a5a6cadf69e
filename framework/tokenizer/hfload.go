package tokenizer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// hfTokenizerJSON holds the parts of a Hugging Face tokenizer.json that a
// byte-level BPE needs.
type hfTokenizerJSON struct {
	AddedTokens  []AddedToken    `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Model        struct {
		Type                    string          `json:"type"`
		Dropout                 *float64        `json:"dropout"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
		ByteFallback            bool            `json:"byte_fallback"`
		Vocab                   map[string]int  `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
	} `json:"model"`
}

type hfComponent struct {
	Type           string            `json:"type"`
	AddPrefixSpace bool              `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	PreTokenizers  []json.RawMessage `json:"pretokenizers"`
	Normalizers    []json.RawMessage `json:"normalizers"`
}

// nfcTokenizer applies the NFC normalizer a tokenizer.json asks for (GPT-NeoX's does).
type nfcTokenizer struct{ *ByteLevelBPE }

func (t nfcTokenizer) Encode(text string) []int { return t.ByteLevelBPE.Encode(norm.NFC.String(text)) }

// LoadHF reads a Hugging Face byte-level BPE tokenizer: a tokenizer.json
// file, a vocab.json (with merges.txt beside it), or a directory holding
// either. BOS and EOS come from tokenizer_config.json, special_tokens_map.json
// or config.json beside it (in that order), else <|endoftext|>.
func LoadHF(path string) (Tokenizer, error) {
	dir, file := path, ""
	if info, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	} else if !info.IsDir() {
		dir, file = filepath.Dir(path), filepath.Base(path)
	} else if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
		file = "tokenizer.json"
	} else {
		file = "vocab.json"
	}
	bos, eos, others, err := specialTokens(dir)
	if err != nil {
		return nil, err
	}
	name := "hf:" + filepath.Base(dir)
	if file == "tokenizer.json" {
		t, nfc, err := readTokenizerJSON(filepath.Join(dir, file), name, bos, eos, others)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", filepath.Join(dir, file), err)
		}
		if nfc {
			return nfcTokenizer{t}, nil
		}
		return t, nil
	}
	if file != "vocab.json" {
		return nil, fmt.Errorf("tokenizer: %s: want tokenizer.json or vocab.json", path)
	}
	t, err := readVocabMerges(filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt"), name, bos, eos, others)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

func readTokenizerJSON(path, name string, bos, eos specialToken, others []string) (*ByteLevelBPE, bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	var tj hfTokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, false, err
	}
	m := tj.Model
	if m.Type != "BPE" {
		return nil, false, fmt.Errorf("model.type %q: only byte-level BPE is supported (Llama-style SentencePiece models load from tokenizer.model)", m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, false, fmt.Errorf("model.dropout %g: BPE dropout is not supported", *m.Dropout)
	}
	if (m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "") || (m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "") || m.ByteFallback {
		return nil, false, fmt.Errorf("model: continuing_subword_prefix, end_of_word_suffix and byte_fallback are not byte-level BPE settings")
	}
	if err := checkByteLevel(tj.PreTokenizer); err != nil {
		return nil, false, err
	}
	nfc, err := checkNormalizer(tj.Normalizer)
	if err != nil {
		return nil, false, err
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, false, err
	}
	t, err := newWithSpecials(name, m.Vocab, merges, tj.AddedTokens, bos, eos, others)
	return t, nfc, err
}

// checkByteLevel accepts a ByteLevel pre-tokenizer (alone or the only one in
// a Sequence) with GPT-2's regex and no prefix space.
func checkByteLevel(raw json.RawMessage) error {
	var c hfComponent
	if len(raw) == 0 || string(raw) == "null" {
		return fmt.Errorf("pre_tokenizer is missing: want ByteLevel")
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("pre_tokenizer: %w", err)
	}
	if c.Type == "Sequence" && len(c.PreTokenizers) == 1 {
		return checkByteLevel(c.PreTokenizers[0])
	}
	if c.Type != "ByteLevel" {
		return fmt.Errorf("pre_tokenizer type %q is not supported (want ByteLevel)", c.Type)
	}
	if c.AddPrefixSpace {
		return fmt.Errorf("pre_tokenizer: add_prefix_space true is not supported")
	}
	if c.UseRegex != nil && !*c.UseRegex {
		return fmt.Errorf("pre_tokenizer: use_regex false is not supported")
	}
	return nil
}

// checkNormalizer accepts none or NFC (reported as true).
func checkNormalizer(raw json.RawMessage) (bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, fmt.Errorf("normalizer: %w", err)
	}
	switch {
	case c.Type == "NFC":
		return true, nil
	case c.Type == "Sequence" && len(c.Normalizers) == 0:
		return false, nil
	case c.Type == "Sequence" && len(c.Normalizers) == 1:
		return checkNormalizer(c.Normalizers[0])
	}
	return false, fmt.Errorf("normalizer type %q is not supported (want none or NFC)", c.Type)
}

// parseMerges reads merges as "a b" strings or [a, b] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	var asStrings []string
	if err := json.Unmarshal(raw, &asStrings); err == nil {
		out := make([][2]string, len(asStrings))
		for i, s := range asStrings {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("merge %d is %q, want two tokens separated by one space", i, s)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("model.merges: want a list of \"a b\" strings or [a, b] pairs: %w", err)
	}
	return pairs, nil
}

func readVocabMerges(vocabPath, mergesPath, name string, bos, eos specialToken, others []string) (*ByteLevelBPE, error) {
	data, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, err
	}
	var vocab map[string]int
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of token -> id: %w", vocabPath, err)
	}
	f, err := os.Open(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("%s needs merges.txt beside it: %w", vocabPath, err)
	}
	defer f.Close()
	var merges [][2]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimRight(sc.Text(), "\r")
		if s == "" || (line == 1 && strings.HasPrefix(s, "#version")) {
			continue
		}
		a, b, ok := strings.Cut(s, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("%s:%d: %q, want two tokens separated by one space", mergesPath, line, s)
		}
		merges = append(merges, [2]string{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", mergesPath, err)
	}
	t, err := newWithSpecials(name, vocab, merges, nil, bos, eos, others)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vocabPath, err)
	}
	return t, nil
}

// specialToken is BOS or EOS given by text or by id (config.json).
type specialToken struct {
	text string
	id   *int
}

// newWithSpecials builds the tokenizer; others (unk, pad, ... tokens named by
// the tokenizer's configs) become special (Decode skips them) when in the
// vocabulary.
func newWithSpecials(name string, vocab map[string]int, merges [][2]string, added []AddedToken, bos, eos specialToken, others []string) (*ByteLevelBPE, error) {
	t, err := newByteLevelBPE(name, vocab, merges, added)
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		if id, ok := t.vocab[o]; ok {
			t.special[id] = true
		}
	}
	for _, s := range []struct {
		what, key string
		tok       specialToken
		dst       *int
	}{{"BOS", "bos_token_id", bos, &t.bos}, {"EOS", "eos_token_id", eos, &t.eos}} {
		if s.tok.id == nil { // by text (default <|endoftext|>)
			if *s.dst, err = t.specialID(s.what, s.tok.text); err != nil {
				return nil, err
			}
		} else { // by config.json's id: the text need not be in the vocabulary
			if *s.tok.id < 0 || *s.tok.id >= len(t.pieces) {
				return nil, fmt.Errorf("config.json %s %d is outside the vocabulary [0,%d)", s.key, *s.tok.id, len(t.pieces))
			}
			*s.dst = *s.tok.id
		}
		t.special[*s.dst] = true
	}
	return t, nil
}

// specialTokens finds BOS and EOS for a tokenizer directory, and the texts
// of its other special tokens (unk, pad, sep, cls, mask).
func specialTokens(dir string) (bos, eos specialToken, others []string, err error) {
	for _, file := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return bos, eos, nil, fmt.Errorf("tokenizer: %w", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return bos, eos, nil, fmt.Errorf("tokenizer: %s: %w", filepath.Join(dir, file), err)
		}
		if raw := m["add_prefix_space"]; len(raw) > 0 && string(raw) == "true" {
			return bos, eos, nil, fmt.Errorf("tokenizer: %s: add_prefix_space true is not supported", filepath.Join(dir, file))
		}
		for _, key := range []string{"unk_token", "pad_token", "sep_token", "cls_token", "mask_token"} {
			if text, err := tokenText(m[key]); err == nil && text != "" {
				others = append(others, text)
			}
		}
		var decoder map[string]struct {
			Content string `json:"content"`
			Special bool   `json:"special"`
		}
		if len(m["added_tokens_decoder"]) > 0 && json.Unmarshal(m["added_tokens_decoder"], &decoder) == nil {
			for _, a := range decoder {
				if a.Special && a.Content != "" {
					others = append(others, a.Content)
				}
			}
		}
		for key, dst := range map[string]*specialToken{"bos_token": &bos, "eos_token": &eos} {
			if dst.text != "" || len(m[key]) == 0 {
				continue
			}
			text, err := tokenText(m[key])
			if err != nil {
				return bos, eos, nil, fmt.Errorf("tokenizer: %s: %s: %w", filepath.Join(dir, file), key, err)
			}
			dst.text = text
		}
	}
	if bos.text == "" || eos.text == "" {
		data, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err == nil {
			var c struct {
				BOS *int `json:"bos_token_id"`
				EOS *int `json:"eos_token_id"`
			}
			if err := json.Unmarshal(data, &c); err != nil {
				return bos, eos, nil, fmt.Errorf("tokenizer: %s: %w", filepath.Join(dir, "config.json"), err)
			}
			if bos.text == "" {
				bos.id = c.BOS
			}
			if eos.text == "" {
				eos.id = c.EOS
			}
		}
	}
	return bos, eos, others, nil
}

// tokenText reads a token given as a string or as {"content": ...} (null: none).
func tokenText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("want a string or {\"content\": ...}")
	}
	return obj.Content, nil
}

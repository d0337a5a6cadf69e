package tokenizer

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// SentencePiece piece types (sentencepiece_model.proto).
const (
	spNormal      = 1
	spUnknown     = 2
	spControl     = 3
	spUserDefined = 4
	spUnused      = 5
	spByte        = 6
	spModelBPE    = 2 // TrainerSpec.ModelType
)

// LoadSentencePiece opens a SentencePiece BPE .model file with byte
// fallback (the Llama 2 / TinyLlama / Mistral family). Unigram models are
// refused with an error: their encoder is a different algorithm.
func LoadSentencePiece(path string) (*ScoredBPE, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := ParseSentencePiece(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	t.name = "sentencepiece:" + filepath.Base(path)
	return t, nil
}

type spPiece struct {
	text  string
	score float32
	typ   int
}

// ParseSentencePiece reads the ModelProto fields privlm needs: the pieces,
// the model type, byte_fallback and add_dummy_prefix.
func ParseSentencePiece(data []byte) (*ScoredBPE, error) {
	var pieces []spPiece
	modelType, byteFallback, dummyPrefix := int64(1), false, true // proto defaults
	err := walkFields(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			p := spPiece{typ: spNormal}
			err := walkFields(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					p.text = string(v)
				case num == 2 && typ == protowire.Fixed32Type:
					p.score = math.Float32frombits(uint32(x))
				case num == 3 && typ == protowire.VarintType:
					p.typ = int(x)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("piece %d: %w", len(pieces), err)
			}
			pieces = append(pieces, p)
		case num == 2 && typ == protowire.BytesType: // TrainerSpec
			return walkFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				if num == 3 && typ == protowire.VarintType {
					modelType = int64(x)
				}
				if num == 35 && typ == protowire.VarintType {
					byteFallback = x != 0
				}
				return nil
			})
		case num == 3 && typ == protowire.BytesType: // NormalizerSpec
			return walkFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				if num == 3 && typ == protowire.VarintType {
					dummyPrefix = x != 0
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("not a SentencePiece model: %w", err)
	}
	if len(pieces) == 0 {
		return nil, fmt.Errorf("not a SentencePiece model: no pieces")
	}
	if modelType != spModelBPE {
		return nil, fmt.Errorf("SentencePiece model type %d is not BPE (2): only BPE models are supported", modelType)
	}
	if !byteFallback {
		return nil, fmt.Errorf("SentencePiece model without byte_fallback is not supported")
	}
	t := &ScoredBPE{index: map[string]int{}, isByte: map[int]bool{}, skip: map[int]bool{}, bos: -1, eos: -1, dummyPrefix: dummyPrefix}
	seenBytes := 0
	for id, p := range pieces {
		text := strings.ReplaceAll(p.text, "\u2581", " ")
		t.pieces = append(t.pieces, text)
		t.scores = append(t.scores, p.score)
		switch p.typ {
		case spNormal, spUserDefined:
			if _, dup := t.index[text]; !dup {
				t.index[text] = id
			}
		case spByte:
			if !isBytePiece(p.text) {
				return nil, fmt.Errorf("byte piece %d is %q, want <0xXX>", id, p.text)
			}
			t.byteIDs[hexByte(p.text)] = id
			t.isByte[id] = true
			seenBytes++
		case spControl, spUnknown, spUnused:
			t.skip[id] = true
			if p.text == "<s>" {
				t.bos = id
			}
			if p.text == "</s>" {
				t.eos = id
			}
		}
	}
	if seenBytes != 256 {
		return nil, fmt.Errorf("model has %d byte pieces, want 256", seenBytes)
	}
	if t.bos < 0 || t.eos < 0 {
		return nil, fmt.Errorf("model has no <s> or </s> control piece")
	}
	return t, nil
}

// walkFields calls fn for each field of a protobuf message; for bytes fields
// v is the payload, for varint and fixed fields x is the value.
func walkFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x32 uint32
			x32, n = protowire.ConsumeFixed32(b)
			x = uint64(x32)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

package lm

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/x448/float16"
)

// maxSafetensorsHeader bounds the JSON header (the format allows 100 MB).
const maxSafetensorsHeader = 100 << 20

// safetensorsWidth is the byte width of each safetensors dtype.
var safetensorsWidth = map[string]int64{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
	"I64": 8, "U64": 8, "I32": 4, "U32": 4, "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}

type safetensorsEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// ReadSafetensors reads every tensor of a .safetensors file as float32 (F32,
// F16, BF16 and F64, the last rounded to float32), with the file's
// __metadata__. Tensors of the other safetensors dtypes (BOOL, integers,
// 8-bit floats: in HF checkpoints, buffers such as GPT-Neo's and GPT-NeoX's
// U8 causal mask "bias") come back as placeholders with their Shape, nil
// Data and Unreadable() naming the dtype; a loader that needs one as a
// weight must refuse it.
func ReadSafetensors(path string) (map[string]*Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("lm: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("lm: %w", err)
	}
	out, meta, err := readSafetensors(f, info.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("lm: safetensors %s: %w", path, err)
	}
	return out, meta, nil
}

func readSafetensors(r io.ReaderAt, size int64) (map[string]*Tensor, map[string]string, error) {
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, nil, fmt.Errorf("reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n == 0 || n > maxSafetensorsHeader || int64(n)+8 > size {
		return nil, nil, fmt.Errorf("header length %d does not fit a file of %d bytes", n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, nil, fmt.Errorf("reading header: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, nil, fmt.Errorf("header is not JSON: %w", err)
	}
	meta := map[string]string{}
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, fmt.Errorf("__metadata__: %w", err)
		}
		delete(raw, "__metadata__")
	}
	dataStart := 8 + int64(n)
	out := map[string]*Tensor{}
	for name, msg := range raw {
		var e safetensorsEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		count := 1
		for _, d := range e.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("tensor %s: negative dimension in %v", name, e.Shape)
			}
			count *= d
		}
		width, ok := safetensorsWidth[e.DType]
		if !ok {
			return nil, nil, fmt.Errorf("tensor %s: dtype %q is not a safetensors dtype", name, e.DType)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end-begin != int64(count)*width || dataStart+end > size {
			return nil, nil, fmt.Errorf("tensor %s: offsets %v do not fit shape %v of %s in a file of %d bytes", name, e.DataOffsets, e.Shape, e.DType, size)
		}
		switch e.DType {
		case "F64", "F32", "F16", "BF16":
		default:
			out[name] = &Tensor{Shape: slices.Clone(e.Shape), dtype: e.DType}
			continue
		}
		buf := make([]byte, end-begin)
		if _, err := r.ReadAt(buf, dataStart+begin); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		data := make([]float32, count)
		for i := range data {
			switch e.DType {
			case "F64":
				data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:])))
			case "F32":
				data[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			case "F16":
				data[i] = float16.Frombits(binary.LittleEndian.Uint16(buf[2*i:])).Float32()
			case "BF16":
				data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(buf[2*i:])) << 16)
			}
		}
		out[name] = &Tensor{Shape: slices.Clone(e.Shape), Data: data}
	}
	return out, meta, nil
}

// WriteSafetensors writes tensors as F32 (atomically).
func WriteSafetensors(path string, ts map[string]*Tensor, meta map[string]string) error {
	names := make([]string, 0, len(ts))
	for name := range ts {
		names = append(names, name)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var offset int64
	for _, name := range names {
		t := ts[name]
		if t == nil || t.Unreadable() != "" || len(t.Data) != shape(t.Shape).size() {
			return fmt.Errorf("lm: safetensors %s: tensor %s is missing or has no float data matching its shape", path, name)
		}
		size := int64(4 * len(t.Data))
		header[name] = safetensorsEntry{DType: "F32", Shape: t.Shape, DataOffsets: [2]int64{offset, offset + size}}
		offset += size
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("lm: %w", err)
	}
	for len(hb)%8 != 0 { // keep the data 8-byte aligned, as the reference writer does
		hb = append(hb, ' ')
	}
	return writeAtomic(path, func(w io.Writer) error {
		if err := binary.Write(w, binary.LittleEndian, uint64(len(hb))); err != nil {
			return err
		}
		if _, err := w.Write(hb); err != nil {
			return err
		}
		for _, name := range names {
			if err := binary.Write(w, binary.LittleEndian, ts[name].Data); err != nil {
				return err
			}
		}
		return nil
	})
}

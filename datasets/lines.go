package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// open opens a file, decompressing .gz and .zst.
func open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(path, ".gz"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{gz, f}, nil
	case strings.HasSuffix(path, ".zst"):
		zr, err := zstd.NewReader(f, zstd.WithDecoderMaxWindow(1<<31))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, closerFunc(func() error { zr.Close(); return f.Close() })}, nil
	}
	return f, nil
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

// eachJSONLine decodes every non-empty line of a JSON-lines file into a new
// T and calls fn with its 1-based line number. Bad JSON names the line.
func eachJSONLine[T any](path string, fn func(line int, v *T) error) error {
	r, err := open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	return scanJSONLines(r, fn) // callers name the file
}

func scanJSONLines[T any](r io.Reader, fn func(line int, v *T) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			// json.Unmarshal would silently turn it into U+FFFD.
			return fmt.Errorf("line %d: invalid UTF-8 at byte %d", line, invalidUTF8At(b))
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := fn(line, &v); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("after line %d: %w", line, err)
	}
	return nil
}

// collapseSpace joins runs of whitespace into single spaces and trims.
func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// invalidUTF8At is the offset of the first byte that is not valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

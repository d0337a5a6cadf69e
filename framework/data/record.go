package data

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// Record is one document of the data contract.
type Record struct {
	UserID string `parquet:"user_id,zstd" json:"user_id"`
	DocID  string `parquet:"doc_id,zstd" json:"doc_id"`
	Text   string `parquet:"text,zstd" json:"text"`
	// Group is a sub-source: subreddit, arXiv category, mailbox, play, split.
	Group string `parquet:"group,zstd,optional" json:"group,omitempty"`
	// Label is a class name for classification data (GLUE).
	Label string `parquet:"label,zstd,optional" json:"label,omitempty"`
	// TextB is the second text of sentence-pair tasks (GLUE).
	TextB string `parquet:"text_b,zstd,optional" json:"text_b,omitempty"`
}

// RequiredColumns must be present (as strings) in every dataset file.
var RequiredColumns = []string{"user_id", "doc_id", "text"}

// OptionalColumns may be present (as strings).
var OptionalColumns = []string{"group", "label", "text_b"}

// Writer writes Records to a Parquet file atomically: rows go to a temporary
// file in the same directory, renamed into place by Close. Abort (or a
// failed Close) removes it, so no partial file is ever left behind.
type Writer struct {
	path string
	tmp  *os.File
	w    *parquet.GenericWriter[Record]
	n    int
	buf  []Record
}

// NewWriter starts writing path.
func NewWriter(path string) (*Writer, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return &Writer{path: path, tmp: tmp, w: parquet.NewGenericWriter[Record](tmp, parquet.Compression(&parquet.Zstd))}, nil
}

// Write adds records.
func (w *Writer) Write(recs ...Record) error {
	w.buf = append(w.buf, recs...)
	if len(w.buf) >= 4096 {
		return w.flush()
	}
	return nil
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("data: writing %s: %w", w.path, err)
	}
	w.n += len(w.buf)
	w.buf = w.buf[:0]
	return nil
}

// Rows is the number of records written so far.
func (w *Writer) Rows() int { return w.n + len(w.buf) }

// Close finishes the file and renames it into place.
func (w *Writer) Close() error {
	err := w.flush()
	if err == nil {
		err = w.w.Close()
	}
	if err == nil {
		err = w.tmp.Sync()
	}
	if cerr := w.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp.Name(), w.path)
	}
	if err != nil {
		os.Remove(w.tmp.Name())
		return fmt.Errorf("data: writing %s: %w", w.path, err)
	}
	return nil
}

// Abort discards the file.
func (w *Writer) Abort() {
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}

// WriteFile writes records to path atomically.
func WriteFile(path string, recs []Record) error {
	w, err := NewWriter(path)
	if err != nil {
		return err
	}
	if err := w.Write(recs...); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// ReadFile reads and validates a dataset file (see Validate).
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	recs, err := Read(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return recs, nil
}

// Read reads and validates a dataset from Parquet bytes.
func Read(r io.ReaderAt, size int64) (recs []Record, err error) {
	defer func() {
		if p := recover(); p != nil { // parquet-go panics on some corrupt inputs
			recs, err = nil, fmt.Errorf("corrupt Parquet file: %v", p)
		}
	}()
	pf, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	if err := checkMetadata(pf, size); err != nil {
		return nil, err
	}
	if err := checkSchema(pf.Schema()); err != nil {
		return nil, err
	}
	reader := parquet.NewGenericReader[Record](r)
	defer reader.Close()
	n := pf.NumRows()
	if n < 0 || n > 1<<31 {
		return nil, fmt.Errorf("file claims %d rows", n)
	}
	recs = make([]Record, 0, min(n, 1<<20))
	buf := make([]Record, 1024)
	for {
		k, err := reader.Read(buf)
		recs = append(recs, buf[:k]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading row %d: %w", len(recs), err)
		}
		if k == 0 {
			break
		}
	}
	if err := Validate(recs); err != nil {
		return nil, err
	}
	return recs, nil
}

// maxUncompressed bounds a column chunk's claimed uncompressed size, so a
// corrupt or hostile footer cannot make the reader allocate gigabytes.
const maxUncompressed = 4 << 30

// checkMetadata rejects footers whose column chunks lie outside the file or
// claim impossible sizes.
func checkMetadata(pf *parquet.File, size int64) error {
	for i, rg := range pf.Metadata().RowGroups {
		if rg.NumRows < 0 {
			return fmt.Errorf("row group %d claims %d rows", i, rg.NumRows)
		}
		for _, cc := range rg.Columns {
			md := cc.MetaData
			col := strings.Join(md.PathInSchema, ".")
			if md.TotalCompressedSize < 0 || md.TotalCompressedSize > size || md.DataPageOffset < 0 || md.DataPageOffset >= size ||
				md.DataPageOffset+md.TotalCompressedSize > size {
				return fmt.Errorf("row group %d, column %s: chunk at offset %d of %d bytes lies outside the %d-byte file", i, col, md.DataPageOffset, md.TotalCompressedSize, size)
			}
			if md.TotalUncompressedSize < 0 || md.TotalUncompressedSize > maxUncompressed {
				return fmt.Errorf("row group %d, column %s: claims %d uncompressed bytes", i, col, md.TotalUncompressedSize)
			}
		}
	}
	return nil
}

// checkSchema requires the contract's columns, as strings.
func checkSchema(s *parquet.Schema) error {
	byName := map[string]parquet.Field{}
	for _, f := range s.Fields() {
		byName[f.Name()] = f
	}
	check := func(name string, required bool) error {
		f, ok := byName[name]
		if !ok {
			if required {
				return fmt.Errorf("column %q is missing (a dataset needs %s)", name, strings.Join(RequiredColumns, ", "))
			}
			return nil
		}
		if !f.Leaf() || f.Type().Kind() != parquet.ByteArray || f.Repeated() {
			return fmt.Errorf("column %q has type %v, want a string (BYTE_ARRAY)", name, f.Type())
		}
		return nil
	}
	for _, c := range RequiredColumns {
		if err := check(c, true); err != nil {
			return err
		}
	}
	for _, c := range OptionalColumns {
		if err := check(c, false); err != nil {
			return err
		}
	}
	return nil
}

// RowError locates a bad value.
type RowError struct {
	Row    int
	Column string
	Msg    string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d, column %s: %s", e.Row, e.Column, e.Msg)
}

// Validate checks the content: every row has a user id, a doc id unique in
// the file, and non-empty valid UTF-8 text; optional columns are valid UTF-8.
func Validate(recs []Record) error {
	seen := make(map[string]int, len(recs))
	for i, r := range recs {
		for _, c := range []struct{ name, v string }{{"user_id", r.UserID}, {"doc_id", r.DocID}, {"text", r.Text},
			{"group", r.Group}, {"label", r.Label}, {"text_b", r.TextB}} {
			if !utf8.ValidString(c.v) {
				return &RowError{i, c.name, "invalid UTF-8"}
			}
		}
		switch {
		case strings.TrimSpace(r.UserID) == "":
			return &RowError{i, "user_id", "empty user id: every document needs a user"}
		case r.DocID == "":
			return &RowError{i, "doc_id", "empty doc id"}
		case strings.TrimSpace(r.Text) == "":
			return &RowError{i, "text", fmt.Sprintf("empty text (user %q, doc %q)", r.UserID, r.DocID)}
		}
		if first, dup := seen[r.DocID]; dup {
			return &RowError{i, "doc_id", fmt.Sprintf("duplicate doc id %q (first at row %d)", r.DocID, first)}
		}
		seen[r.DocID] = i
	}
	return nil
}

// ByUser groups records by user, keeping file order within each user.
func ByUser(recs []Record) map[string][]Record {
	out := map[string][]Record{}
	for _, r := range recs {
		out[r.UserID] = append(out[r.UserID], r)
	}
	return out
}

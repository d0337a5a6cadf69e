package data

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type readErrRow struct {
	ID   int64  `parquet:"id"`
	Text string `parquet:"text"`
}

// TestReadParquetReportsReadErrors: a file whose data pages are damaged
// gives an error, never a nil error with fewer (or no) rows. ReadParquet
// returned nil when a read failed with no rows in the batch.
func TestReadParquetReportsReadErrors(t *testing.T) {
	rows := make([]readErrRow, 5000)
	for i := range rows {
		rows[i] = readErrRow{ID: int64(i), Text: fmt.Sprintf("document %d with some text", i)}
	}
	path := filepath.Join(t.TempDir(), "rows.parquet")
	if err := WriteParquet(path, rows, parquet.Compression(&parquet.Zstd), parquet.PageBufferSize(4096)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the bytes of the data pages (the footer at the end stays valid).
	for i := 4; i < len(b)/2; i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadParquet[readErrRow](path)
	if err == nil {
		t.Fatalf("damaged file: %d of %d rows and no error", len(got), len(rows))
	}
	t.Logf("error: %v", err)
}

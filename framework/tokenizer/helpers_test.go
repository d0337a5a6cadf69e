package tokenizer

import (
	"os"
	"unicode/utf8"
)

func writeAll(p string, data []byte) error { return os.WriteFile(p, data, 0o644) }
func utf8Valid(s string) bool              { return utf8.ValidString(s) }

// Package shareddata finds the project's shared real data (../shared/data
// beside the repository) for tests and benchmarks.
package shareddata

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EnvVar overrides where the shared data lives.
const EnvVar = "PRIVLM_SHARED_DATA"

// Dir returns the shared data directory: $PRIVLM_SHARED_DATA, else
// the first ../shared/data beside a module root above the working directory.
func Dir() string {
	if d := os.Getenv(EnvVar); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(filepath.Dir(dir), "shared", "data")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(candidate); err == nil {
				return candidate
			}
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// Path returns the path of a shared data file. When the file is missing the
// test is skipped, except on CI (CI=true), where it fails: CI always has the
// shared data beside the clone.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(Dir(), rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("shared data %s is missing on CI: %v", rel, err)
		}
		tb.Skipf("shared data %s not found (%v); set %s", rel, err, EnvVar)
	}
	return p
}

// Resolve returns p if it exists, else p under the shared data directory
// (so "models/stories260K.bin" works from the repository root).
func Resolve(p string) (string, error) {
	if _, err := os.Stat(p); err == nil {
		return filepath.Abs(p)
	}
	alt := filepath.Join(Dir(), p)
	if _, err := os.Stat(alt); err == nil {
		// Absolute even when $PRIVLM_SHARED_DATA is relative: the path is
		// handed to plugins, which run in a working directory of their own.
		return filepath.Abs(alt)
	}
	return "", fmt.Errorf("%s not found (nor %s)", p, alt)
}

// Package duckdb runs SQL on DuckDB through Node.js and the npm package
// @duckdb/node-api, to check that privlm's Parquet files read in an
// independent engine (tests, notebooks). Install it with
//
//	npm install --prefix build/node @duckdb/node-api@1.5.6-r.1
//
// (.ci/run does), or point $PRIVLM_NODE_MODULES at a node_modules directory.
package duckdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Package is the npm package and version privlm uses.
const Package = "@duckdb/node-api@1.5.6-r.1"

const script = `const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const r = await con.runAndReadAll(process.argv[2]);
  process.stdout.write(JSON.stringify(r.getRowObjectsJson()));
})().catch(e => { console.error(String(e)); process.exit(1); });
`

// NodeModules finds the node_modules directory holding @duckdb/node-api:
// $PRIVLM_NODE_MODULES, else build/node/node_modules above the working directory.
func NodeModules() (string, error) {
	if d := os.Getenv("PRIVLM_NODE_MODULES"); d != "" {
		return d, nil
	}
	wd, _ := os.Getwd()
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "build", "node", "node_modules")
		if _, err := os.Stat(filepath.Join(cand, "@duckdb", "node-api")); err == nil {
			return cand, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("duckdb: @duckdb/node-api not found: run `npm install --prefix build/node %s` in the repository, or set PRIVLM_NODE_MODULES", Package)
		}
	}
}

// Query runs one SQL statement and returns its rows as JSON objects
// (numbers as DuckDB's JSON conversion gives them: BIGINTs are strings).
func Query(sql string) ([]map[string]any, error) {
	modules, err := NodeModules()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("duckdb: node is not installed")
	}
	f, err := os.CreateTemp("", "privlm-duckdb-*.cjs")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	f.WriteString(script)
	f.Close()
	cmd := exec.Command("node", f.Name(), sql)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("duckdb: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var rows []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		return nil, fmt.Errorf("duckdb: output %q: %w", stdout.String(), err)
	}
	return rows, nil
}

// Available skips the test when DuckDB cannot run, except on CI (CI=true),
// where .ci/run installs it and a missing engine is a failure.
func Available(tb testing.TB) {
	tb.Helper()
	_, err := NodeModules()
	if err == nil {
		_, err = exec.LookPath("node")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%v (CI must install it)", err)
		}
		tb.Skip(err)
	}
}

// Int converts a DuckDB JSON number (often a string for BIGINT) to int64.
func Int(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case string:
		var n int64
		fmt.Sscan(x, &n)
		return n
	}
	return -1
}

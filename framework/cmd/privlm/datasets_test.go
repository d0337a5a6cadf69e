package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/shareddata"
)

func TestDatasetsPrepareAndStats(t *testing.T) {
	shareddata.Path(t, "shakespeare_folger_speeches.jsonl.gz")
	out := filepath.Join(t.TempDir(), "sh.parquet")
	if stdout, stderr, status := run(t, "", "datasets", "prepare", "shakespeare", "--out", out); status != 0 || !strings.Contains(stdout, "31023 documents") {
		t.Fatalf("prepare: status %d, %s %s", status, stdout, stderr)
	}
	stdout, stderr, status := run(t, "", "datasets", "stats", out, "--json", "--tokenizer", "")
	if status != 0 {
		t.Fatalf("stats: %s", stderr)
	}
	var s struct {
		Users            int            `json:"users"`
		Documents        int            `json:"documents"`
		UsersWithAtLeast map[string]int `json:"users_with_at_least"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.Users != 1509 || s.Documents != 31023 || s.UsersWithAtLeast["5"] != 820 {
		t.Errorf("stats %+v", s)
	}
	stdout, _, status = run(t, "", "datasets", "list", "--json")
	if status != 0 || !strings.Contains(stdout, `"name":"reddit"`) {
		t.Errorf("list: %s", stdout)
	}
	for _, args := range [][]string{{"datasets", "prepare", "nope", "--out", out}, {"datasets", "prepare", "reddit"}, {"datasets", "stats", "/nonexistent.parquet"}} {
		if _, stderr, status := run(t, "", args...); status == 0 || stderr == "" {
			t.Errorf("%v: status %d, want an error", args, status)
		}
	}
}

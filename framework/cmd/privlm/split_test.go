package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/shareddata"
)

func TestSplitCommand(t *testing.T) {
	shareddata.Path(t, "models/stories260K.bin")
	shareddata.Path(t, "enron_enronarchive_13mailboxes.jsonl.gz")
	out, stderr, status := run(t, "", "split", "--preset", "quick", "--dataset", "enron", "--set", "split.attacker_overlap=keep", "--out", t.TempDir(), "--json")
	if status != 0 {
		t.Fatalf("status %d, stderr %s", status, stderr)
	}
	var got struct {
		AttackUsers int `json:"attack_users"`
		Overlap     *struct {
			Policy string `json:"policy"`
			Total  struct {
				Samples int `json:"samples"`
			} `json:"total"`
		} `json:"attacker_overlap"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.AttackUsers < 2 || got.Overlap == nil || got.Overlap.Policy != "keep" || got.Overlap.Total.Samples < got.AttackUsers {
		t.Errorf("split --json: %s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"split", "--preset", "quick"}, "needs --dataset"},
		{[]string{"split", "--preset", "huge"}, "want default, quickstart"},
		{[]string{"split", "--set", "split.attacker_overlap=maybe"}, "split.attacker_overlap"},
	} {
		if _, stderr, status := run(t, "", tc.args...); status == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: status %d stderr %q, want failure containing %q", tc.args, status, stderr, tc.want)
		}
	}
}

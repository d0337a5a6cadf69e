package experiment

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/data"
)

// TestAttackRequestSkipsShortUsers: with attack.samples = m, a user left
// with fewer than m attacker samples (by the overlap drop) is not attacked
// and is counted, and the others get exactly m.
func TestAttackRequestSkipsShortUsers(t *testing.T) {
	var recs []data.Record
	for u, n := range map[string]int{"a": 3, "b": 1, "c": 2} {
		for i := range n {
			recs = append(recs, data.Record{UserID: u, DocID: u + string(rune('0'+i)), Text: "text " + u + string(rune('0'+i))})
		}
	}
	slices.SortFunc(recs, func(x, y data.Record) int { return strings.Compare(x.DocID, y.DocID) })
	path := filepath.Join(t.TempDir(), "attacker.parquet")
	if err := data.WriteFile(path, recs); err != nil {
		t.Fatal(err)
	}
	req, short, err := attackRequest(path, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if short != 1 || len(req.Users) != 2 {
		t.Fatalf("short %d, users %+v; want b skipped", short, req.Users)
	}
	for _, u := range req.Users {
		if u.UserID == "b" || len(u.Texts) != 2 {
			t.Errorf("user %s has %d samples, want 2 (and b skipped)", u.UserID, len(u.Texts))
		}
	}
	if req, short, _ = attackRequest(path, 0, 1); short != 0 || len(req.Users) != 3 {
		t.Errorf("m = 0: short %d, %d users; want every user with all samples", short, len(req.Users))
	}
}

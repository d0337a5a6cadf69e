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
	req, short, err := attackRequest(path, 2, 0, 1)
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
	if req, short, _ = attackRequest(path, 0, 0, 1); short != 0 || len(req.Users) != 3 {
		t.Errorf("m = 0: short %d, %d users; want every user with all samples", short, len(req.Users))
	}
	// attack.min_samples = 3: only a (3 samples) is attacked, at m = 1 too,
	// and its one sample is the first of its m = 2 samples.
	one, short, _ := attackRequest(path, 1, 3, 1)
	two, _, _ := attackRequest(path, 2, 3, 1)
	if short != 2 || len(one.Users) != 1 || one.Users[0].UserID != "a" || len(one.Users[0].Texts) != 1 {
		t.Fatalf("min_samples 3, m 1: short %d, users %+v; want a alone with 1 sample", short, one.Users)
	}
	if one.Users[0].Texts[0] != two.Users[0].Texts[0] {
		t.Errorf("m = 1's sample %q is not the first of m = 2's %q", one.Users[0].Texts[0], two.Users[0].Texts)
	}
}

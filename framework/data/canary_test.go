package data

import (
	"fmt"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
)

// TestCanaryUsersDoNotDependOnLength: a sweep over the canary's length
// plants canaries in the same users (held in and held out), so that the
// canary AUROC at two lengths compares the same people.
func TestCanaryUsersDoNotDependOnLength(t *testing.T) {
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	recs := synthetic(40, 6)
	var heldIn, heldOut []string
	for u := range 40 {
		if u%2 == 0 {
			heldIn = append(heldIn, fmt.Sprintf("u%02d", u))
		} else {
			heldOut = append(heldOut, fmt.Sprintf("u%02d", u))
		}
	}
	users := func(tokens int) []string {
		_, cs, err := InsertCanaries(recs, heldIn, heldOut, tok, CanaryConfig{Users: 20, Tokens: tokens, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range cs {
			ids = append(ids, fmt.Sprint(c.UserID, c.Member))
		}
		return ids
	}
	short := users(3)
	for _, tokens := range []int{8, 20, 40, 80} {
		if got := users(tokens); !slices.Equal(got, short) {
			t.Errorf("canary users at %d tokens %v, at 3 tokens %v", tokens, got, short)
		}
	}
}

// TestCanariesStayValidUTF8: a window of tokens can cut a multi-byte
// character spelt by byte-fallback tokens; canaries drawn from text full
// of them must still leave every document valid UTF-8 (a reddit split
// once failed to read back: "invalid UTF-8").
func TestCanariesStayValidUTF8(t *testing.T) {
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	var in, out []string
	for u := range 20 {
		id := fmt.Sprintf("u%02d", u)
		for d := range 5 {
			recs = append(recs, Record{UserID: id, DocID: fmt.Sprintf("%s-%d", id, d),
				Text: fmt.Sprintf("Ça va? Très bien 👍 — naïve café №%d, 東京 ✓ über 😀 %d", d, u)})
		}
		if u%2 == 0 {
			in = append(in, id)
		} else {
			out = append(out, id)
		}
	}
	for seed := range uint64(20) {
		for _, tokens := range []int{3, 7, 12} {
			got, _, err := InsertCanaries(recs, in, out, tok, CanaryConfig{Users: 10, Tokens: tokens, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got {
				if !utf8.ValidString(r.Text) {
					t.Fatalf("seed %d, %d tokens: document %s is not valid UTF-8: %q", seed, tokens, r.DocID, r.Text)
				}
			}
		}
	}
}

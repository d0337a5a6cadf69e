package data

import (
	"fmt"
	"slices"
	"testing"

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

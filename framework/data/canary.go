package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/privlm/privlm/framework/tokenizer"
)

// CanaryConfig describes canary users (Kandpal et al.): each chosen user
// gets one substring of Tokens tokens, taken from one of their own
// documents, inserted into all of their documents.
type CanaryConfig struct {
	Users  int    `json:"users"`  // number of canary users
	Tokens int    `json:"tokens"` // substring length L in tokens
	Seed   uint64 `json:"seed"`
}

// Canary records what was inserted for one user.
type Canary struct {
	UserID    string `json:"user_id"`
	Substring string `json:"substring"`
	SourceDoc string `json:"source_doc"`
}

// InsertCanaries picks cfg.Users users among candidates (sorted, then drawn
// from the seed), takes a random window of cfg.Tokens tokens from one of
// each user's documents (which must have that many), and inserts its text at
// a random word boundary of every document of that user. Other records are
// returned unchanged.
func InsertCanaries(recs []Record, candidates []string, tok tokenizer.Tokenizer, cfg CanaryConfig) ([]Record, []Canary, error) {
	if cfg.Users <= 0 {
		return slices.Clone(recs), nil, nil
	}
	if cfg.Tokens <= 0 {
		return nil, nil, fmt.Errorf("canaries: tokens = %d, want > 0", cfg.Tokens)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0xca4a71))
	byUser := ByUser(recs)
	pool := slices.Clone(candidates)
	slices.Sort(pool)
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	var canaries []Canary
	chosen := map[string]string{}
	for _, u := range pool {
		if len(canaries) == cfg.Users {
			break
		}
		docs := byUser[u]
		// Find a document long enough for the window.
		order := r.Perm(len(docs))
		for _, di := range order {
			ids := tok.Encode(docs[di].Text)
			if len(ids) < cfg.Tokens+1 {
				continue
			}
			start := 1 + r.IntN(len(ids)-cfg.Tokens) // skip the first token (dummy-prefix artefacts)
			sub := strings.TrimSpace(tok.Decode(ids[start : start+cfg.Tokens]))
			if sub == "" {
				continue
			}
			canaries = append(canaries, Canary{UserID: u, Substring: sub, SourceDoc: docs[di].DocID})
			chosen[u] = sub
			break
		}
	}
	if len(canaries) < cfg.Users {
		return nil, nil, fmt.Errorf("canaries: only %d of %d users have a document of more than %d tokens", len(canaries), cfg.Users, cfg.Tokens)
	}
	out := make([]Record, len(recs))
	for i, rec := range recs {
		out[i] = rec
		if sub, ok := chosen[rec.UserID]; ok && !strings.Contains(rec.Text, sub) {
			out[i].Text = insertAtWordBoundary(rec.Text, sub, r)
		}
	}
	return out, canaries, nil
}

func insertAtWordBoundary(text, sub string, r *rand.Rand) string {
	var cuts []int
	for i, c := range text {
		if c == ' ' || c == '\n' {
			cuts = append(cuts, i)
		}
	}
	if len(cuts) == 0 {
		return text + " " + sub
	}
	at := cuts[r.IntN(len(cuts))]
	return text[:at] + " " + sub + text[at:]
}

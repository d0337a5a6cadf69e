package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/privlm/privlm/framework/tokenizer"
)

// CanaryConfig describes canary users (Kandpal et al.): each chosen user
// gets one substring of Tokens tokens, taken from their own text, inserted
// into all of their documents.
type CanaryConfig struct {
	Users  int    `json:"users"`  // number of canary users
	Tokens int    `json:"tokens"` // substring length L in tokens
	Seed   uint64 `json:"seed"`
	// WithinTokens > 0 places the canary inside the first WithinTokens
	// tokens of every document (the part a scorer limited to that many
	// tokens sees, as attack.max_tokens); 0 places it anywhere.
	WithinTokens int `json:"within_tokens,omitempty"`
}

// ConcatenatedSource is Canary.SourceDoc when no single document of the
// user had more than CanaryConfig.Tokens tokens and the substring was
// taken from the user's documents joined by newlines.
const ConcatenatedSource = "(concatenated documents)"

// Canary records what was inserted for one user.
type Canary struct {
	UserID    string `json:"user_id"`
	Member    bool   `json:"member"`
	Substring string `json:"substring"`
	SourceDoc string `json:"source_doc"`
}

// InsertCanaries makes cfg.Users canary users: half of them (the odd one
// to a group drawn from the seed) among heldIn, half among heldOut, drawn
// without regard to document length. Each user's substring is a random
// window of cfg.Tokens tokens of one of their documents with more tokens
// than that, or, when none has, of their documents joined by newlines
// (SourceDoc ConcatenatedSource); a user whose whole text is too short is
// an error. The substring is inserted at a random word boundary (or the
// start) of every document of the user, within the first cfg.WithinTokens
// tokens when that is set. Other records are returned unchanged.
func InsertCanaries(recs []Record, heldIn, heldOut []string, tok tokenizer.Tokenizer, cfg CanaryConfig) ([]Record, []Canary, error) {
	if cfg.Users <= 0 {
		return slices.Clone(recs), nil, nil
	}
	if cfg.Tokens <= 0 {
		return nil, nil, fmt.Errorf("canaries: tokens = %d, want > 0", cfg.Tokens)
	}
	if cfg.WithinTokens > 0 && cfg.Tokens+2 > cfg.WithinTokens {
		return nil, nil, fmt.Errorf("canaries: a canary of %d tokens does not fit in the first %d tokens that are scored (attack.max_tokens)", cfg.Tokens, cfg.WithinTokens)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0xca4a71))
	nIn := cfg.Users / 2
	if cfg.Users%2 == 1 && r.IntN(2) == 0 {
		nIn++
	}
	nOut := cfg.Users - nIn
	if len(heldIn) < nIn || len(heldOut) < nOut {
		return nil, nil, fmt.Errorf("canaries: %d canary users want %d held-in and %d held-out users, the split has %d and %d", cfg.Users, nIn, nOut, len(heldIn), len(heldOut))
	}
	byUser := ByUser(recs)
	draw := func(users []string, n int) []string {
		pool := slices.Clone(users)
		slices.Sort(pool)
		r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		return pool[:n]
	}
	var canaries []Canary
	chosen := map[string]string{}
	// Both groups are drawn before any substring, so that the canary users
	// depend on the seed and the split alone, not on cfg.Tokens: a sweep
	// over the substring's length plants canaries in the same users.
	inUsers, outUsers := draw(heldIn, nIn), draw(heldOut, nOut)
	for _, group := range []struct {
		users  []string
		member bool
	}{{inUsers, true}, {outUsers, false}} {
		for _, u := range group.users {
			sub, source, err := canarySubstring(byUser[u], tok, cfg.Tokens, r)
			if err != nil {
				return nil, nil, fmt.Errorf("canaries: user %s: %w", u, err)
			}
			canaries = append(canaries, Canary{UserID: u, Member: group.member, Substring: sub, SourceDoc: source})
			chosen[u] = sub
		}
	}
	slices.SortFunc(canaries, func(a, b Canary) int { return strings.Compare(a.UserID, b.UserID) })
	out := make([]Record, len(recs))
	for i, rec := range recs {
		out[i] = rec
		sub, ok := chosen[rec.UserID]
		if !ok {
			continue
		}
		// The source document has it already (inside the scored part?).
		if has := strings.Contains(rec.Text, sub); !has || (cfg.WithinTokens > 0 && !scoredContains(rec.Text, sub, tok, cfg.WithinTokens)) {
			out[i].Text = insertCanary(rec.Text, sub, tok, cfg.WithinTokens, r)
		}
	}
	return out, canaries, nil
}

// canarySubstring draws a window of n tokens that decodes to valid UTF-8
// from one of docs with more than n tokens, else from all of docs joined
// by newlines.
func canarySubstring(docs []Record, tok tokenizer.Tokenizer, n int, r *rand.Rand) (sub, source string, err error) {
	window := func(text string) string {
		ids := tok.Encode(text)
		if len(ids) < n+1 {
			return ""
		}
		// A window may cut a character that byte-fallback tokens spell
		// byte by byte; inserted, it would make invalid UTF-8. Draw
		// another (a few times) until the window decodes to whole
		// characters.
		for range 16 {
			start := 1 + r.IntN(len(ids)-n) // skip the first token (dummy-prefix artefacts)
			if s := strings.TrimSpace(tok.Decode(ids[start : start+n])); s != "" && utf8.ValidString(s) {
				return s
			}
		}
		return ""
	}
	for _, di := range r.Perm(len(docs)) {
		if s := window(docs[di].Text); s != "" {
			return s, docs[di].DocID, nil
		}
	}
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Text
	}
	if s := window(strings.Join(texts, "\n")); s != "" {
		return s, ConcatenatedSource, nil
	}
	return "", "", fmt.Errorf("the user's %d documents together have no %d-token window of text", len(docs), n)
}

// insertCanary inserts sub at a random word boundary of text (or at its
// start). With within > 0 only boundaries where the whole of sub lies in
// the first within tokens of the result qualify; the start always does.
func insertCanary(text, sub string, tok tokenizer.Tokenizer, within int, r *rand.Rand) string {
	cuts := []int{0}
	for i, c := range text {
		if i > 0 && (c == ' ' || c == '\n') {
			cuts = append(cuts, i)
		}
	}
	at := func(cut int) string {
		if cut == 0 {
			return sub + " " + text
		}
		return text[:cut] + " " + sub + text[cut:]
	}
	if within <= 0 {
		return at(cuts[r.IntN(len(cuts))])
	}
	// The boundaries whose prefix and canary fit in the window; token counts
	// grow with the cut, so stop at the first that does not fit.
	fit := 1
	for fit < len(cuts) && len(tok.Encode(text[:cuts[fit]]+" "+sub)) <= within-1 {
		fit++
	}
	for _, i := range r.Perm(fit) {
		if out := at(cuts[i]); scoredContains(out, sub, tok, within) {
			return out
		}
	}
	return at(0)
}

// scoredContains reports whether the first n tokens of text contain sub.
func scoredContains(text, sub string, tok tokenizer.Tokenizer, n int) bool {
	ids := tok.Encode(text)
	return strings.Contains(tok.Decode(ids[:min(n, len(ids))]), sub)
}

package data

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
)

// CapPerUser keeps at most maxDocs documents of each capped user, a random
// subset drawn from seed, and keeps the input order otherwise. users is
// the fraction of users capped: 1 caps everyone; below 1, round(users x
// the number of users) of them, drawn from seed (CappedUsers), so that
// within one model some users contribute few documents and the others all
// of theirs. maxDocs <= 0 keeps all.
func CapPerUser(recs []Record, maxDocs int, users float64, seed uint64) []Record {
	if maxDocs <= 0 {
		return slices.Clone(recs)
	}
	byUser := map[string][]int{}
	var ids []string
	for i, r := range recs {
		if _, ok := byUser[r.UserID]; !ok {
			ids = append(ids, r.UserID)
		}
		byUser[r.UserID] = append(byUser[r.UserID], i)
	}
	capped := CappedUsers(ids, users, seed)
	keep := make([]bool, len(recs))
	for u, idx := range byUser {
		if !capped[u] {
			for _, i := range idx {
				keep[i] = true
			}
			continue
		}
		r := rand.New(rand.NewPCG(seed, userHash(u)))
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx[:min(maxDocs, len(idx))] {
			keep[i] = true
		}
	}
	out := make([]Record, 0, len(recs))
	for i, r := range recs {
		if keep[i] {
			out = append(out, r)
		}
	}
	return out
}

// CappedUsers draws the users CapPerUser caps: all of them when fraction
// >= 1, else round(fraction x len(users)) of them, drawn from seed over
// the sorted ids.
func CappedUsers(users []string, fraction float64, seed uint64) map[string]bool {
	ids := slices.Clone(users)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if fraction < 1 {
		r := rand.New(rand.NewPCG(seed, 0x63617073))
		r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		ids = ids[:int(fraction*float64(len(ids))+0.5)]
	}
	out := make(map[string]bool, len(ids))
	for _, u := range ids {
		out[u] = true
	}
	return out
}

func userHash(u string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(u))
	return h.Sum64()
}

// NormalizeText is what exact deduplication compares: lower case, runs of
// whitespace and punctuation collapsed.
func NormalizeText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
		} else {
			space = true
		}
	}
	return b.String()
}

// DedupConfig configures within-user deduplication.
type DedupConfig struct {
	// NearThreshold > 0 also removes near duplicates: documents whose word
	// 3-gram shingle sets have estimated Jaccard similarity >= NearThreshold
	// (MinHash with 128 permutations) to an earlier document of the same user.
	NearThreshold float64 `json:"near_threshold"`
}

// DedupWithinUser removes a user's documents that duplicate an earlier
// document of the same user (exactly, after NormalizeText, and with
// cfg.NearThreshold also nearly). Different users may share text.
func DedupWithinUser(recs []Record, cfg DedupConfig) []Record {
	type seenDoc struct{ sig []uint64 }
	exact := map[string]map[string]bool{}
	near := map[string][]seenDoc{}
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		norm := NormalizeText(r.Text)
		if exact[r.UserID] == nil {
			exact[r.UserID] = map[string]bool{}
		}
		if exact[r.UserID][norm] {
			continue
		}
		if cfg.NearThreshold > 0 {
			sig := minHash(norm)
			dup := false
			for _, d := range near[r.UserID] {
				if jaccardEstimate(sig, d.sig) >= cfg.NearThreshold {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
			near[r.UserID] = append(near[r.UserID], seenDoc{sig})
		}
		exact[r.UserID][norm] = true
		out = append(out, r)
	}
	return out
}

const minHashPerms = 128

// minHash is the MinHash signature of a text's word 3-gram shingles (single
// words for texts shorter than 3 words).
func minHash(norm string) []uint64 {
	words := strings.Fields(norm)
	n := 3
	if len(words) < n {
		n = 1
	}
	sig := make([]uint64, minHashPerms)
	for i := range sig {
		sig[i] = math.MaxUint64
	}
	for i := 0; i+n <= len(words); i++ {
		h := fnv.New64a()
		h.Write([]byte(strings.Join(words[i:i+n], " ")))
		base := h.Sum64()
		for p := range sig {
			// Cheap independent permutations: multiply-xorshift mixes of base.
			x := base ^ (uint64(p+1) * 0x9e3779b97f4a7c15)
			x ^= x >> 33
			x *= 0xff51afd7ed558ccd
			x ^= x >> 33
			if x < sig[p] {
				sig[p] = x
			}
		}
	}
	return sig
}

func jaccardEstimate(a, b []uint64) float64 {
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / float64(len(a))
}

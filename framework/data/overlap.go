package data

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
)

// Attacker/training overlap: exact copies (same NormalizeText) and near
// copies.
//
// Near-duplicate matching (MinHash over word shingles, verified exactly).
//
// Two texts are near copies when the Jaccard similarity of their sets of
// ShingleWords-word shingles (of the normalised text) is at least
// NearJaccard: the setting of Lee et al., "Deduplicating Training Data
// Makes Language Models Better" (ACL 2022; 5-grams, Jaccard 0.8). MinHash
// with LSH banding only proposes candidate pairs; every candidate's
// Jaccard is then computed exactly on the shingle sets, so the threshold
// is exact and the only error is a missed pair (probability below 1e-6 at
// Jaccard 0.8 with these bands). A text of fewer than ShingleWords words
// is one shingle: its near copies are its exact copies.
//
// A text is also a near copy when it is contained in the indexed
// documents: at least NearContainment of its shingles occur among the
// shingles of all indexed documents together (a quote of the text inside a
// longer document has a low Jaccard but full containment). Containment is
// judged against the union of the indexed documents' shingles (a sorted
// slice, 8 bytes a shingle), so shingles spread over several documents
// count too: the rule errs towards calling a text copied.
const (
	ShingleWords    = 5
	NearJaccard     = 0.8
	NearContainment = 0.8
	minHashBands    = 32
	minHashRows     = 4 // minHashBands x minHashRows hash functions
)

// shingles is the set of hashed ShingleWords-word shingles of a normalised text.
func shingles(norm string) map[uint64]struct{} {
	words := strings.Fields(norm)
	set := map[uint64]struct{}{}
	if len(words) == 0 {
		return set
	}
	n := min(ShingleWords, len(words))
	for i := 0; i+n <= len(words); i++ {
		h := fnv.New64a()
		for _, w := range words[i : i+n] {
			h.Write([]byte(w))
			h.Write([]byte{0})
		}
		set[h.Sum64()] = struct{}{}
	}
	return set
}

func jaccard(a, b map[uint64]struct{}) float64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	inter := 0
	for k := range a {
		if _, ok := b[k]; ok {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// OverlapIndex finds exact (normalised) and near copies of a text among
// the documents added to it.
type OverlapIndex struct {
	exact   map[string]bool
	sets    []map[uint64]struct{}
	buckets map[[2]uint64][]int32 // (band, band hash) -> indexes in sets
	seeds   [minHashBands * minHashRows]uint64
	all     []uint64 // every indexed shingle, sorted, distinct
}

// NewOverlapIndex indexes docs.
func NewOverlapIndex(docs []Record) *OverlapIndex {
	ix := &OverlapIndex{exact: map[string]bool{}, buckets: map[[2]uint64][]int32{}}
	r := rand.New(rand.NewPCG(0x6d696e68, 0x61736821)) // fixed: results must not depend on a seed
	for i := range ix.seeds {
		ix.seeds[i] = r.Uint64() | 1
	}
	for _, d := range docs {
		norm := NormalizeText(d.Text)
		if ix.exact[norm] {
			continue // a second exact copy adds no near copies
		}
		ix.exact[norm] = true
		set := shingles(norm)
		id := int32(len(ix.sets))
		ix.sets = append(ix.sets, set)
		for band, key := range ix.bandKeys(set) {
			k := [2]uint64{uint64(band), key}
			ix.buckets[k] = append(ix.buckets[k], id)
		}
		for x := range set {
			ix.all = append(ix.all, x)
		}
	}
	slices.Sort(ix.all)
	ix.all = slices.Compact(ix.all)
	return ix
}

// contained reports whether at least NearContainment of set's shingles
// occur among the indexed shingles.
func (ix *OverlapIndex) contained(set map[uint64]struct{}) bool {
	if len(set) == 0 {
		return false
	}
	in := 0
	for x := range set {
		if _, ok := slices.BinarySearch(ix.all, x); ok {
			in++
		}
	}
	return float64(in) >= NearContainment*float64(len(set))
}

// bandKeys is the LSH key of each band of the set's MinHash signature.
func (ix *OverlapIndex) bandKeys(set map[uint64]struct{}) [minHashBands]uint64 {
	var sig [minHashBands * minHashRows]uint64
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	for x := range set {
		for i, s := range ix.seeds {
			if h := mix(x ^ s); h < sig[i] {
				sig[i] = h
			}
		}
	}
	var keys [minHashBands]uint64
	for b := range keys {
		h := uint64(14695981039346656037)
		for _, v := range sig[b*minHashRows : (b+1)*minHashRows] {
			h = (h ^ v) * 1099511628211
		}
		keys[b] = h
	}
	return keys
}

// mix is the splitmix64 finaliser: a good 64-bit hash of a 64-bit value.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Match reports whether text has an exact (normalised) copy among the
// indexed documents, else whether it has a near copy (Jaccard of shingle
// sets >= NearJaccard with one document, or containment of its shingles in
// the indexed shingles >= NearContainment). An empty normalised text
// matches nothing.
func (ix *OverlapIndex) Match(text string) (exact, near bool) {
	norm := NormalizeText(text)
	if norm == "" {
		return false, false
	}
	if ix.exact[norm] {
		return true, false
	}
	set := shingles(norm)
	if ix.contained(set) {
		return false, true
	}
	tried := map[int32]bool{}
	for band, key := range ix.bandKeys(set) {
		for _, id := range ix.buckets[[2]uint64{uint64(band), key}] {
			if tried[id] {
				continue
			}
			tried[id] = true
			if jaccard(set, ix.sets[id]) >= NearJaccard {
				return false, true
			}
		}
	}
	return false, false
}

// Policies for attacker samples with a copy in the training data.
const (
	OverlapDrop = "drop" // drop the sample from the attacker's knowledge
	OverlapKeep = "keep" // keep it (and report it)
)

// OverlapCounts counts attacker samples with an exact or near copy (near:
// near but not exact) elsewhere. Train covers the non-attacker documents of
// every attack user, held-in (Train, trained on) and held-out
// (HeldOutRest) alike, the sample's own user included: every attack user
// is judged as if trained on, so the rule selects the same way in both
// groups. Validation covers the validation users' documents (never trained
// on: counted, not dropped); Pool the documents a reference model is
// adapted on (split.pretrain users and the pretrain.parquet pool), which
// the reference and the target fine-tuned from it were trained on.
type OverlapCounts struct {
	Samples         int `json:"samples"`
	TrainExact      int `json:"train_exact"`
	TrainNear       int `json:"train_near"`
	ValidationExact int `json:"validation_exact"`
	ValidationNear  int `json:"validation_near"`
	PoolExact       int `json:"pool_exact"`
	PoolNear        int `json:"pool_near"`
	// Dropped samples (policy drop: those with a copy in Train or Pool) and users
	// left with no attacker sample, who leave the attack.
	Dropped      int `json:"dropped"`
	UsersDropped int `json:"users_dropped"`
}

func (c *OverlapCounts) add(o OverlapCounts) {
	c.Samples += o.Samples
	c.TrainExact += o.TrainExact
	c.TrainNear += o.TrainNear
	c.ValidationExact += o.ValidationExact
	c.ValidationNear += o.ValidationNear
	c.PoolExact += o.PoolExact
	c.PoolNear += o.PoolNear
	c.Dropped += o.Dropped
	c.UsersDropped += o.UsersDropped
}

// OverlapReport is what CheckAttackerOverlap found, by attack group and in
// total.
type OverlapReport struct {
	Policy       string  `json:"policy"`
	ShingleWords int     `json:"shingle_words"`
	NearJaccard  float64 `json:"near_jaccard"`
	// NearContainment: the share of a sample's shingles found among the
	// indexed documents' shingles that makes it a near copy.
	NearContainment float64       `json:"near_containment"`
	HeldIn          OverlapCounts `json:"held_in"`
	HeldOut         OverlapCounts `json:"held_out"`
	Total           OverlapCounts `json:"total"`
	// DroppedUsers are the users left with no attacker sample, sorted.
	DroppedUsers []string `json:"dropped_users,omitempty"`
}

// CheckAttackerOverlap compares every attacker sample of s with the
// non-attacker documents of every attack user (s.Train and s.HeldOutRest),
// the validation documents, and the pretraining documents (s.Pretrain and
// pool, the reference's adaptation data, may be nil). It returns the
// counts and, for policy OverlapDrop, the DocIDs of the attacker samples
// with an exact or near copy in an attack user's documents or in the
// pretraining documents, to be removed with DropAttackerDocs (policy
// OverlapKeep drops nothing). Held-in and held-out users follow the same
// rule: nothing the attacker scores has a copy in anything trained on, and
// no rule tells members from non-members. Validation copies are counted
// only (validation is not trained on). It does not change s.
func CheckAttackerOverlap(s *Split, pool []Record, policy string) (OverlapReport, map[string]bool, error) {
	if policy != OverlapDrop && policy != OverlapKeep {
		return OverlapReport{}, nil, fmt.Errorf("split: attacker_overlap = %q, want %s or %s", policy, OverlapDrop, OverlapKeep)
	}
	train := NewOverlapIndex(append(slices.Clone(s.Train), s.HeldOutRest...))
	val := NewOverlapIndex(s.Validation)
	poolIx := NewOverlapIndex(append(slices.Clone(s.Pretrain), pool...))
	rep := OverlapReport{Policy: policy, ShingleWords: ShingleWords, NearJaccard: NearJaccard, NearContainment: NearContainment}
	drop := map[string]bool{}
	users := make([]string, 0, len(s.Attacker))
	for u := range s.Attacker {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		var c OverlapCounts
		kept := 0
		for _, d := range s.Attacker[u] {
			c.Samples++
			e, n := train.Match(d.Text)
			c.TrainExact += b2i(e)
			c.TrainNear += b2i(n)
			ve, vn := val.Match(d.Text)
			c.ValidationExact += b2i(ve)
			c.ValidationNear += b2i(vn)
			pe, pn := poolIx.Match(d.Text)
			c.PoolExact += b2i(pe)
			c.PoolNear += b2i(pn)
			if policy == OverlapDrop && (e || n || pe || pn) {
				drop[d.DocID] = true
				c.Dropped++
			} else {
				kept++
			}
		}
		if kept == 0 {
			c.UsersDropped = 1
			rep.DroppedUsers = append(rep.DroppedUsers, u)
		}
		if s.Member(u) {
			rep.HeldIn.add(c)
		} else {
			rep.HeldOut.add(c)
		}
		rep.Total.add(c)
	}
	return rep, drop, nil
}

// DropAttackerDocs removes the attacker samples whose DocID is in ids;
// a user left with none is removed from s.Attacker (they leave the attack;
// their training documents stay in s.Train, and HeldIn/HeldOut keep them).
func (s *Split) DropAttackerDocs(ids map[string]bool) {
	for u, docs := range s.Attacker {
		kept := slices.DeleteFunc(slices.Clone(docs), func(d Record) bool { return ids[d.DocID] })
		if len(kept) == 0 {
			delete(s.Attacker, u)
		} else {
			s.Attacker[u] = kept
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

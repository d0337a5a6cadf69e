package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomText is n words drawn from a vocabulary of 500 made-up words.
func randomText(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("w%dx", r.IntN(500))
	}
	return strings.Join(w, " ")
}

// naiveShingles is the set of 5-word shingles of s, as strings
// (independently of the hashed sets the index uses).
func naiveShingles(s string) map[string]bool {
	w := strings.Fields(NormalizeText(s))
	n := min(5, len(w))
	m := map[string]bool{}
	for i := 0; i+n <= len(w) && n > 0; i++ {
		m[strings.Join(w[i:i+n], " ")] = true
	}
	return m
}

// naiveContainment is the share of query's shingles in all (a union of
// naiveShingles).
func naiveContainment(query string, all map[string]bool) float64 {
	q := naiveShingles(query)
	in := 0
	for k := range q {
		if all[k] {
			in++
		}
	}
	if len(q) == 0 {
		return 0
	}
	return float64(in) / float64(len(q))
}

// naiveJaccard is the Jaccard similarity of 5-word shingle sets.
func naiveJaccard(a, b string) float64 {
	sa, sb := naiveShingles(a), naiveShingles(b)
	inter := 0
	for k := range sa {
		if sb[k] {
			inter++
		}
	}
	if u := len(sa) + len(sb) - inter; u > 0 {
		return float64(inter) / float64(u)
	}
	return 0
}

// edit replaces k random words of text.
func edit(r *rand.Rand, text string, k int) string {
	w := strings.Fields(text)
	for range k {
		w[r.IntN(len(w))] = fmt.Sprintf("z%dz", r.IntN(1000))
	}
	return strings.Join(w, " ")
}

func TestOverlapIndexMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var docs []Record
	for i := range 300 {
		docs = append(docs, Record{UserID: "u", DocID: fmt.Sprint(i), Text: randomText(r, 20+r.IntN(80))})
	}
	ix := NewOverlapIndex(docs)
	all := map[string]bool{}
	for _, d := range docs {
		for k := range naiveShingles(d.Text) {
			all[k] = true
		}
	}
	nearSeen, farSeen := 0, 0
	for q := range 600 {
		src := docs[r.IntN(len(docs))].Text
		query := edit(r, src, r.IntN(6))
		if q%7 == 0 {
			query = randomText(r, 40)
		}
		wantExact, wantNear := false, false
		for _, d := range docs {
			if NormalizeText(d.Text) == NormalizeText(query) {
				wantExact = true
			}
		}
		if !wantExact {
			for _, d := range docs {
				if naiveJaccard(d.Text, query) >= NearJaccard {
					wantNear = true
				}
			}
			wantNear = wantNear || naiveContainment(query, all) >= NearContainment
		}
		e, n := ix.Match(query)
		if e != wantExact || n != wantNear {
			t.Fatalf("query %d: Match = (exact %v, near %v), naive (exact %v, near %v)", q, e, n, wantExact, wantNear)
		}
		if wantNear {
			nearSeen++
		} else if !wantExact {
			farSeen++
		}
	}
	if nearSeen < 50 || farSeen < 50 {
		t.Fatalf("test data too one-sided: %d near, %d neither", nearSeen, farSeen)
	}
}

func TestNormalizedExactMatch(t *testing.T) {
	ix := NewOverlapIndex([]Record{{Text: "Hello, World!\n\nSee you   at 5pm."}})
	if e, _ := ix.Match("hello world see you at 5PM"); !e {
		t.Fatal("case, punctuation and white space should not matter")
	}
	if e, n := ix.Match("hello world see you at 6pm"); e || n {
		t.Fatal("a different short text matched")
	}
	if e, n := ix.Match("?!"); e || n {
		t.Fatal("a text without letters or digits matched")
	}
}

// leakySplit is a split of distinct random documents with copies planted
// across the attacker/training line.
func leakySplit(t *testing.T) (*Split, string, string, string) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var recs []Record
	for u := range 20 {
		for d := range 10 {
			recs = append(recs, Record{UserID: fmt.Sprintf("u%02d", u), DocID: fmt.Sprintf("u%02d-%d", u, d), Text: randomText(r, 60)})
		}
	}
	c := DefaultSplitConfig(7)
	c.ValidationFraction = 0
	s, err := MakeSplit(recs, c)
	if err != nil {
		t.Fatal(err)
	}
	in, out := s.HeldIn[0], s.HeldOut[0]
	// 1. A held-in user's attacker sample, re-cased and re-punctuated, is
	//    also one of their training documents.
	exact := s.Attacker[in][0]
	for i := range s.Train {
		if s.Train[i].UserID == in {
			s.Train[i].Text = strings.ToUpper(strings.ReplaceAll(exact.Text, " ", ",  "))
			break
		}
	}
	// 2. A held-out user's attacker sample, with one word changed, is in
	//    another (held-in) user's training data.
	near := s.Attacker[out][0]
	edited := edit(r, near.Text, 1)
	if j := naiveJaccard(edited, near.Text); j < NearJaccard || j == 1 {
		t.Fatalf("planted near copy has Jaccard %v", j)
	}
	for i := range s.Train {
		if s.Train[i].UserID != in {
			s.Train[i].Text = edited
			break
		}
	}
	return s, in, out, near.DocID
}

func TestAttackerOverlapDropped(t *testing.T) {
	s, in, out, nearID := leakySplit(t)
	exactID := s.Attacker[in][0].DocID
	nIn, nOut := len(s.Attacker[in]), len(s.Attacker[out])
	rep, drop, err := CheckAttackerOverlap(s, nil, OverlapDrop)
	if err != nil {
		t.Fatal(err)
	}
	if rep.HeldIn.TrainExact != 1 || rep.HeldIn.TrainNear != 0 || rep.HeldOut.TrainNear != 1 || rep.HeldOut.TrainExact != 0 || rep.Total.Dropped != 2 {
		t.Fatalf("report %+v", rep)
	}
	if len(drop) != 2 || !drop[exactID] || !drop[nearID] {
		t.Fatalf("drop = %v, want %s and %s", drop, exactID, nearID)
	}
	s.DropAttackerDocs(drop)
	for u, docs := range s.Attacker {
		for _, d := range docs {
			if d.DocID == exactID || d.DocID == nearID {
				t.Fatalf("user %s still has attacker sample %s", u, d.DocID)
			}
		}
	}
	if len(s.Attacker[in]) != nIn-1 || len(s.Attacker[out]) != nOut-1 {
		t.Fatalf("attacker samples %d/%d, want %d/%d", len(s.Attacker[in]), len(s.Attacker[out]), nIn-1, nOut-1)
	}

	// keep: the same counts, nothing dropped.
	s2, _, _, _ := leakySplit(t)
	rep2, drop2, err := CheckAttackerOverlap(s2, nil, OverlapKeep)
	if err != nil {
		t.Fatal(err)
	}
	if len(drop2) != 0 || rep2.Total.Dropped != 0 || rep2.Total.TrainExact != 1 || rep2.Total.TrainNear != 1 {
		t.Fatalf("keep: drop %v, report %+v", drop2, rep2.Total)
	}
	if _, _, err := CheckAttackerOverlap(s2, nil, "maybe"); err == nil || !strings.Contains(err.Error(), "attacker_overlap") {
		t.Fatalf("bad policy: %v", err)
	}
}

func TestAttackerOverlapDropsUserWithoutSamples(t *testing.T) {
	s, in, _, _ := leakySplit(t)
	// Every attacker sample of the held-in user is also in the pool and the
	// training data.
	var pool []Record
	for _, d := range s.Attacker[in] {
		s.Train = append(s.Train, Record{UserID: in, DocID: d.DocID + "-copy", Text: d.Text})
		pool = append(pool, Record{UserID: "pool", DocID: d.DocID + "-pool", Text: d.Text + " and more"})
	}
	n := len(s.Attacker[in])
	rep, drop, err := CheckAttackerOverlap(s, pool, OverlapDrop)
	if err != nil {
		t.Fatal(err)
	}
	if rep.HeldIn.UsersDropped != 1 || !slices.Contains(rep.DroppedUsers, in) || rep.HeldIn.PoolExact+rep.HeldIn.PoolNear != n {
		t.Fatalf("report %+v", rep)
	}
	s.DropAttackerDocs(drop)
	if _, ok := s.Attacker[in]; ok {
		t.Fatal("a user without attacker samples is still attacked")
	}
	if !s.Member(in) {
		t.Fatal("the dropped user's membership changed")
	}
}

// cleanSplit is a split of distinct random documents (no copies anywhere).
func cleanSplit(t *testing.T) (*Split, *rand.Rand) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	var recs []Record
	for u := range 20 {
		for d := range 10 {
			recs = append(recs, Record{UserID: fmt.Sprintf("u%02d", u), DocID: fmt.Sprintf("u%02d-%d", u, d), Text: randomText(r, 60)})
		}
	}
	c := DefaultSplitConfig(7)
	c.ValidationFraction = 0
	s, err := MakeSplit(recs, c)
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

// The drop rule is the same for both groups: a held-out user's attacker
// sample copied among their own held-back documents is dropped just like a
// held-in user's copied among their training documents (else users who
// leave the attack would almost all be members).
func TestAttackerOverlapSameRuleBothGroups(t *testing.T) {
	s, _ := cleanSplit(t)
	in, out := s.HeldIn[0], s.HeldOut[0]
	plant := func(docs []Record, u string, text string) {
		for i := range docs {
			if docs[i].UserID == u {
				docs[i].Text = text
				return
			}
		}
		t.Fatalf("user %s has no document to overwrite", u)
	}
	plant(s.Train, in, s.Attacker[in][0].Text)
	plant(s.HeldOutRest, out, s.Attacker[out][0].Text)
	rep, drop, err := CheckAttackerOverlap(s, nil, OverlapDrop)
	if err != nil {
		t.Fatal(err)
	}
	if rep.HeldIn.Dropped != 1 || rep.HeldOut.Dropped != 1 || !drop[s.Attacker[in][0].DocID] || !drop[s.Attacker[out][0].DocID] {
		t.Fatalf("held-in %+v, held-out %+v, drop %v", rep.HeldIn, rep.HeldOut, drop)
	}
}

// A sample with a copy in the reference's pretraining pool is dropped (the
// reference and the target fine-tuned from it were trained on the pool);
// one copied in the validation data is counted only.
func TestAttackerOverlapDropsPoolCopies(t *testing.T) {
	s, _ := cleanSplit(t)
	in, out := s.HeldIn[0], s.HeldOut[0]
	pooled := s.Attacker[in][0]
	pool := []Record{{UserID: "pool", DocID: "p1", Text: strings.ToUpper(pooled.Text)}}
	val := s.Attacker[out][0]
	s.Validation = []Record{{UserID: "v", DocID: "v1", Text: val.Text}}
	rep, drop, err := CheckAttackerOverlap(s, pool, OverlapDrop)
	if err != nil {
		t.Fatal(err)
	}
	if !drop[pooled.DocID] || rep.HeldIn.PoolExact != 1 || rep.Total.Dropped != 1 {
		t.Fatalf("pool copy: drop %v, report %+v", drop, rep.Total)
	}
	if drop[val.DocID] || rep.HeldOut.ValidationExact != 1 {
		t.Fatalf("validation copy: drop %v, report %+v", drop, rep.HeldOut)
	}
}

// A 40-word attacker sample quoted whole inside a 120-word document of
// another user has Jaccard about 1/3 but full containment: dropped.
func TestAttackerOverlapContainment(t *testing.T) {
	s, r := cleanSplit(t)
	in, out := s.HeldIn[0], s.HeldOut[0]
	sample := &s.Attacker[out][0]
	sample.Text = randomText(r, 40)
	quote := randomText(r, 40) + " " + sample.Text + " " + randomText(r, 40)
	if j := naiveJaccard(sample.Text, quote); j >= NearJaccard {
		t.Fatalf("quote has Jaccard %v", j)
	}
	for i := range s.Train {
		if s.Train[i].UserID == in {
			s.Train[i].Text = quote
			break
		}
	}
	rep, drop, err := CheckAttackerOverlap(s, nil, OverlapDrop)
	if err != nil {
		t.Fatal(err)
	}
	if !drop[sample.DocID] || rep.HeldOut.TrainNear != 1 || rep.Total.Dropped != 1 {
		t.Fatalf("quoted sample: drop %v, report %+v", drop, rep.Total)
	}
	// Half the sample quoted is not a copy.
	words := strings.Fields(sample.Text)
	ix := NewOverlapIndex([]Record{{Text: strings.Join(words[:20], " ")}})
	if e, n := ix.Match(sample.Text); e || n {
		t.Fatal("a half quote matched")
	}
}

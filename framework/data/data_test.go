package data

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
)

// synthetic builds users u00.. with n documents each, of distinct text.
func synthetic(users, docsPerUser int) []Record {
	var recs []Record
	for u := range users {
		for d := range docsPerUser + u%3 {
			recs = append(recs, Record{UserID: fmt.Sprintf("u%02d", u), DocID: fmt.Sprintf("u%02d-d%02d", u, d),
				Text: fmt.Sprintf("user %d writes document number %d about topic %d and some more words here", u, d, (u*7+d)%5)})
		}
	}
	return recs
}

func TestParquetRoundTrip(t *testing.T) {
	recs := synthetic(5, 4)
	recs[0].Group, recs[1].Label, recs[2].TextB = "g", "entailment", "second sentence ✓"
	path := filepath.Join(t.TempDir(), "d.parquet")
	if err := WriteFile(path, recs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, recs) {
		t.Fatalf("round trip changed the records")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temp leftovers)", len(entries))
	}
	// The file is zstd-compressed.
	f, _ := os.Open(path)
	defer f.Close()
	info, _ := f.Stat()
	pf, err := parquet.OpenFile(f, info.Size())
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range pf.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			if codec := cc.MetaData.Codec; codec != format.Zstd {
				t.Errorf("column %v compression %v, want ZSTD", cc.MetaData.PathInSchema, codec)
			}
		}
	}
}

type wrongType struct {
	UserID string `parquet:"user_id"`
	DocID  string `parquet:"doc_id"`
	Text   int64  `parquet:"text"`
}

type missingText struct {
	UserID string `parquet:"user_id"`
	DocID  string `parquet:"doc_id"`
}

func writeParquet[T any](t *testing.T, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadRejectsBadFiles(t *testing.T) {
	good := synthetic(2, 2)
	bad := func(mut func(r []Record)) []byte {
		r := slices.Clone(good)
		mut(r)
		return writeParquet(t, r)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"missing column", writeParquet(t, []missingText{{"u", "d"}}), `column "text" is missing`},
		{"mistyped column", writeParquet(t, []wrongType{{"u", "d", 3}}), `column "text" has type`},
		{"empty text", bad(func(r []Record) { r[2].Text = "  " }), "row 2, column text: empty text"},
		{"invalid utf8", bad(func(r []Record) { r[1].Text = "ok \xff bad" }), "row 1, column text: invalid UTF-8"},
		{"duplicate doc id", bad(func(r []Record) { r[3].DocID = r[0].DocID }), "row 3, column doc_id: duplicate doc id"},
		{"no user", bad(func(r []Record) { r[1].UserID = "" }), "row 1, column user_id"},
		{"not parquet", []byte("user_id,doc_id,text\nu,d,hello\n"), "not a readable Parquet file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.parquet")
			os.WriteFile(path, tc.data, 0o644)
			_, err := ReadFile(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error = %v, want one naming %s and containing %q", err, path, tc.want)
			}
		})
	}
}

func TestSplitInvariants(t *testing.T) {
	recs := synthetic(40, 10)
	cfg := DefaultSplitConfig(7)
	cfg.PretrainFraction = 0.1
	s, err := MakeSplit(recs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	in, out := map[string]bool{}, map[string]bool{}
	for _, u := range s.HeldIn {
		in[u] = true
	}
	for _, u := range s.HeldOut {
		if in[u] {
			t.Errorf("user %s is both held in and held out", u)
		}
		out[u] = true
	}
	if d := len(s.HeldIn) - len(s.HeldOut); d < -1 || d > 1 {
		t.Errorf("held in %d vs held out %d: want 50/50", len(s.HeldIn), len(s.HeldOut))
	}
	attackerDocs := map[string]bool{}
	for u, docs := range s.Attacker {
		if !in[u] && !out[u] {
			t.Errorf("attacker documents for non-attack user %s", u)
		}
		if len(docs) == 0 {
			t.Errorf("user %s has no attacker documents", u)
		}
		for _, d := range docs {
			attackerDocs[d.DocID] = true
		}
	}
	for _, r := range s.Train {
		if attackerDocs[r.DocID] {
			t.Errorf("attacker document %s is in the training set", r.DocID)
		}
		if !in[r.UserID] {
			t.Errorf("training document %s of non-member %s", r.DocID, r.UserID)
		}
	}
	poolUsers := map[string]string{}
	for _, r := range s.Validation {
		poolUsers[r.UserID] = "validation"
	}
	for _, r := range s.Pretrain {
		if poolUsers[r.UserID] == "validation" {
			t.Errorf("user %s in both validation and pretraining pools", r.UserID)
		}
		poolUsers[r.UserID] = "pretrain"
	}
	for u := range poolUsers {
		if in[u] || out[u] {
			t.Errorf("pool user %s is also an attack user", u)
		}
	}
	if len(s.Pretrain) == 0 || len(s.Validation) == 0 {
		t.Errorf("empty pools: pretrain %d, validation %d documents", len(s.Pretrain), len(s.Validation))
	}
	// Same seed, same split; another seed, another split.
	s2, _ := MakeSplit(recs, cfg)
	if !slices.Equal(s.HeldIn, s2.HeldIn) || !slices.Equal(s.Train, s2.Train) {
		t.Error("the same seed gave a different split")
	}
	cfg.Seed = 8
	s3, _ := MakeSplit(recs, cfg)
	if slices.Equal(s.HeldIn, s3.HeldIn) {
		t.Error("another seed gave the same held-in users")
	}
	// Input order does not matter.
	rev := slices.Clone(recs)
	slices.Reverse(rev)
	cfg.Seed = 7
	s4, _ := MakeSplit(rev, cfg)
	if !slices.Equal(s.HeldIn, s4.HeldIn) {
		t.Error("reordering the input changed the held-in users")
	}
}

func TestSplitConfigErrors(t *testing.T) {
	for _, mut := range []func(*SplitConfig){
		func(c *SplitConfig) { c.HeldInFraction = 1.5 },
		func(c *SplitConfig) { c.AttackerFraction = -0.1 },
		func(c *SplitConfig) { c.MinDocs = 1 },
		func(c *SplitConfig) { c.MaxDocs = 1; c.MinDocs = 2 },
		func(c *SplitConfig) { c.ValidationFraction = 0.5; c.PretrainFraction = 0.5 },
	} {
		c := DefaultSplitConfig(1)
		mut(&c)
		if _, err := MakeSplit(synthetic(10, 5), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	if _, err := MakeSplit(synthetic(1, 5), DefaultSplitConfig(1)); err == nil || !strings.Contains(err.Error(), "attack users") {
		t.Errorf("one user: error %v", err)
	}
}

func TestCapPerUser(t *testing.T) {
	recs := synthetic(10, 8)
	capped := CapPerUser(recs, 3, 1, 1)
	counts := map[string]int{}
	for _, r := range capped {
		counts[r.UserID]++
	}
	for u, n := range counts {
		if n != 3 {
			t.Errorf("user %s keeps %d documents, want 3", u, n)
		}
	}
	if len(counts) != 10 {
		t.Errorf("%d users after capping, want 10", len(counts))
	}
	if !slices.Equal(capped, CapPerUser(recs, 3, 1, 1)) {
		t.Error("capping is not deterministic")
	}
	if len(CapPerUser(recs, 0, 1, 1)) != len(recs) {
		t.Error("cap 0 dropped documents")
	}
	// Half the users capped: 5 of 10 keep 3 documents (the same 3 as when
	// everyone is capped), the others all of theirs.
	half := CapPerUser(recs, 3, 0.5, 1)
	all := map[string]int{}
	for _, r := range recs {
		all[r.UserID]++
	}
	kept := map[string]int{}
	for _, r := range half {
		kept[r.UserID]++
	}
	nCapped := 0
	chosen := CappedUsers([]string{"u00", "u01", "u02", "u03", "u04", "u05", "u06", "u07", "u08", "u09"}, 0.5, 1)
	for u, n := range kept {
		switch {
		case chosen[u] && n == 3:
			nCapped++
		case !chosen[u] && n == all[u]:
		default:
			t.Errorf("user %s keeps %d of %d documents (capped: %v)", u, n, all[u], chosen[u])
		}
	}
	if nCapped != 5 || len(chosen) != 5 {
		t.Errorf("%d users capped (%d chosen), want 5 of 10", nCapped, len(chosen))
	}
	for _, r := range half {
		if chosen[r.UserID] && !slices.Contains(capped, r) {
			t.Errorf("capped user %s keeps document %s, not among its documents when everyone is capped", r.UserID, r.DocID)
		}
	}
}

func TestDedupWithinUser(t *testing.T) {
	recs := []Record{
		{UserID: "a", DocID: "1", Text: "Hello, world! This is my post."},
		{UserID: "a", DocID: "2", Text: "hello world   this is MY post"},  // exact after normalisation
		{UserID: "b", DocID: "3", Text: "Hello, world! This is my post."}, // other user: kept
		{UserID: "a", DocID: "4", Text: "The quick brown fox jumps over the lazy dog near the river bank today"},
		{UserID: "a", DocID: "5", Text: "The quick brown fox jumps over the lazy dog near the river bank today!!"},
		{UserID: "a", DocID: "6", Text: "The quick brown fox jumps over the lazy dog near the river bank yesterday"},
		{UserID: "a", DocID: "7", Text: "Completely different text about parquet files and privacy accounting"},
	}
	ids := func(rs []Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.DocID)
		}
		return out
	}
	if got := ids(DedupWithinUser(recs, DedupConfig{})); !slices.Equal(got, []string{"1", "3", "4", "6", "7"}) {
		t.Errorf("exact dedup kept %v", got)
	}
	if got := ids(DedupWithinUser(recs, DedupConfig{NearThreshold: 0.6})); !slices.Equal(got, []string{"1", "3", "4", "7"}) {
		t.Errorf("near dedup kept %v", got)
	}
}

func TestCanaries(t *testing.T) {
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	recs := synthetic(10, 5)
	heldIn, heldOut := []string{"u01", "u02", "u03"}, []string{"u04", "u05", "u06"}
	users := append(slices.Clone(heldIn), heldOut...)
	out, canaries, err := InsertCanaries(recs, heldIn, heldOut, tok, CanaryConfig{Users: 2, Tokens: 6, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(canaries) != 2 {
		t.Fatalf("%d canaries, want 2", len(canaries))
	}
	chosen := map[string]string{}
	for _, c := range canaries {
		if !slices.Contains(users, c.UserID) {
			t.Errorf("canary user %s is not a candidate", c.UserID)
		}
		chosen[c.UserID] = c.Substring
	}
	for i, r := range out {
		if sub, ok := chosen[r.UserID]; ok {
			if !strings.Contains(r.Text, sub) {
				t.Errorf("canary document %s lacks the substring %q", r.DocID, sub)
			}
		} else if r != recs[i] {
			t.Errorf("non-canary document %s changed", r.DocID)
		}
	}
	// Longer than any document: the user's documents together are the source.
	_, long, err := InsertCanaries(recs, heldIn, heldOut, tok, CanaryConfig{Users: 2, Tokens: 100, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range long {
		if c.SourceDoc != ConcatenatedSource {
			t.Errorf("100-token canary of %s from %s, want %s", c.UserID, c.SourceDoc, ConcatenatedSource)
		}
	}
	if _, _, err := InsertCanaries(recs, heldIn, heldOut, tok, CanaryConfig{Users: 2, Tokens: 500, Seed: 3}); err == nil || !strings.Contains(err.Error(), "user u0") {
		t.Errorf("500-token canaries from short users: %v, want an error naming the user", err)
	}
	if _, _, err := InsertCanaries(recs, heldIn, heldOut, tok, CanaryConfig{Users: 8, Tokens: 6, Seed: 3}); err == nil {
		t.Error("8 canary users from 3+3 candidates: no error")
	}
}

func TestCanaryBalance(t *testing.T) {
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	recs := synthetic(40, 3)
	var heldIn, heldOut []string
	for u := range 40 {
		if u%4 == 0 { // a quarter held in: drawing from all users would give 1:3
			heldIn = append(heldIn, fmt.Sprintf("u%02d", u))
		} else {
			heldOut = append(heldOut, fmt.Sprintf("u%02d", u))
		}
	}
	for _, n := range []int{1, 2, 7, 10} {
		for seed := range uint64(5) {
			_, canaries, err := InsertCanaries(recs, heldIn, heldOut, tok, CanaryConfig{Users: n, Tokens: 4, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			in := 0
			for _, c := range canaries {
				if c.Member != slices.Contains(heldIn, c.UserID) {
					t.Fatalf("canary %s: member %v", c.UserID, c.Member)
				}
				if c.Member {
					in++
				}
			}
			if len(canaries) != n || in-(n-in) > 1 || (n-in)-in > 1 {
				t.Fatalf("users %d seed %d: %d canaries, %d held in", n, seed, len(canaries), in)
			}
		}
	}
}

func TestCanaryWithinScoredTokens(t *testing.T) {
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("The quick brown fox jumps over the lazy dog near the river bank. ", 30)
	var recs []Record
	for u := range 4 {
		for d := range 3 {
			recs = append(recs, Record{UserID: fmt.Sprintf("u%d", u), DocID: fmt.Sprintf("u%d-%d", u, d), Text: fmt.Sprintf("Doc %d of %d. ", d, u) + long})
		}
	}
	if n := len(tok.Encode(recs[0].Text)); n < 300 {
		t.Fatalf("document of %d tokens, want a long one", n)
	}
	const within = 48
	for seed := range uint64(4) {
		out, canaries, err := InsertCanaries(recs, []string{"u0", "u1"}, []string{"u2", "u3"}, tok, CanaryConfig{Users: 4, Tokens: 8, Seed: seed, WithinTokens: within})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range canaries {
			for _, r := range out {
				if r.UserID == c.UserID && !scoredContains(r.Text, c.Substring, tok, within) {
					t.Fatalf("seed %d: canary %q of %s is not in the first %d tokens of %s", seed, c.Substring, c.UserID, within, r.DocID)
				}
			}
		}
	}
	if _, _, err := InsertCanaries(recs, []string{"u0"}, []string{"u2"}, tok, CanaryConfig{Users: 2, Tokens: 47, WithinTokens: within}); err == nil {
		t.Error("a canary longer than the scored window: no error")
	}
}

func TestChunk(t *testing.T) {
	tok, _ := tokenizer.Load("gpt2")
	text := strings.Repeat("privacy matters ", 20)
	chunks := Chunk(tok, text, 8)
	total := 0
	for _, c := range chunks {
		if c[0] != tok.BOS() || len(c) > 9 {
			t.Errorf("chunk %v: want BOS then at most 8 tokens", c)
		}
		total += len(c) - 1
	}
	if total != len(tok.Encode(text)) {
		t.Errorf("chunks hold %d tokens, the text %d", total, len(tok.Encode(text)))
	}
}

func TestStats(t *testing.T) {
	s := ComputeStats(synthetic(6, 4), nil)
	if s.Users != 6 || s.Documents != 6*4+(0+1+2+0+1+2) || s.UsersWithAtLeast[5] != 4 {
		t.Errorf("stats %+v", s)
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[Record](&buf, parquet.Compression(&parquet.Zstd))
	w.Write(synthetic(2, 2))
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := Read(bytes.NewReader(data), int64(len(data)))
		if err == nil {
			if verr := Validate(recs); verr != nil {
				t.Fatalf("Read accepted invalid records: %v", verr)
			}
		}
	})
}

type minimal struct {
	UserID string `parquet:"user_id"`
	DocID  string `parquet:"doc_id"`
	Text   string `parquet:"text"`
	Extra  int64  `parquet:"extra"`
}

// TestReadMinimalFile: files written by other tools with only the required
// columns (and extra ones) read fine.
func TestReadMinimalFile(t *testing.T) {
	data := writeParquet(t, []minimal{{"u1", "d1", "hello", 3}, {"u2", "d2", "world", 4}})
	recs, err := Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1] != (Record{UserID: "u2", DocID: "d2", Text: "world"}) {
		t.Errorf("got %+v", recs)
	}
}

// CappedUsers draws at random: not the first ids in order, and another
// seed draws other users.
func TestCappedUsersRandom(t *testing.T) {
	var ids []string
	for u := range 100 {
		ids = append(ids, fmt.Sprintf("u%03d", u))
	}
	a, b := CappedUsers(ids, 0.5, 1), CappedUsers(ids, 0.5, 2)
	firstHalf, same := 0, 0
	for u := range a {
		if u < "u050" {
			firstHalf++
		}
		if b[u] {
			same++
		}
	}
	if len(a) != 50 || firstHalf > 40 || firstHalf < 10 || same == 50 {
		t.Errorf("%d capped, %d of them among the first 50 ids, %d also drawn by another seed", len(a), firstHalf, same)
	}
	if all := CappedUsers(ids, 1, 1); len(all) != 100 {
		t.Errorf("fraction 1 caps %d of 100", len(all))
	}
}

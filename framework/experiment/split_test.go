package experiment

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/shareddata"
)

// splitPlan is a validated config whose split stage reads a dataset the
// test writes itself.
func splitPlan(t *testing.T, set ...string) *plan {
	t.Helper()
	shareddata.Path(t, "models/stories260K.bin")
	c := Default()
	c.Name = "split-test"
	for _, kv := range append([]string{"attacks=loss"}, set...) {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Validate(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// words draws n made-up words.
func words(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("%c%c%c", 'a'+r.IntN(26), 'a'+r.IntN(26), 'a'+r.IntN(26))
	}
	return strings.Join(w, " ")
}

// leakyDataset is 20 users of 10 distinct documents where a held-in
// user's attacker sample is also, re-cased and re-punctuated, one of their
// training documents, and a held-out user's attacker sample is, one word
// changed, in another user's training data.
func leakyDataset(t *testing.T, p *plan) (path, exactDoc, nearDoc string) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	var recs []data.Record
	for u := range 20 {
		for d := range 10 {
			recs = append(recs, data.Record{UserID: fmt.Sprintf("u%02d", u), DocID: fmt.Sprintf("u%02d-%d", u, d), Text: words(r, 60)})
		}
	}
	s, err := data.MakeSplit(recs, splitConfig(p.cfg))
	if err != nil {
		t.Fatal(err)
	}
	in, out := s.HeldIn[0], s.HeldOut[0]
	exact, near := s.Attacker[in][0], s.Attacker[out][0]
	nearText := strings.Fields(near.Text)
	nearText[30] = "changed"
	var inTrain, otherTrain string
	for _, d := range s.Train {
		if d.UserID == in && inTrain == "" {
			inTrain = d.DocID
		}
		if d.UserID != in && otherTrain == "" {
			otherTrain = d.DocID
		}
	}
	for i := range recs {
		switch recs[i].DocID {
		case inTrain:
			recs[i].Text = strings.ToUpper(strings.ReplaceAll(exact.Text, " ", " - "))
		case otherTrain:
			recs[i].Text = strings.Join(nearText, " ")
		}
	}
	path = filepath.Join(t.TempDir(), "data.parquet")
	if err := data.WriteFile(path, recs); err != nil {
		t.Fatal(err)
	}
	return path, exact.DocID, near.DocID
}

func attackerDocs(t *testing.T, dir string) map[string]data.Record {
	t.Helper()
	recs, err := data.ReadFile(filepath.Join(dir, "attacker.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]data.Record{}
	for _, r := range recs {
		m[r.DocID] = r
	}
	return m
}

func TestSplitDropsAttackerSamplesCopiedInTraining(t *testing.T) {
	for _, policy := range []string{"drop", "keep"} {
		t.Run(policy, func(t *testing.T) {
			p := splitPlan(t, "split.attacker_overlap="+policy, "split.validation_fraction=0")
			path, exactDoc, nearDoc := leakyDataset(t, p)
			dir := t.TempDir()
			if err := makeSplit(p, path, dir); err != nil {
				t.Fatal(err)
			}
			att := attackerDocs(t, dir)
			_, hasExact := att[exactDoc]
			_, hasNear := att[nearDoc]
			if want := policy == "keep"; hasExact != want || hasNear != want {
				t.Fatalf("attacker.parquet has the exact copy %v, the near copy %v; want %v", hasExact, hasNear, want)
			}
			info, err := readUsers(filepath.Join(dir, "users.json"))
			if err != nil {
				t.Fatal(err)
			}
			o := info.Overlap
			dropped := map[string]int{"drop": 2, "keep": 0}[policy]
			if o == nil || o.HeldIn.TrainExact != 1 || o.HeldOut.TrainNear != 1 || o.Total.TrainExact != 1 || o.Total.TrainNear != 1 || o.Total.Dropped != dropped {
				t.Fatalf("users.json attacker_overlap = %+v", o)
			}
			// Each user had one attacker sample: the two users leave the attack.
			if n := len(info.Users); n != 20-o.Total.UsersDropped || o.Total.UsersDropped != dropped {
				t.Fatalf("%d attack users, %d dropped", n, o.Total.UsersDropped)
			}
			if s := OverlapSummary(*o); !strings.Contains(s, "2 of 20 attacker samples") {
				t.Errorf("summary %q", s)
			}
			rows := []MetricsRow{{Attack: "loss"}}
			setOverlapColumns(rows, o)
			if rows[0].OverlapExact != 1 || rows[0].OverlapNear != 1 || rows[0].AttackerDropped != int64(dropped) || rows[0].AttackUsersDropped != int64(dropped) {
				t.Errorf("metrics row %+v", rows[0])
			}
		})
	}
}

// TestSplitCanaries: canary users are half held in, half held out, and a
// canary stays in the documents written (inside the first
// attack.max_tokens tokens when that is set) however long they are.
func TestSplitCanaries(t *testing.T) {
	for _, maxTokens := range []int{0, 64} {
		t.Run(fmt.Sprint("max_tokens=", maxTokens), func(t *testing.T) {
			p := splitPlan(t, "canary.users=6", "canary.tokens=8", fmt.Sprint("attack.max_tokens=", maxTokens))
			r := rand.New(rand.NewPCG(7, 8))
			var recs []data.Record
			for u := range 24 {
				for d := range 6 {
					recs = append(recs, data.Record{UserID: fmt.Sprintf("u%02d", u), DocID: fmt.Sprintf("u%02d-%d", u, d), Text: words(r, 150)})
				}
			}
			if n := len(p.tok.Encode(recs[0].Text)); n < 300 {
				t.Fatalf("documents of %d tokens, want long ones", n)
			}
			path := filepath.Join(t.TempDir(), "data.parquet")
			if err := data.WriteFile(path, recs); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := makeSplit(p, path, dir); err != nil {
				t.Fatal(err)
			}
			info, err := readUsers(filepath.Join(dir, "users.json"))
			if err != nil {
				t.Fatal(err)
			}
			in := 0
			for _, c := range info.Canaries {
				if !info.Users[c.UserID].Canary || info.Users[c.UserID].Member != c.Member {
					t.Fatalf("canary %s: users.json says %+v", c.UserID, info.Users[c.UserID])
				}
				if c.Member {
					in++
				}
			}
			if len(info.Canaries) != 6 || in != 3 {
				t.Fatalf("%d canaries, %d held in; want 6, 3", len(info.Canaries), in)
			}
			att, err := data.ReadFile(filepath.Join(dir, "attacker.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			train, err := data.ReadFile(filepath.Join(dir, "train.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			past64 := 0
			for _, c := range info.Canaries {
				for _, d := range append(att, train...) {
					if d.UserID != c.UserID {
						continue
					}
					at := strings.Index(d.Text, c.Substring)
					if at < 0 {
						t.Fatalf("%s lacks canary %q", d.DocID, c.Substring)
					}
					ids := p.tok.Encode(d.Text)
					head := p.tok.Decode(ids[:min(64, len(ids))])
					if !strings.Contains(head, c.Substring) {
						past64++
					}
				}
			}
			if maxTokens > 0 && past64 > 0 {
				t.Fatalf("%d canary documents have the canary past token %d", past64, maxTokens)
			}
			if maxTokens == 0 && past64 == 0 {
				t.Fatal("no canary past token 64: the test does not test what it says")
			}
		})
	}
}

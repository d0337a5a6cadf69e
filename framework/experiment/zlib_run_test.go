package experiment_test

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/privlm/privlm/framework/attack"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
)

// TestZlibScoresCutTextThroughRun: through a whole run's attack path (the
// pipeline cuts samples with attack.max_tokens, the zlib plugin scores
// them through the oracle over RPC), a user's zlib score is their loss
// score divided by the zlib length of the cut text, computed here from
// attacker.parquet: not of the whole sample.
func TestZlibScoresCutTextThroughRun(t *testing.T) {
	const maxTokens = 8
	c := tiny(t, "zlibcut")
	c.Set("attacks", "zlib,loss")
	c.Set("attack.max_tokens", "8")
	out := t.TempDir()
	var log bytes.Buffer
	if _, err := experiment.Run(context.Background(), c, out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	att, _ := filepath.Glob(filepath.Join(out, "stages", "split-*", "attacker.parquet"))
	if len(att) != 1 {
		t.Fatalf("attacker files %v", att)
	}
	samples, err := data.ReadParquet[data.Record](att[0])
	if err != nil {
		t.Fatal(err)
	}
	text := map[string][]string{}
	for _, r := range samples {
		text[r.UserID] = append(text[r.UserID], r.Text)
	}
	scores, err := data.ReadParquet[experiment.ScoreRow](filepath.Join(out, "scores.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	loss, zl := map[string]float64{}, map[string]float64{}
	for _, s := range scores {
		switch s.Attack {
		case "loss":
			loss[s.UserID] = s.Score
		case "zlib":
			zl[s.UserID] = s.Score
		}
	}
	checked, cut := 0, 0
	for u, z := range zl {
		if len(text[u]) != 1 {
			continue // one sample: the user's score is the sample's
		}
		ids := tok.Encode(text[u][0])
		scored := text[u][0]
		if len(ids) > maxTokens {
			scored = tok.Decode(ids[:maxTokens])
			if attack.ZlibBytes(scored) != attack.ZlibBytes(text[u][0]) {
				cut++
			}
		}
		want := loss[u] / float64(attack.ZlibBytes(scored))
		if math.Abs(z-want) > 1e-12*math.Abs(want) {
			t.Errorf("user %s: zlib score %v, want loss/zlib(cut text) %v (whole text: %v)", u, z, want, loss[u]/float64(attack.ZlibBytes(text[u][0])))
		}
		checked++
	}
	if checked < 10 || cut < 5 {
		t.Fatalf("checked %d users, %d with a cut that changes the zlib length: too few to tell", checked, cut)
	}
}

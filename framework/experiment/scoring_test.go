package experiment

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/attack"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/plugin/builtin"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
)

// scoringModels returns stories260K as target, a perturbed copy as
// reference, and tok512.
func scoringModels(t *testing.T) (*lm.Model, *lm.Model, tokenizer.Tokenizer) {
	t.Helper()
	cfg, w, err := lm.ReadLlama2C(shareddata.Path(t, "models/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	be := backend.MustNew("")
	target, err := lm.FromWeights(cfg, w, be)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, x := range w {
		for i := range x.Data {
			x.Data[i] += float32(r.NormFloat64() * 0.02)
		}
	}
	ref, err := lm.FromWeights(cfg, w, be)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return target, ref, tok
}

// story is about 150 tokens of plain text.
const story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. " +
	"One day, she saw a big red ball under a tree. She ran to the ball and picked it up. " +
	"Her friend Tom came and asked if he could play too. Lily said yes, and they threw the ball to each other. " +
	"They laughed and played until the sun went down. Then their moms called them home for dinner. " +
	"Lily was happy because she had a new friend and a fun day in the park."

// userScore runs the built-in user inference attack in-process on one user's
// samples, through the run's sample preparation and oracle for cfg.
func userScore(t *testing.T, cfg Config, target, ref *lm.Model, tok tokenizer.Tokenizer, texts []string) float64 {
	t.Helper()
	o, err := scoringOracle(cfg, target, ref, tok)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := cutSamples(tok, plugin.AttackRequest{Users: []plugin.UserSamples{{UserID: "u", Texts: texts}}}, cfg.Attack.MaxTokens)
	var ui builtin.UserInference
	if err := ui.Configure(plugin.Config{"aggregation": "mean"}); err != nil {
		t.Fatal(err)
	}
	resp, err := ui.Score(context.Background(), req, o)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Scores[0].Score
}

// TestCanaryPastToken64ChangesScore (issue 13 acceptance): with the
// quickstart's and the quick presets' settings, a canary-like substring
// placed after the 64th token of a sample changes the user's score: the
// whole sample is scored, not its first tokens.
func TestCanaryPastToken64ChangesScore(t *testing.T) {
	target, ref, tok := scoringModels(t)
	ids := tok.Encode(story)
	if len(ids) < 100 {
		t.Fatalf("story has %d tokens, want >= 100", len(ids))
	}
	cut := len(tok.Decode(ids[:80])) // a character offset past token 64
	withCanary := story[:cut] + " zq xv quartz jig " + story[cut:]
	if !strings.HasPrefix(withCanary, tok.Decode(ids[:64])) {
		t.Fatal("the canary is not past token 64")
	}
	for _, cfg := range []Config{Quickstart(), Quick("enron")} {
		t.Run(cfg.Name, func(t *testing.T) {
			plain := userScore(t, cfg, target, ref, tok, []string{story, "The dog ran fast."})
			canary := userScore(t, cfg, target, ref, tok, []string{withCanary, "The dog ran fast."})
			if plain == canary {
				t.Errorf("score %v with and without a canary past token 64: the canary is not scored", plain)
			}
		})
	}
}

// TestMaxTokensCutsAndCounts: attack.max_tokens cuts samples to their
// first tokens and counts the samples and tokens it cut; 0 cuts nothing.
func TestMaxTokensCutsAndCounts(t *testing.T) {
	_, _, tok := scoringModels(t)
	n := len(tok.Encode(story))
	req := plugin.AttackRequest{Users: []plugin.UserSamples{{UserID: "a", Texts: []string{story, "Tom had a red ball."}}, {UserID: "b", Texts: []string{story}}}}
	got, info := cutSamples(tok, req, 0)
	if info.SamplesCut != 0 || info.TokensCut != 0 || got.Users[0].Texts[0] != story || info.Samples != 3 {
		t.Errorf("max_tokens 0: %+v", info)
	}
	got, info = cutSamples(tok, req, 40)
	if info.SamplesCut != 2 || info.TokensCut != 2*(n-40) || info.Samples != 3 {
		t.Errorf("max_tokens 40: %+v, want 2 samples and %d tokens cut", info, 2*(n-40))
	}
	if want := tok.Decode(tok.Encode(story)[:40]); got.Users[1].Texts[0] != want {
		t.Errorf("cut sample %q, want the first 40 tokens %q", got.Users[1].Texts[0], want)
	}
	if req.Users[1].Texts[0] != story {
		t.Error("cutSamples changed its input")
	}
}

// TestZlibUsesScoredText: the zlib attack divides by the zlib length of
// exactly the text the oracle scored, also when attack.max_tokens cuts it.
func TestZlibUsesScoredText(t *testing.T) {
	target, ref, tok := scoringModels(t)
	cfg := Quick("enron")
	cfg.Attack.MaxTokens = 30
	o, err := scoringOracle(cfg, target, ref, tok)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := cutSamples(tok, plugin.AttackRequest{Users: []plugin.UserSamples{{UserID: "u", Texts: []string{story}}}}, cfg.Attack.MaxTokens)
	var z builtin.Zlib
	z.Configure(plugin.Config{"aggregation": "mean"})
	resp, err := z.Score(context.Background(), req, o)
	if err != nil {
		t.Fatal(err)
	}
	// The scored text, independently: the story's first 30 tokens.
	scored := tok.Decode(tok.Encode(story)[:30])
	s, err := o.LogLikelihood(context.Background(), plugin.Target, []string{scored}, false)
	if err != nil {
		t.Fatal(err)
	}
	if attack.ZlibBytes(scored) == attack.ZlibBytes(story) {
		t.Fatal("test cannot tell the texts apart")
	}
	want := s[0].LogLik / float64(s[0].NumTokens) / float64(attack.ZlibBytes(scored))
	if got := resp.Scores[0].Score; math.Abs(got-want) > 1e-12*math.Abs(want) {
		t.Errorf("zlib score %v, want loss/zlib(scored text) %v (zlib of the whole text would give %v)", got, want,
			s[0].LogLik/float64(s[0].NumTokens)/float64(attack.ZlibBytes(story)))
	}
}

// TestFewUsersWarn: a run whose headline population (non-canary users)
// has fewer than 100 held-out users warns; canaries do not count.
func TestFewUsersWarn(t *testing.T) {
	for _, tc := range []struct {
		members, nonMembers, canaries int // canaries: among the non-members
		warn                          bool
	}{{10, 9, 0, true}, {50, 99, 0, true}, {50, 100, 0, false}, {200, 100, 0, false}, {200, 130, 31, true}, {200, 130, 30, false}} {
		var req plugin.AttackRequest
		info := SplitInfo{Users: map[string]UserInfo{}}
		for i := range tc.members + tc.nonMembers {
			id := fmt.Sprint(i)
			req.Users = append(req.Users, plugin.UserSamples{UserID: id, Texts: []string{"x"}})
			info.Users[id] = UserInfo{Member: i < tc.members, Canary: i >= tc.members && i < tc.members+tc.canaries}
		}
		w := attackedUsersWarnings(req, info)
		if (len(w) > 0) != tc.warn {
			t.Errorf("%+v: warnings %q", tc, w)
		}
		if tc.warn && !strings.Contains(w[0], fmt.Sprintf("%d held-in, %d held-out; %d canaries", tc.members, tc.nonMembers-tc.canaries, tc.canaries)) {
			t.Errorf("%+v: %q", tc, w[0])
		}
	}
}

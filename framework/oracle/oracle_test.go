package oracle

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/privlm/privlm/framework/attack"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
	"github.com/privlm/privlm/framework/train"
)

// buildPlugin compiles a built-in plugin for the test.
func buildPlugin(tb testing.TB, name string) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, "github.com/privlm/privlm/plugins/"+name)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building %s: %v\n%s", name, err, b)
	}
	return out
}

// models returns stories260K as the target and a perturbed copy as the reference.
func models(tb testing.TB) (*lm.Model, *lm.Model, tokenizer.Tokenizer) {
	tb.Helper()
	cfg, w, err := lm.ReadLlama2C(shareddata.Path(tb, "models/stories260K.bin"))
	if err != nil {
		tb.Fatal(err)
	}
	be := backend.MustNew("")
	target, err := lm.FromWeights(cfg, w, be)
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, t := range w {
		for i := range t.Data {
			t.Data[i] += float32(r.NormFloat64() * 0.01)
		}
	}
	ref, err := lm.FromWeights(cfg, w, be)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := tokenizer.Load(shareddata.Path(tb, "models/tok512.bin"))
	if err != nil {
		tb.Fatal(err)
	}
	return target, ref, tok
}

// TestUserInferenceThroughPlugin: the built-in user-inference plugin, run as
// a separate process, gives exactly the scores computed in-process.
func TestUserInferenceThroughPlugin(t *testing.T) {
	target, ref, tok := models(t)
	o, err := New(target, ref, tok, 0, 8)
	if err != nil {
		t.Fatal(err)
	}
	req := plugin.AttackRequest{Users: []plugin.UserSamples{
		{UserID: "lily", Texts: []string{"Once upon a time, there was a little girl named Lily.", "She loved to play outside in the park."}},
		{UserID: "tom", Texts: []string{"Tom had a red ball.", "The dog ran fast.", "They were happy."}},
	}}
	c, err := plugin.Open(buildPlugin(t, "user-inference"), plugin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, agg := range attack.Aggregations {
		if err := c.Configure(context.Background(), plugin.Config{"aggregation": agg}); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Attack(context.Background(), req, o)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, s := range resp.Scores {
			got[s.UserID] = s.Score
		}
		ts, _ := target.NewScorer(4)
		rs, _ := ref.NewScorer(4)
		for _, u := range req.Users {
			a, _ := ts.ScoreTexts(tok, u.Texts)
			b, _ := rs.ScoreTexts(tok, u.Texts)
			var per []float64
			for i := range a {
				per = append(per, attack.UserInference(a[i].LogLik, b[i].LogLik))
			}
			want, _ := attack.Aggregate(per, agg)
			if got[u.UserID] != want {
				t.Errorf("%s/%s: plugin %v, in-process %v (want exactly equal)", agg, u.UserID, got[u.UserID], want)
			}
		}
	}
}

func benchTexts(tok tokenizer.Tokenizer, n, tokens int) []string {
	r := rand.New(rand.NewPCG(5, 5))
	texts := make([]string, n)
	for i := range texts {
		ids := make([]int, tokens)
		for j := range ids {
			ids[j] = 259 + r.IntN(tok.VocabSize()-259) // merged pieces, no raw bytes
		}
		texts[i] = tok.Decode(ids)
	}
	return texts
}

// BenchmarkOracleRoundTrip: 256 texts of about 128 tokens scored by the
// target through a plugin (the built-in loss attack: one oracle call),
// beside the same scoring in-process.
func BenchmarkOracleRoundTrip(b *testing.B) {
	target, ref, tok := models(b)
	o, err := New(target, ref, tok, 0, 32)
	if err != nil {
		b.Fatal(err)
	}
	texts := benchTexts(tok, 256, 128)
	b.Run("in-process", func(b *testing.B) {
		for b.Loop() {
			if _, err := o.LogLikelihood(context.Background(), plugin.Target, texts, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	c, err := plugin.Open(buildPlugin(b, "loss"), plugin.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.Configure(context.Background(), plugin.Config{})
	req := plugin.AttackRequest{Users: []plugin.UserSamples{{UserID: "u", Texts: texts}}}
	b.Run("through-plugin", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Attack(context.Background(), req, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPluginStart: start, handshake and Info of a plugin process.
func BenchmarkPluginStart(b *testing.B) {
	path := buildPlugin(b, "loss")
	for b.Loop() {
		c, err := plugin.Open(path, plugin.Options{Log: devNull(b)})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func devNull(tb testing.TB) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// naiveWindowScore scores a text the naive way: encode, cut into windows of
// window tokens by hand, score each window alone (one scorer call per
// window, batch 1), add up.
func naiveWindowScore(tb testing.TB, m *lm.Model, tok tokenizer.Tokenizer, text string, window int) (float64, int) {
	tb.Helper()
	s, err := m.NewScorer(1)
	if err != nil {
		tb.Fatal(err)
	}
	ids := tok.Encode(text)
	sum, n := 0.0, 0
	for start := 0; start < len(ids); start += window {
		seq := append([]int{tok.BOS()}, ids[start:min(start+window, len(ids))]...)
		lp, err := s.TokenLogProbs([][]int{seq})
		if err != nil {
			tb.Fatal(err)
		}
		for _, v := range lp[0] {
			sum += v
		}
		n += len(lp[0])
	}
	return sum, n
}

// TestScoresWholeTextOverTrainingWindows: a long text's log-likelihood is
// the sum over its training windows scored separately, every token once,
// for windows shorter than the context and for a text longer than the
// context (which the oracle once truncated or refused).
func TestScoresWholeTextOverTrainingWindows(t *testing.T) {
	target, ref, tok := models(t)
	long := benchTexts(tok, 1, 1200)[0] // more than stories260K's 512-token context
	medium := benchTexts(tok, 1, 150)[0]
	for _, tc := range []struct {
		name   string
		window int
		text   string
	}{
		{"150 tokens, window 64", 64, medium},
		{"150 tokens, window 48", 48, medium},
		{"1200 tokens, window = context", 0, long},
		{"1200 tokens, window 100", 100, long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := New(target, ref, tok, tc.window, 4)
			if err != nil {
				t.Fatal(err)
			}
			got, err := o.LogLikelihood(context.Background(), plugin.Target, []string{"a short one.", tc.text}, true)
			if err != nil {
				t.Fatal(err)
			}
			nTok := len(tok.Encode(tc.text))
			if got[1].NumTokens != nTok || len(got[1].TokenLogProbs) != nTok {
				t.Errorf("scored %d tokens (%d per-token values), the text has %d", got[1].NumTokens, len(got[1].TokenLogProbs), nTok)
			}
			want, n := naiveWindowScore(t, target, tok, tc.text, o.Window())
			if n != nTok {
				t.Fatalf("naive reference scored %d of %d tokens", n, nTok)
			}
			if d := got[1].LogLik - want; d > 1e-3 || d < -1e-3 {
				t.Errorf("log-likelihood %v, sum over windows scored separately %v", got[1].LogLik, want)
			}
			sum := 0.0
			for _, v := range got[1].TokenLogProbs {
				sum += v
			}
			if d := sum - got[1].LogLik; d > 1e-9 || d < -1e-9 {
				t.Errorf("per-token values sum to %v, log-likelihood %v", sum, got[1].LogLik)
			}
		})
	}
}

// TestWindowIsTrainingSeqLen: the oracle's window is the fine-tuning's
// seq_len, capped at the context as training caps it.
func TestWindowIsTrainingSeqLen(t *testing.T) {
	target, ref, tok := models(t)
	for _, tc := range []struct{ seqLen, want int }{{64, 64}, {48, 48}, {0, target.Config.MaxSeqLen}, {4096, target.Config.MaxSeqLen}} {
		o, err := New(target, ref, tok, tc.seqLen, 4)
		if err != nil {
			t.Fatal(err)
		}
		if o.Window() != tc.want {
			t.Errorf("seq_len %d: window %d, want %d", tc.seqLen, o.Window(), tc.want)
		}
	}
}

// TestWindowsAreTrainingWindows ties the oracle to training's own
// windowing (train.TrainingWindow, train.TextWindows, what fine-tuning
// trains on): for the same text and seq_len the windows are identical, so
// a change to how training cuts texts fails here.
func TestWindowsAreTrainingWindows(t *testing.T) {
	target, ref, tok := models(t)
	texts := append(benchTexts(tok, 2, 150), benchTexts(tok, 1, 1200)...)
	texts = append(texts, "Hi.", "")
	for _, seqLen := range []int{64, 48, 7, 4096} {
		o, err := New(target, ref, tok, seqLen, 4)
		if err != nil {
			t.Fatal(err)
		}
		w := train.TrainingWindow(seqLen, target.Config.MaxSeqLen)
		for i, text := range texts {
			got, want := o.Windows(text), train.TextWindows(tok, text, w)
			if len(got) != len(want) {
				t.Fatalf("seq_len %d, text %d: %d windows, training makes %d", seqLen, i, len(got), len(want))
			}
			for k := range got {
				if !slices.Equal(got[k], want[k]) {
					t.Fatalf("seq_len %d, text %d: window %d differs from training's", seqLen, i, k)
				}
			}
		}
	}
}

// TestConcurrentCalls: the broker's gRPC server calls the oracle from
// several goroutines at once; the answers equal sequential ones and the
// counters count every call (run with -race to see the cache guarded).
func TestConcurrentCalls(t *testing.T) {
	target, ref, tok := models(t)
	o, err := New(target, ref, tok, 32, 4)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"Once upon a time.", "The cat sat.", "A big red ball.", "Lily was happy."}
	const n = 8
	got := make([][]plugin.SequenceScore, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			model := plugin.Target
			if i%2 == 1 {
				model = plugin.Reference
			}
			got[i], errs[i] = o.LogLikelihood(context.Background(), model, []string{texts[i%len(texts)], texts[(i+1)%len(texts)]}, false)
		}()
	}
	wg.Wait()
	if o.Calls != n || o.TextsAnswered != 2*n {
		t.Errorf("counted %d calls, %d texts; want %d, %d", o.Calls, o.TextsAnswered, n, 2*n)
	}
	seq, err := New(target, ref, tok, 32, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		model := plugin.Target
		if i%2 == 1 {
			model = plugin.Reference
		}
		want, err := seq.LogLikelihood(context.Background(), model, []string{texts[i%len(texts)], texts[(i+1)%len(texts)]}, false)
		if err != nil {
			t.Fatal(err)
		}
		for j := range want {
			if got[i][j].LogLik != want[j].LogLik || got[i][j].NumTokens != want[j].NumTokens {
				t.Errorf("call %d text %d: concurrent %+v, sequential %+v", i, j, got[i][j], want[j])
			}
		}
	}
}

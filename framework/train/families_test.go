package train

import (
	"errors"
	"testing"

	"github.com/privlm/privlm/datasets"
	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/shareddata"
	"github.com/privlm/privlm/framework/tokenizer"
)

// shakespeareDocs reads the first n speeches (over 40 bytes) of the shared
// Shakespeare copy through the datasets package.
func shakespeareDocs(t *testing.T, n int) []data.Record {
	t.Helper()
	shareddata.Path(t, "shakespeare_folger_speeches.jsonl.gz") // skips the test when absent
	d, err := datasets.Lookup("shakespeare")
	if err != nil {
		t.Fatal(err)
	}
	src, err := d.ResolveSource("")
	if err != nil {
		t.Fatal(err)
	}
	var out []data.Record
	enough := errors.New("enough")
	err = d.Convert(src, func(r data.Record) error {
		if len(r.Text) > 40 {
			out = append(out, r)
		}
		if len(out) == n {
			return enough
		}
		return nil
	})
	if err != nil && !errors.Is(err, enough) {
		t.Fatal(err)
	}
	return out
}

// TestDPFineTuneNewFamilies: DP-SGD with per-example ghost clipping
// (train.dp=example) on a tiny random GPT-Neo (with a local-attention layer)
// and a tiny Pythia (partial rotary, parallel residual, untied output)
// lowers the validation loss on Shakespeare.
func TestDPFineTuneNewFamilies(t *testing.T) {
	docs := shakespeareDocs(t, 360)
	train, val := docs[:300], docs[300:]
	tok, err := tokenizer.Load(shareddata.Path(t, "models/tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []lm.Config{lm.GPTNeoTiny, lm.PythiaTiny} {
		t.Run(string(c.Arch), func(t *testing.T) {
			c.MaxSeqLen = 32
			m, err := lm.New(c, backend.MustNew(""), 2)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := m.NewScorer(16)
			before, err := meanLoss(s, toExamples(tok, val, 32))
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.Steps, cfg.BatchSize, cfg.SeqLen, cfg.EvalEvery, cfg.LearningRate = 24, 16, 32, 8, 1e-2
			cfg.DP, cfg.Sigma, cfg.ClipNorm = "example", 0.3, 1
			res, err := Run(m, tok, train, val, cfg, Options{OutputDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: validation loss %.3f -> best %.3f at step %d (epsilon %.1f, rdp)", c.Arch, before, res.BestValLoss, res.BestStep, res.Privacy.Epsilon["rdp"])
			if !(res.BestValLoss < before-0.3) {
				t.Errorf("validation loss did not fall by 0.3 nats/token: %.3f -> %.3f", before, res.BestValLoss)
			}
		})
	}
}

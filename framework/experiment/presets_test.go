package experiment_test

import (
	"math"
	"testing"

	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/shareddata"
)

func TestPresetsValidate(t *testing.T) {
	shareddata.Path(t, "models/stories260K.bin")
	for _, ds := range []string{"reddit", "arxiv", "enron", "email", "shakespeare"} {
		full, err := experiment.Full(ds)
		if err != nil {
			t.Fatal(err)
		}
		if want, ok := experiment.PaperMinDocs[ds]; ok && full.Split.MinDocs != want {
			t.Errorf("Full(%s): min_docs %d, want the paper's %d", ds, full.Split.MinDocs, want)
		}
		repro := experiment.Repro(ds)
		if repro.Split.AttackerFraction != 0.1 || repro.Model.Pretrain != "pool" || repro.Repeats < 2 || repro.Attack.MaxTokens != 0 {
			t.Errorf("Repro(%s): attacker fraction %v (want the paper's 0.1), pretrain %q (want pool: the reference is the model fine-tuning starts from), repeats %d (want several seeds), max_tokens %d (want whole samples)",
				ds, repro.Split.AttackerFraction, repro.Model.Pretrain, repro.Repeats, repro.Attack.MaxTokens)
		}
		for _, c := range []experiment.Config{experiment.Quick(ds), repro, full} {
			if _, err := experiment.Validate(c); err != nil {
				t.Errorf("%s: %v", c.Name, err)
			}
		}
	}
	if _, err := experiment.Full("imdb"); err == nil {
		t.Error("Full of an unknown dataset")
	}
	if _, err := experiment.Validate(experiment.Quickstart()); err != nil {
		t.Error(err)
	}
}

// TestPaperNumbers: the paper's user filter and headline numbers as
// ../shared/PAPERS.md section 1 gives them (Setup; Results, GPT-Neo 125M).
func TestPaperNumbers(t *testing.T) {
	for ds, want := range map[string]int{"enron": 150, "ccnews": 30, "reddit": 100, "arxiv": 20} {
		if got := experiment.PaperMinDocs[ds]; got != want {
			t.Errorf("PaperMinDocs[%s] = %d, the paper's is %d", ds, got, want)
		}
	}
	for ds, want := range map[string][3]float64{"reddit": {56.0, 1.47, 7.05}, "ccnews": {65.7, 4.33, 11.02}, "enron": {87.3, 4.41, 27.94}, "arxiv": {57.2, 2.24, 8.44}} {
		p := experiment.PaperUserInference[ds]
		for i, got := range []*float64{p.AUROC, p.TPRAt1FPR, p.TPRAt5FPR} {
			if got == nil || math.Abs(*got*100-want[i]) > 1e-9 {
				t.Errorf("%s: paper number %d is %v, want %v%%", ds, i, got, want[i])
			}
		}
	}
}

package experiment_test

import (
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
		if full.Split.MinDocs != experiment.PaperMinDocs[ds] {
			t.Errorf("Full(%s): min_docs %d, want the paper's %d", ds, full.Split.MinDocs, experiment.PaperMinDocs[ds])
		}
		for _, c := range []experiment.Config{experiment.Quick(ds), full} {
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

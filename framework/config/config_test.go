package config

import (
	"strings"
	"testing"
)

type inner struct {
	BatchSize int     `json:"batch_size"`
	LR        float64 `json:"learning_rate"`
	Mode      string  `json:"mode"`
}

type outer struct {
	Seed    uint64   `json:"seed"`
	Quick   bool     `json:"quick"`
	Attacks []string `json:"attacks"`
	Train   inner    `json:"train"`
	hidden  int
}

func TestSet(t *testing.T) {
	var c outer
	if err := SetAll(&c, "seed=7", "quick=true", "attacks=loss, zlib", "train.batch_size=16", "train.learning_rate=3e-4", "train.mode=dp"); err != nil {
		t.Fatal(err)
	}
	if c.Seed != 7 || !c.Quick || len(c.Attacks) != 2 || c.Attacks[1] != "zlib" || c.Train.BatchSize != 16 || c.Train.LR != 3e-4 || c.Train.Mode != "dp" {
		t.Errorf("got %+v", c)
	}
	tests := []struct{ assign, want string }{
		{"nope=1", `unknown key "nope"`},
		{"train.nope=1", `unknown key "train.nope" in train (known: train.batch_size`},
		{"train.batch_size=big", `key "train.batch_size": "big" is not an integer`},
		{"seed=-1", "non-negative integer"},
		{"quick=maybe", "true or false"},
		{"train=3", "is a group"},
		{"seed.x=1", "not a group"},
		{"novalue", "not key=value"},
	}
	for _, tc := range tests {
		if err := SetAll(&c, tc.assign); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.assign, err, tc.want)
		}
	}
	if got := strings.Join(Keys(&c), " "); got != "attacks quick seed train.batch_size train.learning_rate train.mode" {
		t.Errorf("Keys = %s", got)
	}
}

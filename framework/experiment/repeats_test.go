package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/experiment"
)

// TestRepeatsTwoSeeds (issue 13 acceptance): repeats=2 runs seeds 1 and 2
// (data prepared once, split and fine-tuning per seed) and writes, per
// attack and group, one row per seed and a pooled row whose AUROC is the
// seeds' mean, with their standard deviation and an interval; the headline
// is the pooled non-canary rows.
func TestRepeatsTwoSeeds(t *testing.T) {
	c := tiny(t, "repeats")
	c.Set("attacks", "user-inference")
	c.Set("repeats", "2")
	out := t.TempDir()
	var log bytes.Buffer
	res, err := experiment.Run(context.Background(), c, out, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, tc := range []struct {
		glob string
		n    int
	}{{"data-*", 1}, {"split-*", 2}, {"finetune-*", 2}, {"attack-user-inference*", 2}} {
		if m, _ := filepath.Glob(filepath.Join(out, "stages", tc.glob)); len(m) != tc.n {
			t.Errorf("%d %s stages, want %d", len(m), tc.glob, tc.n)
		}
	}
	rows, err := data.ReadParquet[experiment.MetricsRow](filepath.Join(out, "metrics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	perSeed := map[string]map[int64]experiment.MetricsRow{}
	pooled := map[string]experiment.MetricsRow{}
	for _, r := range rows {
		if r.NSeeds == 1 && r.Seed != nil {
			if perSeed[r.Group] == nil {
				perSeed[r.Group] = map[int64]experiment.MetricsRow{}
			}
			perSeed[r.Group][*r.Seed] = r
		} else if r.NSeeds == 2 && r.Seed == nil {
			pooled[r.Group] = r
		} else {
			t.Errorf("row with n_seeds %d and seed %v", r.NSeeds, r.Seed)
		}
	}
	for _, g := range []string{experiment.GroupAll, experiment.GroupNonCanary} {
		a, b := perSeed[g][1], perSeed[g][2]
		p, ok := pooled[g]
		if len(perSeed[g]) != 2 || !ok {
			t.Fatalf("group %s: %d per-seed rows (want seeds 1 and 2) and pooled %v", g, len(perSeed[g]), ok)
		}
		if math.Abs(p.AUROC-(a.AUROC+b.AUROC)/2) > 1e-12 {
			t.Errorf("%s: pooled AUROC %v, want the mean of %v and %v", g, p.AUROC, a.AUROC, b.AUROC)
		}
		if p.AUROCStd == nil || math.Abs(*p.AUROCStd-math.Abs(a.AUROC-b.AUROC)/math.Sqrt2) > 1e-12 {
			t.Errorf("%s: pooled std %v, seeds %v and %v", g, p.AUROCStd, a.AUROC, b.AUROC)
		}
		if p.OverlapExact != a.OverlapExact+b.OverlapExact || p.OverlapNear != a.OverlapNear+b.OverlapNear ||
			p.AttackerDropped != a.AttackerDropped+b.AttackerDropped || p.AttackUsersDropped != a.AttackUsersDropped+b.AttackUsersDropped {
			t.Errorf("%s: pooled overlap columns %+v, seeds %+v and %+v", g, p, a, b)
		}
		if p.DPLevel != a.DPLevel || p.DPUnit != a.DPUnit || p.Accountant != a.Accountant {
			t.Errorf("%s: pooled DP columns %q %q %q, seed %q %q %q", g, p.DPLevel, p.DPUnit, p.Accountant, a.DPLevel, a.DPUnit, a.Accountant)
		}
		if !(p.AUROCLo <= p.AUROC && p.AUROC <= p.AUROCHi) || p.AUROCLo == p.AUROCHi {
			t.Errorf("%s: pooled interval [%v, %v] around %v", g, p.AUROCLo, p.AUROCHi, p.AUROC)
		}
	}
	if h := experiment.Headline(res.Metrics); len(h) != 1 || h[0].NSeeds != 2 || h[0].Group != experiment.GroupNonCanary {
		t.Errorf("headline %+v, want the pooled non_canary row", h)
	}
	scores, err := data.ReadParquet[experiment.ScoreRow](filepath.Join(out, "scores.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[int64]int{}
	for _, s := range scores {
		seeds[s.Seed]++
	}
	if len(seeds) != 2 || seeds[1] == 0 || seeds[2] == 0 {
		t.Errorf("scores per seed %v", seeds)
	}
	// The seeds are different experiments: different held-in users.
	member := map[int64]map[string]bool{1: {}, 2: {}}
	for _, s := range scores {
		member[s.Seed][s.UserID] = s.Member
	}
	differ := 0
	for u, m := range member[1] {
		if m2, ok := member[2][u]; ok && m2 != m {
			differ++
		}
	}
	if differ == 0 {
		t.Error("seeds 1 and 2 hold in the same users")
	}
	var man experiment.Manifest
	b, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Seeds) != 2 || man.Config.Repeats != 2 || len(man.Warnings) == 0 {
		t.Errorf("manifest seeds %v, repeats %d, warnings %q (a 40-user run must warn)", man.Seeds, man.Config.Repeats, man.Warnings)
	}
	if len(man.PerSeed) != 2 || man.PerSeed[0].Seed != 1 || man.PerSeed[1].Seed != 2 || man.PerSeed[0].AttackerOverlap == nil || man.PerSeed[1].AttackerOverlap == nil || man.AttackerOverlap != nil {
		t.Errorf("manifest per_seed %+v, top-level overlap %v: want each seed's overlap check", man.PerSeed, man.AttackerOverlap)
	}
	for _, d := range []string{"seed-1", "seed-2"} {
		for _, f := range []string{"metrics.parquet", "roc.png", "roc_loglog.png", "roc_loglog.svg", "manifest.json"} {
			if _, err := os.Stat(filepath.Join(out, d, f)); err != nil {
				t.Errorf("missing %s/%s", d, f)
			}
		}
	}
}

package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/metrics"
)

// TestDPUnitEverywhere: a dp=example run names its unit (a window) and the
// document and user group bounds in the privacy report, the manifest and
// the metrics, and draws the user-level DP region on its ROC plot.
func TestDPUnitEverywhere(t *testing.T) {
	c := tiny(t, "dp-unit")
	for _, kv := range []string{"train.dp=example", "train.sigma=30", "dataset.max_chars=400"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	var log bytes.Buffer
	res, err := experiment.Run(context.Background(), c, out, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man experiment.Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	rep := man.PrivacyReport
	if rep["unit"] != "window" || rep["windows_per_document"] == nil || rep["windows_per_user"] == nil || rep["groups"] == nil || rep["group_bound"] == nil {
		t.Errorf("privacy report lacks the unit or the groups: %v", rep)
	}
	if man.DPUnit != "window" || man.EpsilonUser == nil || man.EpsilonDocument == nil || !(*man.EpsilonUser >= *man.EpsilonDocument && *man.EpsilonDocument >= *man.Epsilon) {
		t.Errorf("manifest: unit %q epsilon %v document %v user %v", man.DPUnit, man.Epsilon, man.EpsilonDocument, man.EpsilonUser)
	}
	for _, r := range res.Metrics {
		if r.DPLevel != "example" || r.DPUnit != "window" || r.Delta == nil || *r.Delta != 1e-5 || r.Accountant != "pld" || r.EpsilonUser == nil || *r.EpsilonUser != *man.EpsilonUser ||
			r.AccountantUser != accountantOfUser(man) || r.AccountantDocument == "" {
			t.Errorf("metrics row %+v", r)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(out, "roc.svg"))
	if man.DPRegion == nil || man.DPRegion.Unit != "user" || !strings.Contains(string(svg), "DP bound per user") {
		t.Errorf("no user-level DP region (manifest %+v) on the ROC plot", man.DPRegion)
	}
}

// TestUserLevelDPRegion: a user-level DP run with a small epsilon has no ROC
// point above the DP region beyond sampling error (points above it by less,
// at FPR near 0, are counted in the manifest and explained in its note).
func TestUserLevelDPRegion(t *testing.T) {
	c := tiny(t, "dp-user")
	for _, kv := range []string{"train.dp=user", "train.target_epsilon=1", "train.batch_size=4", "train.user_rows=2"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	var log bytes.Buffer
	res, err := experiment.Run(context.Background(), c, out, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	b, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	var man experiment.Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if man.DPUnit != "user" || man.DPRegion == nil || man.DPRegion.Epsilon > 1 || man.PrivacyReport["windows_per_step"] == nil {
		t.Fatalf("manifest: unit %q region %+v report %v", man.DPUnit, man.DPRegion, man.PrivacyReport)
	}
	for _, r := range res.Metrics {
		t.Logf("%s: AUROC %.3f, %d of its ROC points above the (%.2f, %g) region, %d significantly", r.Attack, r.AUROC,
			man.DPRegionAbove[r.Attack], man.DPRegion.Epsilon, man.DPRegion.Delta, man.DPRegionSignificant[r.Attack])
		if man.DPRegionSignificant[r.Attack] != 0 {
			t.Errorf("%s: %d ROC points significantly above the DP region", r.Attack, man.DPRegionSignificant[r.Attack])
		}
		// Power: with this run's member and non-member counts a perfect
		// attack IS flagged, so "none significantly above" has teeth.
		perfect := []metrics.ROCPoint{{FPR: 0, TPR: 0}, {FPR: 0, TPR: 1}, {FPR: 1, TPR: 1}}
		if got := man.DPRegion.Significant(perfect, int(r.NMembers), int(r.NUsers-r.NMembers), 0.025); len(got) == 0 {
			t.Errorf("%s: a perfect attack on %d members and %d non-members would not be flagged at epsilon %v", r.Attack, r.NMembers, r.NUsers-r.NMembers, man.DPRegion.Epsilon)
		}
		if r.DPUnit != "user" || r.EpsilonUser == nil || *r.EpsilonUser != *r.Epsilon {
			t.Errorf("metrics row %+v", r)
		}
	}
	if !strings.Contains(man.DPRegionNote, "sampling error") {
		t.Errorf("note %q", man.DPRegionNote)
	}
}

// TestDPRepeatsPooledColumns: under repeats, the pooled rows keep the DP
// columns and hold the largest epsilon of any seed (a guarantee for every
// seed), and the manifest gives each seed's DP region.
func TestDPRepeatsPooledColumns(t *testing.T) {
	c := tiny(t, "dp-repeats")
	for _, kv := range []string{"train.dp=example", "train.sigma=30", "dataset.max_chars=400", "repeats=2", "attacks=loss"} {
		k, v, _ := strings.Cut(kv, "=")
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	var log bytes.Buffer
	res, err := experiment.Run(context.Background(), c, out, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	maxEps, maxUser := 0.0, 0.0
	var pooled []experiment.MetricsRow
	for _, r := range res.Metrics {
		if r.Epsilon == nil || r.EpsilonUser == nil || r.DPLevel != "example" || r.DPUnit != "window" || r.Delta == nil || r.Accountant != "pld" {
			t.Fatalf("row (n_seeds %d) lacks DP columns: %+v", r.NSeeds, r)
		}
		if r.NSeeds == 1 {
			maxEps, maxUser = max(maxEps, *r.Epsilon), max(maxUser, *r.EpsilonUser)
		} else {
			pooled = append(pooled, r)
		}
	}
	if len(pooled) == 0 {
		t.Fatal("no pooled rows")
	}
	for _, r := range pooled {
		if *r.Epsilon != maxEps || *r.EpsilonUser != maxUser {
			t.Errorf("pooled epsilon %v, user %v; want the largest of the seeds' %v, %v", *r.Epsilon, *r.EpsilonUser, maxEps, maxUser)
		}
	}
	m := res.Manifest
	if len(m.PerSeed) != 2 || m.PerSeed[0].DPRegion == nil || m.PerSeed[1].DPRegion == nil || m.EpsilonUser == nil || *m.EpsilonUser != maxUser {
		t.Errorf("manifest per_seed %+v, epsilon_user %v (want %v)", m.PerSeed, m.EpsilonUser, maxUser)
	}
}

// accountantOfUser is the accountant the privacy report names for the
// group bound of the user with the most windows.
func accountantOfUser(man experiment.Manifest) string {
	groups, _ := man.PrivacyReport["groups"].([]any)
	for _, g := range groups {
		m, _ := g.(map[string]any)
		if m["group"] == "user" && m["which"] == "max" {
			s, _ := m["accountant"].(string)
			return s
		}
	}
	return "?"
}

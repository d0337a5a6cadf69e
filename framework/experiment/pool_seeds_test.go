package experiment

import (
	"fmt"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/metrics"
)

// seedRows is one seed's metrics row (attack loss, all users) and its
// scores: 10 users, members 0-4, score noise from seed.
func seedRows(seed int64, eps, epsUser float64, overlap int64) (MetricsRow, []ScoreRow) {
	delta := 1e-5
	sd := seed
	row := MetricsRow{ExperimentID: "x", Seed: &sd, NSeeds: 1, Attack: "loss", Group: GroupAll,
		NUsers: 10, NMembers: 5, NNonMembers: 5,
		OverlapExact: overlap, OverlapNear: 2 * overlap, AttackerDropped: 3 * overlap, AttackUsersDropped: overlap, AttackUsersShort: 4 * overlap,
		DPLevel: "example", DPUnit: "window", Delta: &delta, Accountant: "pld",
		Epsilon: &eps, EpsilonDocument: &eps, EpsilonUser: &epsUser}
	var sc []ScoreRow
	for u := range 10 {
		sc = append(sc, ScoreRow{Seed: seed, Attack: "loss", UserID: fmt.Sprint("u", u), Member: u < 5,
			Score: float64((u*7+int(seed)*3)%10) + float64(u%5)})
	}
	return row, sc
}

// Pooled rows keep the per-seed columns: overlap counts summed over seeds,
// the DP level/unit/delta/accountant (which must agree) and the largest
// epsilon over seeds (a guarantee for every seed, not a mean).
func TestPoolSeedsKeepsColumns(t *testing.T) {
	cfg := Default()
	cfg.Bootstrap = 50
	r1, s1 := seedRows(1, 2, 8, 1)
	r2, s2 := seedRows(2, 3, 6, 2)
	pooled, err := poolSeeds(cfg, []uint64{1, 2}, map[uint64][]ScoreRow{1: s1, 2: s2}, []MetricsRow{r1, r2})
	if err != nil {
		t.Fatal(err)
	}
	if len(pooled) != 1 {
		t.Fatalf("%d pooled rows", len(pooled))
	}
	p := pooled[0]
	if p.OverlapExact != 3 || p.OverlapNear != 6 || p.AttackerDropped != 9 || p.AttackUsersDropped != 3 {
		t.Errorf("overlap columns %d %d %d %d, want the sums 3 6 9 3", p.OverlapExact, p.OverlapNear, p.AttackerDropped, p.AttackUsersDropped)
	}
	if p.AttackUsersShort != 12 {
		t.Errorf("attack_users_short %d, want the sum 12", p.AttackUsersShort)
	}
	if want := "seed 1: 10 users (5 members, 5 non-members); seed 2: 10 users (5 members, 5 non-members)"; p.SeedCounts != want {
		t.Errorf("seed_counts %q, want %q", p.SeedCounts, want)
	}
	if p.DPLevel != "example" || p.DPUnit != "window" || p.Accountant != "pld" || p.Delta == nil || *p.Delta != 1e-5 {
		t.Errorf("DP columns %q %q %q %v", p.DPLevel, p.DPUnit, p.Accountant, p.Delta)
	}
	if p.Epsilon == nil || *p.Epsilon != 3 || p.EpsilonDocument == nil || *p.EpsilonDocument != 3 || p.EpsilonUser == nil || *p.EpsilonUser != 8 {
		t.Errorf("epsilons %v %v %v, want the largest: 3 3 8", showOpt(p.Epsilon), showOpt(p.EpsilonDocument), showOpt(p.EpsilonUser))
	}
	// The chance test is over both seeds' users, permuting within each seed.
	var runs []metrics.Labelled
	for _, sc := range [][]ScoreRow{s1, s2} {
		var r metrics.Labelled
		for _, s := range sc {
			r.Scores, r.Member = append(r.Scores, s.Score), append(r.Member, s.Member)
		}
		runs = append(runs, r)
	}
	wantP, err := metrics.ChanceP(runs, metrics.Permutations, cfg.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if p.ChanceP == nil || *p.ChanceP != wantP {
		t.Errorf("pooled chance p %v, want %v (the test over both seeds)", showOpt(p.ChanceP), wantP)
	}
	// An unbounded seed (no user-level epsilon) leaves the pooled row unbounded.
	r2.EpsilonUser = nil
	if pooled, err = poolSeeds(cfg, []uint64{1, 2}, map[uint64][]ScoreRow{1: s1, 2: s2}, []MetricsRow{r1, r2}); err != nil || pooled[0].EpsilonUser != nil {
		t.Errorf("unbounded seed: %v, epsilon_user %v", err, showOpt(pooled[0].EpsilonUser))
	}
	// Seeds that disagree on what epsilon protects are not pooled.
	r2.DPUnit = "user"
	if _, err := poolSeeds(cfg, []uint64{1, 2}, map[uint64][]ScoreRow{1: s1, 2: s2}, []MetricsRow{r1, r2}); err == nil || !strings.Contains(err.Error(), "differ in DP") {
		t.Errorf("DP units differ: %v", err)
	}
}

func showOpt(v *float64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

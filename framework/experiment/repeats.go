package experiment

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/metrics"
)

// run is one run, or with cfg.Repeats > 1 the repeats: runOnce under seeds
// cfg.Seed, cfg.Seed+1, ... into out/seed-<seed>, sharing the stages
// directory, so stages whose key has no seed (the dataset) run once; the
// split, mitigations, reference pretraining (its pool comes from the
// split, its training order from the seed), fine-tuning and attacks run
// per seed. out gets metrics.parquet with every seed's rows (seed column)
// and the rows pooled over seeds (n_seeds = N, seed null: mean, std and a
// 95% interval over users and seeds, metrics.Pool; the overlap columns
// summed over seeds; the epsilon columns the largest over seeds, a
// guarantee for every seed; the DP level, unit, delta and accountant,
// which must agree across seeds), scores.parquet with every seed's scores,
// and manifest.json (the config, the seeds, every seed's warnings, per_seed:
// each seed's overlap check, epsilons and DP region; the top-level epsilons
// the largest over seeds); each seed-<seed> folder is a whole run (plots
// included).
func run(ctx context.Context, cfg Config, out, stages string, log io.Writer) (*Result, error) {
	if cfg.Repeats <= 1 {
		return runOnce(ctx, cfg, out, stages, log)
	}
	if log == nil {
		log = io.Discard
	}
	if _, err := Validate(cfg); err != nil {
		return nil, err
	}
	// The seeds' runs and the pooled results below are written under one
	// hold of the stages folder's lock.
	if err := os.MkdirAll(filepath.Dir(stages), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(filepath.Dir(stages))
	if err != nil {
		return nil, err
	}
	defer unlock()
	start := time.Now()
	var all *Result
	var scores []ScoreRow
	perSeed := map[uint64][]ScoreRow{}
	var seeds []uint64
	for i := range cfg.Repeats {
		c := cfg
		c.Seed, c.Repeats = cfg.Seed+uint64(i), 0
		fmt.Fprintf(log, "privlm: repeat %d/%d: seed %d\n", i+1, cfg.Repeats, c.Seed)
		res, err := runOnce(ctx, c, filepath.Join(out, fmt.Sprintf("seed-%d", c.Seed)), stages, log)
		if err != nil {
			return nil, fmt.Errorf("seed %d: %w", c.Seed, err)
		}
		sc, err := data.ReadParquet[ScoreRow](filepath.Join(res.OutDir, "scores.parquet"))
		if err != nil {
			return nil, err
		}
		seeds = append(seeds, c.Seed)
		perSeed[c.Seed] = sc
		scores = append(scores, sc...)
		if all == nil {
			all = &Result{OutDir: out, Manifest: res.Manifest}
			all.Manifest.Config, all.Manifest.Seed, all.Manifest.Warnings = cfg, cfg.Seed, nil
			// Per-seed facts are in PerSeed, not one seed's at the top.
			all.Manifest.AttackerOverlap, all.Manifest.DPRegion, all.Manifest.DPRegionNote = nil, nil, ""
			all.Manifest.DPRegionAbove, all.Manifest.DPRegionSignificant = nil, nil
			all.Manifest.Epsilon, all.Manifest.EpsilonDocument, all.Manifest.EpsilonUser = nil, nil, nil
			all.Manifest.PrivacyReport = nil
		}
		m := res.Manifest
		all.Manifest.PerSeed = append(all.Manifest.PerSeed, SeedManifest{Seed: c.Seed, AttackerOverlap: m.AttackerOverlap,
			Epsilon: m.Epsilon, EpsilonDocument: m.EpsilonDocument, EpsilonUser: m.EpsilonUser,
			DPRegion: m.DPRegion, DPRegionNote: m.DPRegionNote, DPRegionAbove: m.DPRegionAbove, DPRegionSignificant: m.DPRegionSignificant})
		all.Metrics = append(all.Metrics, res.Metrics...)
		all.Dynamics = append(all.Dynamics, res.Dynamics...)
		for _, w := range res.Manifest.Warnings {
			if !slices.Contains(all.Manifest.Warnings, w) {
				all.Manifest.Warnings = append(all.Manifest.Warnings, w)
			}
		}
	}
	pooled, err := poolSeeds(cfg, seeds, perSeed, all.Metrics)
	if err != nil {
		return nil, err
	}
	all.Metrics = append(all.Metrics, pooled...)
	all.Manifest.Seeds = seeds
	// The top-level guarantees are the weakest seed's (the largest
	// epsilon; none when a seed has none).
	var eps, epsDoc, epsUser []*float64
	for _, ps := range all.Manifest.PerSeed {
		eps, epsDoc, epsUser = append(eps, ps.Epsilon), append(epsDoc, ps.EpsilonDocument), append(epsUser, ps.EpsilonUser)
	}
	all.Manifest.Epsilon, all.Manifest.EpsilonDocument, all.Manifest.EpsilonUser = maxOrNil(eps), maxOrNil(epsDoc), maxOrNil(epsUser)
	all.Manifest.Finished = time.Now().UTC()
	if err := data.WriteParquet(filepath.Join(out, "scores.parquet"), scores); err != nil {
		return nil, err
	}
	if err := data.WriteParquet(filepath.Join(out, "metrics.parquet"), all.Metrics); err != nil {
		return nil, err
	}
	if all.Dynamics != nil {
		if err := data.WriteParquet(filepath.Join(out, "dynamics.parquet"), all.Dynamics); err != nil {
			return nil, err
		}
	}
	if err := data.WriteJSON(filepath.Join(out, "manifest.json"), all.Manifest); err != nil {
		return nil, err
	}
	all.Duration = time.Since(start)
	return all, nil
}

// poolSeeds makes one pooled row per (attack, group) that every seed has.
func poolSeeds(cfg Config, seeds []uint64, perSeed map[uint64][]ScoreRow, rows []MetricsRow) ([]MetricsRow, error) {
	type key struct{ attack, group string }
	bySeed := map[key][]MetricsRow{}
	var order []key
	for _, r := range rows {
		k := key{r.Attack, r.Group}
		if _, ok := bySeed[k]; !ok {
			order = append(order, k)
		}
		bySeed[k] = append(bySeed[k], r)
	}
	var out []MetricsRow
	for _, k := range order {
		rs := bySeed[k]
		if len(rs) != len(seeds) {
			continue // a group (canary) some seed has no row for
		}
		runs := make([]metrics.Labelled, len(seeds))
		for i, s := range seeds {
			for _, sc := range perSeed[s] {
				if sc.Attack == k.attack && inGroup(sc, k.group) {
					runs[i].Users = append(runs[i].Users, sc.UserID)
					runs[i].Scores = append(runs[i].Scores, sc.Score)
					runs[i].Member = append(runs[i].Member, sc.Member)
				}
			}
		}
		p, err := metrics.Pool(runs, cfg.Bootstrap, cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("experiment: pooling %s, %s users: %w", k.attack, k.group, err)
		}
		chance, err := metrics.ChanceP(runs, metrics.Permutations, cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("experiment: chance test over seeds, %s, %s users: %w", k.attack, k.group, err)
		}
		below, err := metrics.ChanceBelowP(runs, metrics.Permutations, cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("experiment: chance test over seeds, %s, %s users: %w", k.attack, k.group, err)
		}
		std, bootLo, bootHi := p.StdAUROC, p.BootLo, p.BootHi
		row := MetricsRow{ExperimentID: cfg.Name, NSeeds: int64(len(seeds)), Attack: k.attack, Group: k.group,
			AUROC: p.MeanAUROC, AUROCLo: p.AUROCLo, AUROCHi: p.AUROCHi, AUROCStd: &std,
			Interval: p.Interval, BootLo: &bootLo, BootHi: &bootHi, ChanceP: &chance, ChanceBelowP: &below,
			TPRAt01FPR: meanOrNil(rs, func(r MetricsRow) *float64 { return r.TPRAt01FPR }),
			TPRAt1FPR:  meanOrNil(rs, func(r MetricsRow) *float64 { return r.TPRAt1FPR }),
			TPRAt5FPR:  meanOrNil(rs, func(r MetricsRow) *float64 { return r.TPRAt5FPR }),
			ValLoss:    meanOrNil(rs, func(r MetricsRow) *float64 { return r.ValLoss }),
			NUsers:     rs[0].NUsers, NMembers: rs[0].NMembers, NNonMembers: rs[0].NNonMembers,
			DPLevel: rs[0].DPLevel, DPUnit: rs[0].DPUnit, Delta: rs[0].Delta, Accountant: rs[0].Accountant}
		// A guarantee over seeds is the weakest seed's: the largest
		// epsilon (none when a seed has none, e.g. an unbounded group).
		row.Epsilon = maxOrNil(column(rs, func(r MetricsRow) *float64 { return r.Epsilon }))
		row.EpsilonDocument = maxOrNil(column(rs, func(r MetricsRow) *float64 { return r.EpsilonDocument }))
		row.EpsilonUser = maxOrNil(column(rs, func(r MetricsRow) *float64 { return r.EpsilonUser }))
		row.AccountantDocument = joinDistinct(rs, func(r MetricsRow) string { return r.AccountantDocument })
		row.AccountantUser = joinDistinct(rs, func(r MetricsRow) string { return r.AccountantUser })
		for _, r := range rs {
			if r.DPLevel != row.DPLevel || r.DPUnit != row.DPUnit || r.Accountant != row.Accountant || !sameOptional(r.Delta, row.Delta) {
				return nil, fmt.Errorf("experiment: pooling %s, %s users: seeds differ in DP (level %q/%q, unit %q/%q, accountant %q/%q, delta %v/%v)",
					k.attack, k.group, row.DPLevel, r.DPLevel, row.DPUnit, r.DPUnit, row.Accountant, r.Accountant, fmtOptional(row.Delta), fmtOptional(r.Delta))
			}
			row.NUsers, row.NMembers, row.NNonMembers = min(row.NUsers, r.NUsers), min(row.NMembers, r.NMembers), min(row.NNonMembers, r.NNonMembers)
			// Overlap counts are summed over seeds (each seed's split is
			// checked on its own).
			row.OverlapExact += r.OverlapExact
			row.OverlapNear += r.OverlapNear
			row.AttackerDropped += r.AttackerDropped
			row.AttackUsersDropped += r.AttackUsersDropped
			row.AttackUsersShort += r.AttackUsersShort
		}
		var counts []string
		for _, r := range rs {
			seed := "?"
			if r.Seed != nil {
				seed = fmt.Sprint(*r.Seed)
			}
			counts = append(counts, fmt.Sprintf("seed %s: %d users (%d members, %d non-members)", seed, r.NUsers, r.NMembers, r.NNonMembers))
		}
		row.SeedCounts = strings.Join(counts, "; ")
		out = append(out, row)
	}
	return out, nil
}

// inGroup says whether a user belongs to a metrics group.
func inGroup(s ScoreRow, group string) bool {
	switch group {
	case GroupCanary:
		return s.Canary
	case GroupNonCanary:
		return !s.Canary
	}
	return true
}

// meanOrNil is the mean of an optional value over rows, nil if any lacks it.
func meanOrNil(rows []MetricsRow, get func(MetricsRow) *float64) *float64 {
	sum := 0.0
	for _, r := range rows {
		v := get(r)
		if v == nil {
			return nil
		}
		sum += *v
	}
	m := sum / float64(len(rows))
	return &m
}

// column is an optional value of every row.
func column(rows []MetricsRow, get func(MetricsRow) *float64) []*float64 {
	out := make([]*float64, len(rows))
	for i, r := range rows {
		out[i] = get(r)
	}
	return out
}

// maxOrNil is the largest value, nil if any is nil (or there are none).
func maxOrNil(vs []*float64) *float64 {
	if len(vs) == 0 {
		return nil
	}
	m := math.Inf(-1)
	for _, v := range vs {
		if v == nil {
			return nil
		}
		m = max(m, *v)
	}
	return &m
}

func sameOptional(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func fmtOptional(v *float64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

// joinDistinct is the distinct non-empty values of a text column over seeds,
// joined by "+" (e.g. the accountants of the seeds' group bounds).
func joinDistinct(rs []MetricsRow, col func(MetricsRow) string) string {
	var out []string
	for _, r := range rs {
		if v := col(r); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return strings.Join(out, "+")
}

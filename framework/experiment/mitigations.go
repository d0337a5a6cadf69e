package experiment

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/privlm/privlm/framework/metrics"
	"github.com/privlm/privlm/framework/privacy"
	"github.com/privlm/privlm/framework/train"
)

// What a mitigation is expected to do to an attack's AUROC (Mitigation.Expect).
const (
	// ExpectNoEffect: the mitigation does not lower the AUROC (the paper's
	// gradient clipping and early stopping). Shown when no reduction is
	// significant; the interval says how large a reduction it rules out.
	ExpectNoEffect = "no effect"
	// ExpectLowers: the mitigation lowers the AUROC (the paper's per-user
	// caps and within-user dedup).
	ExpectLowers = "lowers"
	// ExpectLowersPartly: the mitigation lowers the AUROC but the attack
	// stays above chance (the paper's example-level DP).
	ExpectLowersPartly = "lowers partly"
)

// Mitigation is a finding about one point of a mitigation sweep: what it
// does to the attack's AUROC against another point of the same sweep,
// Against (the unmitigated baseline, or for user-level DP the
// example-level DP run at the same epsilon).
type Mitigation struct {
	// Point and Against are sweep points as Point.String writes them
	// ("train.clip=batch", "train.dp=example,train.target_epsilon=8").
	Point   string
	Against string
	// Expect is ExpectNoEffect, ExpectLowers or ExpectLowersPartly.
	Expect string
	// Paper is the paper's finding in words with its numbers; "" when the
	// paper does not test it (the verdict is then "not comparable").
	Paper string
	// The paper's numbers, where it has them (nil where not): the AUROC
	// at Point and at Against, and the validation losses (the DP table of
	// ../shared/PAPERS.md section 1 gives both; dedup gives the AUROCs).
	PaperAUROC, PaperAUROCAgainst     *float64
	PaperValLoss, PaperValLossAgainst *float64
	// PaperDataset is the dataset (and setting) the paper's finding and
	// numbers come from, shown beside ours ("Enron", "CC News, exact
	// duplicates").
	PaperDataset string
	// ClippedFraction is, for a clipping point, the mean fraction of
	// gradients its clipping changed (SweepClippedFraction); nil for other
	// points. The paper's clipping finding is for a bound that clips nearly
	// every step: below MinClippedFraction the verdict is "not comparable".
	ClippedFraction *float64
	// RemovesData marks a mitigation that removes training documents (a
	// cap, dedup): if it removed none at every seed, the two points trained
	// on the same data and the verdict is "not comparable".
	RemovesData bool
}

// MinClippedFraction is the least mean clipped fraction (Mitigation.
// ClippedFraction) for which a clipping point is the paper's setting.
const MinClippedFraction = 0.9

// MitigationRow is a Mitigation tested on a sweep's scores: the attack's
// AUROC at Point against Against, over the users scored at both (the same
// split: the points differ in training only), by DeLong's paired test
// pooled over seeds, one-sided for "Point lowers the AUROC". The two points
// are different fine-tunings whose retraining noise that variance leaves
// out, so a significant change also needs every seed's difference in the
// same direction.
type MitigationRow struct {
	Point   string `parquet:"point" json:"point"`
	Against string `parquet:"against" json:"against"`
	Attack  string `parquet:"attack" json:"attack"`
	Expect  string `parquet:"expect" json:"expect"`
	// AUROCAgainst and AUROC are the two points' AUROCs (means over seeds),
	// Delta AUROC minus AUROCAgainst with its 95% interval, P the one-sided
	// p-value of "Point does not lower the AUROC".
	AUROCAgainst float64 `parquet:"auroc_against" json:"auroc_against"`
	AUROC        float64 `parquet:"auroc" json:"auroc"`
	Delta        float64 `parquet:"delta" json:"delta"`
	DeltaLo      float64 `parquet:"delta_lo" json:"delta_lo"`
	DeltaHi      float64 `parquet:"delta_hi" json:"delta_hi"`
	P            float64 `parquet:"p" json:"p"`
	// ChanceP is Point's permutation p-value of "no better than chance"
	// over the same users (metrics.ChanceP, pooled over seeds).
	ChanceP float64 `parquet:"chance_p" json:"chance_p"`
	// ValLoss and ValLossAgainst are the attacked checkpoints' validation
	// losses (means over seeds; nil when a run has none): the utility
	// price.
	ValLoss        *float64 `parquet:"val_loss,optional" json:"val_loss"`
	ValLossAgainst *float64 `parquet:"val_loss_against,optional" json:"val_loss_against"`
	// For a DP point: DPLevel (example or user), Epsilon (pld, the largest
	// of any seed) and Delta; for user-level DP, MaxAUROC, the largest
	// AUROC any user inference test can reach against an (Epsilon,
	// Delta)-DP mechanism (privacy.MaxAUROC). Example-level DP's unit is a
	// window, so it bounds no test about a user: nil.
	DPLevel  string   `parquet:"dp_level" json:"dp_level"`
	Epsilon  *float64 `parquet:"epsilon,optional" json:"epsilon"`
	DPDelta  *float64 `parquet:"dp_delta,optional" json:"dp_delta"`
	MaxAUROC *float64 `parquet:"max_auroc,optional" json:"max_auroc"`
	NSeeds   int64    `parquet:"n_seeds" json:"n_seeds"`
	// NUsers is the fewest users any seed compares; NLeftOut the users,
	// summed over seeds, scored at one point only.
	NUsers     int64  `parquet:"n_users" json:"n_users"`
	NLeftOut   int64  `parquet:"n_left_out" json:"n_left_out"`
	SeedDeltas string `parquet:"seed_deltas" json:"seed_deltas"`
	Paper      string `parquet:"paper" json:"paper"`
	// PaperDataset and ClippedFraction are Mitigation's.
	PaperDataset    string   `parquet:"paper_dataset" json:"paper_dataset"`
	ClippedFraction *float64 `parquet:"clipped_fraction,optional" json:"clipped_fraction"`
	// ChanceAgainstP is Against's permutation p-value of "no better than
	// chance" over the same users: an unmitigated attack at chance leaves
	// nothing to lower, and the verdict says so.
	ChanceAgainstP float64 `parquet:"chance_against_p" json:"chance_against_p"`
	// TrainDocs and TrainDocsAgainst are the documents the members (not
	// canaries) trained on at Point and at Against, summed over members and
	// averaged over seeds (ScoreRow.NTrainSamples): dedup before and after.
	TrainDocs        float64 `parquet:"train_docs" json:"train_docs"`
	TrainDocsAgainst float64 `parquet:"train_docs_against" json:"train_docs_against"`
	// The paper's numbers beside ours (Mitigation's; AUROCs as fractions).
	PaperAUROC          *float64 `parquet:"paper_auroc,optional" json:"paper_auroc"`
	PaperAUROCAgainst   *float64 `parquet:"paper_auroc_against,optional" json:"paper_auroc_against"`
	PaperValLoss        *float64 `parquet:"paper_val_loss,optional" json:"paper_val_loss"`
	PaperValLossAgainst *float64 `parquet:"paper_val_loss_against,optional" json:"paper_val_loss_against"`
	Reproduces          string   `parquet:"reproduces" json:"reproduces"`
	Why                 string   `parquet:"why" json:"why"`
}

// Test builds the MitigationRow of attack from a sweep's headline scores
// (non-canary users; SweepScores) and its pooled metrics rows (for the
// validation losses and epsilons; RunPoints' rows). name is the sweep's
// config name (experiment ids are "<name>/<point>").
func (m Mitigation) Test(name string, scores []ScoreRow, rows []MetricsRow, attack string) (MitigationRow, error) {
	switch m.Expect {
	case ExpectNoEffect, ExpectLowers, ExpectLowersPartly:
	default:
		return MitigationRow{}, fmt.Errorf("experiment: mitigation %s: expect %q, want %q, %q or %q", m.Point, m.Expect, ExpectNoEffect, ExpectLowers, ExpectLowersPartly)
	}
	if m.Point == m.Against {
		return MitigationRow{}, fmt.Errorf("experiment: mitigation %s against itself: want two different sweep points", m.Point)
	}
	idPoint, idAgainst := name+"/"+m.Point, name+"/"+m.Against
	runs := map[string]map[int64]*metrics.Labelled{idPoint: {}, idAgainst: {}}
	docs := map[string]map[int64]int64{idPoint: {}, idAgainst: {}}
	for _, s := range scores {
		byseed, ok := runs[s.ExperimentID]
		if !ok || s.Attack != attack || s.Canary {
			continue
		}
		if s.Member {
			docs[s.ExperimentID][s.Seed] += s.NTrainSamples
		}
		l := byseed[s.Seed]
		if l == nil {
			l = &metrics.Labelled{}
			byseed[s.Seed] = l
		}
		l.Users, l.Scores, l.Member = append(l.Users, s.UserID), append(l.Scores, s.Score), append(l.Member, s.Member)
	}
	var seeds []int64
	for seed := range runs[idPoint] {
		if runs[idAgainst][seed] != nil {
			seeds = append(seeds, seed)
		}
	}
	if len(seeds) == 0 {
		return MitigationRow{}, fmt.Errorf("experiment: mitigation %s against %s: no seed has scores of %s at both (experiment ids %q and %q)", m.Point, m.Against, attack, idPoint, idAgainst)
	}
	slices.Sort(seeds)
	row := MitigationRow{Point: m.Point, Against: m.Against, Attack: attack, Expect: m.Expect, NSeeds: int64(len(seeds)), Paper: m.Paper,
		PaperAUROC: m.PaperAUROC, PaperAUROCAgainst: m.PaperAUROCAgainst, PaperValLoss: m.PaperValLoss, PaperValLossAgainst: m.PaperValLossAgainst,
		PaperDataset: m.PaperDataset, ClippedFraction: m.ClippedFraction}
	sameData := true
	for _, seed := range seeds {
		row.TrainDocs += float64(docs[idPoint][seed]) / float64(len(seeds))
		row.TrainDocsAgainst += float64(docs[idAgainst][seed]) / float64(len(seeds))
		sameData = sameData && docs[idPoint][seed] == docs[idAgainst][seed]
	}
	var a, b []metrics.Labelled
	for i, seed := range seeds {
		ra, rb, left := common(*runs[idAgainst][seed], *runs[idPoint][seed])
		a, b = append(a, ra), append(b, rb)
		row.NLeftOut += int64(left)
		if n := int64(len(ra.Users)); i == 0 || n < row.NUsers {
			row.NUsers = n
		}
	}
	// One-sided for "lowers": Against's AUROC above Point's, turned back
	// into Point's minus Against's.
	d, err := metrics.CompareAUROC(b, a)
	if err != nil {
		return MitigationRow{}, fmt.Errorf("experiment: mitigation %s against %s, %s: %w", m.Point, m.Against, attack, err)
	}
	row.AUROCAgainst, row.AUROC, row.Delta, row.DeltaLo, row.DeltaHi, row.P = d.AUROCB, d.AUROCA, -d.Delta, -d.Hi, -d.Lo, d.P
	var per []string
	lowerEverySeed, higherEverySeed := true, true
	for i, seed := range seeds {
		per = append(per, fmt.Sprintf("seed %d %+.3f", seed, -d.RunDeltas[i]))
		lowerEverySeed = lowerEverySeed && d.RunDeltas[i] > 0
		higherEverySeed = higherEverySeed && d.RunDeltas[i] < 0
	}
	row.SeedDeltas = strings.Join(per, ", ")
	if row.ChanceP, err = metrics.ChanceP(b, metrics.Permutations, 1); err != nil {
		return MitigationRow{}, fmt.Errorf("experiment: mitigation %s, %s: %w", m.Point, attack, err)
	}
	if row.ChanceAgainstP, err = metrics.ChanceP(a, metrics.Permutations, 1); err != nil {
		return MitigationRow{}, fmt.Errorf("experiment: mitigation %s, %s: %w", m.Against, attack, err)
	}
	if err := row.fromMetrics(rows, idPoint, idAgainst, attack); err != nil {
		return MitigationRow{}, err
	}

	ours := fmt.Sprintf("ours %.3f against %.3f (%s), difference %+.3f [%+.3f, %+.3f] (%s), DeLong paired p = %.4f (one-sided: lowers; level %.3f; variance over users given each seed's models) over %d seeds, at least %d users each, %d scored at one point only; above chance p = %.4f (against: %.4f)",
		row.AUROC, row.AUROCAgainst, m.Against, row.Delta, row.DeltaLo, row.DeltaHi, row.SeedDeltas, row.P, metrics.ChanceLevel, len(seeds), row.NUsers, row.NLeftOut, row.ChanceP, row.ChanceAgainstP)
	switch {
	case row.MaxAUROC != nil:
		ours += fmt.Sprintf("; no user inference test can exceed AUROC %.4f against (%.3g, %.0e)-DP", *row.MaxAUROC, *row.Epsilon, *row.DPDelta)
	case row.DPLevel == "example":
		ours += "; example-level DP protects one window, so it bounds no test about a user"
	}
	if row.ClippedFraction != nil {
		ours += fmt.Sprintf("; clipping changed %.0f%% of gradients", 100**row.ClippedFraction)
	}
	if m.RemovesData {
		ours += fmt.Sprintf("; members trained on %.0f documents, against %.0f", row.TrainDocs, row.TrainDocsAgainst)
	}
	lowers := row.P <= metrics.ChanceLevel && lowerEverySeed
	rises := 1-row.P <= metrics.ChanceLevel && higherEverySeed
	above := row.ChanceP <= metrics.ChanceLevel
	switch {
	case m.Paper == "":
		row.Reproduces, row.Why = NotComparable, "no paper finding to compare with (the paper does not run this, or not on this dataset): "+ours
	case m.RemovesData && sameData:
		row.Reproduces, row.Why = NotComparable, fmt.Sprintf("the mitigation removed no training document (members trained on %.0f documents at both points), so there is nothing to test: %s", row.TrainDocs, ours)
	case row.ClippedFraction != nil && *row.ClippedFraction < MinClippedFraction:
		row.Reproduces, row.Why = NotComparable, fmt.Sprintf("clipping changed only %.0f%% of gradients; the paper's bound clips nearly every step (we ask %.0f%%): %s", 100**row.ClippedFraction, 100*MinClippedFraction, ours)
	case row.ChanceAgainstP > metrics.ChanceLevel:
		row.Reproduces, row.Why = NotReproduced, "inconclusive: the attack against "+m.Against+" is not above chance here, so there is nothing to lower: "+ours
	case rises:
		row.Reproduces, row.Why = NotReproduced, "raises the AUROC (significant, every seed): "+ours
	case row.P <= metrics.ChanceLevel && !lowerEverySeed:
		row.Reproduces, row.Why = NotReproduced, "inconclusive: a reduction significant over users, but the seeds disagree in direction: "+ours
	case m.Expect == ExpectNoEffect && !lowers:
		row.Reproduces, row.Why = Reproduced, fmt.Sprintf("no reduction shown, as in the paper (given these models, the interval rules out reductions larger than %.3f): %s", math.Max(0, -row.DeltaLo), ours)
	case m.Expect == ExpectNoEffect:
		row.Reproduces, row.Why = NotReproduced, "lowers the AUROC, against the paper: "+ours
	case !lowers:
		row.Reproduces, row.Why = NotReproduced, "not shown: no significant reduction (inconclusive, not a contradiction): "+ours
	case m.Expect == ExpectLowersPartly && !above:
		row.Reproduces, row.Why = NotReproduced, "lowers it to chance, more than the paper's partial reduction: "+ours
	case m.Expect == ExpectLowersPartly:
		row.Reproduces, row.Why = Reproduced, "lowers it and the attack stays above chance, as in the paper: "+ours
	default:
		row.Reproduces, row.Why = Reproduced, "lowers it, as in the paper: "+ours
	}
	return row, nil
}

// fromMetrics fills the validation losses and DP columns from the sweep's
// metrics rows (the attack's headline rows, pooled when there are seeds).
func (row *MitigationRow) fromMetrics(rows []MetricsRow, idPoint, idAgainst, attack string) error {
	find := func(id string) (MetricsRow, error) {
		for _, r := range Headline(rows) {
			if r.ExperimentID == id && r.Attack == attack {
				return r, nil
			}
		}
		return MetricsRow{}, fmt.Errorf("experiment: mitigation: no headline metrics row of %s for %q", attack, id)
	}
	p, err := find(idPoint)
	if err != nil {
		return err
	}
	q, err := find(idAgainst)
	if err != nil {
		return err
	}
	row.ValLoss, row.ValLossAgainst, row.DPLevel = p.ValLoss, q.ValLoss, p.DPLevel
	if p.DPLevel != "" && p.DPLevel != "none" && p.Epsilon != nil && p.Delta != nil {
		row.Epsilon, row.DPDelta = p.Epsilon, p.Delta
		if p.DPLevel == "user" {
			bound, err := privacy.MaxAUROC(*p.Epsilon, *p.Delta)
			if err != nil {
				return fmt.Errorf("experiment: mitigation %s: %w", idPoint, err)
			}
			row.MaxAUROC = &bound
		}
	}
	return nil
}

// SweepClippedFraction is the mean fraction of gradients clipping changed
// at the sweep point written point (Point.String) of the sweep in dir: the
// mean over each seed's logged steps (train.LogRow.ClippedFraction: for
// batch clipping the steps clipped, per-example or DP the examples),
// averaged over seeds.
func SweepClippedFraction(dir, point string) (float64, error) {
	plan, err := LoadSweep(dir)
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(plan.Points, func(p Point) bool { return p.String() == point })
	if i < 0 {
		return 0, fmt.Errorf("experiment: sweep %s has no point %q", dir, point)
	}
	out := filepath.Join(dir, PointName(i))
	logs, _ := filepath.Glob(filepath.Join(out, "seed-*", "training_log.parquet"))
	if len(logs) == 0 {
		logs, _ = filepath.Glob(filepath.Join(out, "training_log.parquet"))
	}
	if len(logs) == 0 {
		return 0, fmt.Errorf("experiment: sweep point %s (%s): no training_log.parquet (not run yet?)", out, point)
	}
	var sum float64
	for _, path := range logs {
		rows, err := train.ReadLog(path)
		if err != nil {
			return 0, err
		}
		if len(rows) == 0 {
			return 0, fmt.Errorf("experiment: %s: no steps logged", path)
		}
		var s float64
		for _, r := range rows {
			s += r.ClippedFraction
		}
		sum += s / float64(len(rows))
	}
	return sum / float64(len(logs)), nil
}

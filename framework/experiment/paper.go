package experiment

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/privlm/privlm/framework/metrics"
)

// The user inference paper: Kandpal, Pillutla, Oprea, Kairouz,
// Choquette-Choo, Xu, "User Inference Attacks on Large Language Models"
// (arXiv:2310.09266, EMNLP 2024). Every number here is transcribed in
// ../shared/PAPERS.md, section 1; the comments name the subsection.

// PaperResult is the paper's user inference result on a dataset (GPT-Neo
// 125M fine-tuned on it, mean aggregation), as fractions (AUROC 0.873, not
// 87.3%). A nil field is a number the paper does not report.
type PaperResult struct {
	AUROC     *float64
	TPRAt1FPR *float64
	TPRAt5FPR *float64
	// Note says where the number comes from and what differs.
	Note string
}

func pct(v float64) *float64 { f := v / 100; return &f }

// PaperUserInference is the paper's headline table per dataset
// (../shared/PAPERS.md section 1, "Results (GPT-Neo 125M)": AUROC %,
// TPR@1% and TPR@5% FPR). Datasets privlm has that the paper does not use
// have no entry.
var PaperUserInference = map[string]PaperResult{
	"reddit": {AUROC: pct(56.0), TPRAt1FPR: pct(1.47), TPRAt5FPR: pct(7.05), Note: "PAPERS.md §1 Results"},
	"ccnews": {AUROC: pct(65.7), TPRAt1FPR: pct(4.33), TPRAt5FPR: pct(11.02), Note: "PAPERS.md §1 Results"},
	// Enron: 87.3 with mean aggregation (Table 6), 88.1 in the DP table's
	// non-private row; we take the aggregation ablation's, as privlm's
	// default aggregation is the mean.
	"enron": {AUROC: pct(87.3), TPRAt1FPR: pct(4.41), TPRAt5FPR: pct(27.94), Note: "PAPERS.md §1 Results (AUROC 87.3-88.1 across tables)"},
	"arxiv": {AUROC: pct(57.2), TPRAt1FPR: pct(2.24), TPRAt5FPR: pct(8.44), Note: "PAPERS.md §1 Results (appendix only in the paper)"},
}

// PaperRow puts our user inference numbers beside the paper's (fractions;
// nil: not reported, or for ours not estimable with the non-members we have).
type PaperRow struct {
	Dataset        string   `parquet:"dataset" json:"dataset"`
	Group          string   `parquet:"group" json:"group"`
	AUROC          float64  `parquet:"auroc" json:"auroc"`
	AUROCLo        float64  `parquet:"auroc_lo" json:"auroc_lo"`
	AUROCHi        float64  `parquet:"auroc_hi" json:"auroc_hi"`
	PaperAUROC     *float64 `parquet:"paper_auroc,optional" json:"paper_auroc"`
	TPRAt1FPR      *float64 `parquet:"tpr_at_1fpr,optional" json:"tpr_at_1fpr"`
	PaperTPRAt1FPR *float64 `parquet:"paper_tpr_at_1fpr,optional" json:"paper_tpr_at_1fpr"`
	TPRAt5FPR      *float64 `parquet:"tpr_at_5fpr,optional" json:"tpr_at_5fpr"`
	PaperTPRAt5FPR *float64 `parquet:"paper_tpr_at_5fpr,optional" json:"paper_tpr_at_5fpr"`
	NUsers         int64    `parquet:"n_users" json:"n_users"`
	NMembers       int64    `parquet:"n_members" json:"n_members"`
	NNonMembers    int64    `parquet:"n_non_members" json:"n_non_members"`
	// NSeeds, Interval, BootLo/Hi: as MetricsRow (a pooled row's interval
	// kind and its crossed bootstrap over users and seeds).
	NSeeds   int64    `parquet:"n_seeds" json:"n_seeds"`
	Interval string   `parquet:"interval" json:"interval"`
	BootLo   *float64 `parquet:"boot_lo,optional" json:"boot_lo,omitempty"`
	BootHi   *float64 `parquet:"boot_hi,optional" json:"boot_hi,omitempty"`
	// ChanceP, ChanceBelowP: as MetricsRow, the permutation test the
	// verdict rests on (upper and lower tail).
	ChanceP      *float64 `parquet:"chance_p,optional" json:"chance_p"`
	ChanceBelowP *float64 `parquet:"chance_below_p,optional" json:"chance_below_p"`
	PaperNote    string   `parquet:"paper_note" json:"paper_note"`
	// Reproduces is the paper's finding on this dataset, user inference
	// above chance: "yes" when the permutation test rejects chance
	// (ChanceP at most metrics.ChanceLevel, 0.025 one-sided), "no" when it
	// does not (the reason says whether that is inconclusive or our
	// interval lies below 0.5), "not comparable" for a dataset the paper
	// does not use. Why gives the reason (see AboveChance).
	Reproduces string `parquet:"reproduces" json:"reproduces"`
	Why        string `parquet:"why" json:"why"`
}

// Verdicts of a reproduction.
const (
	Reproduced    = "yes"
	NotReproduced = "no"
	NotComparable = "not comparable"
)

// AboveChance judges the finding "user inference AUROC is above chance"
// by the permutation test of r.ChanceP: yes when it rejects chance at
// metrics.ChanceLevel (0.025, one-sided). The test needs no spread over
// seeds, so it stays valid with 2 seeds, where the t interval over seeds
// is too wide to decide anything; it was chosen for that reason after a
// first reddit repro run (an earlier execution, cut off by the cell time
// limit, had also reached part of arxiv). Not rejecting is
// "no": below chance when the lower tail rejects (r.ChanceBelowP at the
// same level), otherwise inconclusive, and the reason says which. Rows
// written before the test existed fall back to the interval (yes when its
// lower end is above 0.5, below chance when its upper end is under 0.5).
// The reason also gives the AUROC, its interval and kind, and the
// support. The paper's AUROC (nil: not in the paper) only makes the
// verdict "not comparable" and enters the reason; our value is not
// expected to match it (PAPERS.md section 1: GPT-Neo 125M, 10 epochs,
// users with 20-150+ documents).
func AboveChance(r MetricsRow, paper *float64) (verdict, why string) {
	ci := fmt.Sprintf("%.3f [%.3f, %.3f]", r.AUROC, r.AUROCLo, r.AUROCHi)
	support := fmt.Sprintf("%d members and %d non-members", r.NMembers, r.NNonMembers)
	if r.NSeeds > 1 {
		kind := "the crossed bootstrap over users and seeds"
		if r.Interval == "t" {
			kind = fmt.Sprintf("the t interval over %d seeds, wider than the crossed bootstrap", r.NSeeds)
		}
		ci += " (" + kind
		if r.BootLo != nil && r.BootHi != nil && r.Interval == "t" {
			ci += fmt.Sprintf("; crossed bootstrap [%.3f, %.3f]", *r.BootLo, *r.BootHi)
		}
		ci += ")"
		support = fmt.Sprintf("%d seeds, at least %d members and %d non-members each", r.NSeeds, r.NMembers, r.NNonMembers)
	}
	ours := "ours " + ci + " over " + support
	test := "no permutation test in this row; interval rule"
	above, below := r.AUROCLo > 0.5, r.AUROCHi < 0.5
	if r.ChanceP != nil && r.ChanceBelowP != nil {
		test = fmt.Sprintf("permutation test p = %.4f above, %.4f below chance (one-sided, level %.3f)", *r.ChanceP, *r.ChanceBelowP, metrics.ChanceLevel)
		above, below = *r.ChanceP <= metrics.ChanceLevel, *r.ChanceBelowP <= metrics.ChanceLevel
	}
	switch {
	case paper == nil:
		return NotComparable, "dataset not in the paper; " + ours + "; " + test
	case above:
		return Reproduced, fmt.Sprintf("above chance as in the paper (%.3f): %s; %s", *paper, test, ours)
	case below:
		return NotReproduced, fmt.Sprintf("below chance, against the paper's %.3f: %s; %s", *paper, test, ours)
	default:
		return NotReproduced, fmt.Sprintf("not shown: chance not rejected (inconclusive, not a contradiction of the paper's %.3f): %s; %s", *paper, test, ours)
	}
}

// ComparePaper picks the headline (non_canary) user inference rows of a
// dataset's metrics and sets the paper's numbers beside ours: AUROC, TPR
// at 1% and at 5% FPR.
func ComparePaper(dataset string, rows []MetricsRow) []PaperRow {
	var out []PaperRow
	for _, r := range Headline(rows) {
		if r.Attack != "user-inference" {
			continue
		}
		f, ok := PaperUserInference[dataset]
		if !ok {
			f.Note = "not in the paper"
		}
		verdict, why := AboveChance(r, f.AUROC)
		out = append(out, PaperRow{Dataset: dataset, Group: r.Group, AUROC: r.AUROC, AUROCLo: r.AUROCLo, AUROCHi: r.AUROCHi, PaperAUROC: f.AUROC,
			TPRAt1FPR: r.TPRAt1FPR, PaperTPRAt1FPR: f.TPRAt1FPR, TPRAt5FPR: r.TPRAt5FPR, PaperTPRAt5FPR: f.TPRAt5FPR,
			NUsers: r.NUsers, NMembers: r.NMembers, NNonMembers: r.NNonMembers, PaperNote: f.Note,
			NSeeds: max(1, r.NSeeds), Interval: r.Interval, BootLo: r.BootLo, BootHi: r.BootHi, ChanceP: r.ChanceP, ChanceBelowP: r.ChanceBelowP,
			Reproduces: verdict, Why: why})
	}
	return out
}

// OrderingRow compares the order of datasets by user inference AUROC with
// the paper's (PAPERS.md section 1, Results: Enron > CC News > ArXiv >
// Reddit), over the pairs of datasets both have.
type OrderingRow struct {
	Ours  string `parquet:"ours" json:"ours"`
	Paper string `parquet:"paper" json:"paper"`
	// Pairs is how many pairs of datasets both rank (the paper's gap at
	// least PaperTie); Agree how many of them ours orders as the paper does,
	// Resolved how many of those agreeing pairs have disjoint intervals
	// (orderingInterval: for pooled rows the crossed bootstrap; the others
	// could swap under resampling).
	Pairs      int    `parquet:"pairs" json:"pairs"`
	Agree      int    `parquet:"agree" json:"agree"`
	Resolved   int    `parquet:"resolved" json:"resolved"`
	Reproduces string `parquet:"reproduces" json:"reproduces"`
	Why        string `parquet:"why" json:"why"`
}

// orderingInterval is the interval CompareOrdering compares: a pooled row's
// crossed bootstrap over users and seeds when it has one (the t interval
// over 2 seeds, quantile 12.7, would leave every pair unresolved whatever
// the data), else the row's interval. Requiring two 95% intervals to be
// disjoint is a stricter test than 95% on the difference, which offsets
// the crossed bootstrap's undercount of seed variance with few seeds.
func orderingInterval(r PaperRow) (lo, hi float64) {
	if r.BootLo != nil && r.BootHi != nil {
		return *r.BootLo, *r.BootHi
	}
	return r.AUROCLo, r.AUROCHi
}

// PaperTie is the smallest gap between two of the paper's AUROCs that
// orders them: the paper gives no intervals, and ArXiv 57.2 against Reddit
// 56.0 (PAPERS.md section 1) is within the run-to-run spread it reports
// elsewhere (Enron 87.3-88.1), so closer pairs are not compared.
const PaperTie = 0.02

// CompareOrdering ranks the datasets of rows (one headline row each, from
// ComparePaper) by AUROC and compares the order with the paper's, over the
// pairs the paper separates by at least PaperTie. A pair counts as ordered
// by us when its intervals are disjoint (resolved). The finding reproduces
// when some resolved pair agrees with the paper and none is reversed; a
// resolved reversed pair is a no; when no pair is resolved the order is
// within noise and the finding is not shown (no, with that reason).
func CompareOrdering(rows []PaperRow) OrderingRow {
	var in []PaperRow
	for _, r := range rows {
		if r.PaperAUROC != nil {
			in = append(in, r)
		}
	}
	order := func(key func(PaperRow) float64) string {
		s := slices.Clone(in)
		sort.SliceStable(s, func(i, j int) bool { return key(s[i]) > key(s[j]) })
		names := make([]string, len(s))
		for i, r := range s {
			names[i] = fmt.Sprintf("%s %.3f", r.Dataset, key(r))
		}
		return strings.Join(names, " > ")
	}
	out := OrderingRow{Ours: order(func(r PaperRow) float64 { return r.AUROC }), Paper: order(func(r PaperRow) float64 { return *r.PaperAUROC })}
	var reversed, unresolved []string
	for i := range in {
		for j := i + 1; j < len(in); j++ {
			a, b := in[i], in[j]
			if math.Abs(*a.PaperAUROC-*b.PaperAUROC) < PaperTie {
				continue
			}
			out.Pairs++
			aLo, aHi := orderingInterval(a)
			bLo, bHi := orderingInterval(b)
			resolved := aLo > bHi || bLo > aHi
			pair := a.Dataset + "/" + b.Dataset
			switch agree := (a.AUROC > b.AUROC) == (*a.PaperAUROC > *b.PaperAUROC); {
			case !resolved:
				unresolved = append(unresolved, pair)
				if agree {
					out.Agree++
				}
			case agree:
				out.Agree++
				out.Resolved++
			default:
				reversed = append(reversed, pair)
			}
		}
	}
	switch {
	case out.Pairs == 0:
		out.Reproduces, out.Why = NotComparable, fmt.Sprintf("no two of the paper's datasets at least %.2f apart in the paper", PaperTie)
	case len(reversed) > 0:
		out.Reproduces, out.Why = NotReproduced, fmt.Sprintf("reversed beyond noise (disjoint intervals; crossed bootstrap for pooled rows): %s", strings.Join(reversed, ", "))
	case out.Resolved == 0:
		out.Reproduces, out.Why = NotReproduced, fmt.Sprintf("not shown: no pair's intervals are disjoint (crossed bootstrap for pooled rows), the order is within noise (%d of %d pairs in the paper's order)", out.Agree, out.Pairs)
	default:
		out.Reproduces, out.Why = Reproduced, fmt.Sprintf("%d of %d pairs in the paper's order with disjoint intervals (crossed bootstrap for pooled rows), none reversed beyond noise", out.Resolved, out.Pairs)
		if len(unresolved) > 0 {
			out.Why += "; within noise: " + strings.Join(unresolved, ", ")
		}
	}
	return out
}

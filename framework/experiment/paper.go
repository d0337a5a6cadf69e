package experiment

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
	PaperNote      string   `parquet:"paper_note" json:"paper_note"`
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
		out = append(out, PaperRow{Dataset: dataset, Group: r.Group, AUROC: r.AUROC, AUROCLo: r.AUROCLo, AUROCHi: r.AUROCHi, PaperAUROC: f.AUROC,
			TPRAt1FPR: r.TPRAt1FPR, PaperTPRAt1FPR: f.TPRAt1FPR, TPRAt5FPR: r.TPRAt5FPR, PaperTPRAt5FPR: f.TPRAt5FPR,
			NUsers: r.NUsers, NMembers: r.NMembers, NNonMembers: r.NNonMembers, PaperNote: f.Note})
	}
	return out
}

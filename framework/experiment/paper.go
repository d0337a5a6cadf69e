package experiment

// PaperFinding is what the user inference paper (Kandpal et al., "User
// Inference Attacks on Large Language Models", arXiv:2310.09266) reports
// for a dataset. AUROC is nil where no number has been transcribed from
// the paper into privlm yet: the finding is then the paper's qualitative
// result.
type PaperFinding struct {
	AUROC   *float64
	Finding string
}

// PaperUserInference is the paper's user inference result per dataset
// (GPT-Neo 125M fine-tuned on each dataset).
var PaperUserInference = map[string]PaperFinding{
	"reddit":      {Finding: "above chance (0.5): users are inferable"},
	"arxiv":       {Finding: "above chance (0.5): users are inferable"},
	"ccnews":      {Finding: "above chance (0.5): users (web domains) are inferable"},
	"enron":       {Finding: "the paper's strongest result, near-perfect: a user's mails share signatures and phrasing"},
	"email":       {Finding: "not in the paper"},
	"shakespeare": {Finding: "not in the paper"},
}

// PaperRow puts a dataset's user inference metrics beside the paper's.
type PaperRow struct {
	Dataset      string   `parquet:"dataset" json:"dataset"`
	AUROC        float64  `parquet:"auroc" json:"auroc"`
	AUROCLo      float64  `parquet:"auroc_lo" json:"auroc_lo"`
	AUROCHi      float64  `parquet:"auroc_hi" json:"auroc_hi"`
	TPRAt1FPR    float64  `parquet:"tpr_at_1fpr" json:"tpr_at_1fpr"`
	TPRAt5FPR    float64  `parquet:"tpr_at_5fpr" json:"tpr_at_5fpr"`
	NUsers       int64    `parquet:"n_users" json:"n_users"`
	PaperAUROC   *float64 `parquet:"paper_auroc,optional" json:"paper_auroc,omitempty"`
	PaperFinding string   `parquet:"paper_finding" json:"paper_finding"`
}

// ComparePaper picks the user inference rows of a dataset's metrics and
// sets the paper's result beside them.
func ComparePaper(dataset string, rows []MetricsRow) []PaperRow {
	var out []PaperRow
	for _, r := range rows {
		if r.Attack != "user-inference" {
			continue
		}
		f, ok := PaperUserInference[dataset]
		if !ok {
			f.Finding = "not in the paper"
		}
		out = append(out, PaperRow{Dataset: dataset, AUROC: r.AUROC, AUROCLo: r.AUROCLo, AUROCHi: r.AUROCHi, TPRAt1FPR: r.TPRAt1FPR,
			TPRAt5FPR: r.TPRAt5FPR, NUsers: r.NUsers, PaperAUROC: f.AUROC, PaperFinding: f.Finding})
	}
	return out
}

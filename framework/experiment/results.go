package experiment

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/buildinfo"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/metrics"
	"github.com/privlm/privlm/framework/plugin"
)

// ScoreRow is one user's score under one attack (scores.parquet).
type ScoreRow struct {
	ExperimentID   string `parquet:"experiment_id" json:"experiment_id"`
	Attack         string `parquet:"attack" json:"attack"`
	UserID         string `parquet:"user_id" json:"user_id"`
	Member         bool   `parquet:"member" json:"member"`
	Canary         bool   `parquet:"canary" json:"canary"`
	NAttackSamples int64  `parquet:"n_attack_samples" json:"n_attack_samples"`
	NTrainSamples  int64  `parquet:"n_train_samples" json:"n_train_samples"`
	// NUserDocs is the user's documents in the split (attacker samples
	// included), members or not: their would-be share of the data.
	NUserDocs int64   `parquet:"n_user_docs" json:"n_user_docs"`
	Score     float64 `parquet:"score" json:"score"`
}

// MetricsRow summarises one attack (metrics.parquet).
type MetricsRow struct {
	ExperimentID string  `parquet:"experiment_id" json:"experiment_id"`
	Attack       string  `parquet:"attack" json:"attack"`
	AUROC        float64 `parquet:"auroc" json:"auroc"`
	AUROCLo      float64 `parquet:"auroc_lo" json:"auroc_lo"`
	AUROCHi      float64 `parquet:"auroc_hi" json:"auroc_hi"`
	TPRAt01FPR   float64 `parquet:"tpr_at_01fpr" json:"tpr_at_01fpr"`
	TPRAt1FPR    float64 `parquet:"tpr_at_1fpr" json:"tpr_at_1fpr"`
	TPRAt5FPR    float64 `parquet:"tpr_at_5fpr" json:"tpr_at_5fpr"`
	NUsers       int64   `parquet:"n_users" json:"n_users"`
	NMembers     int64   `parquet:"n_members" json:"n_members"`
	// ValLoss is the attacked checkpoint's validation loss (mean token NLL).
	ValLoss *float64 `parquet:"val_loss,optional" json:"val_loss,omitempty"`
	// Epsilon is the run's tight (pld) epsilon, for DP runs.
	Epsilon *float64 `parquet:"epsilon,optional" json:"epsilon,omitempty"`
}

// DynamicsRow is one attack against one checkpoint kept during training
// (dynamics.parquet, for attack.checkpoints = all).
type DynamicsRow struct {
	ExperimentID string  `parquet:"experiment_id" json:"experiment_id"`
	Attack       string  `parquet:"attack" json:"attack"`
	Step         int64   `parquet:"step" json:"step"`
	ValLoss      float64 `parquet:"val_loss" json:"val_loss"`
	AUROC        float64 `parquet:"auroc" json:"auroc"`
	AUROCLo      float64 `parquet:"auroc_lo" json:"auroc_lo"`
	AUROCHi      float64 `parquet:"auroc_hi" json:"auroc_hi"`
	TPRAt1FPR    float64 `parquet:"tpr_at_1fpr" json:"tpr_at_1fpr"`
	TPRAt5FPR    float64 `parquet:"tpr_at_5fpr" json:"tpr_at_5fpr"`
}

// Manifest records how a run was made (manifest.json).
type Manifest struct {
	ExperimentID  string            `json:"experiment_id"`
	Config        Config            `json:"config"`
	DatasetSource string            `json:"dataset_source"`
	DatasetSHA256 string            `json:"dataset_sha256"`
	Reference     string            `json:"reference_model"`
	Tokenizer     string            `json:"tokenizer"`
	Seed          uint64            `json:"seed"`
	Plugins       map[string]string `json:"plugins"`
	Backend       string            `json:"backend"`
	Framework     buildinfo.Info    `json:"framework"`
	Mitigations   []string          `json:"mitigations,omitempty"`
	Settings      map[string]string `json:"finetuner_settings,omitempty"`
	Checkpoint    string            `json:"attacked_checkpoint"`
	PrivacyReport map[string]any    `json:"privacy_report,omitempty"`
	Epsilon       *float64          `json:"epsilon,omitempty"`
	Finished      time.Time         `json:"finished"`

	// PluginIsolation is what the host's sandbox enforced on each plugin.
	PluginIsolation map[string]plugin.Isolation `json:"plugin_isolation"`
}

func computeMetrics(cfg Config, scores []ScoreRow) ([]MetricsRow, map[string][]metrics.ROCPoint, error) {
	byAttack := map[string][]ScoreRow{}
	var order []string
	for _, s := range scores {
		if _, ok := byAttack[s.Attack]; !ok {
			order = append(order, s.Attack)
		}
		byAttack[s.Attack] = append(byAttack[s.Attack], s)
	}
	var rows []MetricsRow
	curves := map[string][]metrics.ROCPoint{}
	for _, a := range order {
		var sc []float64
		var mem []bool
		for _, s := range byAttack[a] {
			sc, mem = append(sc, s.Score), append(mem, s.Member)
		}
		sum, err := metrics.Summarize(sc, mem, cfg.Bootstrap, cfg.Seed)
		if err != nil {
			return nil, nil, err
		}
		pts, _ := metrics.ROC(sc, mem)
		curves[a] = pts
		rows = append(rows, MetricsRow{ExperimentID: cfg.Name, Attack: a, AUROC: sum.AUROC, AUROCLo: sum.AUROCLo, AUROCHi: sum.AUROCHi,
			TPRAt01FPR: sum.TPRAt01FPR, TPRAt1FPR: sum.TPRAt1FPR, TPRAt5FPR: sum.TPRAt5FPR, NUsers: int64(sum.NUsers), NMembers: int64(sum.NMembers)})
	}
	return rows, curves, nil
}

func writeResults(p *plan, out string, scores []ScoreRow, rows []MetricsRow, curves map[string][]metrics.ROCPoint,
	ft plugin.FineTuneResponse, dataHash string, summaries []string, settings map[string]string) (Manifest, error) {
	cfg := p.cfg
	man := Manifest{ExperimentID: cfg.Name, Config: cfg, DatasetSource: p.source, DatasetSHA256: dataHash, Reference: p.reference,
		Tokenizer: p.tokenizer, Seed: cfg.Seed, Plugins: p.versions, PluginIsolation: p.isolation, Backend: backend.Spec(cfg.Backend), Framework: buildinfo.Get(),
		Mitigations: summaries, Settings: settings, Checkpoint: ft.Best}
	if ft.PrivacyReport != "" {
		var rep map[string]any
		if err := readJSONFile(ft.PrivacyReport, &rep); err == nil {
			man.PrivacyReport = rep
			if eps, ok := rep["epsilon"].(map[string]any); ok {
				if v, ok := eps["pld"].(float64); ok {
					man.Epsilon = &v
				}
			}
		}
	}
	for i := range rows {
		rows[i].ValLoss, rows[i].Epsilon = ft.BestValLoss, man.Epsilon
	}
	if err := data.WriteParquet(filepath.Join(out, "scores.parquet"), scores); err != nil {
		return Manifest{}, err
	}
	if err := data.WriteParquet(filepath.Join(out, "metrics.parquet"), rows); err != nil {
		return Manifest{}, err
	}
	if err := copyFile(ft.TrainingLog, filepath.Join(out, "training_log.parquet")); err != nil {
		return Manifest{}, err
	}
	for _, format := range []string{"svg", "png"} {
		img, err := metrics.ROCPlot("user inference: "+cfg.Name, metrics.SortedCurves(curves), format)
		if err != nil {
			return Manifest{}, err
		}
		if err := data.WriteBytes(filepath.Join(out, "roc."+format), img); err != nil {
			return Manifest{}, err
		}
	}
	for attack := range curves {
		var sc []float64
		var mem []bool
		for _, s := range scores {
			if s.Attack == attack {
				sc, mem = append(sc, s.Score), append(mem, s.Member)
			}
		}
		img, err := metrics.HistogramPlot(attack+" scores", sc, mem, "svg")
		if err == nil {
			err = data.WriteBytes(filepath.Join(out, "scores_"+safeName(attack)+".svg"), img)
		}
		if err != nil {
			return Manifest{}, err
		}
	}
	man.Finished = time.Now().UTC()
	return man, data.WriteJSON(filepath.Join(out, "manifest.json"), man)
}

func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

package experiment

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/buildinfo"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/metrics"
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/train"
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
	// What Epsilon protects: DPLevel is train.dp (none, example, user),
	// DPUnit the unit (window for dp=example: one seq_len-token window;
	// user), at Delta, by Accountant (pld). EpsilonUser is the guarantee for
	// a whole user (dp=example: the group bound for the user with the most
	// windows, null when unbounded), EpsilonDocument for a whole document
	// (the document with the most windows).
	DPLevel         string   `parquet:"dp_level" json:"dp_level"`
	DPUnit          string   `parquet:"dp_unit" json:"dp_unit"`
	Delta           *float64 `parquet:"delta,optional" json:"delta,omitempty"`
	Accountant      string   `parquet:"accountant" json:"accountant"`
	EpsilonDocument *float64 `parquet:"epsilon_document,optional" json:"epsilon_document,omitempty"`
	EpsilonUser     *float64 `parquet:"epsilon_user,optional" json:"epsilon_user,omitempty"`
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
	// DPUnit is what Epsilon protects (window, user; empty without DP);
	// EpsilonDocument and EpsilonUser the guarantees for a whole document
	// and a whole user (see MetricsRow); DPRegion the region drawn on the
	// ROC plots, for the user-level guarantee.
	DPUnit          string            `json:"dp_unit,omitempty"`
	EpsilonDocument *float64          `json:"epsilon_document,omitempty"`
	EpsilonUser     *float64          `json:"epsilon_user,omitempty"`
	DPRegion        *metrics.DPRegion `json:"dp_region,omitempty"`
	DPRegionNote    string            `json:"dp_region_note,omitempty"`
	// DPRegionAbove counts, per attack, the ROC points above the region;
	// DPRegionSignificant those above it beyond sampling error
	// (metrics.DPRegion.Significant at alpha 0.025 per rate).
	DPRegionAbove       map[string]int `json:"dp_region_points_above,omitempty"`
	DPRegionSignificant map[string]int `json:"dp_region_points_significantly_above,omitempty"`
}

// privacyOf reads the units and guarantees of a run's privacy report.
func privacyOf(path string) (*train.PrivacyReport, error) {
	var rep train.PrivacyReport
	if err := readJSONFile(path, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// groupEps is the group guarantee of the largest group of that kind.
func groupEps(rep *train.PrivacyReport, group string) *float64 {
	for _, g := range rep.Groups {
		if g.Group == group && g.Which == "max" {
			return g.Epsilon
		}
	}
	return nil
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
		Tokenizer: p.tokenizer, Seed: cfg.Seed, Plugins: p.versions, Backend: backend.Spec(cfg.Backend), Framework: buildinfo.Get(),
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
	var plotOpts []metrics.PlotOption
	if ft.PrivacyReport != "" {
		rep, err := privacyOf(ft.PrivacyReport)
		if err != nil {
			return Manifest{}, fmt.Errorf("privacy report: %w", err)
		}
		man.DPUnit = rep.Unit
		if rep.Unit == train.UnitUser {
			man.EpsilonUser = man.Epsilon
		} else {
			man.EpsilonDocument, man.EpsilonUser = groupEps(rep, "document"), groupEps(rep, "user")
		}
		if man.EpsilonUser != nil {
			man.DPRegion = &metrics.DPRegion{Epsilon: *man.EpsilonUser, Delta: rep.Delta, Unit: "user"}
			man.DPRegionNote = "TPR <= e^eps FPR + delta and 1-FPR <= e^eps (1-TPR) + delta for the user-level epsilon"
			if rep.Unit == train.UnitWindow {
				man.DPRegionNote += " (dp=example: the group bound for the user with the most windows, valid for every user)"
			}
			man.DPRegionNote += "; it bounds the expected ROC of the held-in/held-out game, so an empirical curve from few users can cross it by sampling error"
			plotOpts = append(plotOpts, metrics.WithDPRegion(*man.DPRegion))
			man.DPRegionAbove, man.DPRegionSignificant = map[string]int{}, map[string]int{}
			for _, r := range rows {
				man.DPRegionAbove[r.Attack] = len(man.DPRegion.Above(curves[r.Attack], 1e-12))
				man.DPRegionSignificant[r.Attack] = len(man.DPRegion.Significant(curves[r.Attack], int(r.NMembers), int(r.NUsers-r.NMembers), 0.025))
			}
		} else {
			man.DPRegionNote = "no DP region: the user-level epsilon is unbounded (a user's windows share one sampling rate each, sigma/k is negligible)"
		}
		for i := range rows {
			rows[i].DPUnit, rows[i].Delta, rows[i].Accountant = rep.Unit, &rep.Delta, "pld"
			rows[i].EpsilonDocument, rows[i].EpsilonUser = man.EpsilonDocument, man.EpsilonUser
		}
	}
	for i := range rows {
		rows[i].ValLoss, rows[i].Epsilon = ft.BestValLoss, man.Epsilon
		rows[i].DPLevel = cfg.Train.DP
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
		img, err := metrics.ROCPlot("user inference: "+cfg.Name, metrics.SortedCurves(curves), format, plotOpts...)
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

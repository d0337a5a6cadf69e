package experiment

import (
	"cmp"
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
	"github.com/privlm/privlm/framework/privacy"
	"github.com/privlm/privlm/framework/train"
)

// ScoreRow is one user's score under one attack (scores.parquet).
type ScoreRow struct {
	ExperimentID string `parquet:"experiment_id" json:"experiment_id"`
	// Seed is the run's seed (repeats run several).
	Seed           int64  `parquet:"seed" json:"seed"`
	Attack         string `parquet:"attack" json:"attack"`
	UserID         string `parquet:"user_id" json:"user_id"`
	Member         bool   `parquet:"member" json:"member"`
	Canary         bool   `parquet:"canary" json:"canary"`
	NAttackSamples int64  `parquet:"n_attack_samples" json:"n_attack_samples"`
	// NTrainSamples and NTrainTokens count the user's documents and
	// tokens in the final training file (after mitigations).
	NTrainSamples int64 `parquet:"n_train_samples" json:"n_train_samples"`
	NTrainTokens  int64 `parquet:"n_train_tokens" json:"n_train_tokens"`
	// NUserDocs is the user's documents in the split (attacker samples
	// included), members or not: their would-be share of the data.
	NUserDocs int64   `parquet:"n_user_docs" json:"n_user_docs"`
	Score     float64 `parquet:"score" json:"score"`
}

// User groups of metrics rows. The headline (printed summary, README and
// notebook tables, ComparePaper) is GroupNonCanary: canary users are built
// to be exposed and would inflate it; GroupAll is kept for completeness and
// GroupCanary to show the canaries' exposure.
const (
	GroupAll       = "all"
	GroupCanary    = "canary"
	GroupNonCanary = "non_canary"
)

// MetricsRow summarises one attack over one group of users
// (metrics.parquet). A TPR is nil (n/a) when the group has too few
// non-members to estimate it: TPR at FPR f needs ceil(1/f) (see
// metrics.MinNonMembers).
type MetricsRow struct {
	ExperimentID string `parquet:"experiment_id" json:"experiment_id"`
	// Seed is the run's seed; nil on a row pooled over repeats.
	Seed *int64 `parquet:"seed,optional" json:"seed"`
	// NSeeds is 1 for one run's row, N for a row pooled over N seeds: then
	// AUROC is the seeds' mean, AUROCStd their sample standard deviation,
	// AUROCLo/Hi a 95% interval over users and seeds (metrics.Pool: the
	// wider of the crossed bootstrap and the t interval over seeds), a TPR
	// the seeds' mean (n/a if any seed lacks it), the counts the smallest
	// of any seed (each column on its own, so n_members + n_non_members may
	// be below n_users when the smallest come from different seeds), the overlap counts summed over seeds, the epsilons the
	// largest of any seed.
	NSeeds   int64    `parquet:"n_seeds" json:"n_seeds"`
	Attack   string   `parquet:"attack" json:"attack"`
	Group    string   `parquet:"group" json:"group"`
	AUROC    float64  `parquet:"auroc" json:"auroc"`
	AUROCLo  float64  `parquet:"auroc_lo" json:"auroc_lo"`
	AUROCHi  float64  `parquet:"auroc_hi" json:"auroc_hi"`
	AUROCStd *float64 `parquet:"auroc_std,optional" json:"auroc_std,omitempty"`
	// Interval names what AUROCLo/Hi are: "bootstrap" (over users; for a
	// pooled row the crossed bootstrap over users and seeds) or "t" (the t
	// interval over seeds, when it is the wider: with 2 seeds its quantile
	// is 12.7). BootLo/BootHi are a pooled row's crossed bootstrap, kept
	// whichever interval is the headline.
	Interval string   `parquet:"interval" json:"interval"`
	BootLo   *float64 `parquet:"boot_lo,optional" json:"boot_lo,omitempty"`
	BootHi   *float64 `parquet:"boot_hi,optional" json:"boot_hi,omitempty"`
	// ChanceP is the one-sided permutation p-value of "the attack is no
	// better than chance" (metrics.ChanceP, 9999 permutations of the
	// membership labels among the group's users; a pooled row permutes
	// within every seed and tests the seeds' mean AUROC). It needs no
	// spread over seeds, so it decides above-chance where a 2-seed t
	// interval cannot; nil on rows written before it existed.
	// ChanceBelowP is the same test's lower tail (members scoring lower
	// than chance: metrics.ChanceBelowP).
	ChanceP      *float64 `parquet:"chance_p,optional" json:"chance_p"`
	ChanceBelowP *float64 `parquet:"chance_below_p,optional" json:"chance_below_p"`
	TPRAt01FPR   *float64 `parquet:"tpr_at_01fpr,optional" json:"tpr_at_01fpr"`
	TPRAt1FPR    *float64 `parquet:"tpr_at_1fpr,optional" json:"tpr_at_1fpr"`
	TPRAt5FPR    *float64 `parquet:"tpr_at_5fpr,optional" json:"tpr_at_5fpr"`
	NUsers       int64    `parquet:"n_users" json:"n_users"`
	NMembers     int64    `parquet:"n_members" json:"n_members"`
	NNonMembers  int64    `parquet:"n_non_members" json:"n_non_members"`
	// ValLoss is the attacked checkpoint's validation loss (mean token NLL).
	ValLoss *float64 `parquet:"val_loss,optional" json:"val_loss,omitempty"`
	// Epsilon is the run's tight (pld) epsilon, for DP runs.
	Epsilon *float64 `parquet:"epsilon,optional" json:"epsilon,omitempty"`
	// The split's attacker/training overlap (data.OverlapReport, all attack
	// users): attacker samples with an exact (normalised) or near copy in
	// the training data, samples dropped (split.attacker_overlap = drop)
	// and users left without samples.
	OverlapExact       int64 `parquet:"overlap_exact" json:"overlap_exact"`
	OverlapNear        int64 `parquet:"overlap_near" json:"overlap_near"`
	AttackerDropped    int64 `parquet:"attacker_dropped" json:"attacker_dropped"`
	AttackUsersDropped int64 `parquet:"attack_users_dropped" json:"attack_users_dropped"`
	// AttackUsersShort are the attack users not attacked because the
	// overlap drop left them fewer than attack.samples (or, when set,
	// attack.min_samples) attacker samples; summed over seeds on a pooled
	// row.
	AttackUsersShort int64 `parquet:"attack_users_short,optional" json:"attack_users_short"`
	// SeedCounts, on a pooled row, gives every seed's users, members and
	// non-members (the n_ columns are minima taken column by column).
	SeedCounts string `parquet:"seed_counts,optional" json:"seed_counts,omitempty"`
	// What Epsilon protects: DPLevel is train.dp (none, example, user),
	// DPUnit the unit (window for dp=example: one seq_len-token window;
	// user), at Delta, by Accountant (pld). EpsilonUser is the guarantee for
	// a whole user (dp=example: the group bound for the user with the most
	// windows, null only when no accountant bounds it; above 100 it is given
	// as it is and means no meaningful guarantee), EpsilonDocument for a
	// whole document (the document with the most windows).
	// AccountantDocument and AccountantUser name the accountant of each
	// (pld, or rdp when sigma/k < 0.3 or the bound is above 100).
	DPLevel         string   `parquet:"dp_level" json:"dp_level"`
	DPUnit          string   `parquet:"dp_unit" json:"dp_unit"`
	Delta           *float64 `parquet:"delta,optional" json:"delta,omitempty"`
	Accountant      string   `parquet:"accountant" json:"accountant"`
	EpsilonDocument *float64 `parquet:"epsilon_document,optional" json:"epsilon_document,omitempty"`
	EpsilonUser     *float64 `parquet:"epsilon_user,optional" json:"epsilon_user,omitempty"`

	AccountantDocument string `parquet:"accountant_document" json:"accountant_document,omitempty"`
	AccountantUser     string `parquet:"accountant_user" json:"accountant_user,omitempty"`
}

// setOverlapColumns copies the split's overlap counts into metrics rows.
func setOverlapColumns(rows []MetricsRow, r *data.OverlapReport) {
	if r == nil {
		return
	}
	for i := range rows {
		rows[i].OverlapExact, rows[i].OverlapNear = int64(r.Total.TrainExact), int64(r.Total.TrainNear)
		rows[i].AttackerDropped, rows[i].AttackUsersDropped = int64(r.Total.Dropped), int64(r.Total.UsersDropped)
	}
}

// Headline keeps the rows of the headline group (non_canary), in order;
// when rows pooled over seeds are among them, only those.
func Headline(rows []MetricsRow) []MetricsRow {
	pooled := false
	for _, r := range rows {
		pooled = pooled || r.NSeeds > 1
	}
	var out []MetricsRow
	for _, r := range rows {
		if r.Group == GroupNonCanary && (!pooled || r.NSeeds > 1) {
			out = append(out, r)
		}
	}
	return out
}

// DynamicsRow is one attack against one checkpoint kept during training
// (dynamics.parquet, for attack.checkpoints = all), over the headline
// group (non_canary users).
type DynamicsRow struct {
	ExperimentID string   `parquet:"experiment_id" json:"experiment_id"`
	Seed         int64    `parquet:"seed" json:"seed"`
	Attack       string   `parquet:"attack" json:"attack"`
	Step         int64    `parquet:"step" json:"step"`
	ValLoss      float64  `parquet:"val_loss" json:"val_loss"`
	AUROC        float64  `parquet:"auroc" json:"auroc"`
	AUROCLo      float64  `parquet:"auroc_lo" json:"auroc_lo"`
	AUROCHi      float64  `parquet:"auroc_hi" json:"auroc_hi"`
	TPRAt1FPR    *float64 `parquet:"tpr_at_1fpr,optional" json:"tpr_at_1fpr"`
	TPRAt5FPR    *float64 `parquet:"tpr_at_5fpr,optional" json:"tpr_at_5fpr"`
	NMembers     int64    `parquet:"n_members" json:"n_members"`
	NNonMembers  int64    `parquet:"n_non_members" json:"n_non_members"`
	// ChanceP is the checkpoint's permutation p-value of "no better than
	// chance" (see MetricsRow.ChanceP).
	ChanceP *float64 `parquet:"chance_p,optional" json:"chance_p"`
	// LossGap is the held-in/held-out loss gap at the checkpoint: the
	// target's mean loss (nats per token, per user then over users) on the
	// held-out users' attacker samples minus on the held-in users' (their
	// unseen documents), over non-canary users; nil when the loss attack
	// is not run.
	LossGap *float64 `parquet:"loss_gap,optional" json:"loss_gap"`
}

// Manifest records how a run was made (manifest.json).
type Manifest struct {
	ExperimentID  string `json:"experiment_id"`
	Config        Config `json:"config"`
	DatasetSource string `json:"dataset_source"`
	DatasetSHA256 string `json:"dataset_sha256"`
	Reference     string `json:"reference_model"`
	Tokenizer     string `json:"tokenizer"`
	Seed          uint64 `json:"seed"`
	// Seeds are the seeds of a run with repeats (per-seed runs in seed-N/).
	Seeds   []uint64          `json:"seeds,omitempty"`
	Plugins map[string]string `json:"plugins"`
	// PluginIsolation is what the host's sandbox enforced on each plugin.
	PluginIsolation map[string]plugin.Isolation `json:"plugin_isolation"`
	Backend         string                      `json:"backend"`
	Framework       buildinfo.Info              `json:"framework"`
	Mitigations     []string                    `json:"mitigations,omitempty"`
	Settings        map[string]string           `json:"finetuner_settings,omitempty"`
	Checkpoint      string                      `json:"attacked_checkpoint"`
	PrivacyReport   map[string]any              `json:"privacy_report,omitempty"`
	Epsilon         *float64                    `json:"epsilon,omitempty"`
	// AttackerOverlap is the split's attacker/training overlap check.
	AttackerOverlap *data.OverlapReport `json:"attacker_overlap,omitempty"`
	// Warnings are what a reader of the numbers must know (too few users, ...).
	Warnings []string `json:"warnings"`
	// Scoring is how the attacker's samples were scored (windows, cuts).
	Scoring ScoringInfo `json:"scoring"`
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
	// (metrics.DPRegion.Significant: Clopper-Pearson bounds at alpha 0.025 per rate).
	DPRegionAbove       map[string]int `json:"dp_region_points_above,omitempty"`
	DPRegionSignificant map[string]int `json:"dp_region_points_significantly_above,omitempty"`
	// PerSeed (runs with repeats) holds each seed's overlap check, epsilons
	// and DP region; the top-level ones are then unset (epsilons: the
	// largest over seeds).
	PerSeed  []SeedManifest `json:"per_seed,omitempty"`
	Finished time.Time      `json:"finished"`
}

// SeedManifest is one seed's part of a run with repeats (see Manifest).
type SeedManifest struct {
	Seed                uint64              `json:"seed"`
	AttackerOverlap     *data.OverlapReport `json:"attacker_overlap,omitempty"`
	Epsilon             *float64            `json:"epsilon,omitempty"`
	EpsilonDocument     *float64            `json:"epsilon_document,omitempty"`
	EpsilonUser         *float64            `json:"epsilon_user,omitempty"`
	DPRegion            *metrics.DPRegion   `json:"dp_region,omitempty"`
	DPRegionNote        string              `json:"dp_region_note,omitempty"`
	DPRegionAbove       map[string]int      `json:"dp_region_points_above,omitempty"`
	DPRegionSignificant map[string]int      `json:"dp_region_points_significantly_above,omitempty"`
}

// privacyOf reads the units and guarantees of a run's privacy report.
func privacyOf(path string) (*train.PrivacyReport, error) {
	var rep train.PrivacyReport
	if err := readJSONFile(path, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// groupEps is the group guarantee of the largest group of that kind and
// the accountant that bounded it.
func groupEps(rep *train.PrivacyReport, group string) (*float64, string) {
	for _, g := range rep.Groups {
		if g.Group == group && g.Which == "max" {
			return g.Epsilon, g.Accountant
		}
	}
	return nil, ""
}

// computeMetrics summarises each attack's scores over the groups all,
// canary and non_canary (a group without both members and non-members has
// no row; all must have both). The curves are the headline group's.
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
		for _, g := range []string{GroupAll, GroupCanary, GroupNonCanary} {
			var sc []float64
			var mem []bool
			members := 0
			for _, s := range byAttack[a] {
				if inGroup(s, g) {
					sc, mem = append(sc, s.Score), append(mem, s.Member)
					if s.Member {
						members++
					}
				}
			}
			if g != GroupAll && (members == 0 || members == len(sc)) {
				continue
			}
			sum, err := metrics.Summarize(sc, mem, cfg.Bootstrap, cfg.Seed)
			if err != nil {
				return nil, nil, fmt.Errorf("experiment: attack %s, %s users: %w", a, g, err)
			}
			if g == GroupNonCanary {
				curves[a], _ = metrics.ROC(sc, mem)
			}
			row := metricsRow(cfg.Name, a, g, sum)
			chance, err := metrics.ChanceP([]metrics.Labelled{{Scores: sc, Member: mem}}, metrics.Permutations, cfg.Seed)
			if err != nil {
				return nil, nil, fmt.Errorf("experiment: attack %s, %s users: %w", a, g, err)
			}
			below, err := metrics.ChanceBelowP([]metrics.Labelled{{Scores: sc, Member: mem}}, metrics.Permutations, cfg.Seed)
			if err != nil {
				return nil, nil, fmt.Errorf("experiment: attack %s, %s users: %w", a, g, err)
			}
			row.ChanceP, row.ChanceBelowP = &chance, &below
			seed := int64(cfg.Seed)
			row.Seed, row.NSeeds = &seed, 1
			rows = append(rows, row)
		}
	}
	return rows, curves, nil
}

func metricsRow(experimentID, attack, group string, s metrics.Summary) MetricsRow {
	return MetricsRow{ExperimentID: experimentID, Attack: attack, Group: group, AUROC: s.AUROC, AUROCLo: s.AUROCLo, AUROCHi: s.AUROCHi, Interval: "bootstrap",
		TPRAt01FPR: s.TPRAt01FPR, TPRAt1FPR: s.TPRAt1FPR, TPRAt5FPR: s.TPRAt5FPR,
		NUsers: int64(s.NUsers), NMembers: int64(s.NMembers), NNonMembers: int64(s.NNonMembers)}
}

func writeResults(p *plan, out string, scores []ScoreRow, rows []MetricsRow, curves map[string][]metrics.ROCPoint,
	ft plugin.FineTuneResponse, dataHash string, summaries []string, settings map[string]string) (Manifest, error) {
	cfg := p.cfg
	man := Manifest{ExperimentID: cfg.Name, Config: cfg, DatasetSource: p.source, DatasetSHA256: dataHash, Reference: p.reference,
		Tokenizer: p.tokenizer, Seed: cfg.Seed, Plugins: p.versions, PluginIsolation: p.isolation, Backend: backend.Spec(cfg.Backend), Framework: buildinfo.Get(),
		Mitigations: summaries, Settings: settings, Checkpoint: ft.Best, AttackerOverlap: p.overlap, Scoring: p.scoring,
		Warnings: append([]string{}, p.warnings...)}
	if ft.PrivacyReport != "" {
		var rep map[string]any
		if err := readJSONFile(ft.PrivacyReport, &rep); err == nil {
			man.PrivacyReport = rep
			// The tightest upper bound: pld, or rdp where pld refused the
			// noise (pld_epsilon_accountant says which).
			if v, ok := rep["pld_epsilon"].(float64); ok {
				man.Epsilon = &v
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
		var accDoc, accUser string
		switch rep.Unit {
		case train.UnitUser:
			man.EpsilonUser, accUser = man.Epsilon, cmp.Or(rep.PLDAccountant, "pld")
		case train.UnitWindow:
			man.EpsilonDocument, accDoc = groupEps(rep, "document")
			man.EpsilonUser, accUser = groupEps(rep, "user")
		}
		switch {
		case rep.Unit == "":
			man.DPRegionNote = "no DP region: unit not reported by the fine-tuner (its privacy report has no unit), so no user-level epsilon"
		case man.EpsilonUser == nil:
			man.DPRegionNote = "no DP region: no finite user-level epsilon"
		case *man.EpsilonUser > privacy.MaxEpsilon:
			man.DPRegionNote = fmt.Sprintf("no DP region: the user-level epsilon is %.4g (%s; the region would be the whole ROC square)", *man.EpsilonUser, train.MeaninglessNote)
		default:
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
		}
		for i := range rows {
			rows[i].DPUnit, rows[i].Delta, rows[i].Accountant = rep.Unit, &rep.Delta, cmp.Or(rep.PLDAccountant, "pld")
			rows[i].EpsilonDocument, rows[i].EpsilonUser = man.EpsilonDocument, man.EpsilonUser
			rows[i].AccountantDocument, rows[i].AccountantUser = accDoc, accUser
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
		title := "user inference: " + cfg.Name + " (non-canary users)"
		img, err := metrics.ROCPlot(title, metrics.SortedCurves(curves), format, plotOpts...)
		if err != nil {
			return Manifest{}, err
		}
		if err := data.WriteBytes(filepath.Join(out, "roc."+format), img); err != nil {
			return Manifest{}, err
		}
		if img, err = metrics.ROCLogLogPlot(title, metrics.SortedCurves(curves), format); err != nil {
			return Manifest{}, err
		}
		if err := data.WriteBytes(filepath.Join(out, "roc_loglog."+format), img); err != nil {
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

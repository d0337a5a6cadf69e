// Package builtin implements privlm's built-in plugins; each binary in
// plugins/ is a one-line main that serves one of them.
package builtin

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/privlm/privlm/framework/attack"
	"github.com/privlm/privlm/framework/buildinfo"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/plugin"
)

// OracleBatch is the number of texts per oracle call.
const OracleBatch = 256

// scoreUsers asks the oracle about every sample of every user, in batches,
// and returns the scores per user (request order).
func scoreUsers(ctx context.Context, oracle plugin.Oracle, model plugin.Model, users []plugin.UserSamples, perToken bool) ([][]plugin.SequenceScore, error) {
	var texts []string
	for _, u := range users {
		texts = append(texts, u.Texts...)
	}
	all := make([]plugin.SequenceScore, 0, len(texts))
	for start := 0; start < len(texts); start += OracleBatch {
		batch := texts[start:min(start+OracleBatch, len(texts))]
		got, err := oracle.LogLikelihood(ctx, model, batch, perToken)
		if err != nil {
			return nil, fmt.Errorf("oracle (%s model): %w", model, err)
		}
		if len(got) != len(batch) {
			return nil, fmt.Errorf("oracle (%s model) answered %d scores for %d texts", model, len(got), len(batch))
		}
		all = append(all, got...)
	}
	out := make([][]plugin.SequenceScore, len(users))
	k := 0
	for i, u := range users {
		out[i] = all[k : k+len(u.Texts)]
		k += len(u.Texts)
	}
	return out, nil
}

// perSample turns per-sample statistics into user scores.
func perSample(users []plugin.UserSamples, agg string, stat func(user, sample int) float64) (plugin.AttackResponse, error) {
	var resp plugin.AttackResponse
	for i, u := range users {
		samples := make([]float64, len(u.Texts))
		for j := range u.Texts {
			samples[j] = stat(i, j)
		}
		score, err := attack.Aggregate(samples, agg)
		if err != nil {
			return resp, fmt.Errorf("user %s: %w", u.UserID, err)
		}
		resp.Scores = append(resp.Scores, plugin.UserScore{UserID: u.UserID, Score: score, SampleScores: samples})
	}
	return resp, nil
}

var aggregationParam = plugin.Param{Name: "aggregation", Type: "string", Default: "mean", Enum: attack.Aggregations,
	Description: "how per-sample scores combine into a user score"}

// UserInference is Kandpal et al.'s attack.
type UserInference struct{ agg string }

func (*UserInference) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindAttack, Name: "user-inference", Version: buildinfo.Version,
		Description: "user inference (Kandpal et al.): aggregate of log p_target(x) - log p_reference(x) over the user's samples"}
}
func (*UserInference) ConfigSchema() []plugin.Param { return []plugin.Param{aggregationParam} }
func (a *UserInference) Configure(cfg plugin.Config) error {
	a.agg = cfg.String("aggregation")
	return nil
}
func (a *UserInference) Score(ctx context.Context, req plugin.AttackRequest, oracle plugin.Oracle) (plugin.AttackResponse, error) {
	target, err := scoreUsers(ctx, oracle, plugin.Target, req.Users, false)
	if err != nil {
		return plugin.AttackResponse{}, err
	}
	ref, err := scoreUsers(ctx, oracle, plugin.Reference, req.Users, false)
	if err != nil {
		return plugin.AttackResponse{}, err
	}
	return perSample(req.Users, a.agg, func(u, s int) float64 { return attack.UserInference(target[u][s].LogLik, ref[u][s].LogLik) })
}

// Loss scores users by the target's mean log-probability per token.
type Loss struct{ agg string }

func (*Loss) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindAttack, Name: "loss", Version: buildinfo.Version,
		Description: "loss attack: the target model's mean log-probability per token (no reference model)"}
}
func (*Loss) ConfigSchema() []plugin.Param        { return []plugin.Param{aggregationParam} }
func (a *Loss) Configure(cfg plugin.Config) error { a.agg = cfg.String("aggregation"); return nil }
func (a *Loss) Score(ctx context.Context, req plugin.AttackRequest, oracle plugin.Oracle) (plugin.AttackResponse, error) {
	target, err := scoreUsers(ctx, oracle, plugin.Target, req.Users, false)
	if err != nil {
		return plugin.AttackResponse{}, err
	}
	return perSample(req.Users, a.agg, func(u, s int) float64 { return attack.Loss(target[u][s].LogLik, target[u][s].NumTokens) })
}

// Zlib calibrates the loss by zlib compressibility.
type Zlib struct{ agg string }

func (*Zlib) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindAttack, Name: "zlib", Version: buildinfo.Version,
		Description: "zlib-calibrated loss (Carlini et al.): mean log-probability per token over zlib length"}
}
func (*Zlib) ConfigSchema() []plugin.Param        { return []plugin.Param{aggregationParam} }
func (a *Zlib) Configure(cfg plugin.Config) error { a.agg = cfg.String("aggregation"); return nil }
func (a *Zlib) Score(ctx context.Context, req plugin.AttackRequest, oracle plugin.Oracle) (plugin.AttackResponse, error) {
	target, err := scoreUsers(ctx, oracle, plugin.Target, req.Users, false)
	if err != nil {
		return plugin.AttackResponse{}, err
	}
	return perSample(req.Users, a.agg, func(u, s int) float64 {
		return attack.Zlib(target[u][s].LogLik, target[u][s].NumTokens, req.Users[u].Texts[s])
	})
}

// MinK is the Min-K% probability attack.
type MinK struct {
	agg string
	k   float64
}

func (*MinK) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindAttack, Name: "min-k", Version: buildinfo.Version,
		Description: "Min-K% Prob (Shi et al.): mean of the k lowest token log-probabilities under the target"}
}
func (*MinK) ConfigSchema() []plugin.Param {
	return []plugin.Param{aggregationParam, {Name: "k", Type: "float", Default: 0.2, Min: plugin.Bound(0), Max: plugin.Bound(1), Description: "fraction of lowest-probability tokens averaged"}}
}
func (a *MinK) Configure(cfg plugin.Config) error {
	a.agg, a.k = cfg.String("aggregation"), cfg.Float("k")
	if !(a.k > 0 && a.k <= 1) {
		return fmt.Errorf("k = %v, want 0 < k <= 1", a.k)
	}
	return nil
}
func (a *MinK) Score(ctx context.Context, req plugin.AttackRequest, oracle plugin.Oracle) (plugin.AttackResponse, error) {
	target, err := scoreUsers(ctx, oracle, plugin.Target, req.Users, true)
	if err != nil {
		return plugin.AttackResponse{}, err
	}
	return perSample(req.Users, a.agg, func(u, s int) float64 { return attack.MinKProb(target[u][s].TokenLogProbs, a.k) })
}

// Cap limits the training documents per user.
type Cap struct {
	max   int
	users float64
}

func (*Cap) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMitigation, Name: "cap", Version: buildinfo.Version,
		Description: "per-user cap: keep at most max_docs random training documents of each user (or of a random fraction of users)"}
}
func (*Cap) ConfigSchema() []plugin.Param {
	return []plugin.Param{{Name: "max_docs", Type: "int", Default: 10.0, Min: plugin.Bound(1), Description: "documents kept per user"},
		{Name: "users", Type: "float", Default: 1.0, Min: plugin.Bound(0), Max: plugin.Bound(1), Description: "fraction of users capped, drawn from the run's seed (1: every user; below 1, the others keep all their documents: a user's share of the data varies within one model)"}}
}
func (m *Cap) Configure(cfg plugin.Config) error {
	if m.max = cfg.Int("max_docs"); m.max < 1 {
		return fmt.Errorf("max_docs = %d, want >= 1", m.max)
	}
	if m.users = cfg.Float("users"); !(m.users > 0 && m.users <= 1) {
		return fmt.Errorf("users = %v, want a fraction in (0, 1]", m.users)
	}
	return nil
}
func (m *Cap) Apply(_ context.Context, req plugin.MitigationRequest) (plugin.MitigationResponse, error) {
	what := fmt.Sprintf("at most %d documents per user", m.max)
	if m.users < 1 {
		what = fmt.Sprintf("at most %d documents for a random %g of users", m.max, m.users)
	}
	return transform(req, "capped", func(recs []data.Record) []data.Record { return data.CapPerUser(recs, m.max, m.users, req.Seed) }, what)
}

// Dedup removes within-user duplicates.
type Dedup struct{ near float64 }

func (*Dedup) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindMitigation, Name: "dedup", Version: buildinfo.Version,
		Description: "within-user deduplication: exact (normalised text) and, with near_threshold, near duplicates (MinHash)"}
}
func (*Dedup) ConfigSchema() []plugin.Param {
	return []plugin.Param{{Name: "near_threshold", Type: "float", Default: 0.0, Min: plugin.Bound(0), Max: plugin.Bound(1), Description: "Jaccard similarity of word 3-grams above which documents are near duplicates (0 = exact only)"}}
}
func (m *Dedup) Configure(cfg plugin.Config) error {
	if m.near = cfg.Float("near_threshold"); m.near < 0 || m.near > 1 {
		return fmt.Errorf("near_threshold = %v, want 0..1", m.near)
	}
	return nil
}
func (m *Dedup) Apply(_ context.Context, req plugin.MitigationRequest) (plugin.MitigationResponse, error) {
	return transform(req, "dedup", func(recs []data.Record) []data.Record {
		return data.DedupWithinUser(recs, data.DedupConfig{NearThreshold: m.near})
	}, fmt.Sprintf("within-user dedup (near threshold %g)", m.near))
}

func transform(req plugin.MitigationRequest, name string, fn func([]data.Record) []data.Record, what string) (plugin.MitigationResponse, error) {
	recs, err := data.ReadFile(req.TrainPath)
	if err != nil {
		return plugin.MitigationResponse{}, err
	}
	out := fn(recs)
	if len(out) == 0 {
		return plugin.MitigationResponse{}, fmt.Errorf("%s removed every training document", name)
	}
	path := filepath.Join(req.OutputDir, name+".parquet")
	if err := data.WriteFile(path, out); err != nil {
		return plugin.MitigationResponse{}, err
	}
	return plugin.MitigationResponse{TrainPath: path, Summary: fmt.Sprintf("%s: %d -> %d documents", what, len(recs), len(out))}, nil
}

package experiment

import (
	"fmt"

	"github.com/privlm/privlm/framework/config"
)

// MinBootstrap is the fewest bootstrap resamples an AUROC interval is
// computed from: with fewer, the 2.5% and 97.5% quantiles rest on one or two
// resamples (and 0 gives a zero-width "interval").
const MinBootstrap = 100

// checkRanges checks every number of the experiment's own keys before any
// work: finite, and in its range, naming the key. (train.* is checked by
// train.Config.Validate, the split fractions by data.SplitConfig.Validate.)
func checkRanges(cfg Config) error {
	if err := config.CheckFinite(&cfg); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	for _, kv := range []struct {
		key string
		v   int
	}{
		{"split.min_docs", cfg.Split.MinDocs}, {"split.max_docs", cfg.Split.MaxDocs}, {"split.max_users", cfg.Split.MaxUsers},
		{"dataset.max_chars", cfg.Dataset.MaxChars}, {"canary.users", cfg.Canary.Users}, {"attack.samples", cfg.Attack.Samples},
		{"attack.max_tokens", cfg.Attack.MaxTokens}, {"model.pretrain_steps", cfg.Model.PretrainSteps},
	} {
		if kv.v < 0 {
			return fmt.Errorf("experiment: %s: %d, want >= 0", kv.key, kv.v)
		}
	}
	if cfg.Bootstrap < MinBootstrap {
		return fmt.Errorf("experiment: bootstrap: %d, want >= %d resamples", cfg.Bootstrap, MinBootstrap)
	}
	return nil
}

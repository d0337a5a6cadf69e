// Command length-ratio is an example attack plugin in its own module: it
// depends only on privlm's plugin SDK. It scores a user by the mean, over
// their samples, of the log-likelihood ratio (target vs reference) per token,
// a length-normalised variant of user inference.
//
// Build and run it through privlm:
//
//	cd plugins/examples/length-ratio && go build -o ~/.cache/privlm/plugins/length-ratio .
//	privlm plugins describe length-ratio
package main

import (
	"context"
	"fmt"

	"github.com/privlm/privlm/framework/plugin"
)

type lengthRatio struct{ minTokens int }

func (*lengthRatio) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindAttack, Name: "length-ratio", Version: "1.0.0",
		Description: "example: mean per-token log-likelihood ratio of target vs reference"}
}

func (*lengthRatio) ConfigSchema() []plugin.Param {
	return []plugin.Param{{Name: "min_tokens", Type: "int", Default: 1.0, Description: "ignore samples shorter than this"}}
}

func (a *lengthRatio) Configure(cfg plugin.Config) error {
	a.minTokens = cfg.Int("min_tokens")
	return nil
}

func (a *lengthRatio) Score(ctx context.Context, req plugin.AttackRequest, oracle plugin.Oracle) (plugin.AttackResponse, error) {
	var resp plugin.AttackResponse
	for _, u := range req.Users {
		target, err := oracle.LogLikelihood(ctx, plugin.Target, u.Texts, false)
		if err != nil {
			return resp, err
		}
		ref, err := oracle.LogLikelihood(ctx, plugin.Reference, u.Texts, false)
		if err != nil {
			return resp, err
		}
		sum, n := 0.0, 0
		for i := range target {
			if target[i].NumTokens < a.minTokens {
				continue
			}
			sum += (target[i].LogLik - ref[i].LogLik) / float64(target[i].NumTokens)
			n++
		}
		if n == 0 {
			return resp, fmt.Errorf("user %s has no sample of %d tokens or more", u.UserID, a.minTokens)
		}
		resp.Scores = append(resp.Scores, plugin.UserScore{UserID: u.UserID, Score: sum / float64(n)})
	}
	return resp, nil
}

func main() { plugin.Serve(&lengthRatio{}) }

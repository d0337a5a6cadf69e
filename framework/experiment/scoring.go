package experiment

import (
	"fmt"

	"github.com/privlm/privlm/framework/lm"
	"github.com/privlm/privlm/framework/oracle"
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/tokenizer"
)

// scoringVersion changes whenever how attacker samples are scored changes,
// so that cached attack stages of older versions are not reused.
const scoringVersion = "scoring-v2: whole texts over train.seq_len windows; max_tokens cuts the sample text"

// ScoringInfo is how the attacker's samples were scored (manifest.json,
// "scoring"). The oracle scores every sample whole, over the fine-tuning's
// windows; only attack.max_tokens, an explicit option, cuts samples, and
// what it cut is counted here.
type ScoringInfo struct {
	// Window is the tokens per scored window after BOS: train.seq_len,
	// capped at the models' context as training caps it.
	Window int `json:"window"`
	// MaxTokens is attack.max_tokens (0: samples are scored whole).
	MaxTokens int `json:"max_tokens"`
	// Samples and Tokens are the attacker's samples and their tokens as scored.
	Samples int `json:"samples"`
	Tokens  int `json:"tokens"`
	// SamplesCut samples were longer than MaxTokens and were cut to their
	// first MaxTokens tokens, losing TokensCut tokens in all.
	SamplesCut int `json:"samples_cut"`
	TokensCut  int `json:"tokens_cut"`
}

// cutSamples applies attack.max_tokens to the attacker's samples: a sample
// longer than maxTokens tokens is replaced by the text of its first
// maxTokens tokens, so that every attack (zlib's compressed length
// included) sees exactly the text the oracle scores. maxTokens <= 0 keeps
// every sample whole. The request is copied, not changed.
func cutSamples(tok tokenizer.Tokenizer, req plugin.AttackRequest, maxTokens int) (plugin.AttackRequest, ScoringInfo) {
	info := ScoringInfo{MaxTokens: max(0, maxTokens)}
	out := plugin.AttackRequest{Users: make([]plugin.UserSamples, len(req.Users))}
	for i, u := range req.Users {
		texts := make([]string, len(u.Texts))
		for j, text := range u.Texts {
			ids := tok.Encode(text)
			if maxTokens > 0 && len(ids) > maxTokens {
				text = tok.Decode(ids[:maxTokens])
				info.SamplesCut++
				info.TokensCut += len(ids) - maxTokens
				ids = tok.Encode(text)
			}
			texts[j] = text
			info.Samples++
			info.Tokens += len(ids)
		}
		out.Users[i] = plugin.UserSamples{UserID: u.UserID, Texts: texts}
	}
	return out, info
}

// scoringOracle is the oracle every attack of a run reaches: target and
// reference scored over the fine-tuning's windows (train.seq_len).
func scoringOracle(cfg Config, target, reference *lm.Model, tok tokenizer.Tokenizer) (*oracle.LM, error) {
	return oracle.New(target, reference, tok, cfg.Train.SeqLen, 16)
}

// MinUsersForPaperScale is the fewest held-out users of the headline
// population (non-canary users) below which a run warns: with fewer, TPR
// at 1% FPR (which needs 100 non-members) cannot be estimated and the
// AUROC's interval is wide.
const MinUsersForPaperScale = 100

// attackedUsersWarnings warns when the headline population (the attacked
// users who are not canaries) has fewer than MinUsersForPaperScale
// held-out users (non-members).
func attackedUsersWarnings(req plugin.AttackRequest, users SplitInfo) []string {
	in, canaries, out := 0, 0, 0
	for _, u := range req.Users {
		info := users.Users[u.UserID]
		switch {
		case info.Canary:
			canaries++
		case info.Member:
			in++
		default:
			out++
		}
	}
	if out >= MinUsersForPaperScale {
		return nil
	}
	return []string{fmt.Sprintf("the headline population (non-canary users: %d held-in, %d held-out; %d canaries besides) has fewer than %d held-out users: TPR at 1%% FPR is n/a (TPR at FPR f needs ceil(1/f) non-members) and the AUROC interval is wide",
		in, out, canaries, MinUsersForPaperScale)}
}

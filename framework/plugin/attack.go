package plugin

import "context"

// Attack scores users: higher means more likely a member (their data was
// fine-tuned on). It sees only the attacker's samples and a black-box Oracle;
// weights and training data stay in the host process.
type Attack interface {
	Plugin
	Score(ctx context.Context, req AttackRequest, oracle Oracle) (AttackResponse, error)
}

// AttackRequest holds the attacker's fresh samples of each user.
type AttackRequest struct {
	Users []UserSamples `json:"users"`
}

// UserSamples are one user's attacker samples.
type UserSamples struct {
	UserID string   `json:"user_id"`
	Texts  []string `json:"texts"`
}

// AttackResponse has one score per requested user, in any order.
type AttackResponse struct {
	Scores []UserScore `json:"scores"`
}

// UserScore is the attack's verdict on one user.
type UserScore struct {
	UserID string  `json:"user_id"`
	Score  float64 `json:"score"`
	// SampleScores, optional, score each sample in request order.
	SampleScores []float64 `json:"sample_scores,omitempty"`
}

// Model names a model behind the Oracle.
type Model string

const (
	// Target is the fine-tuned model under attack.
	Target Model = "target"
	// Reference is the model before fine-tuning (or trained on other users).
	Reference Model = "reference"
)

// Oracle answers log-likelihoods of texts, and nothing else.
type Oracle interface {
	// LogLikelihood scores each text (BOS prepended) under the model; with
	// perToken, also the per-token log-probabilities.
	LogLikelihood(ctx context.Context, model Model, texts []string, perToken bool) ([]SequenceScore, error)
}

// SequenceScore is the log-likelihood of one text: the sum of natural-log
// probabilities of its tokens after BOS.
type SequenceScore struct {
	LogLik        float64   `json:"loglik"`
	NumTokens     int       `json:"num_tokens"`
	TokenLogProbs []float64 `json:"token_logprobs,omitempty"`
}

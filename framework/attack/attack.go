// Package attack holds the statistics of privlm's built-in attacks as pure
// functions over signals (log-likelihoods under the target and reference
// models), so they can be tested on their own and reused by plugins. Every
// score is oriented so that higher means "more likely a member".
package attack

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"math"
	"slices"
)

// UserInference is Kandpal et al.'s per-sample statistic: the log-likelihood
// ratio log p_target(x) - log p_reference(x).
func UserInference(targetLogLik, referenceLogLik float64) float64 {
	return targetLogLik - referenceLogLik
}

// Loss is the target model's mean log-probability per token (the negated
// loss; Yeom et al.).
func Loss(targetLogLik float64, numTokens int) float64 {
	if numTokens <= 0 {
		return 0
	}
	return targetLogLik / float64(numTokens)
}

// ZlibBytes is the zlib-compressed length of a text, an estimate of its
// intrinsic complexity (Carlini et al. 2021).
func ZlibBytes(text string) int {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write([]byte(text))
	w.Close()
	return buf.Len()
}

// Zlib is the target's mean log-probability per token divided by the text's
// zlib length: Carlini et al.'s zlib-calibrated score, negated so higher
// means member. text must be exactly the text whose log-likelihood is given
// (the scored text: privlm's host cuts samples before attacks see them, so
// an attack's request texts are what the oracle scores).
func Zlib(targetLogLik float64, numTokens int, text string) float64 {
	return Loss(targetLogLik, numTokens) / float64(max(1, ZlibBytes(text)))
}

// MinKProb is the mean of the fraction k of lowest token log-probabilities
// (Shi et al. 2023, "Min-K% Prob"); at least one token is used.
func MinKProb(tokenLogProbs []float64, k float64) float64 {
	if len(tokenLogProbs) == 0 {
		return 0
	}
	sorted := slices.Clone(tokenLogProbs)
	slices.Sort(sorted)
	n := max(1, int(math.Ceil(k*float64(len(sorted)))))
	sum := 0.0
	for _, v := range sorted[:n] {
		sum += v
	}
	return sum / float64(n)
}

// Aggregations combine per-sample scores into a user score.
var Aggregations = []string{"mean", "max", "min"}

// Aggregate combines per-sample scores ("mean", "max" or "min").
func Aggregate(scores []float64, how string) (float64, error) {
	if len(scores) == 0 {
		return 0, fmt.Errorf("attack: no samples to aggregate")
	}
	switch how {
	case "mean", "":
		s := 0.0
		for _, v := range scores {
			s += v
		}
		return s / float64(len(scores)), nil
	case "max":
		return slices.Max(scores), nil
	case "min":
		return slices.Min(scores), nil
	}
	return 0, fmt.Errorf("attack: unknown aggregation %q (want mean, max or min)", how)
}

package attack

import (
	"math"
	"testing"
)

// TestUserInferenceHandComputed: a tiny fixture worked out by hand.
// User with 3 samples: target log-likelihoods (-10, -20, -5), reference
// (-12, -21, -9): ratios (2, 1, 4), mean 7/3, max 4, min 1.
func TestUserInferenceHandComputed(t *testing.T) {
	target, ref := []float64{-10, -20, -5}, []float64{-12, -21, -9}
	var per []float64
	for i := range target {
		per = append(per, UserInference(target[i], ref[i]))
	}
	for _, tc := range []struct {
		how  string
		want float64
	}{{"mean", 7.0 / 3}, {"max", 4}, {"min", 1}} {
		got, err := Aggregate(per, tc.how)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s = %v (%v), want %v", tc.how, got, err, tc.want)
		}
	}
	if _, err := Aggregate(per, "median"); err == nil {
		t.Error("unknown aggregation accepted")
	}
	if _, err := Aggregate(nil, "mean"); err == nil {
		t.Error("empty aggregation accepted")
	}
}

func TestStatistics(t *testing.T) {
	if got := Loss(-12, 4); got != -3 {
		t.Errorf("Loss = %v", got)
	}
	// Min-20% of 10 tokens: the 2 lowest, -5 and -4 -> -4.5.
	lp := []float64{-1, -5, -0.5, -4, -2, -0.1, -0.2, -3, -0.3, -0.4}
	if got := MinKProb(lp, 0.2); got != -4.5 {
		t.Errorf("MinKProb = %v, want -4.5", got)
	}
	if got := MinKProb(lp, 0.01); got != -5 {
		t.Errorf("MinKProb(1%%) = %v, want the single lowest, -5", got)
	}
	// Repetitive text compresses well: same log-likelihood, smaller zlib
	// length, so a more extreme (more negative) per-byte score magnitude.
	rep, varied := "aaaa aaaa aaaa aaaa aaaa aaaa", "the quick brown fox jumps over"
	if ZlibBytes(rep) >= ZlibBytes(varied) {
		t.Errorf("zlib: repetitive %d bytes, varied %d", ZlibBytes(rep), ZlibBytes(varied))
	}
	if got, want := Zlib(-20, 10, varied), -2/float64(ZlibBytes(varied)); got != want {
		t.Errorf("Zlib = %v, want %v", got, want)
	}
}

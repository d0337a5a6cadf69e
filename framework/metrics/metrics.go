// Package metrics scores attacks: AUROC (ties count one half, i.e. the
// Mann-Whitney U statistic), seeded bootstrap confidence intervals, TPR at
// low FPR (only with the non-members to support it: MinNonMembers), ROC
// curve points, and runs pooled over seeds (Pool: a crossed bootstrap over
// users and seeds); plot.go draws them (linear and log-log ROC).
package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// AUROC is the probability that a random member outscores a random
// non-member, ties counting one half. It needs both classes.
func AUROC(scores []float64, member []bool) (float64, error) {
	if len(scores) != len(member) {
		return 0, fmt.Errorf("metrics: %d scores for %d labels", len(scores), len(member))
	}
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, fmt.Errorf("metrics: score %d is NaN", i)
		}
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	// Mid-ranks over tie groups.
	var posRankSum float64
	nPos := 0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if member[idx[k]] {
				posRankSum += mid
				nPos++
			}
		}
		i = j
	}
	nNeg := len(scores) - nPos
	if nPos == 0 || nNeg == 0 {
		return 0, fmt.Errorf("metrics: AUROC needs members and non-members (got %d and %d)", nPos, nNeg)
	}
	u := posRankSum - float64(nPos)*float64(nPos+1)/2
	return u / (float64(nPos) * float64(nNeg)), nil
}

// ROCPoint is one threshold's false and true positive rates.
type ROCPoint struct {
	FPR, TPR, Threshold float64
}

// ROC returns the curve's corner points, from (0,0) to (1,1), with
// thresholds in decreasing order as scikit-learn's roc_curve
// (drop_intermediate=False): one point per distinct score.
func ROC(scores []float64, member []bool) ([]ROCPoint, error) {
	if len(scores) != len(member) {
		return nil, fmt.Errorf("metrics: %d scores for %d labels", len(scores), len(member))
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	nPos := 0
	for _, m := range member {
		if m {
			nPos++
		}
	}
	nNeg := len(member) - nPos
	if nPos == 0 || nNeg == 0 {
		return nil, fmt.Errorf("metrics: ROC needs members and non-members (got %d and %d)", nPos, nNeg)
	}
	pts := []ROCPoint{{0, 0, math.Inf(1)}}
	tp, fp := 0, 0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			if member[idx[j]] {
				tp++
			} else {
				fp++
			}
			j++
		}
		pts = append(pts, ROCPoint{FPR: float64(fp) / float64(nNeg), TPR: float64(tp) / float64(nPos), Threshold: scores[idx[i]]})
		i = j
	}
	return pts, nil
}

// TPRAtFPR is the highest TPR reachable at FPR <= fpr on the ROC curve's
// corner points (no interpolation: a threshold that exists).
func TPRAtFPR(pts []ROCPoint, fpr float64) float64 {
	best := 0.0
	for _, p := range pts {
		if p.FPR <= fpr+1e-12 {
			best = math.Max(best, p.TPR)
		}
	}
	return best
}

// MinNonMembers is the support a TPR at FPR fpr needs: ceil(1/fpr)
// non-members, the fewest for which an FPR of fpr means at least one false
// positive. With fewer, the only threshold at FPR <= fpr is the one with no
// false positive at all, and "TPR at fpr" would be TPR at FPR 0.
func MinNonMembers(fpr float64) int {
	return int(math.Ceil(1/fpr - 1e-9))
}

// SupportedTPRAtFPR is TPRAtFPR when nonMembers reaches MinNonMembers(fpr),
// else nil (not estimable: reported as n/a).
func SupportedTPRAtFPR(pts []ROCPoint, fpr float64, nonMembers int) *float64 {
	if nonMembers < MinNonMembers(fpr) {
		return nil
	}
	v := TPRAtFPR(pts, fpr)
	return &v
}

// Summary is what privlm reports for one attack. A TPR is nil where there
// are too few non-members to estimate it (see MinNonMembers).
type Summary struct {
	AUROC       float64  `json:"auroc"`
	AUROCLo     float64  `json:"auroc_lo"`
	AUROCHi     float64  `json:"auroc_hi"`
	TPRAt01FPR  *float64 `json:"tpr_at_01fpr"`
	TPRAt1FPR   *float64 `json:"tpr_at_1fpr"`
	TPRAt5FPR   *float64 `json:"tpr_at_5fpr"`
	NUsers      int      `json:"n_users"`
	NMembers    int      `json:"n_members"`
	NNonMembers int      `json:"n_non_members"`
}

// DefaultBootstrap is the number of bootstrap resamples (the paper uses 100+).
const DefaultBootstrap = 1000

// Summarize computes AUROC with a percentile bootstrap 95% interval
// (resamples drawn from seed, members and non-members resampled
// separately so every resample has both), and TPR at 0.1%, 1% and 5% FPR
// where the non-members suffice (1000, 100 and 20 of them; else nil).
func Summarize(scores []float64, member []bool, resamples int, seed uint64) (Summary, error) {
	auc, err := AUROC(scores, member)
	if err != nil {
		return Summary{}, err
	}
	pts, _ := ROC(scores, member)
	var pos, neg []float64
	for i, m := range member {
		if m {
			pos = append(pos, scores[i])
		} else {
			neg = append(neg, scores[i])
		}
	}
	s := Summary{AUROC: auc, TPRAt01FPR: SupportedTPRAtFPR(pts, 0.001, len(neg)), TPRAt1FPR: SupportedTPRAtFPR(pts, 0.01, len(neg)),
		TPRAt5FPR: SupportedTPRAtFPR(pts, 0.05, len(neg)), NUsers: len(scores), NNonMembers: len(neg)}
	s.NMembers = len(pos)
	if resamples <= 0 {
		s.AUROCLo, s.AUROCHi = auc, auc
		return s, nil
	}
	r := rand.New(rand.NewPCG(seed, 0xb007))
	aucs := make([]float64, resamples)
	bs := make([]float64, len(scores))
	bm := make([]bool, len(scores))
	for k := range aucs {
		for i := range pos {
			bs[i], bm[i] = pos[r.IntN(len(pos))], true
		}
		for i := range neg {
			bs[len(pos)+i], bm[len(pos)+i] = neg[r.IntN(len(neg))], false
		}
		aucs[k], _ = AUROC(bs, bm)
	}
	slices.Sort(aucs)
	q := func(p float64) float64 { return aucs[min(len(aucs)-1, int(p*float64(len(aucs))))] }
	s.AUROCLo, s.AUROCHi = q(0.025), q(0.975)
	return s, nil
}

// Labelled is one run's scores with their users and membership labels.
type Labelled struct {
	Users  []string
	Scores []float64
	Member []bool
}

// Pooled summarises an attack over repeated runs (seeds): the mean and
// sample standard deviation of the runs' AUROCs, and a 95% percentile
// interval from a crossed bootstrap over users and runs: each resample
// draws the users (by id, from every run's users) with replacement and the
// runs with replacement, and takes the mean over the drawn runs of the
// AUROC over the drawn users in that run (a user drawn k times counts k
// times). Drawing users once for all runs keeps the uncertainty of having
// this finite set of users, which averaging over seeds does not remove;
// drawing runs keeps the seeds' (split, training order, attacker samples).
// A resample in which a drawn run lacks members or non-members is drawn
// again. It needs at least two runs, each with both classes.
//
// Resampling N runs with replacement captures only (N-1)/N of the seeds'
// variance and, for N = 2 or 3, rests on a handful of run combinations;
// so the t interval over the runs' AUROCs, mean ± t_{N-1,0.975}·sd/√N
// (clipped to [0, 1]), is computed too, and AUROCLo/AUROCHi are the wider
// of the two (Interval says which).
type Pooled struct {
	Runs      int     `json:"runs"`
	MeanAUROC float64 `json:"mean_auroc"`
	StdAUROC  float64 `json:"std_auroc"`
	AUROCLo   float64 `json:"auroc_lo"`
	AUROCHi   float64 `json:"auroc_hi"`
	// Interval is "bootstrap" or "t": which interval AUROCLo/AUROCHi are.
	Interval string `json:"interval"`
	// The crossed-bootstrap and the t interval.
	BootLo float64 `json:"bootstrap_lo"`
	BootHi float64 `json:"bootstrap_hi"`
	TLo    float64 `json:"t_lo"`
	THi    float64 `json:"t_hi"`
	// RunAUROCs are the runs' own AUROCs, in order.
	RunAUROCs []float64 `json:"run_aurocs"`
}

// Pool computes Pooled over runs with resamples bootstrap draws from seed.
func Pool(runs []Labelled, resamples int, seed uint64) (Pooled, error) {
	if len(runs) < 2 {
		return Pooled{}, fmt.Errorf("metrics: pooling needs at least 2 runs, got %d", len(runs))
	}
	p := Pooled{Runs: len(runs)}
	index := map[string]int{}
	var ids []string
	for k, r := range runs {
		if len(r.Users) != len(r.Scores) || len(r.Member) != len(r.Scores) {
			return Pooled{}, fmt.Errorf("metrics: run %d has %d users, %d scores, %d labels", k, len(r.Users), len(r.Scores), len(r.Member))
		}
		auc, err := AUROC(r.Scores, r.Member)
		if err != nil {
			return Pooled{}, fmt.Errorf("metrics: run %d: %w", k, err)
		}
		p.RunAUROCs = append(p.RunAUROCs, auc)
		for _, u := range r.Users {
			if _, ok := index[u]; !ok {
				index[u] = len(ids)
				ids = append(ids, u)
			}
		}
	}
	p.MeanAUROC, p.StdAUROC = meanStd(p.RunAUROCs)
	n := float64(len(runs))
	half := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.975) * p.StdAUROC / math.Sqrt(n)
	p.TLo, p.THi = max(0, p.MeanAUROC-half), min(1, p.MeanAUROC+half)
	if resamples <= 0 {
		p.AUROCLo, p.AUROCHi, p.Interval = p.TLo, p.THi, "t"
		return p, nil
	}
	r := rand.New(rand.NewPCG(seed, 0xb0075eed))
	count := make([]int, len(ids))
	means := make([]float64, 0, resamples)
	var bs []float64
	var bm []bool
	for tries := 0; len(means) < resamples; tries++ {
		if tries > 100*resamples {
			return Pooled{}, fmt.Errorf("metrics: pooled bootstrap: too few users to draw both classes")
		}
		clear(count)
		for range ids {
			count[r.IntN(len(ids))]++
		}
		sum, ok := 0.0, true
		for range runs {
			run := runs[r.IntN(len(runs))]
			bs, bm = bs[:0], bm[:0]
			pos := 0
			for i, u := range run.Users {
				for range count[index[u]] {
					bs, bm = append(bs, run.Scores[i]), append(bm, run.Member[i])
					if run.Member[i] {
						pos++
					}
				}
			}
			if pos == 0 || pos == len(bs) {
				ok = false
				break
			}
			auc, _ := AUROC(bs, bm)
			sum += auc
		}
		if ok {
			means = append(means, sum/float64(len(runs)))
		}
	}
	slices.Sort(means)
	q := func(f float64) float64 { return means[min(len(means)-1, int(f*float64(len(means))))] }
	p.BootLo, p.BootHi = q(0.025), q(0.975)
	if p.THi-p.TLo > p.BootHi-p.BootLo {
		p.AUROCLo, p.AUROCHi, p.Interval = p.TLo, p.THi, "t"
	} else {
		p.AUROCLo, p.AUROCHi, p.Interval = p.BootLo, p.BootHi, "bootstrap"
	}
	return p, nil
}

// meanStd is the mean and the sample (n-1) standard deviation.
func meanStd(xs []float64) (float64, float64) {
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	if len(xs) < 2 {
		return m, 0
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(xs)-1))
}

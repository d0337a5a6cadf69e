package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Diff compares two AUROCs measured on the same users: B's minus A's,
// averaged over runs (seeds).
type Diff struct {
	Runs int `json:"runs"`
	// AUROCA and AUROCB are the conditions' AUROCs, each the mean over runs.
	AUROCA float64 `json:"auroc_a"`
	AUROCB float64 `json:"auroc_b"`
	// Delta is AUROCB - AUROCA, SE its standard error and Lo/Hi its 95%
	// interval (Delta ± 1.96·SE).
	Delta float64 `json:"delta"`
	SE    float64 `json:"se"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	// P is the one-sided p-value of "B is not above A" (Delta ≤ 0), from
	// the normal approximation.
	P float64 `json:"p"`
	// RunDeltas are the runs' own differences, in order.
	RunDeltas []float64 `json:"run_deltas"`
}

// CompareAUROC is DeLong, DeLong and Clarke-Pearson's (1988) test for two
// correlated AUROCs: a[k] and b[k] are run k's users scored under two
// conditions (say the attack with 1 and with 10 samples), matched by user
// id, with the same membership. Within a run the variance of the
// difference comes from the placement values of each member among the
// non-members and of each non-member among the members, and their
// covariance across the two conditions (the users are the same, so the
// two AUROCs are correlated and the paired test is much sharper than two
// intervals side by side). Runs are independent (each seed its own split
// and training): Delta is the mean of the runs' differences and its
// variance the mean of theirs divided by the number of runs. The variance
// is over users given each run's model, not over training randomness: the
// test asks whether B beats A on the models trained, which is what a
// sweep over an attack setting compares.
func CompareAUROC(a, b []Labelled) (Diff, error) {
	if len(a) == 0 || len(a) != len(b) {
		return Diff{}, fmt.Errorf("metrics: comparing AUROCs needs the same runs under both conditions (got %d and %d)", len(a), len(b))
	}
	d := Diff{Runs: len(a)}
	variance := 0.0
	for k := range a {
		aucA, aucB, v, err := delongRun(a[k], b[k])
		if err != nil {
			return Diff{}, fmt.Errorf("metrics: comparing AUROCs, run %d: %w", k, err)
		}
		d.AUROCA += aucA
		d.AUROCB += aucB
		d.RunDeltas = append(d.RunDeltas, aucB-aucA)
		variance += v
	}
	return d.pooled(variance), nil
}

// CompareAUROCUnpaired compares the AUROCs of two disjoint groups of users
// scored by the same model: a[k] and b[k] are run k's two groups (say its
// canary users and the others), each with members and non-members. Given
// the model the groups' AUROCs are independent, so the variance of their
// difference is the sum of their DeLong variances (placement values of
// members among non-members and back, within each group). Runs pool as in
// CompareAUROC: Delta is the mean of the runs' differences (B's minus A's)
// and its variance the mean of theirs divided by the number of runs. A
// user in both groups of a run is an error: that comparison is paired.
func CompareAUROCUnpaired(a, b []Labelled) (Diff, error) {
	if len(a) == 0 || len(a) != len(b) {
		return Diff{}, fmt.Errorf("metrics: comparing AUROCs needs both groups in every run (got %d and %d runs)", len(a), len(b))
	}
	d := Diff{Runs: len(a)}
	variance := 0.0
	for k := range a {
		inA := map[string]bool{}
		for _, u := range a[k].Users {
			inA[u] = true
		}
		for _, u := range b[k].Users {
			if inA[u] {
				return Diff{}, fmt.Errorf("metrics: comparing AUROCs of two groups, run %d: user %q is in both (use CompareAUROC for the same users)", k, u)
			}
		}
		aucA, varA, err := delongSingle(a[k])
		if err != nil {
			return Diff{}, fmt.Errorf("metrics: comparing AUROCs, run %d, first group: %w", k, err)
		}
		aucB, varB, err := delongSingle(b[k])
		if err != nil {
			return Diff{}, fmt.Errorf("metrics: comparing AUROCs, run %d, second group: %w", k, err)
		}
		d.AUROCA += aucA
		d.AUROCB += aucB
		d.RunDeltas = append(d.RunDeltas, aucB-aucA)
		variance += varA + varB
	}
	return d.pooled(variance), nil
}

// CompareAUROCSharedNonMembers compares the AUROCs of two disjoint groups
// of members against the same non-members, in the same model: a[k] and
// b[k] are run k's two groups (members trained on few of their documents
// and members trained on many, say), each with the run's non-members,
// whose ids and scores must agree. The AUROCs are correlated through the
// shared non-members: the variance of B's minus A's is Var(A) + Var(B) -
// 2 Cov(A, B), the covariance from the non-members' placement values
// among A's and among B's members (DeLong et al. 1988); the members'
// placement values are independent. Runs pool as in CompareAUROC.
func CompareAUROCSharedNonMembers(a, b []Labelled) (Diff, error) {
	if len(a) == 0 || len(a) != len(b) {
		return Diff{}, fmt.Errorf("metrics: comparing AUROCs needs both groups in every run (got %d and %d runs)", len(a), len(b))
	}
	d := Diff{Runs: len(a)}
	variance := 0.0
	for k := range a {
		aucA, aucB, v, err := sharedNonMembersRun(a[k], b[k])
		if err != nil {
			return Diff{}, fmt.Errorf("metrics: comparing AUROCs with shared non-members, run %d: %w", k, err)
		}
		d.AUROCA += aucA
		d.AUROCB += aucB
		d.RunDeltas = append(d.RunDeltas, aucB-aucA)
		variance += v
	}
	return d.pooled(variance), nil
}

func sharedNonMembersRun(a, b Labelled) (aucA, aucB, variance float64, err error) {
	split := func(l Labelled) (pos []float64, posIDs map[string]bool, neg map[string]float64, negOrder []string, err error) {
		if len(l.Users) != len(l.Scores) || len(l.Member) != len(l.Scores) {
			return nil, nil, nil, nil, fmt.Errorf("users, scores and labels differ in length")
		}
		posIDs, neg = map[string]bool{}, map[string]float64{}
		for i, u := range l.Users {
			if _, dup := neg[u]; dup || posIDs[u] {
				return nil, nil, nil, nil, fmt.Errorf("user %q twice", u)
			}
			if l.Member[i] {
				pos, posIDs[u] = append(pos, l.Scores[i]), true
			} else {
				neg[u], negOrder = l.Scores[i], append(negOrder, u)
			}
		}
		return pos, posIDs, neg, negOrder, nil
	}
	posA, idsA, negA, order, err := split(a)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("first group: %w", err)
	}
	posB, idsB, negB, _, err := split(b)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("second group: %w", err)
	}
	for _, u := range a.Users {
		if idsA[u] && idsB[u] {
			return 0, 0, 0, fmt.Errorf("member %q is in both groups", u)
		}
	}
	if len(negA) != len(negB) {
		return 0, 0, 0, fmt.Errorf("%d non-members with the first group, %d with the second: they must be the same", len(negA), len(negB))
	}
	neg := make([]float64, 0, len(order))
	for _, u := range order {
		s, ok := negB[u]
		if !ok || s != negA[u] {
			return 0, 0, 0, fmt.Errorf("non-member %q is not the same in both groups", u)
		}
		neg = append(neg, s)
	}
	if len(posA) < 2 || len(posB) < 2 || len(neg) < 2 {
		return 0, 0, 0, fmt.Errorf("%d and %d members, %d non-members: need at least 2 of each", len(posA), len(posB), len(neg))
	}
	a10, a01 := placements(posA, neg)
	b10, b01 := placements(posB, neg)
	n := float64(len(neg))
	varA := covariance(a10, a10)/float64(len(posA)) + covariance(a01, a01)/n
	varB := covariance(b10, b10)/float64(len(posB)) + covariance(b01, b01)/n
	variance = varA + varB - 2*covariance(a01, b01)/n
	return mean(a10), mean(b10), max(variance, 0), nil
}

// pooled turns the sums over runs of AUROCs and variances into means, the
// pooled difference, its interval and one-sided p-value.
func (d Diff) pooled(variance float64) Diff {
	n := float64(d.Runs)
	d.AUROCA /= n
	d.AUROCB /= n
	d.Delta = d.AUROCB - d.AUROCA
	d.SE = math.Sqrt(variance) / n
	d.Lo, d.Hi = d.Delta-1.959964*d.SE, d.Delta+1.959964*d.SE
	switch {
	case d.SE > 0:
		d.P = 1 - distuv.UnitNormal.CDF(d.Delta/d.SE)
	case d.Delta > 0:
		d.P = 0
	default:
		d.P = 1
	}
	return d
}

// delongSingle is one group's AUROC and its DeLong variance.
func delongSingle(l Labelled) (auc, variance float64, err error) {
	if len(l.Users) != len(l.Scores) || len(l.Member) != len(l.Scores) {
		return 0, 0, fmt.Errorf("users, scores and labels differ in length")
	}
	var pos, neg []float64
	seen := make(map[string]bool, len(l.Users))
	for i, s := range l.Scores {
		if seen[l.Users[i]] {
			return 0, 0, fmt.Errorf("user %q twice", l.Users[i])
		}
		seen[l.Users[i]] = true
		if l.Member[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	if len(pos) < 2 || len(neg) < 2 {
		return 0, 0, fmt.Errorf("%d members and %d non-members: need at least 2 of each", len(pos), len(neg))
	}
	v10, v01 := placements(pos, neg)
	variance = covariance(v10, v10)/float64(len(pos)) + covariance(v01, v01)/float64(len(neg))
	return mean(v10), variance, nil
}

// placements are DeLong's placement values: v10[i] is member i's share of
// non-members it outscores (ties half), v01[j] non-member j's share of
// members that outscore it.
func placements(pos, neg []float64) (v10, v01 []float64) {
	v10, v01 = make([]float64, len(pos)), make([]float64, len(neg))
	for i, x := range pos {
		for j, y := range neg {
			s := 0.0
			switch {
			case x > y:
				s = 1
			case x == y:
				s = 0.5
			}
			v10[i] += s
			v01[j] += s
		}
	}
	for i := range v10 {
		v10[i] /= float64(len(neg))
	}
	for j := range v01 {
		v01[j] /= float64(len(pos))
	}
	return v10, v01
}

// delongRun is one run's two AUROCs and the DeLong variance of their
// difference.
func delongRun(a, b Labelled) (aucA, aucB, variance float64, err error) {
	if len(a.Users) != len(a.Scores) || len(a.Member) != len(a.Scores) || len(b.Users) != len(b.Scores) || len(b.Member) != len(b.Scores) {
		return 0, 0, 0, fmt.Errorf("users, scores and labels differ in length")
	}
	if len(a.Users) != len(b.Users) {
		return 0, 0, 0, fmt.Errorf("%d users under one condition, %d under the other", len(a.Users), len(b.Users))
	}
	inB := make(map[string]int, len(b.Users))
	for i, u := range b.Users {
		if _, dup := inB[u]; dup {
			return 0, 0, 0, fmt.Errorf("user %q twice", u)
		}
		inB[u] = i
	}
	inA := make(map[string]bool, len(a.Users))
	for _, u := range a.Users {
		if inA[u] {
			return 0, 0, 0, fmt.Errorf("user %q twice", u)
		}
		inA[u] = true
	}
	// Members' and non-members' scores under both conditions, in a's order.
	var posA, posB, negA, negB []float64
	for i, u := range a.Users {
		j, ok := inB[u]
		if !ok {
			return 0, 0, 0, fmt.Errorf("user %q scored under one condition only", u)
		}
		if a.Member[i] != b.Member[j] {
			return 0, 0, 0, fmt.Errorf("user %q is a member under one condition only", u)
		}
		if a.Member[i] {
			posA, posB = append(posA, a.Scores[i]), append(posB, b.Scores[j])
		} else {
			negA, negB = append(negA, a.Scores[i]), append(negB, b.Scores[j])
		}
	}
	m, n := len(posA), len(negA)
	if m < 2 || n < 2 {
		return 0, 0, 0, fmt.Errorf("%d members and %d non-members: need at least 2 of each", m, n)
	}
	a10, a01 := placements(posA, negA)
	b10, b01 := placements(posB, negB)
	aucA, aucB = mean(a10), mean(b10)
	// Var(B - A) = Var(A) + Var(B) - 2 Cov(A, B), each from the members'
	// and the non-members' placement values.
	s10 := covariance(a10, a10) + covariance(b10, b10) - 2*covariance(a10, b10)
	s01 := covariance(a01, a01) + covariance(b01, b01) - 2*covariance(a01, b01)
	variance = s10/float64(m) + s01/float64(n)
	return aucA, aucB, max(variance, 0), nil
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// covariance is the sample (n-1) covariance of xs and ys.
func covariance(xs, ys []float64) float64 {
	mx, my := mean(xs), mean(ys)
	s := 0.0
	for i := range xs {
		s += (xs[i] - mx) * (ys[i] - my)
	}
	return s / float64(len(xs)-1)
}

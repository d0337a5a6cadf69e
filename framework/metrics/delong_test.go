package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// pairedRun draws n users (half members) scored under two conditions: a
// is noise plus shiftA on members, b shares corr of a's noise and adds
// shiftB on members.
func pairedRun(rng *rand.Rand, n int, shiftA, shiftB, corr float64) (Labelled, Labelled) {
	var a, b Labelled
	for i := range n {
		u := fmt.Sprint("u", i)
		member := i%2 == 0
		za, zb := rng.NormFloat64(), rng.NormFloat64()
		sa, sb := za, corr*za+math.Sqrt(1-corr*corr)*zb
		if member {
			sa += shiftA
			sb += shiftB
		}
		a.Users, a.Scores, a.Member = append(a.Users, u), append(a.Scores, sa), append(a.Member, member)
		b.Users, b.Scores, b.Member = append(b.Users, u), append(b.Scores, math.Round(sb*10)/10), append(b.Member, member)
	}
	return a, b
}

// midRankPlacements is the placement variance by Sun and Xu's (2014)
// mid-rank formulation: a member's placement is (its rank among all
// users - its rank among members) / non-members; a non-member's is
// 1 - (its rank among all - its rank among non-members) / members.
// Independent of delongRun's pair counting.
func midRankVariance(a, b Labelled) (float64, float64, float64) {
	placements := func(r Labelled) (v10, v01 []float64) {
		var pos, neg []float64
		for i, s := range r.Scores {
			if r.Member[i] {
				pos = append(pos, s)
			} else {
				neg = append(neg, s)
			}
		}
		all := append(append([]float64{}, pos...), neg...)
		rAll, rPos, rNeg := midRanks(all), midRanks(pos), midRanks(neg)
		m, n := float64(len(pos)), float64(len(neg))
		for i := range pos {
			v10 = append(v10, (rAll[i]-rPos[i])/n)
		}
		for j := range neg {
			v01 = append(v01, 1-(rAll[len(pos)+j]-rNeg[j])/m)
		}
		return v10, v01
	}
	a10, a01 := placements(a)
	b10, b01 := placements(b)
	m, n := float64(len(a10)), float64(len(a01))
	cov := func(x, y []float64) float64 {
		mx, my := 0.0, 0.0
		for i := range x {
			mx += x[i]
			my += y[i]
		}
		mx /= float64(len(x))
		my /= float64(len(y))
		s := 0.0
		for i := range x {
			s += (x[i] - mx) * (y[i] - my)
		}
		return s / float64(len(x)-1)
	}
	varA := cov(a10, a10)/m + cov(a01, a01)/n
	varB := cov(b10, b10)/m + cov(b01, b01)/n
	covAB := cov(a10, b10)/m + cov(a01, b01)/n
	return varA, varB, covAB
}

func TestCompareAUROCMatchesMidRankFormulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{10, 41, 200} {
		a, b := pairedRun(rng, n, 0.3, 0.8, 0.6)
		d, err := CompareAUROC([]Labelled{a}, []Labelled{b})
		if err != nil {
			t.Fatal(err)
		}
		varA, varB, covAB := midRankVariance(a, b)
		want := math.Sqrt(varA + varB - 2*covAB)
		if math.Abs(d.SE-want) > 1e-12 {
			t.Errorf("n=%d: SE %.12f, mid-rank formulation %.12f", n, d.SE, want)
		}
		aucA, _ := AUROC(a.Scores, a.Member)
		aucB, _ := AUROC(b.Scores, b.Member)
		if math.Abs(d.AUROCA-aucA) > 1e-12 || math.Abs(d.AUROCB-aucB) > 1e-12 || math.Abs(d.Delta-(aucB-aucA)) > 1e-12 {
			t.Errorf("n=%d: AUROCs %v %v, want %v %v", n, d.AUROCA, d.AUROCB, aucA, aucB)
		}
	}
}

// The DeLong standard error must match the spread of the difference over
// independent datasets, and the test must reject a true null at about its
// level.
func TestCompareAUROCCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const datasets = 1500
	for _, tc := range []struct {
		name           string
		shiftA, shiftB float64
	}{
		{"no difference", 0.5, 0.5},
		{"B better", 0.3, 0.7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var deltas []float64
			seSum, rejected := 0.0, 0
			for range datasets {
				a, b := pairedRun(rng, 120, tc.shiftA, tc.shiftB, 0.7)
				d, err := CompareAUROC([]Labelled{a}, []Labelled{b})
				if err != nil {
					t.Fatal(err)
				}
				deltas = append(deltas, d.Delta)
				seSum += d.SE
				if d.P <= 0.025 {
					rejected++
				}
			}
			mean, sd := meanStd(deltas)
			se := seSum / datasets
			if math.Abs(se/sd-1) > 0.1 {
				t.Errorf("mean DeLong SE %.4f, spread of the difference over datasets %.4f", se, sd)
			}
			rate := float64(rejected) / datasets
			if tc.shiftA == tc.shiftB {
				if math.Abs(mean) > 0.005 || rate < 0.01 || rate > 0.045 {
					t.Errorf("under the null: mean difference %.4f, rejection rate %.3f (want about 0.025)", mean, rate)
				}
			} else if rate < 0.5 {
				t.Errorf("B better by about 0.1 AUROC over 120 users: rejection rate %.3f", rate)
			}
		})
	}
}

func TestCompareAUROCOverRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	a1, b1 := pairedRun(rng, 60, 0.2, 0.6, 0.5)
	a2, b2 := pairedRun(rng, 80, 0.2, 0.6, 0.5)
	d1, _ := CompareAUROC([]Labelled{a1}, []Labelled{b1})
	d2, _ := CompareAUROC([]Labelled{a2}, []Labelled{b2})
	// A run's users in another order under B: matched by id.
	b2r := Labelled{}
	for i := len(b2.Users) - 1; i >= 0; i-- {
		b2r.Users, b2r.Scores, b2r.Member = append(b2r.Users, b2.Users[i]), append(b2r.Scores, b2.Scores[i]), append(b2r.Member, b2.Member[i])
	}
	d, err := CompareAUROC([]Labelled{a1, a2}, []Labelled{b1, b2r})
	if err != nil {
		t.Fatal(err)
	}
	wantSE := math.Sqrt(d1.SE*d1.SE+d2.SE*d2.SE) / 2
	if math.Abs(d.Delta-(d1.Delta+d2.Delta)/2) > 1e-12 || math.Abs(d.SE-wantSE) > 1e-12 || d.Runs != 2 ||
		len(d.RunDeltas) != 2 || d.RunDeltas[0] != d1.Delta || math.Abs(d.RunDeltas[1]-d2.Delta) > 1e-12 {
		t.Fatalf("pooled %+v, want delta %.6f and SE %.6f", d, (d1.Delta+d2.Delta)/2, wantSE)
	}
	if math.Abs(d.Lo-(d.Delta-1.959964*d.SE)) > 1e-9 || d.P <= 0 || d.P >= 1 {
		t.Fatalf("interval or p: %+v", d)
	}
}

func TestCompareAUROCErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	a, b := pairedRun(rng, 10, 0, 0, 0.5)
	other := b
	other.Users = append([]string{"stranger"}, b.Users[1:]...)
	twice := a
	twice.Users = append([]string{a.Users[1]}, a.Users[1:]...)
	flipped := b
	flipped.Member = append([]bool{!b.Member[0]}, b.Member[1:]...)
	for _, tc := range []struct {
		name string
		a, b []Labelled
	}{
		{"no runs", nil, nil},
		{"runs differ", []Labelled{a}, []Labelled{b, b}},
		{"another user", []Labelled{a}, []Labelled{other}},
		{"membership differs", []Labelled{a}, []Labelled{flipped}},
		{"a user twice", []Labelled{twice}, []Labelled{b}},
	} {
		if _, err := CompareAUROC(tc.a, tc.b); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// group draws n users named prefix<i> (half members, members shifted).
func group(rng *rand.Rand, prefix string, n int, shift float64) Labelled {
	var l Labelled
	for i := range n {
		member := i%2 == 0
		s := rng.NormFloat64()
		if member {
			s += shift
		}
		l.Users, l.Scores, l.Member = append(l.Users, fmt.Sprint(prefix, i)), append(l.Scores, math.Round(s*10)/10), append(l.Member, member)
	}
	return l
}

// The unpaired variance is the sum of the groups' own variances, each
// checked against Sun and Xu's mid-rank formulation (independent of the
// pair counting), and runs pool as in CompareAUROC.
func TestCompareAUROCUnpairedMatchesMidRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var as, bs []Labelled
	wantVar, wantDelta := 0.0, 0.0
	for run, n := range []int{12, 57, 150} {
		a, b := group(rng, "canary", n, 0.9), group(rng, "other", n+7, 0.2)
		d, err := CompareAUROCUnpaired([]Labelled{a}, []Labelled{b})
		if err != nil {
			t.Fatal(err)
		}
		varA, _, _ := midRankVariance(a, a)
		varB, _, _ := midRankVariance(b, b)
		aucA, _ := AUROC(a.Scores, a.Member)
		aucB, _ := AUROC(b.Scores, b.Member)
		if math.Abs(d.SE-math.Sqrt(varA+varB)) > 1e-12 || math.Abs(d.Delta-(aucB-aucA)) > 1e-12 || d.Runs != 1 {
			t.Errorf("run %d: SE %.12f delta %.6f, want %.12f and %.6f", run, d.SE, d.Delta, math.Sqrt(varA+varB), aucB-aucA)
		}
		as, bs = append(as, a), append(bs, b)
		wantVar += varA + varB
		wantDelta += aucB - aucA
	}
	d, err := CompareAUROCUnpaired(as, bs)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(d.Delta-wantDelta/3) > 1e-12 || math.Abs(d.SE-math.Sqrt(wantVar)/3) > 1e-12 || len(d.RunDeltas) != 3 {
		t.Errorf("pooled over 3 runs: %+v, want delta %.6f SE %.6f", d, wantDelta/3, math.Sqrt(wantVar)/3)
	}
}

// Over independent datasets the unpaired SE matches the spread of the
// difference, and a true null is rejected at about the level.
func TestCompareAUROCUnpairedCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const datasets = 1500
	for _, tc := range []struct {
		name          string
		shiftA, shift float64
	}{{"no difference", 0.4, 0.4}, {"second group more exposed", 0.2, 0.9}} {
		t.Run(tc.name, func(t *testing.T) {
			var deltas []float64
			seSum, rejected := 0.0, 0
			for range datasets {
				d, err := CompareAUROCUnpaired([]Labelled{group(rng, "a", 90, tc.shiftA)}, []Labelled{group(rng, "b", 90, tc.shift)})
				if err != nil {
					t.Fatal(err)
				}
				deltas = append(deltas, d.Delta)
				seSum += d.SE
				if d.P <= 0.025 {
					rejected++
				}
			}
			mean, sd := meanStd(deltas)
			if se := seSum / datasets; math.Abs(se/sd-1) > 0.1 {
				t.Errorf("mean DeLong SE %.4f, spread over datasets %.4f", se, sd)
			}
			rate := float64(rejected) / datasets
			if tc.shiftA == tc.shift {
				if math.Abs(mean) > 0.005 || rate < 0.01 || rate > 0.045 {
					t.Errorf("under the null: mean difference %.4f, rejection rate %.3f (want about 0.025)", mean, rate)
				}
			} else if rate < 0.5 {
				// AUROC 0.56 against 0.74 over 90 users each: SE about 0.085, power about 0.6.
				t.Errorf("second group more exposed by about 0.18 AUROC: rejection rate %.3f", rate)
			}
		})
	}
}

func TestCompareAUROCUnpairedErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := group(rng, "u", 20, 0.5), group(rng, "v", 20, 0.5)
	shared := group(rng, "u", 6, 0.5)
	allMembers := Labelled{Users: []string{"x", "y", "z"}, Scores: []float64{1, 2, 3}, Member: []bool{true, true, true}}
	for _, tc := range []struct {
		name string
		a, b []Labelled
		want string
	}{
		{"no runs", nil, nil, "both groups in every run"},
		{"runs differ", []Labelled{a}, []Labelled{b, b}, "both groups in every run"},
		{"user in both groups", []Labelled{a}, []Labelled{shared}, `user "u0" is in both`},
		{"group without non-members", []Labelled{a}, []Labelled{allMembers}, "second group: 3 members and 0 non-members"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CompareAUROCUnpaired(tc.a, tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// sharedRun is a run of non-members (n) and two groups of members (m
// each), shifted by shiftA and shiftB.
func sharedRun(rng *rand.Rand, n, m int, shiftA, shiftB float64) (Labelled, Labelled) {
	var neg Labelled
	for j := range n {
		neg.Users, neg.Scores, neg.Member = append(neg.Users, fmt.Sprint("n", j)), append(neg.Scores, rng.NormFloat64()), append(neg.Member, false)
	}
	with := func(prefix string, shift float64) Labelled {
		l := Labelled{Users: slices.Clone(neg.Users), Scores: slices.Clone(neg.Scores), Member: slices.Clone(neg.Member)}
		for i := range m {
			l.Users, l.Scores, l.Member = append(l.Users, fmt.Sprint(prefix, i)), append(l.Scores, rng.NormFloat64()+shift), append(l.Member, true)
		}
		return l
	}
	return with("few", shiftA), with("many", shiftB)
}

// Identical member scores in both groups: the non-member terms cancel and
// the variance is the members' alone, 2 s10 / m.
func TestCompareAUROCSharedNonMembersIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	a, _ := sharedRun(rng, 40, 25, 0.5, 0)
	b := Labelled{}
	for i, u := range a.Users {
		if a.Member[i] {
			u = "copy-" + u
		}
		b.Users, b.Scores, b.Member = append(b.Users, u), append(b.Scores, a.Scores[i]), append(b.Member, a.Member[i])
	}
	d, err := CompareAUROCSharedNonMembers([]Labelled{a}, []Labelled{b})
	if err != nil {
		t.Fatal(err)
	}
	var pos, neg []float64
	for i, s := range a.Scores {
		if a.Member[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	v10, _ := placements(pos, neg)
	want := math.Sqrt(2 * covariance(v10, v10) / float64(len(pos)))
	if d.Delta != 0 || math.Abs(d.SE-want) > 1e-12 {
		t.Errorf("copies: delta %v SE %.12f, want 0 and %.12f", d.Delta, d.SE, want)
	}
}

// Over independent datasets the SE matches the spread of the difference
// (the shared non-members' covariance subtracted), and the null is
// rejected at about the level.
func TestCompareAUROCSharedNonMembersCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 9))
	const datasets = 1500
	for _, tc := range []struct {
		name           string
		shiftA, shiftB float64
	}{{"no difference", 0.6, 0.6}, {"more documents, more exposed", 0.2, 0.9}} {
		t.Run(tc.name, func(t *testing.T) {
			var deltas []float64
			seSum, rejected := 0.0, 0
			for range datasets {
				a, b := sharedRun(rng, 90, 45, tc.shiftA, tc.shiftB)
				d, err := CompareAUROCSharedNonMembers([]Labelled{a}, []Labelled{b})
				if err != nil {
					t.Fatal(err)
				}
				deltas = append(deltas, d.Delta)
				seSum += d.SE
				if d.P <= 0.025 {
					rejected++
				}
			}
			mean, sd := meanStd(deltas)
			if se := seSum / datasets; math.Abs(se/sd-1) > 0.1 {
				t.Errorf("mean DeLong SE %.4f, spread over datasets %.4f", se, sd)
			}
			rate := float64(rejected) / datasets
			if tc.shiftA == tc.shiftB {
				if math.Abs(mean) > 0.005 || rate < 0.01 || rate > 0.045 {
					t.Errorf("under the null: mean difference %.4f, rejection rate %.3f (want about 0.025)", mean, rate)
				}
			} else if rate < 0.5 {
				t.Errorf("AUROC 0.56 against 0.74: rejection rate %.3f", rate)
			}
		})
	}
}

func TestCompareAUROCSharedNonMembersErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := sharedRun(rng, 10, 6, 0, 0)
	other := b
	other.Scores = slices.Clone(b.Scores)
	other.Scores[0] += 1 // non-member n0 scored differently
	same := a
	fewerNeg := Labelled{Users: b.Users[1:], Scores: b.Scores[1:], Member: b.Member[1:]}
	for _, tc := range []struct {
		name string
		a, b Labelled
		want string
	}{
		{"non-member differs", a, other, `non-member "n0" is not the same`},
		{"member in both", a, same, `member "few0" is in both`},
		{"non-members differ in number", a, fewerNeg, "10 non-members with the first group, 9"},
	} {
		if _, err := CompareAUROCSharedNonMembers([]Labelled{tc.a}, []Labelled{tc.b}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCompareAUROCDuplicateUsers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	a, b := group(rng, "u", 10, 0.5), group(rng, "v", 10, 0.5)
	dup := Labelled{Users: append(slices.Clone(b.Users), "v0"), Scores: append(slices.Clone(b.Scores), 1), Member: append(slices.Clone(b.Member), true)}
	if _, err := CompareAUROCUnpaired([]Labelled{a}, []Labelled{dup}); err == nil || !strings.Contains(err.Error(), `user "v0" twice`) {
		t.Errorf("unpaired, a user twice: %v", err)
	}
	x, y := sharedRun(rng, 8, 5, 0, 0)
	y.Users, y.Scores, y.Member = append(y.Users, "many0"), append(y.Scores, 2), append(y.Member, true)
	if _, err := CompareAUROCSharedNonMembers([]Labelled{x}, []Labelled{y}); err == nil || !strings.Contains(err.Error(), `user "many0" twice`) {
		t.Errorf("shared non-members, a user twice: %v", err)
	}
	// Non-members listed in another order in the second group: matched by id.
	r := Labelled{}
	for i := len(y.Users) - 2; i >= 0; i-- {
		r.Users, r.Scores, r.Member = append(r.Users, y.Users[i]), append(r.Scores, y.Scores[i]), append(r.Member, y.Member[i])
	}
	y.Users, y.Scores, y.Member = y.Users[:len(y.Users)-1], y.Scores[:len(y.Scores)-1], y.Member[:len(y.Member)-1]
	d1, err1 := CompareAUROCSharedNonMembers([]Labelled{x}, []Labelled{y})
	d2, err2 := CompareAUROCSharedNonMembers([]Labelled{x}, []Labelled{r})
	if err1 != nil || err2 != nil || math.Abs(d1.SE-d2.SE) > 1e-12 || d1.Delta != d2.Delta {
		t.Errorf("reordered non-members: %+v (%v) against %+v (%v)", d2, err2, d1, err1)
	}
}

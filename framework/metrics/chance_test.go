package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// exactChanceP enumerates every assignment of each run's member count to
// its users (the permutation null exactly) and returns the fraction whose
// mean AUROC reaches the observed one: the value ChanceP estimates.
func exactChanceP(t *testing.T, runs []Labelled) float64 {
	t.Helper()
	var stats [][]float64 // per run, the AUROC of every assignment
	observed := 0.0
	for _, r := range runs {
		auc, err := AUROC(r.Scores, r.Member)
		if err != nil {
			t.Fatal(err)
		}
		observed += auc
		nPos := 0
		for _, m := range r.Member {
			if m {
				nPos++
			}
		}
		n := len(r.Member)
		var all []float64
		for mask := 0; mask < 1<<n; mask++ {
			if popcount(mask) != nPos {
				continue
			}
			labels := make([]bool, n)
			for i := range labels {
				labels[i] = mask&(1<<i) != 0
			}
			a, err := AUROC(r.Scores, labels)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, a)
		}
		stats = append(stats, all)
	}
	observed /= float64(len(runs))
	// Enumerate the product of the runs' assignments.
	reached, total := 0, 0
	var walk func(k int, sum float64)
	walk = func(k int, sum float64) {
		if k == len(stats) {
			total++
			if sum/float64(len(stats)) >= observed-1e-12 {
				reached++
			}
			return
		}
		for _, a := range stats[k] {
			walk(k+1, sum+a)
		}
	}
	walk(0, 0)
	return float64(reached) / float64(total)
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func TestChancePMatchesExactEnumeration(t *testing.T) {
	cases := []struct {
		name string
		runs []Labelled
	}{
		{"one run, no ties", []Labelled{{
			Scores: []float64{0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.05, 0.6, 0.3},
			Member: []bool{false, true, false, true, true, false, false, false, true, true},
		}}},
		{"one run, ties across classes", []Labelled{{
			Scores: []float64{1, 2, 2, 3, 3, 3, 4, 5, 5, 6},
			Member: []bool{false, true, false, true, false, true, false, true, true, false},
		}}},
		// Identical runs: a test that drew the same permutation in every
		// run would give the single run's p (0.111) instead of 0.032.
		{"the same run twice (permutations independent across runs)", []Labelled{
			{Scores: []float64{0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.05, 0.6, 0.3}, Member: []bool{false, true, false, true, true, false, false, false, true, true}},
			{Scores: []float64{0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.05, 0.6, 0.3}, Member: []bool{false, true, false, true, true, false, false, false, true, true}},
		}},
		{"two runs of different sizes", []Labelled{
			{
				Scores: []float64{0.3, 0.1, 0.8, 0.5, 0.9, 0.2, 0.7, 0.4},
				Member: []bool{false, true, true, false, true, false, false, true},
			},
			{
				Scores: []float64{5, 1, 4, 4, 2, 6, 3, 7, 0},
				Member: []bool{false, true, false, true, true, false, false, true, true},
			},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := exactChanceP(t, tc.runs)
			const perms = 200_000
			got, err := ChanceP(tc.runs, perms, 7)
			if err != nil {
				t.Fatal(err)
			}
			// Monte Carlo standard error of a proportion, 5 of them.
			tol := 5 * math.Sqrt(want*(1-want)/perms)
			if tol < 1e-4 {
				tol = 1e-4
			}
			if math.Abs(got-want) > tol {
				t.Fatalf("ChanceP = %.5f, exact enumeration %.5f (tolerance %.5f)", got, want, tol)
			}
			t.Logf("exact p %.4f, ChanceP %.4f", want, got)
			if want <= 0.01 || want >= 0.99 {
				t.Fatalf("case is uninformative: exact p %.4f", want)
			}
		})
	}
}

// Under the null (scores independent of membership) the test must reject
// at its level about as often as the level says, and its p-values must be
// uniform; a two-sided or wrong-tailed test, or one that compared against
// a fixed null distribution instead of the run's own ranks, would not.
func TestChancePIsCalibratedUnderTheNull(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const datasets = 600
	rejected := 0
	var pSum float64
	for d := 0; d < datasets; d++ {
		runs := make([]Labelled, 2)
		for k := range runs {
			n := 60 + rng.IntN(40)
			r := Labelled{Scores: make([]float64, n), Member: make([]bool, n)}
			for i := range r.Scores {
				r.Scores[i] = math.Round(rng.NormFloat64()*20) / 20 // ties, as float scores can have
				r.Member[i] = rng.IntN(2) == 0
			}
			r.Member[0], r.Member[1] = true, false
			runs[k] = r
		}
		p, err := ChanceP(runs, 499, uint64(d))
		if err != nil {
			t.Fatal(err)
		}
		pSum += p
		if p <= ChanceLevel {
			rejected++
		}
	}
	rate := float64(rejected) / datasets
	// Binomial sd at 0.025 over 600 datasets is 0.0064; allow ~3.5 sd.
	if rate < 0.003 || rate > 0.048 {
		t.Fatalf("rejection rate under the null %.3f, want about %.3f", rate, ChanceLevel)
	}
	if mean := pSum / datasets; math.Abs(mean-0.5) > 0.05 {
		t.Fatalf("mean p under the null %.3f, want about 0.5 (uniform)", mean)
	}
}

func TestChancePDirection(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func(shift float64) []Labelled {
		r := Labelled{Scores: make([]float64, 200), Member: make([]bool, 200)}
		for i := range r.Scores {
			r.Member[i] = i%2 == 0
			r.Scores[i] = rng.NormFloat64()
			if r.Member[i] {
				r.Scores[i] += shift
			}
		}
		return []Labelled{r}
	}
	const perms = 999
	strong, err := ChanceP(mk(1.0), perms, 1)
	if err != nil {
		t.Fatal(err)
	}
	if strong != 1.0/(1+perms) {
		t.Fatalf("a strong signal gives p %.4f, want the smallest possible %.4f", strong, 1.0/(1+perms))
	}
	below, err := ChanceP(mk(-1.0), perms, 1)
	if err != nil {
		t.Fatal(err)
	}
	if below < 0.99 {
		t.Fatalf("members scoring lower than non-members gives p %.4f, want near 1 (the test is one-sided)", below)
	}
}

func TestChancePErrors(t *testing.T) {
	ok := Labelled{Scores: []float64{1, 2}, Member: []bool{true, false}}
	oneClass := Labelled{Scores: []float64{1, 2}, Member: []bool{true, true}}
	for _, tc := range []struct {
		name  string
		runs  []Labelled
		perms int
	}{
		{"no runs", nil, 10},
		{"no permutations", []Labelled{ok}, 0},
		{"a run without non-members", []Labelled{ok, oneClass}, 10},
	} {
		if _, err := ChanceP(tc.runs, tc.perms, 1); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func ExampleChanceP() {
	run := Labelled{
		Scores: []float64{0.9, 0.8, 0.75, 0.3, 0.7, 0.2, 0.1, 0.4},
		Member: []bool{true, true, true, true, false, false, false, false},
	}
	p, _ := ChanceP([]Labelled{run}, 9999, 1)
	// The exact p is 4/70: four of the 70 ways to pick 4 members of 8
	// reach the observed AUROC of 0.875. With 4 members of 8 users the
	// smallest p there is, perfect separation, is 1/70 = 0.014.
	fmt.Printf("p ~ %.2f, above chance: %v\n", p, p <= ChanceLevel)
	// Output: p ~ 0.06, above chance: false
}

// The lower tail is the upper tail of the reversed attack, and the two
// tails' p-values of one labelling sum to 1 + P(statistic = observed).
func TestChanceBelowP(t *testing.T) {
	run := Labelled{
		Scores: []float64{0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.05, 0.6, 0.3},
		Member: []bool{true, false, true, false, false, true, true, true, false, false},
	}
	neg := Labelled{Member: run.Member}
	for _, s := range run.Scores {
		neg.Scores = append(neg.Scores, -s)
	}
	below, err := ChanceBelowP([]Labelled{run}, 200_000, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := exactChanceP(t, []Labelled{neg})
	if math.Abs(below-want) > 5*math.Sqrt(want*(1-want)/200_000) {
		t.Fatalf("ChanceBelowP %.5f, exact lower tail %.5f", below, want)
	}
	above, _ := ChanceP([]Labelled{run}, 200_000, 3)
	if above+below < 1 {
		t.Fatalf("tails %.4f + %.4f < 1", above, below)
	}
}

package metrics

import (
	"fmt"

	"math/rand/v2"
	"sort"
)

// Permutations is the number of label permutations ChanceP draws: enough
// that its Monte Carlo error (about ±0.003 at p = 0.025) cannot move a
// verdict taken at 0.025 by much.
const Permutations = 9999

// ChanceP tests whether an attack is above chance: the one-sided p-value
// of the hypothesis that membership carries no signal, i.e. that in every
// run the membership labels are exchangeable among the users (as they are
// when the split assigns users to members at random and the model's
// scores do not depend on the assignment). The statistic is the mean of
// the runs' AUROCs; each of the permutations draws, in every run, a random
// set of as many members as the run has (without replacement) and
// recomputes it. The p-value counts the observed labelling as one of the
// draws, (1 + #{permuted >= observed}) / (1 + permutations), so it is
// never 0 and the test is exact up to Monte Carlo error.
//
// Unlike an interval for the AUROC, the test needs no variance over
// seeds: under its hypothesis every seed's expected AUROC is 0.5, so the
// runs' differences are label noise, which the permutations reproduce.
// It therefore stays valid with 2 seeds, where the t interval over seeds
// (Pool) is too wide to decide anything. It says nothing about how large
// the AUROC is; that is what the intervals are for.
func ChanceP(runs []Labelled, permutations int, seed uint64) (float64, error) {
	if len(runs) == 0 || permutations < 1 {
		return 0, fmt.Errorf("metrics: chance test needs runs (got %d) and permutations (got %d)", len(runs), permutations)
	}
	type prepared struct {
		ranks        []float64 // mid-ranks of the scores
		nPos, nNeg   int
		offset, norm float64 // AUROC = (sum of member ranks - offset) / norm
	}
	prep := make([]prepared, len(runs))
	observed := 0.0
	for k, r := range runs {
		auc, err := AUROC(r.Scores, r.Member)
		if err != nil {
			return 0, fmt.Errorf("metrics: chance test, run %d: %w", k, err)
		}
		observed += auc
		p := prepared{ranks: midRanks(r.Scores)}
		for _, m := range r.Member {
			if m {
				p.nPos++
			}
		}
		p.nNeg = len(r.Member) - p.nPos
		p.offset = float64(p.nPos*(p.nPos+1)) / 2
		p.norm = float64(p.nPos * p.nNeg)
		prep[k] = p
	}
	observed /= float64(len(runs))
	// The observed and the permuted statistics go through the same
	// arithmetic on half-integer rank sums, so equal statistics compare
	// equal; tol only guards against a future change of that arithmetic
	// (it is far below the smallest AUROC step of any real run).
	const tol = 1e-12
	rng := rand.New(rand.NewPCG(seed, 0xc4a9ce))
	perm := make([][]int, len(runs))
	for k, p := range prep {
		perm[k] = make([]int, len(p.ranks))
		for i := range perm[k] {
			perm[k][i] = i
		}
	}
	reached := 0
	for range permutations {
		stat := 0.0
		for k, p := range prep {
			idx := perm[k]
			sum := 0.0
			// A partial Fisher-Yates shuffle: the first nPos entries are a
			// uniform draw of nPos users without replacement.
			for i := 0; i < p.nPos; i++ {
				j := i + rng.IntN(len(idx)-i)
				idx[i], idx[j] = idx[j], idx[i]
				sum += p.ranks[idx[i]]
			}
			stat += (sum - p.offset) / p.norm
		}
		if stat/float64(len(runs)) >= observed-tol {
			reached++
		}
	}
	return float64(1+reached) / float64(1+permutations), nil
}

// ChanceBelowP is ChanceP's lower tail: the one-sided p-value of "members
// score no lower than chance", ChanceP of the negated scores (negating
// reverses the mid-ranks exactly, so each AUROC becomes 1 - AUROC).
func ChanceBelowP(runs []Labelled, permutations int, seed uint64) (float64, error) {
	neg := make([]Labelled, len(runs))
	for k, r := range runs {
		s := make([]float64, len(r.Scores))
		for i, v := range r.Scores {
			s[i] = -v
		}
		neg[k] = Labelled{Users: r.Users, Scores: s, Member: r.Member}
	}
	return ChanceP(neg, permutations, seed)
}

// midRanks ranks xs from 1 (smallest), tied values sharing the mean of
// their ranks.
func midRanks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	ranks := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		for k := i; k < j; k++ {
			ranks[idx[k]] = float64(i+j+1) / 2
		}
		i = j
	}
	return ranks
}

// ChanceLevel is the one-sided level at which ChanceP's p-value
// calls an attack above chance: 0.025, the one-sided counterpart of a
// two-sided 95% interval.
const ChanceLevel = 0.025

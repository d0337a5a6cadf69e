package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/privlm/privlm/framework/lm"
)

// sampler draws each step's batch from (seed, step) alone.
type sampler struct {
	cfg       Config
	examples  []example
	users     []string
	byUser    map[string][]int
	maxGroups int
}

func newSampler(examples []example, cfg Config) (*sampler, error) {
	s := &sampler{cfg: cfg, examples: examples, byUser: map[string][]int{}}
	for i, e := range examples {
		if _, ok := s.byUser[e.user]; !ok {
			s.users = append(s.users, e.user)
		}
		s.byUser[e.user] = append(s.byUser[e.user], i)
	}
	slices.Sort(s.users)
	n := s.units()
	if cfg.DP != "none" && cfg.BatchSize > n {
		return nil, fmt.Errorf("train: batch_size %d exceeds the %d sampling units (%s)", cfg.BatchSize, n, map[bool]string{true: "users", false: "examples"}[cfg.DP == "user"])
	}
	s.maxGroups = cfg.BatchSize
	if s.poisson() {
		mean := s.q() * float64(n)
		s.maxGroups = min(n, int(math.Ceil(mean+8*math.Sqrt(mean)+8)))
	}
	return s, nil
}

func (s *sampler) poisson() bool { return s.cfg.DP != "none" && s.cfg.Sampling == "poisson" }

// units is what is sampled: users for user-level DP, examples otherwise.
func (s *sampler) units() int {
	if s.cfg.DP == "user" {
		return len(s.users)
	}
	return len(s.examples)
}

// q is the sample rate of one unit per step.
func (s *sampler) q() float64 { return math.Min(1, float64(s.cfg.BatchSize)/float64(s.units())) }

// windowsPerStep is the expected number of windows a step trains on:
// BatchSize examples, or for dp=user BatchSize users times the mean number
// of windows a sampled user contributes (at most UserRows).
func (s *sampler) windowsPerStep() float64 {
	if s.cfg.DP != "user" {
		return float64(s.cfg.BatchSize)
	}
	sum := 0
	for _, u := range s.users {
		sum += min(len(s.byUser[u]), s.cfg.UserRows)
	}
	return float64(s.cfg.BatchSize) * float64(sum) / float64(max(1, len(s.users)))
}

// rows is the number of batch rows per group.
func (s *sampler) rows() int {
	if s.cfg.DP == "user" {
		return s.cfg.UserRows
	}
	return 1
}

// batch returns step's batch and the gradient denominator.
func (s *sampler) batch(step, window int) (lm.Batch, float64) {
	r := rand.New(rand.NewPCG(s.cfg.Seed, uint64(step)))
	var units []int
	if s.poisson() {
		for i := range s.units() {
			if r.Float64() < s.q() {
				units = append(units, i)
			}
		}
		if len(units) > s.maxGroups { // probability below 1e-12
			units = units[:s.maxGroups]
		}
	} else {
		units = s.shuffled(step)
	}
	R := s.rows()
	groups := s.maxGroups
	if s.poisson() {
		groups = padGroups(len(units), s.maxGroups)
	}
	seqs := make([][]int, groups*R)
	for g, u := range units {
		if s.cfg.DP == "user" {
			idx := slices.Clone(s.byUser[s.users[u]])
			r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			for k, ei := range idx[:min(R, len(idx))] {
				seqs[g*R+k] = s.examples[ei].ids
			}
		} else {
			seqs[g] = s.examples[u].ids
		}
	}
	// Empty rows are padding (zero weight); MakeBatch needs no nil sequences.
	for i := range seqs {
		if seqs[i] == nil {
			seqs[i] = []int{0}
		}
	}
	b, err := lm.MakeBatch(seqs, len(seqs), window)
	if err != nil {
		panic(err) // examples are at most window+1 tokens by construction
	}
	denom := float64(len(units))
	if s.poisson() {
		denom = s.q() * float64(s.units())
	} else if s.cfg.DP == "none" {
		denom = float64(countRows(b))
	}
	return b, math.Max(denom, 1)
}

// shuffled returns the units of step's fixed-size batch: consecutive slices
// of per-epoch permutations.
func (s *sampler) shuffled(step int) []int {
	n, B := s.units(), s.cfg.BatchSize
	out := make([]int, 0, B)
	pos := (step - 1) * B
	for len(out) < B && len(out) < n {
		epoch, off := pos/n, pos%n
		perm := rand.New(rand.NewPCG(s.cfg.Seed, 1<<40+uint64(epoch))).Perm(n)
		take := min(B-len(out), n-off)
		out = append(out, perm[off:off+take]...)
		pos += take
	}
	return out
}

// padGroups rounds a Poisson batch up to a multiple of 8 rows (at most
// limit): a handful of compiled shapes, and little compute on padding.
func padGroups(n, limit int) int {
	return max(8, min(limit, (n+7)/8*8))
}

func countRows(b lm.Batch) int {
	n := 0
	for i := 0; i < b.B; i++ {
		if b.Weights[i*b.T] > 0 {
			n++
		}
	}
	return n
}

package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Defaults of SplitConfig.
const (
	DefaultHeldInFraction     = 0.5
	DefaultAttackerFraction   = 0.1
	DefaultValidationFraction = 0.05
)

// SplitConfig describes a user-level experiment split.
type SplitConfig struct {
	Seed uint64 `json:"seed"`
	// MinDocs and MaxDocs bound the documents per user: users with fewer than
	// MinDocs are dropped; users with more than MaxDocs (if > 0) keep a random
	// MaxDocs of them.
	MinDocs int `json:"min_docs"`
	MaxDocs int `json:"max_docs"`
	// MaxUsers (if > 0) keeps a random subset of the eligible users.
	MaxUsers int `json:"max_users"`
	// HeldInFraction of the attack users are fine-tuned on (held in).
	HeldInFraction float64 `json:"held_in_fraction"`
	// AttackerFraction of every attack user's documents (at least one) are
	// the attacker's knowledge and never trained on.
	AttackerFraction float64 `json:"attacker_fraction"`
	// ValidationFraction of the eligible users form a validation pool, used
	// for early stopping; they are not attack users.
	ValidationFraction float64 `json:"validation_fraction"`
	// PretrainFraction of the eligible users (if > 0) form a pretraining pool,
	// disjoint from everyone else, for a reference model trained from scratch.
	PretrainFraction float64 `json:"pretrain_fraction"`
}

// DefaultSplitConfig is the paper's split: 50/50 held-in vs held-out, 10%
// of each user's documents kept for the attacker.
func DefaultSplitConfig(seed uint64) SplitConfig {
	return SplitConfig{Seed: seed, MinDocs: 2, HeldInFraction: DefaultHeldInFraction,
		AttackerFraction: DefaultAttackerFraction, ValidationFraction: DefaultValidationFraction}
}

// Validate reports the first bad field.
func (c SplitConfig) Validate() error {
	frac := func(name string, v float64, lo, hi float64) error {
		if !(v >= lo && v <= hi) {
			return fmt.Errorf("split: %s = %v, want a value in [%g, %g]", name, v, lo, hi)
		}
		return nil
	}
	if err := frac("held_in_fraction", c.HeldInFraction, 0, 1); err != nil {
		return err
	}
	if err := frac("attacker_fraction", c.AttackerFraction, 0, 0.9); err != nil {
		return err
	}
	if err := frac("validation_fraction", c.ValidationFraction, 0, 0.5); err != nil {
		return err
	}
	if err := frac("pretrain_fraction", c.PretrainFraction, 0, 0.9); err != nil {
		return err
	}
	if c.ValidationFraction+c.PretrainFraction >= 1 {
		return fmt.Errorf("split: validation_fraction + pretrain_fraction = %v leaves no attack users", c.ValidationFraction+c.PretrainFraction)
	}
	if c.MinDocs < 2 {
		return fmt.Errorf("split: min_docs = %d, want >= 2 (a user needs a training and an attacker document)", c.MinDocs)
	}
	if c.MaxDocs > 0 && c.MaxDocs < c.MinDocs {
		return fmt.Errorf("split: max_docs %d < min_docs %d", c.MaxDocs, c.MinDocs)
	}
	return nil
}

// Split is a user-level experiment split. Held-in users' training documents
// are in Train; held-out users' non-attacker documents in HeldOutRest (never
// trained on); every attack user's attacker documents in Attacker.
type Split struct {
	HeldIn, HeldOut []string
	Train           []Record
	HeldOutRest     []Record
	Attacker        map[string][]Record
	Validation      []Record
	Pretrain        []Record
}

// Member reports whether a user is held in.
func (s *Split) Member(user string) bool {
	_, ok := slices.BinarySearch(s.HeldIn, user)
	return ok
}

// MakeSplit splits records by user, deterministically from the seed.
func MakeSplit(recs []Record, c SplitConfig) (*Split, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(c.Seed, 0x5eed5eed))
	byUser := ByUser(recs)
	var users []string
	for u, docs := range byUser {
		if len(docs) >= c.MinDocs {
			users = append(users, u)
		}
	}
	slices.Sort(users) // map order must not matter
	r.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
	if c.MaxUsers > 0 && len(users) > c.MaxUsers {
		users = users[:c.MaxUsers]
	}
	nPre := int(float64(len(users)) * c.PretrainFraction)
	nVal := int(float64(len(users)) * c.ValidationFraction)
	if c.ValidationFraction > 0 && nVal == 0 && len(users) > 2 {
		nVal = 1
	}
	pre, val, attack := users[:nPre], users[nPre:nPre+nVal], users[nPre+nVal:]
	if len(attack) < 2 {
		return nil, fmt.Errorf("split: only %d users have >= %d documents; need at least 2 attack users", len(attack), c.MinDocs)
	}
	nIn := int(float64(len(attack))*c.HeldInFraction + 0.5)
	s := &Split{Attacker: map[string][]Record{}}
	s.HeldIn = slices.Clone(attack[:nIn])
	s.HeldOut = slices.Clone(attack[nIn:])
	slices.Sort(s.HeldIn)
	slices.Sort(s.HeldOut)
	docsOf := func(u string) []Record {
		docs := slices.Clone(byUser[u])
		r.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
		if c.MaxDocs > 0 && len(docs) > c.MaxDocs {
			docs = docs[:c.MaxDocs]
		}
		return docs
	}
	for _, u := range pre {
		s.Pretrain = append(s.Pretrain, docsOf(u)...)
	}
	for _, u := range val {
		s.Validation = append(s.Validation, docsOf(u)...)
	}
	for _, u := range attack {
		docs := docsOf(u)
		k := max(1, int(float64(len(docs))*c.AttackerFraction+0.5))
		s.Attacker[u] = docs[:k]
		if s.Member(u) {
			s.Train = append(s.Train, docs[k:]...)
		} else {
			s.HeldOutRest = append(s.HeldOutRest, docs[k:]...)
		}
	}
	return s, nil
}

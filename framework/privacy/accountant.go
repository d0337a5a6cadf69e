package privacy

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Mechanism is a segment of DP-SGD: Steps steps of the Poisson-subsampled
// Gaussian mechanism with noise multiplier Sigma and sample rate SampleRate.
type Mechanism struct {
	Sigma      float64 `json:"sigma"`
	SampleRate float64 `json:"sample_rate"`
	Steps      int     `json:"steps"`
}

// History is the sequence of segments a training run went through.
type History []Mechanism

// Steps is the total number of steps.
func (h History) Steps() int {
	n := 0
	for _, m := range h {
		n += m.Steps
	}
	return n
}

// Guarantee says what an accountant's epsilon is.
type Guarantee string

const (
	// UpperBound: the true epsilon is at most the reported one.
	UpperBound Guarantee = "upper bound"
	// Approximation: a limit theorem's value, neither an upper nor a lower bound.
	Approximation Guarantee = "approximation"
	// Estimate: a series expansion's value, neither an upper nor a lower bound.
	Estimate Guarantee = "estimate"
)

// Accountant answers epsilon(delta) for a history.
type Accountant interface {
	// Name is the registry name ("rdp", "pld", ...).
	Name() string
	// Guarantee says whether the epsilon is a bound.
	Guarantee() Guarantee
	// Epsilon is the smallest epsilon the accountant certifies (or estimates)
	// at delta for the whole history.
	Epsilon(h History, delta float64) (float64, error)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Accountant{}
)

// Register makes an accountant available by name. It panics if the name is
// taken, as database/sql.Register does.
func Register(a Accountant) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[a.Name()]; dup {
		panic("privacy: Register called twice for accountant " + a.Name())
	}
	registry[a.Name()] = a
}

// Names returns the registered accountant names, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup returns a registered accountant.
func Lookup(name string) (Accountant, error) {
	registryMu.RLock()
	a, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("privacy: unknown accountant %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return a, nil
}

func init() {
	Register(NewRDP(RDPOptions{}))
	Register(NewPLD(PLDOptions{}))
	Register(GDP{})
	Register(NewEdgeworth(1))
	Register(NewPRV(PRVOptions{}))
}

// Validate checks a history and delta, with errors that name the bad value.
func (h History) Validate() error {
	if len(h) == 0 {
		return fmt.Errorf("privacy: empty history (no steps taken)")
	}
	for i, m := range h {
		if err := m.Validate(); err != nil {
			if len(h) == 1 {
				return err
			}
			return fmt.Errorf("segment %d: %w", i, err)
		}
	}
	return nil
}

// Validate checks one segment.
func (m Mechanism) Validate() error {
	switch {
	case !(m.Sigma > 0) || math.IsInf(m.Sigma, 0):
		return fmt.Errorf("privacy: sigma = %v, want a finite value > 0", m.Sigma)
	case !(m.SampleRate > 0 && m.SampleRate <= 1):
		return fmt.Errorf("privacy: sample rate q = %v, want 0 < q <= 1", m.SampleRate)
	case m.Steps < 1:
		return fmt.Errorf("privacy: steps = %d, want >= 1", m.Steps)
	}
	return nil
}

func validateDelta(delta float64) error {
	if !(delta > 0 && delta < 1) {
		return fmt.Errorf("privacy: delta = %v, want 0 < delta < 1", delta)
	}
	return nil
}

func validateEpsilon(eps float64) error {
	if !(eps > 0) || math.IsInf(eps, 0) {
		return fmt.Errorf("privacy: epsilon = %v, want a finite value > 0", eps)
	}
	return nil
}

// Single is a one-segment history.
func Single(sigma, q float64, steps int) History {
	return History{{Sigma: sigma, SampleRate: q, Steps: steps}}
}

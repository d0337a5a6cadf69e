package privacy

import "fmt"

// Report is what privlm says about the privacy of a history: the chosen
// accountant's epsilon and, when that is not a bound, the pld upper bound for
// the same noise, so an estimate is never mistaken for a guarantee.
type Report struct {
	Accountant string    `json:"accountant"`
	Guarantee  Guarantee `json:"guarantee"`
	Epsilon    float64   `json:"epsilon"`
	Delta      float64   `json:"delta"`
	History    History   `json:"history"`
	// PLDEpsilon is pld's upper bound, set when Guarantee is not UpperBound.
	PLDEpsilon *float64 `json:"pld_epsilon,omitempty"`
	Note       string   `json:"note,omitempty"`
}

// Account computes a Report with the named accountant.
func Account(acc Accountant, h History, delta float64) (Report, error) {
	eps, err := acc.Epsilon(h, delta)
	if err != nil {
		return Report{}, err
	}
	r := Report{Accountant: acc.Name(), Guarantee: acc.Guarantee(), Epsilon: eps, Delta: delta, History: h}
	if acc.Guarantee() != UpperBound {
		pld, err := Lookup("pld")
		if err != nil {
			return Report{}, err
		}
		tight, err := pld.Epsilon(h, delta)
		if err != nil {
			return Report{}, err
		}
		r.PLDEpsilon = &tight
		r.Note = acc.Name() + " gives an " + string(acc.Guarantee()) + ", not a bound; pld_epsilon is an upper bound for the same noise"
	}
	return r, nil
}

// EpsilonCurve is the epsilon acc gives after each of steps steps of the
// subsampled Gaussian (sigma, q) at delta: how the spent budget grows over
// training.
func EpsilonCurve(acc Accountant, sigma, q float64, steps []int, delta float64) ([]float64, error) {
	eps := make([]float64, len(steps))
	for i, n := range steps {
		var err error
		if eps[i], err = acc.Epsilon(Single(sigma, q, n), delta); err != nil {
			return nil, fmt.Errorf("privacy: %s after %d steps: %w", acc.Name(), n, err)
		}
	}
	return eps, nil
}

package train

import (
	"fmt"

	"github.com/privlm/privlm/framework/privacy"
)

// Noise searches a run may ask for (train.noise_search).
const (
	// SearchBisection finds the smallest sigma meeting the target epsilon
	// (relative precision 1e-4); the default.
	SearchBisection = string(privacy.Bisection)
	// SearchEWTune is EW-Tune's grid search (from 2.0 down in steps of 0.5,
	// refined three times by tenths), for reproducing EW-Tune's recipe.
	SearchEWTune = string(privacy.EWTuneGrid)
)

// Calibration is how a run's noise multiplier was found.
type Calibration struct {
	Sigma float64 `json:"sigma"`
	// Accountant is the accountant spec that calibrated (or, for a sigma set
	// directly, accounts) the run; Search the search ("" when sigma was set).
	Accountant string `json:"accountant"`
	Search     string `json:"search,omitempty"`
	// Epsilon is Accountant's epsilon at Sigma for the planned steps.
	Epsilon float64 `json:"epsilon"`
}

// search returns the noise search cfg asks for.
func (c Config) search() privacy.Search {
	if c.NoiseSearch == SearchEWTune {
		return privacy.EWTuneGrid
	}
	return privacy.Bisection
}

// Calibrate returns the noise multiplier of a DP run with sample rate q and
// steps steps: cfg.Sigma if set, else the sigma cfg.Accountant finds for
// cfg.TargetEpsilon at cfg.Delta with cfg.NoiseSearch. LM and classifier
// runs both calibrate here, so equal settings get equal noise.
func Calibrate(cfg Config, q float64, steps int) (Calibration, error) {
	acc, err := privacy.Parse(cfg.Accountant)
	if err != nil {
		return Calibration{}, fmt.Errorf("train: accountant: %w", err)
	}
	c := Calibration{Sigma: cfg.Sigma, Accountant: cfg.Accountant}
	if cfg.Sigma > 0 {
		if c.Epsilon, err = acc.Epsilon(privacy.Single(cfg.Sigma, q, steps), cfg.Delta); err != nil {
			return c, fmt.Errorf("train: accounting sigma %g: %w", cfg.Sigma, err)
		}
		return c, nil
	}
	c.Search = string(cfg.search())
	if c.Sigma, c.Epsilon, err = privacy.Sigma(acc, cfg.search(), cfg.TargetEpsilon, cfg.Delta, q, steps); err != nil {
		return c, fmt.Errorf("train: calibrating the noise: %w", err)
	}
	return c, nil
}

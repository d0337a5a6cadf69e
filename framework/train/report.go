package train

import (
	"strconv"

	"github.com/privlm/privlm/framework/privacy"
)

// PrivacyReport is written beside a DP run's checkpoints.
type PrivacyReport struct {
	Level      string  `json:"level"` // example or user
	Sigma      float64 `json:"sigma"`
	ClipNorm   float64 `json:"clip_norm"`
	SampleRate float64 `json:"sample_rate"`
	Steps      int     `json:"steps"`
	Delta      float64 `json:"delta"`
	Sampling   string  `json:"sampling"`
	// Epsilon by every registered accountant; Guarantees says which are bounds.
	Epsilon    map[string]float64           `json:"epsilon"`
	Guarantees map[string]privacy.Guarantee `json:"guarantees"`
	// Calibration says how sigma was chosen.
	Calibration string `json:"calibration"`
	Note        string `json:"note,omitempty"`
}

// NewPrivacyReport accounts a finished run with every accountant.
func NewPrivacyReport(cfg Config, sigma, q float64, steps int) (PrivacyReport, error) {
	rep := PrivacyReport{Level: cfg.DP, Sigma: sigma, ClipNorm: cfg.ClipNorm, SampleRate: q, Steps: steps, Delta: cfg.Delta,
		Sampling: cfg.Sampling, Epsilon: map[string]float64{}, Guarantees: map[string]privacy.Guarantee{}}
	if cfg.Sigma > 0 {
		rep.Calibration = "sigma set directly"
	} else {
		rep.Calibration = "sigma calibrated to epsilon " + strconv.FormatFloat(cfg.TargetEpsilon, 'g', -1, 64) + " with the " + cfg.Accountant + " accountant"
	}
	h := privacy.Single(sigma, q, steps)
	for _, name := range privacy.Names() {
		acc, _ := privacy.Lookup(name)
		eps, err := acc.Epsilon(h, cfg.Delta)
		if err != nil {
			return rep, err
		}
		rep.Epsilon[name], rep.Guarantees[name] = eps, acc.Guarantee()
	}
	if cfg.Sampling == "shuffle" {
		rep.Note = "batches were fixed-size slices of shuffled epochs (EW-Tune's regime); the accountants assume Poisson sampling, so these epsilons are not guarantees for this run"
	}
	return rep, nil
}

package privacy

import (
	"fmt"
	"math"
)

// Defaults of the PRV-style accountant: the error parameters EW-Tune passes
// to the PRV accountant (../shared/PAPERS.md section 2) and the delta error
// prv_accountant derives from delta.
const (
	DefaultPRVEpsError      = 0.1
	DefaultPRVDeltaErrorRel = 1e-3
)

// PRVOptions configure the PRV-style accountant.
type PRVOptions struct {
	// EpsError is the epsilon error added to the estimate (eps_error);
	// DefaultPRVEpsError if 0.
	EpsError float64
	// DeltaErrorRel is delta_error / delta; DefaultPRVDeltaErrorRel if 0.
	DeltaErrorRel float64
	// PLD configures the pld accountant that supplies the estimate.
	PLD PLDOptions
}

// PRV reports what the PRV accountant of Gopi, Lee and Wutschitz (2021)
// reports as its "upper" epsilon, the number EW-Tune calls "prv":
//
//	eps_upper(delta) = eps_hat(delta - delta_error) + eps_error,
//
// with delta_error = delta/1000 (prv_accountant's choice) and eps_hat the
// epsilon of the discretised, FFT-composed privacy-loss distribution. privlm
// does not re-implement the PRV discretisation: eps_hat is the pld
// accountant's upper bound, which agrees with the PRV estimate far below the
// eps_error margin (at SST-2's EW-Tune setting, sigma 0.817, both give 7.5706).
// The result is an upper bound padded by eps_error; it reproduces EW-Tune's
// "prv" noise column (see EWTuneTable).
type PRV struct {
	opts PRVOptions
	pld  *PLD
}

// NewPRV returns the PRV-style accountant.
func NewPRV(opts PRVOptions) *PRV {
	if opts.EpsError <= 0 {
		opts.EpsError = DefaultPRVEpsError
	}
	if opts.DeltaErrorRel <= 0 {
		opts.DeltaErrorRel = DefaultPRVDeltaErrorRel
	}
	return &PRV{opts: opts, pld: NewPLD(opts.PLD)}
}

func (*PRV) Name() string         { return "prv" }
func (*PRV) Guarantee() Guarantee { return UpperBound }

// Options returns the accountant's settings.
func (p *PRV) Options() PRVOptions { return p.opts }

// Epsilon is pld's epsilon at delta*(1-DeltaErrorRel) plus EpsError.
func (p *PRV) Epsilon(h History, delta float64) (float64, error) {
	if err := validateDelta(delta); err != nil {
		return 0, err
	}
	if !(p.opts.DeltaErrorRel < 1) || math.IsNaN(p.opts.EpsError) || math.IsInf(p.opts.EpsError, 0) {
		return 0, fmt.Errorf("privacy: prv: eps_error %v, delta_error/delta %v: want finite eps_error > 0 and 0 < delta_error/delta < 1", p.opts.EpsError, p.opts.DeltaErrorRel)
	}
	eps, err := p.pld.Epsilon(h, delta*(1-p.opts.DeltaErrorRel))
	if err != nil {
		return 0, fmt.Errorf("prv: %w", err)
	}
	return eps + p.opts.EpsError, nil
}

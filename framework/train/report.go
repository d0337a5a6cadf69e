package train

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/privlm/privlm/framework/privacy"
)

// Privacy units: what one add/remove neighbour of a run's data is.
const (
	// UnitWindow is one seq_len-token window of a document (dp=example in LM
	// runs: documents are cut into windows and the sampler samples windows).
	UnitWindow = "window"
	// UnitUser is all of one user's data (dp=user).
	UnitUser = "user"
	// UnitExample is one classification example (GLUE runs).
	UnitExample = "example"
)

// Spread summarises a count per document or per user.
type Spread struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Max    int     `json:"max"`
}

func spreadOf(counts []int) Spread {
	if len(counts) == 0 {
		return Spread{}
	}
	c := slices.Clone(counts)
	slices.Sort(c)
	q := func(p float64) float64 { // linear interpolation between order statistics
		x := p * float64(len(c)-1)
		i := int(math.Floor(x))
		if i+1 >= len(c) {
			return float64(c[len(c)-1])
		}
		return float64(c[i]) + (x-float64(i))*float64(c[i+1]-c[i])
	}
	return Spread{Median: q(0.5), P90: q(0.9), Max: c[len(c)-1]}
}

// GroupGuarantee is the guarantee for a group of K units (a whole document
// or a whole user of a dp=example run), at the run's delta.
type GroupGuarantee struct {
	// Group is "document" or "user"; Which says which one of the spread
	// (median, p90 or max windows).
	Group string `json:"group"`
	Which string `json:"which"`
	K     int    `json:"k"`
	// Epsilon is the bound; null only when even rdp's bound is infinite.
	// Above privacy.MaxEpsilon (100) it is reported as it is, with
	// Meaningless set: e^epsilon > 1e43, no meaningful guarantee.
	Epsilon     *float64 `json:"epsilon"`
	Meaningless bool     `json:"meaningless,omitempty"`
	Delta       float64  `json:"delta"`
	// Accountant that bounded it: pld, or rdp when rdp's bound is already
	// above 100 (a void guarantee; pld would be slow), when sigma/k is below
	// pld's range (privacy.MinSigma) or when pld fails.
	Accountant string `json:"accountant"`
}

// Eps is the group's epsilon, +Inf when unbounded.
func (g GroupGuarantee) Eps() float64 {
	if g.Epsilon == nil {
		return math.Inf(1)
	}
	return *g.Epsilon
}

// GroupBound names the group-privacy bound GroupEpsilon computes.
const GroupBound = "k units of one group are each sampled independently with rate q and their clipped gradients sum to norm <= k*C, " +
	"so each step is dominated by the subsampled Gaussian with rate 1-(1-q)^k and noise multiplier sigma/k " +
	"(joint convexity of hockey-stick divergences, Balle et al. 2018, over the binomial number of the group's units in a batch; " +
	"a smaller shift is a post-processing of shift k); dominating pairs compose (Zhu, Dong, Wang 2022); " +
	"accounted with pld, or with rdp (an upper bound at any sigma) when sigma/k is below 0.3 or the bound is above 100 " +
	"(reported as it is and flagged: no meaningful guarantee); Ganesh 2024 gives the tighter mixture-of-Gaussians bound"

// GroupEpsilon bounds the epsilon at delta, for a group of k units, of steps
// steps of DP-SGD with per-unit sampling rate q and noise multiplier sigma.
func GroupEpsilon(sigma, q float64, steps, k int, delta float64) (float64, string, error) {
	if k < 1 {
		return 0, "", fmt.Errorf("train: group of %d units", k)
	}
	qk := -math.Expm1(float64(k) * math.Log1p(-q)) // 1-(1-q)^k
	h := privacy.Single(sigma/float64(k), math.Min(1, qk), steps)
	// rdp first: cheap, and an upper bound at any sigma, so its raw value
	// (EpsilonAndOrder, without the accountants' range guard) is used. Beyond
	// privacy.MaxEpsilon the guarantee is void anyway, and below
	// privacy.MinSigma pld refuses (its grid leaves float64's range).
	rdpEps, _, rdpErr := privacy.NewRDP(privacy.RDPOptions{}).EpsilonAndOrder(h, delta)
	rdpOK := rdpErr == nil && !math.IsInf(rdpEps, 0) && !math.IsNaN(rdpEps)
	if rdpOK && (rdpEps > privacy.MaxEpsilon || sigma/float64(k) < privacy.MinSigma) {
		return rdpEps, "rdp", nil
	}
	if eps, err := privacy.NewPLD(privacy.PLDOptions{}).Epsilon(h, delta); err == nil && !math.IsInf(eps, 0) && !math.IsNaN(eps) {
		return eps, "pld", nil
	}
	if rdpOK {
		return rdpEps, "rdp", nil
	}
	return math.Inf(1), "none", nil
}

// MeaninglessNote marks an epsilon above privacy.MaxEpsilon.
const MeaninglessNote = "> 100: no meaningful guarantee"

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

	// Unit is what one neighbouring dataset adds or removes: window, user
	// or example; UnitNote says it in words.
	Unit     string `json:"unit"`
	UnitNote string `json:"unit_note"`
	// Accountant is the spec that calibrated sigma (or accounts a sigma set
	// directly), Search the noise search ("" when sigma was set), and
	// AccountantEpsilon its epsilon for the run; PLDEpsilon is the pld
	// upper bound for the same noise.
	Accountant        string  `json:"accountant"`
	Search            string  `json:"search,omitempty"`
	AccountantEpsilon float64 `json:"accountant_epsilon"`
	PLDEpsilon        float64 `json:"pld_epsilon"`
	// PLDAccountant is "pld", or "rdp" when pld refused the noise (sigma
	// below its accurate range) and the RDP upper bound stands in.
	PLDAccountant string `json:"pld_epsilon_accountant"`
	// EpsilonErrors are the accountants that refused this run (outside the
	// range where they are accurate), with why; Epsilon lacks them.
	EpsilonErrors map[string]string `json:"epsilon_errors,omitempty"`
	// For dp=example LM runs: windows per document and per user, and the
	// group guarantee for whole documents and whole users (GroupBound).
	WindowsPerDocument *Spread          `json:"windows_per_document,omitempty"`
	WindowsPerUser     *Spread          `json:"windows_per_user,omitempty"`
	Groups             []GroupGuarantee `json:"groups,omitempty"`
	GroupBound         string           `json:"group_bound,omitempty"`
	// For dp=user: the windows a step saw on average (expected users per
	// step x mean windows a sampled user contributes, at most user_rows).
	WindowsPerStep float64 `json:"windows_per_step,omitempty"`
}

// UserEpsilon is the epsilon for a whole user: the run's epsilon for
// dp=user, the group guarantee of the user with the most windows for
// dp=example (NaN when unknown).
func (r PrivacyReport) UserEpsilon() float64 {
	if r.Unit == UnitUser {
		return r.PLDEpsilon
	}
	for _, g := range r.Groups {
		if g.Group == "user" && g.Which == "max" {
			return g.Eps()
		}
	}
	return math.NaN()
}

// NewPrivacyReport accounts a finished run with every accountant and with
// the calibrating one.
func NewPrivacyReport(cfg Config, cal Calibration, q float64, steps int) (PrivacyReport, error) {
	sigma := cal.Sigma
	rep := PrivacyReport{Level: cfg.DP, Sigma: sigma, ClipNorm: cfg.ClipNorm, SampleRate: q, Steps: steps, Delta: cfg.Delta,
		Sampling: cfg.Sampling, Epsilon: map[string]float64{}, Guarantees: map[string]privacy.Guarantee{},
		Accountant: cal.Accountant, Search: cal.Search}
	if cfg.Sigma > 0 {
		rep.Calibration = "sigma set directly"
	} else {
		rep.Calibration = "sigma calibrated to epsilon " + strconv.FormatFloat(cfg.TargetEpsilon, 'g', -1, 64) + " with the " + cal.Accountant + " accountant by " + cal.Search
	}
	h := privacy.Single(sigma, q, steps)
	for _, name := range privacy.Names() {
		acc, _ := privacy.Lookup(name)
		eps, err := acc.Epsilon(h, cfg.Delta)
		if err != nil {
			// An accountant outside its accurate range (e.g. gdp above
			// epsilon 100, pld below sigma 0.3) says so; the run keeps
			// the others.
			if rep.EpsilonErrors == nil {
				rep.EpsilonErrors = map[string]string{}
			}
			rep.EpsilonErrors[name] = err.Error()
			continue
		}
		rep.Epsilon[name], rep.Guarantees[name] = eps, acc.Guarantee()
	}
	acc, err := privacy.Parse(cal.Accountant)
	if err != nil {
		return rep, err
	}
	if rep.AccountantEpsilon, err = acc.Epsilon(h, cfg.Delta); err != nil {
		return rep, err
	}
	if eps, ok := rep.Epsilon["pld"]; ok {
		rep.PLDEpsilon, rep.PLDAccountant = eps, "pld"
	} else {
		// pld refused this noise: the RDP upper bound (valid at any sigma)
		// stands in, and says so.
		eps, accName, err := GroupEpsilon(sigma, q, steps, 1, cfg.Delta)
		if err != nil {
			return rep, fmt.Errorf("train: no upper bound for sigma %g: %w", sigma, err)
		}
		rep.PLDEpsilon, rep.PLDAccountant = eps, accName
	}
	switch cfg.DP {
	case "user":
		rep.Unit, rep.UnitNote = UnitUser, "one user: all of a user's windows are added or removed together (at most user_rows of them reach a step)"
	default:
		rep.Unit, rep.UnitNote = UnitWindow, fmt.Sprintf("one %d-token window: documents are cut into windows and each window is sampled on its own, so a document or a user of several windows has a weaker guarantee (groups)", cfg.SeqLen)
	}
	if cfg.Sampling == "shuffle" {
		rep.Note = "batches were fixed-size slices of shuffled epochs (EW-Tune's regime); the accountants assume Poisson sampling, so these epsilons are not guarantees for this run"
	}
	return rep, nil
}

// addGroups fills the windows-per-document and -user spreads and the group
// guarantees of a dp=example run.
func (r *PrivacyReport) addGroups(perDoc, perUser []int) error {
	d, u := spreadOf(perDoc), spreadOf(perUser)
	r.WindowsPerDocument, r.WindowsPerUser, r.GroupBound = &d, &u, GroupBound
	for _, g := range []struct {
		group string
		s     Spread
	}{{"document", d}, {"user", u}} {
		for _, w := range []struct {
			which string
			k     int
		}{{"median", int(math.Ceil(g.s.Median))}, {"p90", int(math.Ceil(g.s.P90))}, {"max", g.s.Max}} {
			if w.k < 1 {
				continue
			}
			eps, acc, err := GroupEpsilon(r.Sigma, r.SampleRate, r.Steps, w.k, r.Delta)
			if err != nil {
				return fmt.Errorf("train: group guarantee for a %s of %d windows: %w", g.group, w.k, err)
			}
			gg := GroupGuarantee{Group: g.group, Which: w.which, K: w.k, Delta: r.Delta, Accountant: acc}
			if !math.IsInf(eps, 0) {
				gg.Epsilon = &eps
				gg.Meaningless = eps > privacy.MaxEpsilon
			}
			r.Groups = append(r.Groups, gg)
		}
	}
	return nil
}

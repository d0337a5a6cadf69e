package privacy

import "fmt"

// EW-Tune's experimental settings (Behnia et al. 2022): batch 2000, 20
// epochs, target epsilon 8, full GLUE training-set sizes
// (../shared/PAPERS.md section 2).
const (
	EWTuneBatch   = 2000
	EWTuneEpochs  = 20
	EWTuneEpsilon = 8.0
)

// EWTuneTask is a GLUE task's training-set size.
type EWTuneTask struct {
	Name string
	N    int
}

// EWTuneTasks are the four tasks of the paper.
var EWTuneTasks = []EWTuneTask{{"SST-2", 67349}, {"QNLI", 104743}, {"QQP", 363849}, {"MNLI", 392702}}

// EWTuneLoggedSigmas are the noise multipliers in the EW-Tune authors' logs
// (epsilon 8, batch 2000, 20 epochs), from ../shared/PAPERS.md section 2,
// keyed by task and delta: EW (edgeworth), PRV and RDP (classic conversion).
// The logs have no SST-2 run at delta 1e-6.
var EWTuneLoggedSigmas = map[EWTuneKey]EWTuneSigmas{
	{"MNLI", 1e-5}:  {EW: 0.557, PRV: 0.581, RDP: 0.6255},
	{"QNLI", 1e-5}:  {EW: 0.711, PRV: 0.7295, RDP: 0.793},
	{"QQP", 1e-5}:   {EW: 0.5635, PRV: 0.587, RDP: 0.6325},
	{"SST-2", 1e-5}: {EW: 0.7865, PRV: 0.817, RDP: 0.8775},
	{"MNLI", 1e-6}:  {EW: 0.573, PRV: 0.607, RDP: 0.65},
	{"QNLI", 1e-6}:  {EW: 0.7395, PRV: 0.768, RDP: 0.829},
	{"QQP", 1e-6}:   {EW: 0.58, PRV: 0.6135, RDP: 0.6575},
}

// EWTuneKey names a row of EW-Tune's table.
type EWTuneKey struct {
	Task  string
	Delta float64
}

// EWTuneSigmas are the noise multipliers of EW-Tune's three accountants.
type EWTuneSigmas struct {
	EW  float64 `json:"ew"`
	PRV float64 `json:"prv"`
	RDP float64 `json:"rdp"`
}

// EWTuneRow is one line of the noise table.
type EWTuneRow struct {
	Task       string  `json:"task"`
	N          int     `json:"n"`
	Delta      float64 `json:"delta"`
	SampleRate float64 `json:"sample_rate"`
	Steps      int     `json:"steps"`
	// Sigmas found with EW-Tune's grid search for privlm's accountants: rdp
	// with Opacus' conversion and orders, the tight pld, and edgeworth.
	SigmaRDP       float64 `json:"sigma_rdp"`
	SigmaPLD       float64 `json:"sigma_pld"`
	SigmaEdgeworth float64 `json:"sigma_edgeworth"`
	// Noise reduction of edgeworth, in percent of the other accountant's sigma.
	ReductionVsRDP float64 `json:"reduction_vs_rdp_pct"`
	ReductionVsPLD float64 `json:"reduction_vs_pld_pct"`
	// The true (pld upper bound) epsilon at edgeworth's sigma.
	PLDEpsilonAtEdgeworthSigma float64 `json:"pld_epsilon_at_edgeworth_sigma"`

	// EW-Tune's recipe, column for column: its three accountants
	// (EWTuneSpecEW, EWTuneSpecPRV, EWTuneSpecRDP) with its grid search.
	Ours EWTuneSigmas `json:"ours"`
	// Logged is what the authors' logs say (nil where they have no run).
	Logged *EWTuneSigmas `json:"logged,omitempty"`
	// Reductions of EW's sigma against PRV's and RDP's, in percent, from our
	// sigmas and from the logged ones.
	OursReductionVsPRV   float64  `json:"ours_reduction_vs_prv_pct"`
	OursReductionVsRDP   float64  `json:"ours_reduction_vs_rdp_pct"`
	LoggedReductionVsPRV *float64 `json:"logged_reduction_vs_prv_pct,omitempty"`
	LoggedReductionVsRDP *float64 `json:"logged_reduction_vs_rdp_pct,omitempty"`
	// TrueEpsilon is the pld upper bound at each of our sigmas and, where
	// logged, at each logged sigma.
	TrueEpsilon       EWTuneSigmas  `json:"true_epsilon"`
	TrueEpsilonLogged *EWTuneSigmas `json:"true_epsilon_logged,omitempty"`
}

// EWTuneSetting returns q and steps as EW-Tune computes them:
// q = batch/n, steps = epochs * (n // batch).
func EWTuneSetting(n int) (float64, int) {
	return float64(EWTuneBatch) / float64(n), EWTuneEpochs * (n / EWTuneBatch)
}

func reduction(from, to float64) float64 { return 100 * (from - to) / from }

// EWTuneTable computes the noise table for the given deltas. progress, if
// not nil, is called after each row.
func EWTuneTable(deltas []float64, progress func(done, total int)) ([]EWTuneRow, error) {
	rdp, pld, ew := NewRDP(RDPOptions{}), NewPLD(PLDOptions{}), NewEdgeworth(1)
	prv, err := Parse(EWTuneSpecPRV)
	if err != nil {
		return nil, err
	}
	moments, err := Parse(EWTuneSpecRDP)
	if err != nil {
		return nil, err
	}
	var rows []EWTuneRow
	total := len(deltas) * len(EWTuneTasks)
	for _, delta := range deltas {
		for _, task := range EWTuneTasks {
			q, steps := EWTuneSetting(task.N)
			row := EWTuneRow{Task: task.Name, N: task.N, Delta: delta, SampleRate: q, Steps: steps}
			search := func(acc Accountant, spec string) (float64, error) {
				s, _, err := Sigma(acc, EWTuneGrid, EWTuneEpsilon, delta, q, steps)
				if err != nil {
					return 0, fmt.Errorf("%s delta %g %s: %w", task.Name, delta, spec, err)
				}
				return s, nil
			}
			trueEps := func(s EWTuneSigmas) (EWTuneSigmas, error) {
				var out EWTuneSigmas
				for _, p := range []struct {
					sigma float64
					dst   *float64
				}{{s.EW, &out.EW}, {s.PRV, &out.PRV}, {s.RDP, &out.RDP}} {
					e, err := pld.Epsilon(Single(p.sigma, q, steps), delta)
					if err != nil {
						return out, fmt.Errorf("%s delta %g: pld at sigma %g: %w", task.Name, delta, p.sigma, err)
					}
					*p.dst = e
				}
				return out, nil
			}
			if row.SigmaRDP, err = search(rdp, "rdp"); err != nil {
				return nil, err
			}
			if row.SigmaPLD, err = search(pld, "pld"); err != nil {
				return nil, err
			}
			if row.SigmaEdgeworth, err = search(ew, "edgeworth"); err != nil {
				return nil, err
			}
			row.ReductionVsRDP = reduction(row.SigmaRDP, row.SigmaEdgeworth)
			row.ReductionVsPLD = reduction(row.SigmaPLD, row.SigmaEdgeworth)
			row.Ours.EW = row.SigmaEdgeworth
			if row.Ours.PRV, err = search(prv, EWTuneSpecPRV); err != nil {
				return nil, err
			}
			if row.Ours.RDP, err = search(moments, EWTuneSpecRDP); err != nil {
				return nil, err
			}
			row.OursReductionVsPRV = reduction(row.Ours.PRV, row.Ours.EW)
			row.OursReductionVsRDP = reduction(row.Ours.RDP, row.Ours.EW)
			if row.TrueEpsilon, err = trueEps(row.Ours); err != nil {
				return nil, err
			}
			row.PLDEpsilonAtEdgeworthSigma = row.TrueEpsilon.EW
			if logged, ok := EWTuneLoggedSigmas[EWTuneKey{task.Name, delta}]; ok {
				row.Logged = &logged
				vsPRV, vsRDP := reduction(logged.PRV, logged.EW), reduction(logged.RDP, logged.EW)
				row.LoggedReductionVsPRV, row.LoggedReductionVsRDP = &vsPRV, &vsRDP
				te, err := trueEps(logged)
				if err != nil {
					return nil, err
				}
				row.TrueEpsilonLogged = &te
			}
			rows = append(rows, row)
			if progress != nil {
				progress(len(rows), total)
			}
		}
	}
	return rows, nil
}

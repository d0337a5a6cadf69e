package privacy

import "fmt"

// EW-Tune's experimental settings (Behnia et al. 2022): batch 2000, 20
// epochs, target epsilon 8, full GLUE training-set sizes.
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

// EWTuneRow is one line of the noise table.
type EWTuneRow struct {
	Task       string  `json:"task"`
	N          int     `json:"n"`
	Delta      float64 `json:"delta"`
	SampleRate float64 `json:"sample_rate"`
	Steps      int     `json:"steps"`
	// Sigmas found with EW-Tune's grid search for each accountant.
	SigmaRDP       float64 `json:"sigma_rdp"`
	SigmaPLD       float64 `json:"sigma_pld"`
	SigmaEdgeworth float64 `json:"sigma_edgeworth"`
	// Noise reduction of edgeworth, in percent of the other accountant's sigma.
	ReductionVsRDP float64 `json:"reduction_vs_rdp_pct"`
	ReductionVsPLD float64 `json:"reduction_vs_pld_pct"`
	// The true (pld upper bound) epsilon at edgeworth's sigma.
	PLDEpsilonAtEdgeworthSigma float64 `json:"pld_epsilon_at_edgeworth_sigma"`
}

// EWTuneSetting returns q and steps as EW-Tune computes them:
// q = batch/n, steps = epochs * (n // batch).
func EWTuneSetting(n int) (float64, int) {
	return float64(EWTuneBatch) / float64(n), EWTuneEpochs * (n / EWTuneBatch)
}

// EWTuneTable computes the noise table for the given deltas. progress, if
// not nil, is called after each row.
func EWTuneTable(deltas []float64, progress func(done, total int)) ([]EWTuneRow, error) {
	rdp, pld, ew := NewRDP(RDPOptions{}), NewPLD(PLDOptions{}), NewEdgeworth(1)
	var rows []EWTuneRow
	total := len(deltas) * len(EWTuneTasks)
	for _, delta := range deltas {
		for _, task := range EWTuneTasks {
			q, steps := EWTuneSetting(task.N)
			row := EWTuneRow{Task: task.Name, N: task.N, Delta: delta, SampleRate: q, Steps: steps}
			var err error
			if row.SigmaRDP, _, err = Sigma(rdp, EWTuneGrid, EWTuneEpsilon, delta, q, steps); err != nil {
				return nil, fmt.Errorf("%s rdp: %w", task.Name, err)
			}
			if row.SigmaPLD, _, err = Sigma(pld, EWTuneGrid, EWTuneEpsilon, delta, q, steps); err != nil {
				return nil, fmt.Errorf("%s pld: %w", task.Name, err)
			}
			if row.SigmaEdgeworth, _, err = Sigma(ew, EWTuneGrid, EWTuneEpsilon, delta, q, steps); err != nil {
				return nil, fmt.Errorf("%s edgeworth: %w", task.Name, err)
			}
			row.ReductionVsRDP = 100 * (row.SigmaRDP - row.SigmaEdgeworth) / row.SigmaRDP
			row.ReductionVsPLD = 100 * (row.SigmaPLD - row.SigmaEdgeworth) / row.SigmaPLD
			if row.PLDEpsilonAtEdgeworthSigma, err = pld.Epsilon(Single(row.SigmaEdgeworth, q, steps), delta); err != nil {
				return nil, fmt.Errorf("%s pld at edgeworth sigma: %w", task.Name, err)
			}
			rows = append(rows, row)
			if progress != nil {
				progress(len(rows), total)
			}
		}
	}
	return rows, nil
}

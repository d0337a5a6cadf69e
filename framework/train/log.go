package train

import (
	"encoding/json"
	"math"

	"github.com/parquet-go/parquet-go"
	"github.com/privlm/privlm/framework/data"
)

// LogRow is one step of the training log. Values not computed at a step
// (val_loss between evaluations, epsilon without DP) are null.
type LogRow struct {
	Step            int     `json:"step"`
	Epoch           float64 `json:"epoch"`
	TrainLoss       float64 `json:"train_loss"`
	ValLoss         float64 `json:"val_loss"`
	LR              float64 `json:"lr"`
	Epsilon         float64 `json:"epsilon"`
	ClippedFraction float64 `json:"clipped_fraction"`
	// EpsilonPLD is the pld upper bound beside Epsilon (the calibrating
	// accountant's).
	EpsilonPLD float64 `json:"epsilon_pld"`
}

// logRecord is the Parquet row.
type logRecord struct {
	Step            int64    `parquet:"step"`
	Epoch           float64  `parquet:"epoch"`
	TrainLoss       float64  `parquet:"train_loss"`
	ValLoss         *float64 `parquet:"val_loss,optional"`
	LR              float64  `parquet:"lr"`
	Epsilon         *float64 `parquet:"epsilon,optional"`
	ClippedFraction float64  `parquet:"clipped_fraction"`
	EpsilonPLD      *float64 `parquet:"epsilon_pld,optional"`
}

func optional(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// WriteLog writes the training log as zstd Parquet, atomically.
func WriteLog(path string, rows []LogRow) error {
	recs := make([]logRecord, len(rows))
	for i, r := range rows {
		recs[i] = logRecord{Step: int64(r.Step), Epoch: r.Epoch, TrainLoss: r.TrainLoss, ValLoss: optional(r.ValLoss),
			LR: r.LR, Epsilon: optional(r.Epsilon), ClippedFraction: r.ClippedFraction, EpsilonPLD: optional(r.EpsilonPLD)}
	}
	return data.WriteParquet(path, recs, parquet.Compression(&parquet.Zstd))
}

// ReadLog reads a training log.
func ReadLog(path string) ([]LogRow, error) {
	recs, err := data.ReadParquet[logRecord](path)
	if err != nil {
		return nil, err
	}
	out := make([]LogRow, len(recs))
	for i, r := range recs {
		out[i] = LogRow{Step: int(r.Step), Epoch: r.Epoch, TrainLoss: r.TrainLoss, ValLoss: math.NaN(), LR: r.LR,
			Epsilon: math.NaN(), ClippedFraction: r.ClippedFraction, EpsilonPLD: math.NaN()}
		if r.EpsilonPLD != nil {
			out[i].EpsilonPLD = *r.EpsilonPLD
		}
		if r.ValLoss != nil {
			out[i].ValLoss = *r.ValLoss
		}
		if r.Epsilon != nil {
			out[i].Epsilon = *r.Epsilon
		}
	}
	return out, nil
}

// logRowJSON writes NaN as null.
type logRowJSON struct {
	Step            int      `json:"step"`
	Epoch           float64  `json:"epoch"`
	TrainLoss       float64  `json:"train_loss"`
	ValLoss         *float64 `json:"val_loss"`
	LR              float64  `json:"lr"`
	Epsilon         *float64 `json:"epsilon"`
	ClippedFraction float64  `json:"clipped_fraction"`
	EpsilonPLD      *float64 `json:"epsilon_pld"`
}

// MarshalJSON writes values not computed (NaN) as null.
func (r LogRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(logRowJSON{r.Step, r.Epoch, r.TrainLoss, optional(r.ValLoss), r.LR, optional(r.Epsilon), r.ClippedFraction, optional(r.EpsilonPLD)})
}

// UnmarshalJSON reads null as NaN.
func (r *LogRow) UnmarshalJSON(b []byte) error {
	var j logRowJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = LogRow{Step: j.Step, Epoch: j.Epoch, TrainLoss: j.TrainLoss, ValLoss: math.NaN(), LR: j.LR, Epsilon: math.NaN(), ClippedFraction: j.ClippedFraction, EpsilonPLD: math.NaN()}
	if j.EpsilonPLD != nil {
		r.EpsilonPLD = *j.EpsilonPLD
	}
	if j.ValLoss != nil {
		r.ValLoss = *j.ValLoss
	}
	if j.Epsilon != nil {
		r.Epsilon = *j.Epsilon
	}
	return nil
}

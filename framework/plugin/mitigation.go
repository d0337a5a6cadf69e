package plugin

import "context"

// Mitigation transforms the training data and/or asks the fine-tuner for
// settings (clipping, early stopping, DP). It is called once per run, never
// per training step.
type Mitigation interface {
	Plugin
	Apply(ctx context.Context, req MitigationRequest) (MitigationResponse, error)
}

// MitigationRequest gives the training data.
type MitigationRequest struct {
	// TrainPath is a Parquet file of the data contract.
	TrainPath string `json:"train_path"`
	// OutputDir is where a transformed file goes.
	OutputDir string `json:"output_dir"`
	Seed      uint64 `json:"seed"`
}

// MitigationResponse says what changed.
type MitigationResponse struct {
	// TrainPath is the transformed data, or "" if the data is unchanged.
	TrainPath string `json:"train_path,omitempty"`
	// Settings are fine-tuner overrides in privlm's key=value syntax, e.g.
	// {"train.clip": "per-example", "train.clip_norm": "1"}.
	Settings map[string]string `json:"settings,omitempty"`
	// Summary says what was done, for the run's manifest.
	Summary string `json:"summary,omitempty"`
}

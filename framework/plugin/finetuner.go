package plugin

import "context"

// FineTuner fine-tunes a base model on training data.
type FineTuner interface {
	Plugin
	FineTune(ctx context.Context, req FineTuneRequest) (FineTuneResponse, error)
}

// FineTuneRequest says what to fine-tune, on what, and where to write.
type FineTuneRequest struct {
	// BaseCheckpoint is a model path privlm's lm.Open reads.
	BaseCheckpoint string `json:"base_checkpoint"`
	Tokenizer      string `json:"tokenizer"`
	// TrainPath and ValidationPath are Parquet files of the data contract.
	TrainPath      string `json:"train_path"`
	ValidationPath string `json:"validation_path,omitempty"`
	// OutputDir receives checkpoints, the training log and the privacy report.
	OutputDir string `json:"output_dir"`
	Seed      uint64 `json:"seed"`
	// Settings are key=value overrides from mitigations (see MitigationResponse).
	Settings map[string]string `json:"settings,omitempty"`
	// Backend is the GoMLX backend spec the host uses ("" for the default).
	Backend string `json:"backend,omitempty"`
}

// FineTuneResponse says what was written.
type FineTuneResponse struct {
	// Checkpoints written, in training order.
	Checkpoints []CheckpointInfo `json:"checkpoints"`
	// Best is the checkpoint to attack (lowest validation loss).
	Best string `json:"best"`
	// BestStep and BestValLoss describe Best (BestValLoss is absent when
	// there was no validation data).
	BestStep    int      `json:"best_step,omitempty"`
	BestValLoss *float64 `json:"best_val_loss,omitempty"`
	// TrainingLog is a Parquet file: step, epoch, train_loss, val_loss, lr, epsilon.
	TrainingLog string `json:"training_log"`
	// PrivacyReport is a JSON file, for DP runs.
	PrivacyReport string `json:"privacy_report,omitempty"`
}

// CheckpointInfo describes one checkpoint.
type CheckpointInfo struct {
	Path    string  `json:"path"`
	Step    int     `json:"step"`
	ValLoss float64 `json:"val_loss"`
}

// Package experiment runs a user inference experiment end to end:
//
//	dataset -> user split (+ canaries) -> mitigation plugins -> fine-tuner
//	plugin (from the reference model) -> attack plugins through the oracle
//	-> metrics -> results
//
// Every stage writes under <out>/stages/<stage>-<hash>, the hash covering
// its inputs, configuration and plugin versions; a stage is done when its
// .done marker exists, so rerunning skips finished stages and an interrupted
// run resumes (the fine-tuner resumes from its last checkpoint). Results go
// to <out>: scores.parquet, metrics.parquet, training_log.parquet, roc.svg,
// roc.png, scores_<attack>.svg and manifest.json, all written atomically;
// with attack.checkpoints = all, also dynamics.parquet (every kept
// checkpoint attacked).
//
// The split stage drops attacker samples with an exact or near copy in the
// training data (split.attacker_overlap) and reports what it found in
// users.json, manifest.json and metrics.parquet; RunSplit runs the data and
// split stages alone (privlm split).
//
// Around Run: presets (Quickstart, Quick for CI-sized runs, Full at the
// paper's scale); Sweep and RunPoints run many settings sharing one stages
// directory; GroupMetrics splits metrics by user group (canaries, data
// share); ComparePaper sets the paper's findings beside ours; RunGLUE is the
// EW-Tune fine-tuning on GLUE.
package experiment

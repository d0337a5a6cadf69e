// Package experiment runs a user inference experiment end to end:
//
//	dataset -> user split (+ canaries) -> mitigation plugins -> fine-tuner
//	plugin (from the reference model) -> attack plugins through the oracle
//	-> metrics -> results
//
// Each stage is a value (Stage: name, declared inputs, key, run) and a run
// is a small DAG of them run in order by one pipeline. Every stage writes
// under <stages>/<stage>-<hash>, the hash covering its inputs' directories,
// configuration and plugin versions; a stage is done when its .done marker
// (written last, atomically) exists, so rerunning skips finished stages
// and an interrupted run resumes (the fine-tuner resumes from its last
// checkpoint). Several processes may share one stages directory: a stage
// is computed under an exclusive flock on <stages>/<dir>/.lock, and
// a process that finds it locked waits, then reuses it, so it is never
// computed twice at once nor read half-written. Run holds a lock on its
// --out, so two runs on one --out fail at once. Results go
// to <out>: scores.parquet, metrics.parquet, training_log.parquet, roc.svg,
// roc.png, roc_loglog.svg, roc_loglog.png, scores_<attack>.svg and
// manifest.json, all written atomically; with attack.checkpoints = all,
// also dynamics.parquet (every kept checkpoint attacked).
//
// The oracle scores every attacker sample whole over the fine-tuning's
// train.seq_len windows; attack.max_tokens is an explicit cut, counted in
// the manifest's scoring. metrics.parquet has a row per attack and user
// group (all, canary, non_canary); the headline (Headline, the printed
// summary, ComparePaper) is non_canary. TPR at FPR f is null without
// ceil(1/f) non-members. repeats=N runs N seeds and adds rows pooled over
// them (mean, std, an interval over users and seeds). A run whose
// headline population (non-canary users) has fewer than 100 held-out users
// warns (manifest warnings): TPR at 1% FPR is then n/a.
//
// The split stage drops attacker samples with an exact or near copy
// (Jaccard or containment of 5-word shingles) in any attack user's other
// documents, held-in and held-out judged alike, or in the reference's
// pretraining data (split.attacker_overlap; see data.CheckAttackerOverlap),
// and reports what it found in
// users.json, manifest.json and metrics.parquet; RunSplit runs the data and
// split stages alone (privlm split).
//
// Around Run: presets (Quickstart, Quick for CI-sized runs, Full at the
// paper's scale); Sweep and RunPoints run many settings sharing one stages
// directory, through a sweep plan (PlanSweep writes DIR/sweep.json;
// RunSweepShared runs the stages the points share, RunSweepPoint one point
// into DIR/point-NNN, CollectSweep merges them; package sweep runs these
// with worker processes or on Slurm); GroupMetrics splits metrics by user group (canaries, data
// share); ComparePaper sets the paper's numbers beside ours; RunGLUE is the
// EW-Tune fine-tuning on GLUE.
package experiment

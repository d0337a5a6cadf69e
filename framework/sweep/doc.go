// Package sweep runs a sweep's plan (experiment.PlanSweep: a base config
// at every grid point, seeds included through repeats) with an executor:
//
//   - Local runs worker processes on this machine, Workers at a time
//     (default: the number of cores): first the shared stages once, then
//     the points.
//   - Slurm submits the shared stages (data, split, reference) as one job
//     and the points as a job array depending on it (afterok), with
//     resources from its fields; the sbatch scripts are written into the
//     sweep directory (slurm/shared.sbatch, slurm/points.sbatch) and the
//     job ids to slurm/jobs.json. Status reads squeue (and sacct where
//     accounting is on) and the points' completion markers; Resubmit
//     submits again only the points not done.
//
// Both run the same worker (Worker: `privlm sweep worker DIR --shared` or
// `--point I`), which runs a point into DIR/point-NNN with the stages in
// DIR/stages, shared between processes under per-stage locks, so each
// stage is computed once. Collect merges the points into
// sweep_metrics.parquet and sweep_scores.parquet, as experiment.RunPoints
// does in one process; the three give identical tables.
package sweep

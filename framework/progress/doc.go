// Package progress shows how far a long stage (fine-tuning steps, scoring
// batches, benchmark steps) has come: steps done of the total, the rate and
// the estimated time left, like tqdm. On a terminal it redraws one line in
// place; elsewhere (a log file, CI) it prints a plain line at most every
// Interval, plus the last one, so logs stay short.
package progress

// Package privacy holds privlm's privacy accountants for DP-SGD: the
// Poisson-subsampled Gaussian mechanism, composed over a History of
// (noise multiplier sigma, sample rate q, steps) segments.
//
// Every accountant here assumes the same mechanism and neighbouring relation:
//
//   - Sampling: each example (or each user, for user-level DP) joins a step's
//     batch independently with probability q (Poisson sampling). Fixed-size
//     shuffled batches do not match this assumption; privlm labels such runs.
//   - Neighbouring datasets differ by adding or removing one example (one
//     user), whose clipped contribution has L2 norm at most C; the noise has
//     standard deviation sigma*C.
//
// The accountants, registered by name like database/sql drivers:
//
//   - rdp: Renyi DP of the subsampled Gaussian (Mironov, Talwar, Zhang 2019)
//     at Opacus's orders, converted with Opacus's conversion (Balle et al.
//     2020); the classic conversion eps = rdp - log(delta)/(alpha-1) is an
//     option. An upper bound.
//   - pld: privacy loss distributions discretised by "connect the dots"
//     (Doroshenko et al. 2022) on a grid of width Interval and composed by
//     FFT, for both the remove and the add direction; the reported epsilon is
//     the larger of the two and an upper bound (the discretisation dominates
//     the true loss, tails are bounded by Chernoff and charged to delta). A
//     rounded-down discretisation gives a lower bound (Bounds). This is the
//     framework's reference "true" epsilon.
//   - gdp: the central-limit (mu-GDP) approximation of Bu et al. for Poisson
//     sampling, as in Opacus. An approximation, neither bound.
//   - edgeworth: the Edgeworth accountant as EW-Tune uses it (Wang et al.
//     2022): cumulants of the privacy loss by numerical integration, times
//     the steps, first-order Edgeworth expansion (second order as an
//     option). An estimate, neither bound.
//   - prv: the PRV accountant's "upper" epsilon (Gopi, Lee, Wutschitz 2021)
//     as EW-Tune reports it: epsilon at delta(1-1e-3) plus eps_error (0.1),
//     with the pld bound standing in for PRV's discretised estimate. An
//     upper bound.
//
// Parse reads an accountant spec with options ("rdp?conversion=classic&orders=ewtune",
// "prv?eps_error=0.1", "pld?interval=5e-4", "edgeworth?order=2"); EWTuneTable
// reproduces EW-Tune's noise table with its three accountants.
//
// Estimates and approximations never travel alone: Report pairs them with
// what pld says for the same noise.
package privacy

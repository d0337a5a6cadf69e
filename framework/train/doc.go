// Package train fine-tunes privlm's causal LMs on Parquet training data,
// with the clipping and differential-privacy modes the user inference paper
// and EW-Tune study:
//
//   - clip "none": plain AdamW with warmup and linear decay;
//   - clip "batch": the whole batch gradient clipped to ClipNorm;
//   - clip "per-example": each example's gradient clipped to ClipNorm (no noise);
//   - dp "example": DP-SGD/DP-Adam, example-level: Poisson-sampled examples,
//     per-example clipping by ghost clipping (one backward pass; Bu et al.
//     2022), Gaussian noise sigma*ClipNorm, accounted by a registered
//     accountant (noise set directly or calibrated from a target epsilon);
//   - dp "user": the same over users: users are sampled, each user's rows in
//     a step form one group whose summed gradient is clipped.
//
// Batches have fixed shapes (Poisson batches are padded with zero-weight
// rows) so one compiled graph serves every step. Each step's batch is drawn
// from (seed, step) alone, so an interrupted run resumes from its last
// checkpoint to exactly the result of an uninterrupted one.
//
// Sampling "shuffle" (EW-Tune's own regime: fixed-size batches from shuffled
// epochs) is offered for comparison; the privacy report labels it as not
// matching the accountants' Poisson-sampling assumption.
package train

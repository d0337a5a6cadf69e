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
// The unit a DP run protects is named in its PrivacyReport: a seq_len-token
// window for dp "example" (documents are cut into windows), a user for dp
// "user", a classification example for GLUE. For windows the report adds the
// windows per document and per user and a group bound for whole documents
// and users (GroupEpsilon, GroupBound). Calibrate finds the noise for LM and
// classifier runs alike (NoiseSearch: bisection, or EW-Tune's grid); the
// training log's epsilon is the calibrating accountant's, with pld's bound
// beside it. For dp "user" an epoch is as many windows as the data has.
//
// Config.Optimizer picks Adam (DP-Adam under DP) or plain SGD (DP-SGD);
// Config.Trainable freezes every weight outside a list of name prefixes
// (FreezeAllBut): a step then takes per-example gradients, clips and adds
// noise only over the trained weights.
//
// Sampling "shuffle" (EW-Tune's own regime: fixed-size batches from shuffled
// epochs) is offered for comparison; the privacy report labels it as not
// matching the accountants' Poisson-sampling assumption.
package train

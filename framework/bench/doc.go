// Package bench measures how fast privlm trains and scores a model shape on
// the current backend: a non-private AdamW step, a DP step (per-example
// ghost clipping plus Gaussian noise, framework/train) and scoring
// (lm.Scorer), each timed over warm-up steps and then a median over measured
// steps.
//
// Throughput is reported as tokens/s and as achieved model GFLOP/s, counting
// model FLOPs with the formula of PaLM (Chowdhery et al. 2022, appendix B):
// per token, 6N + 12·L·d·T for a training step and 2N + 4·L·d·T for scoring,
// where N is the number of parameters in matrix multiplications (every
// linear layer and the output head; not the embedding lookup, norms or
// biases), L the layers, d the model width and T the sequence length (the
// attention term counts the full T×T product, not its causal half). A DP
// step does the same useful work as a training step, so it is credited with
// the same FLOPs: its extra cost (per-example norms, noise) shows as a lower
// GFLOP/s. MFU is achieved over a peak the user gives (--peak-gflops): the
// package does not guess a CPU's peak.
//
// Presets name the shapes of the README's table; explicit dimensions give
// any other Llama or GPT-2 shape. bench/pytorch_llama.py beside the command
// prints the same JSON for PyTorch, and bench/compare.py alternates the two.
//
// Extension point: model families added to framework/lm (GPT-Neo, Pythia)
// become presets by adding an entry to Presets with their lm.Config; the
// FLOP count only needs MatmulParams to know their weight matrices.
package bench

// Package lm is privlm's causal transformer language model on GoMLX.
//
// Two architecture families share one Config:
//
//   - Llama: RMSNorm, rotary positions on interleaved pairs (llama2.c's
//     layout), SwiGLU, grouped-query attention, tied or untied output.
//   - GPT-2: LayerNorm with bias, learned positions, GELU (tanh), biases,
//     tied embeddings.
//
// Models load from llama2.c checkpoints (ReadLlama2C: stories260K.bin loads
// exactly), Hugging Face safetensors (LoadHF: LlamaForCausalLM with HF's
// rotary permutation undone, GPT2LMHeadModel with Conv1D weights transposed
// and c_attn split), and privlm's own GoMLX checkpoints (LoadCheckpoint,
// which also restores optimizer state); Open picks by path. New draws a
// random model of any size for training from scratch.
//
// Scorer gives per-token and per-sequence log-likelihoods of batches of
// token sequences (right-padded to a few fixed lengths so graphs compile
// once per length bucket); Trainer takes AdamW steps with linear warmup and
// linear decay. Greedy decodes.
//
// Two GoMLX v0.26.0 traps are avoided here: matrix products get their
// gradient from package graphx (two DotGenerals instead of a broadcast
// multiply), and no Slice sits on a gradient path (the pure-Go backend has
// no Pad, Slice's gradient): q, k and v are separate projections, rotary
// pairs are swapped with a 2x2 Einsum, and targets are shifted on the host.
//
// The tests check every forward pass against a float64 oracle written with
// plain loops (reference_test.go), and stories260K against llama2.c's golden
// greedy text.
package lm

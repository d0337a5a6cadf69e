// Package lm is privlm's causal transformer language model on GoMLX.
//
// Five architecture families share one Config:
//
//   - Llama: RMSNorm, rotary positions on interleaved pairs (llama2.c's
//     layout), SwiGLU, grouped-query attention, tied or untied output.
//   - GPT-2: LayerNorm with bias, learned positions, GELU (tanh), biases,
//     tied embeddings.
//   - GPT-Neo, GPT-NeoX (Pythia) and OPT run GPT-2's pre-LN block with their
//     differences as config fields: GPT-Neo has no q/k/v biases, unscaled
//     attention logits and local (windowed) layers (AttentionTypes,
//     WindowSize); GPT-NeoX has rotary positions in the rotate-half layout
//     on the first RotaryDim of each head (a constant matrix, no Slice), an
//     optional parallel residual, exact GELU and an untied (or tied)
//     output; rope_scaling is refused. OPT counts learned positions over
//     valid tokens from row 2, uses ReLU and LayerNorm eps 1e-5 (fixed).
//     Their HF tensors map one to one onto GPT-2's names (hf_families.go),
//     except GPT-NeoX's fused per-head query_key_value, split on load and
//     fused on save (both are exact, and per-example gradient norms are the
//     same for split or fused parameters).
//
// Models load from llama2.c checkpoints (ReadLlama2C: stories260K.bin loads
// exactly), Hugging Face safetensors (LoadHF: LlamaForCausalLM with HF's
// rotary permutation undone, GPT2LMHeadModel with Conv1D weights transposed
// and c_attn split, GPTNeoForCausalLM, GPTNeoXForCausalLM, OPTForCausalLM;
// sharded directories through model.safetensors.index.json; F32, F16, BF16
// and F64 weights; non-float buffers such as the U8 causal-mask "bias"
// older HF releases saved are skipped), and privlm's own GoMLX checkpoints (LoadCheckpoint,
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
// plain loops (reference_test.go; families_test.go for GPT-Neo, GPT-NeoX and
// OPT, reading the HF tensors by their HF names), and stories260K against llama2.c's golden
// greedy text.
package lm

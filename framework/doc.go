// Package framework is privlm's library. Each capability is a package of its
// own: backend (GoMLX backend choice), graphx (graph extensions), lm (the
// causal LM), tokenizer, privacy (DP accountants), and the command line in
// cmd/privlm.
package framework

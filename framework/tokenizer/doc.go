// Package tokenizer puts the tokenizers of the models privlm loads behind one
// interface:
//
//   - llama2.c tokenizer .bin files (e.g. tok512.bin for stories260K, or the
//     32000-piece tokenizer.bin), encoded with llama2.c's own procedure: a
//     dummy-prefix space, UTF-8 code points with byte fallback, then greedy
//     merges of the best-scoring adjacent pair;
//   - SentencePiece BPE .model files with byte fallback (Llama 2, TinyLlama,
//     Mistral, ...): the protobuf is read directly and encoded with the same
//     scored-merge procedure, which is what SentencePiece does for BPE models
//     (go-sentencepiece v0.6.0 refuses Llama's normalizer settings);
//   - GPT-2 byte-level BPE (r50k_base), through github.com/pkoukk/tiktoken-go
//     with its offline vocabulary: no network needed;
//   - Hugging Face byte-level BPE from a model snapshot (GPT-Neo, Pythia /
//     GPT-NeoX, OPT, GPT-2): tokenizer.json (model BPE, pre-tokenizer
//     ByteLevel, optional NFC normalizer, added tokens) or vocab.json +
//     merges.txt, with BOS/EOS from tokenizer_config.json,
//     special_tokens_map.json or config.json. Encoding follows HF: the text
//     is split at non-special added tokens (longest first), then by GPT-2's
//     pre-tokenization pattern, then merged lowest rank first. Special
//     tokens written in the text stay text (user data cannot inject them).
//
// Load picks the right one from the file: "gpt2" (or "r50k_base") names the
// built-in GPT-2 vocabulary, a .model file is SentencePiece, a .bin file is
// llama2.c's format, a .json file is Hugging Face's; a directory is searched
// by FindInDir.
//
// Encode never adds BOS or EOS; callers that score text prepend BOS()
// themselves (see lm.Model.Score). For every tokenizer here
// Decode(Encode(s)) == s for valid UTF-8 s; the Hugging Face byte-level BPE
// also round-trips invalid UTF-8 byte for byte (invalid bytes stay bytes
// rather than becoming U+FFFD).
package tokenizer

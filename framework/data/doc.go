// Package data is privlm's user-partitioned text data: the Parquet data
// contract (user_id, doc_id, text, plus group, label and text_b where they
// apply; zstd), its validating reader and atomic writer, user-level
// experiment splits with their leakage control (CheckAttackerOverlap: exact
// and near copies of attacker samples, by Jaccard >= 0.8 of 5-word
// shingles with one document or containment >= 0.8 of the sample's
// shingles in the documents, among every attack user's other documents,
// held-in and held-out alike, and the reference's pretraining pool; copies
// in validation are counted only), chunking into token windows, the data mitigations (per-user caps,
// within-user deduplication) and canary users (balanced between held-in
// and held-out users, placed inside the scored tokens).
//
// Everything that draws at random takes a seed and gives the same result
// for the same seed and input.
package data

// Package graphx holds privlm's extensions to the GoMLX graph package.
//
// Importing it (every privlm package that builds gradients does) replaces
// the gradient of DotGeneral: GoMLX v0.26.0 builds it as a broadcast
// multiply followed by a reduce-sum, which materialises a tensor of size
// batch x lhs-cross x rhs-cross x contracted and made a training step of a
// 0.5M-parameter GPT 8-25x slower than necessary. The replacement computes
// each input's gradient with one DotGeneral and one transpose, the textbook
// formulation (and the one later GoMLX versions use).
package graphx

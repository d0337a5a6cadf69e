// Package backend is the one place where privlm chooses the GoMLX backend.
//
// The choice comes, in order, from an explicit spec (a --backend flag or a
// notebook argument), the PRIVLM_BACKEND environment variable, the
// GOMLX_BACKEND environment variable, and finally the default:
//
//	go:parallelism=-1
//
// That is GoMLX's pure-Go backend ("SimpleGo") with unbounded goroutine
// parallelism. The bounded worker pool of GoMLX v0.26.0 was seen to deadlock
// on 2-core machines once gradients were fast; unbounded parallelism never did.
//
// XLA (StableHLO over a PJRT plugin, e.g. the CUDA plugin) is used only when
// asked for with a spec such as
//
//	xla:/abs/path/to/pjrt_c_api_cuda_plugin.so
//
// and only in binaries built with `-tags xla` (which needs cgo). Nothing here
// ever downloads a plugin: GoMLX's auto-install is switched off, and a
// missing plugin or a binary without XLA support gives an error that names
// what to set.
package backend

//go:build !xla

package backend

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
)

// XLAEnabled reports whether this binary was built with XLA support.
const XLAEnabled = false

func newXLA(config string) (backends.Backend, error) {
	return nil, fmt.Errorf("backend: %q asks for XLA, but this privlm binary was built without it: rebuild with `CGO_ENABLED=1 go build -tags xla ./framework/cmd/privlm`, then set %s=xla:/abs/path/to/pjrt_c_api_cuda_plugin.so (or leave %s unset for the pure-Go backend)",
		"xla:"+config, EnvVar, EnvVar)
}

//go:build xla

package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
)

// XLAEnabled reports whether this binary was built with XLA support.
const XLAEnabled = true

func init() {
	// Never download a PJRT plugin: the machines privlm runs on are often offline,
	// and a silent download of a plugin version nobody chose is not reproducible.
	xla.EnableAutoInstall(false)
	if os.Getenv("GOPJRT_CUDA_CHECKS") == "" {
		// Otherwise go-xla may point XLA_FLAGS at a hard-coded CUDA path.
		_ = os.Setenv("GOPJRT_CUDA_CHECKS", "0")
	}
}

func newXLA(config string) (backends.Backend, error) {
	plugin, _, _ := strings.Cut(config, ",")
	if plugin == "" {
		return nil, fmt.Errorf("backend: XLA needs a PJRT plugin: set %s=xla:/abs/path/to/pjrt_c_api_cuda_plugin.so (or a plugin name found in $PJRT_PLUGIN_LIBRARY_PATH)", EnvVar)
	}
	if filepath.IsAbs(plugin) {
		if _, err := os.Stat(plugin); err != nil {
			return nil, fmt.Errorf("backend: PJRT plugin %s: %w; set %s=xla:/abs/path/to/an/existing/plugin.so", plugin, err, EnvVar)
		}
	}
	b, err := xla.New(config)
	if err != nil {
		return nil, fmt.Errorf("backend: XLA with plugin %q: %w (set %s to another plugin, or unset it for the pure-Go backend)", plugin, err, EnvVar)
	}
	return b, nil
}

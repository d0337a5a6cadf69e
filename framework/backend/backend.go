package backend

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
)

// Environment variables read by Spec, in order of precedence.
const (
	EnvVar      = "PRIVLM_BACKEND"
	GoMLXEnvVar = backends.ConfigEnvVar // "GOMLX_BACKEND"
)

// DefaultSpec is the pure-Go backend in the configuration that cannot
// deadlock on 2 cores (see the package documentation).
const DefaultSpec = "go:parallelism=-1"

// Spec resolves the backend specification: explicit (if not empty), then
// $PRIVLM_BACKEND, then $GOMLX_BACKEND, then DefaultSpec.
func Spec(explicit string) string {
	if s := strings.TrimSpace(explicit); s != "" {
		return s
	}
	for _, env := range []string{EnvVar, GoMLXEnvVar} {
		if s := strings.TrimSpace(os.Getenv(env)); s != "" {
			return s
		}
	}
	return DefaultSpec
}

// Name returns the backend name of a spec ("go" for "go:parallelism=-1").
func Name(spec string) string {
	name, _, _ := strings.Cut(spec, ":")
	return name
}

var (
	mu    sync.Mutex
	cache = map[string]backends.Backend{}
)

// New returns the backend for the resolved spec (see Spec). Backends are
// created once per spec and shared: creating an XLA client per model would
// take all GPU memory several times over.
func New(explicit string) (backends.Backend, error) {
	spec := Spec(explicit)
	mu.Lock()
	defer mu.Unlock()
	if b, ok := cache[spec]; ok {
		return b, nil
	}
	b, err := create(spec)
	if err != nil {
		return nil, err
	}
	cache[spec] = b
	return b, nil
}

// MustNew is New for examples and notebooks: it panics on error.
func MustNew(explicit string) backends.Backend {
	b, err := New(explicit)
	if err != nil {
		panic(err)
	}
	return b
}

func create(spec string) (backends.Backend, error) {
	name, config, _ := strings.Cut(spec, ":")
	switch name {
	case simplego.BackendName:
		return newSimpleGo(config)
	case "xla", "stablehlo", "hlo", "shlo":
		return newXLA(config)
	default:
		return nil, fmt.Errorf("backend: unknown backend %q in spec %q (from %s): known backends are %q (pure Go) and %q (PJRT plugin, needs a binary built with -tags xla)",
			name, spec, specSource(spec), simplego.BackendName, "xla")
	}
}

// specSource says where a spec came from, for error messages.
func specSource(spec string) string {
	switch spec {
	case strings.TrimSpace(os.Getenv(EnvVar)):
		return "$" + EnvVar
	case strings.TrimSpace(os.Getenv(GoMLXEnvVar)):
		return "$" + GoMLXEnvVar
	case DefaultSpec:
		return "the default"
	}
	return "the --backend flag"
}

// newSimpleGo creates the pure-Go backend. SimpleGo prints a line on stdout
// when parallelism is configured; stdout belongs to privlm's JSON output and
// to the plugin handshake, so that line is discarded.
func newSimpleGo(config string) (backends.Backend, error) {
	var b backends.Backend
	err := withStdoutDiscarded(func() error {
		var err error
		b, err = simplego.New(config)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("backend: pure-Go backend config %q: %w", config, err)
	}
	return b, nil
}

func withStdoutDiscarded(fn func() error) error {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return fn()
	}
	defer devNull.Close()
	saved := os.Stdout
	os.Stdout = devNull
	defer func() { os.Stdout = saved }()
	return fn()
}

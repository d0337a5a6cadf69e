package plugin

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Isolation is what the host enforced on one plugin process; the experiment
// manifest records it for every plugin.
type Isolation struct {
	// Sandbox is "on" (the process was started through the sandbox shim) or
	// "off" (PRIVLM_PLUGIN_SANDBOX=off, or a platform without one).
	Sandbox string `json:"sandbox"`
	// LandlockABI is the Landlock ABI version the process is restricted with
	// (0: no filesystem or network restriction). ABI >= 4 also denies TCP
	// bind and connect; ABI >= 6 also scopes signals and abstract unix sockets.
	LandlockABI int `json:"landlock_abi"`
	// NetNS: the process runs in a new, empty network namespace.
	NetNS bool `json:"netns"`
	// PIDNS: the process runs in a new PID namespace.
	PIDNS bool `json:"pidns"`
	// Env is "scrubbed" (only go-plugin's variables and an allowlist) or
	// "inherited".
	Env string `json:"env"`
}

// String is a one-line summary, for logs and `privlm plugins list`.
func (i Isolation) String() string {
	if i.Sandbox != "on" {
		return "sandbox off (env " + i.Env + ")"
	}
	return fmt.Sprintf("landlock abi %d, netns %v, pidns %v, env %s", i.LandlockABI, i.NetNS, i.PIDNS, i.Env)
}

// SandboxEnv disables the sandbox when set to "off" (for debugging a plugin;
// the manifest then records sandbox "off").
const SandboxEnv = "PRIVLM_PLUGIN_SANDBOX"

// passedEnvPrefixes are the host variables a sandboxed plugin still sees:
// backend settings a fine-tuner needs, none of them secret or a path to the
// run's data. Options.Env adds more explicitly.
var passedEnvPrefixes = []string{"PRIVLM_BACKEND=", "GOMLX_", "GOPJRT_", "PJRT_", "XLA_FLAGS=", "CUDA_VISIBLE_DEVICES=", "NVIDIA_VISIBLE_DEVICES="}

// scrubbedEnv is the environment of a sandboxed plugin: the allowlisted host
// variables, a temp dir inside its own working directory, and extra.
func scrubbedEnv(workDir string, extra []string) []string {
	env := []string{"TMPDIR=" + workDir, "HOME=" + workDir, "PATH=/usr/local/bin:/usr/bin:/bin"}
	for _, kv := range os.Environ() {
		for _, p := range passedEnvPrefixes {
			if strings.HasPrefix(kv, p) {
				env = append(env, kv)
				break
			}
		}
	}
	return append(env, extra...)
}

// SandboxWarnings receives the host's one-time warning when a protection is
// unavailable (os.Stderr by default).
var SandboxWarnings io.Writer = os.Stderr

var warnOnce sync.Once

// warnDegraded says once, loudly, which protections this host cannot give.
func warnDegraded(iso Isolation, why []string) {
	if len(why) == 0 {
		return
	}
	warnOnce.Do(func() {
		fmt.Fprintf(SandboxWarnings, "privlm: WARNING: the plugin sandbox is degraded on this host (%s): %s; "+
			"plugins can do more than the threat model allows, and manifests record plugin_isolation\n",
			iso, strings.Join(why, "; "))
	})
}

//go:build !linux

package plugin

import (
	"os"
	"os/exec"
)

// pluginCmd starts binary directly: only Linux has the sandbox. The
// environment is still scrubbed unless PRIVLM_PLUGIN_SANDBOX=off.
func pluginCmd(binary, dir string, opts Options) (*exec.Cmd, Isolation, error) {
	cmd := exec.Command(binary)
	cmd.Dir = dir
	iso := Isolation{Sandbox: "off", Env: "scrubbed"}
	if os.Getenv(SandboxEnv) == "off" {
		cmd.Env = append(os.Environ(), opts.Env...)
		iso.Env = "inherited"
	} else {
		cmd.Env = scrubbedEnv(dir, append(append([]string{}, opts.Env...), "PLUGIN_UNIX_SOCKET_DIR="+dir))
	}
	setDeathSignal(cmd)
	warnDegraded(iso, []string{"no plugin sandbox on this platform (Linux only)"})
	return cmd, iso, nil
}

// killGroup is a no-op without process groups.
func killGroup(cmd *exec.Cmd) {}

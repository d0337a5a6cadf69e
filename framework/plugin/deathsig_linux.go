//go:build linux

package plugin

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the plugin if the host dies, even by SIGKILL.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

//go:build !linux

package plugin

import "os/exec"

// setDeathSignal is Linux-only; elsewhere Close and go-plugin's cleanup stop plugins.
func setDeathSignal(*exec.Cmd) {}

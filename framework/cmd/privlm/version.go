package main

import (
	"encoding/json"
	"fmt"

	"github.com/privlm/privlm/framework/backend"
	"github.com/privlm/privlm/framework/buildinfo"
)

func init() {
	register("version", "print the privlm version, Go and GoMLX versions, and the backend in use", runVersion)
}

func runVersion(args []string, e *env) error {
	fs := newFlags("version", "version [--json]", e.stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	info := buildinfo.Get()
	out := struct {
		buildinfo.Info
		Backend    string `json:"backend"`
		XLAEnabled bool   `json:"xla_enabled"`
	}{info, backend.Spec(""), backend.XLAEnabled}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintf(e.stdout, "privlm %s (%s, GoMLX %s", info.Version, info.GoVersion, info.GoMLX)
	if info.Commit != "" {
		fmt.Fprintf(e.stdout, ", commit %.12s", info.Commit)
	}
	fmt.Fprintf(e.stdout, ")\nbackend: %s (xla support compiled in: %v)\n", out.Backend, out.XLAEnabled)
	return nil
}

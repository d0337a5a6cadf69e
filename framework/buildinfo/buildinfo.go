// Package buildinfo says which privlm this is, for `privlm version` and the
// manifests of runs.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Version of the framework. Bumped by hand on releases.
const Version = "0.1.0-dev"

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"commit,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoMLX     string `json:"gomlx"`
}

// Get returns the build information of the running binary.
func Get() Info {
	info := Info{Version: Version, GoVersion: runtime.Version(), GoMLX: "v0.26.0"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/gomlx/gomlx" {
				info.GoMLX = dep.Version
			}
		}
	}
	return info
}

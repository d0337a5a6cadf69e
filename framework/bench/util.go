package bench

import (
	"math"
	"runtime/debug"
)

func nan() float64 { return math.NaN() }

// goamd64 is the GOAMD64 level the binary was built for ("" off amd64 or
// without build info; v1 when unset).
func goamd64() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	level := ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOARCH":
			if s.Value == "amd64" && level == "" {
				level = "v1"
			}
		case "GOAMD64":
			level = s.Value
		}
	}
	return level
}

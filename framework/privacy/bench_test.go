package privacy

import (
	"fmt"
	"testing"
)

// BenchmarkPLDEpsilon: one pld epsilon (both directions) at q = 0.01, sigma = 1.
func BenchmarkPLDEpsilon(b *testing.B) {
	pld := NewPLD(PLDOptions{})
	for _, steps := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("steps=%d", steps), func(b *testing.B) {
			for b.Loop() {
				if _, err := pld.Epsilon(Single(1, 0.01, steps), 1e-5); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCalibration: a full sigma calibration (bisection) per accountant,
// EW-Tune's SST-2 setting.
func BenchmarkCalibration(b *testing.B) {
	q, steps := EWTuneSetting(67349)
	for _, name := range Names() {
		acc, _ := Lookup(name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := Sigma(acc, Bisection, 8, 1e-5, q, steps); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEpsilon(b *testing.B) {
	h := Single(0.7865, 2000.0/67349, 660)
	for _, name := range Names() {
		acc, _ := Lookup(name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := acc.Epsilon(h, 1e-5); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

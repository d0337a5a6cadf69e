package privacy

import (
	"math"
	"testing"
)

func TestEpsilonCurve(t *testing.T) {
	// q = 1: the privacy loss is exactly Gaussian with mu = sqrt(steps)/sigma.
	steps := []int{1, 4, 10}
	for _, name := range []string{"pld", "gdp"} {
		acc, _ := Lookup(name)
		eps, err := EpsilonCurve(acc, 5, 1, steps, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range steps {
			want, _ := GaussianEpsilon(math.Sqrt(float64(n))/5, 1e-5)
			if math.Abs(eps[i]-want) > 0.01*want {
				t.Errorf("%s after %d steps: %v, want %v", name, n, eps[i], want)
			}
		}
	}
	rdp, _ := Lookup("rdp")
	if _, err := EpsilonCurve(rdp, 1, 0.01, []int{10, 0}, 1e-5); err == nil {
		t.Error("0 steps accounted")
	}
}

package privacy

import (
	"math"
	"sync"
)

// gaussLegendre returns nodes and weights of the n-point Gauss-Legendre rule
// on [-1, 1] (Newton iteration on the Legendre polynomial).
func gaussLegendre(n int) (x, w []float64) {
	x, w = make([]float64, n), make([]float64, n)
	for i := range (n + 1) / 2 {
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for range 100 {
			p0, p1 := 1.0, 0.0
			for j := 1; j <= n; j++ {
				p0, p1 = ((2*float64(j)-1)*z*p0-(float64(j)-1)*p1)/float64(j), p0
			}
			dp = float64(n) * (z*p0 - p1) / (z*z - 1)
			dz := p0 / dp
			z -= dz
			if math.Abs(dz) < 1e-15 {
				break
			}
		}
		x[i], x[n-1-i] = -z, z
		w[i] = 2 / ((1 - z*z) * dp * dp)
		w[n-1-i] = w[i]
	}
	return x, w
}

var gl20 = sync.OnceValues(func() ([]float64, []float64) { return gaussLegendre(20) })

// integrate integrates f over [a, b] with a composite 20-point Gauss-Legendre
// rule on n panels: exact to float64 precision for the smooth, Gaussian-tailed
// integrands here when the panels are a fraction of the Gaussian's width.
func integrate(f func(float64) float64, a, b float64, n int) float64 {
	nodes, weights := gl20()
	h := (b - a) / float64(n)
	sum := 0.0
	for p := range n {
		mid := a + (float64(p)+0.5)*h
		for i, x := range nodes {
			sum += weights[i] * f(mid+x*h/2)
		}
	}
	return sum * h / 2
}

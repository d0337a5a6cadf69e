package privacy_test

import (
	"fmt"

	"github.com/privlm/privlm/framework/privacy"
)

// The noise EW-Tune chose for SST-2 looks like epsilon 8 to the Edgeworth
// accountant; the pld upper bound says what it really gives.
func Example() {
	q, steps := privacy.EWTuneSetting(67349) // SST-2: batch 2000, 20 epochs
	h := privacy.Single(0.7865, q, steps)
	for _, name := range []string{"edgeworth", "pld", "rdp"} {
		acc, _ := privacy.Lookup(name)
		eps, _ := acc.Epsilon(h, 1e-5)
		fmt.Printf("%-9s %.2f (%s)\n", name, eps, acc.Guarantee())
	}
	// Output:
	// edgeworth 7.99 (estimate)
	// pld       8.29 (upper bound)
	// rdp       9.28 (upper bound)
}

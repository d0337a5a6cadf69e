package experiment

import (
	"encoding/json"
	"testing"
)

// FuzzConfigSet: any key=value either is refused by Set or by the checks
// Validate runs before any work (checkRanges, train and split validation),
// or leaves a config whose every number is finite and in range (it
// marshals to JSON, which NaN and Inf do not). Never a panic.
func FuzzConfigSet(f *testing.F) {
	for _, k := range Keys() {
		for _, v := range []string{"1", "0", "-5", "NaN", "Inf", "-Inf", "1e309", "0.5", "x", "99999999999999999999"} {
			f.Add(k, v)
		}
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		c := Default()
		if err := c.Set(key, value); err != nil {
			return
		}
		if checkRanges(c) != nil || c.Train.Validate() != nil || splitConfig(c).Validate() != nil {
			return
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("%s=%q passed validation but the config does not marshal: %v", key, value, err)
		}
		if c.Bootstrap < MinBootstrap || c.Split.MaxUsers < 0 || !(c.Train.ClipNorm > 0) || c.Train.WeightDecay < 0 || c.Train.Sigma < 0 {
			t.Fatalf("%s=%q: out-of-range value passed validation: %+v", key, value, c)
		}
	})
}

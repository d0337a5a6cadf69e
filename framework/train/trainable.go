package train

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/privlm/privlm/framework/lm"
)

// newOptimizer is the optimizer Config.Optimizer names; the step sets its
// learning rate every step (the schedule), so SGD's own decay is off.
func (c Config) newOptimizer() optimizers.Interface {
	if c.Optimizer == "sgd" {
		return optimizers.StochasticGradientDescent().WithDecay(false).Done()
	}
	return optimizers.Adam().WeightDecay(c.WeightDecay).Done()
}

// FreezeAllBut makes only the weights of m whose names start with one of
// prefixes ('+'-separated, Config.Trainable) trainable and returns their
// names; empty prefixes leave every weight trainable. A prefix that matches
// no weight is an error naming it, so a typo cannot silently freeze the
// model. A prefix matches raw names: end it with a dot ("layers.1.") to
// keep "layers.1" from matching "layers.10".
func FreezeAllBut(m *lm.Model, prefixes string) ([]string, error) {
	names := m.WeightNames()
	if prefixes == "" {
		for _, n := range names {
			m.Variable(n).SetTrainable(true)
		}
		return names, nil
	}
	want, err := trainablePrefixes(prefixes)
	if err != nil {
		return nil, err
	}
	matched := make(map[string]bool, len(want))
	var trained []string
	for _, n := range names {
		train := false
		for _, p := range want {
			if strings.HasPrefix(n, p) {
				train, matched[p] = true, true
			}
		}
		m.Variable(n).SetTrainable(train)
		if train {
			trained = append(trained, n)
		}
	}
	for _, p := range want {
		if !matched[p] {
			return nil, fmt.Errorf("train: trainable = %q: prefix %q matches no weight of the model (weights: %s)", prefixes, p, strings.Join(names, ", "))
		}
	}
	return trained, nil
}

// trainablePrefixes splits Config.Trainable at '+', refusing empty parts.
func trainablePrefixes(s string) ([]string, error) {
	parts := strings.Split(s, "+")
	for _, p := range parts {
		if p == "" || strings.TrimSpace(p) != p || strings.Contains(p, ",") {
			return nil, fmt.Errorf("train: trainable = %q: want weight-name prefixes separated by '+' (e.g. cls.+norm), each non-empty, without spaces or commas", s)
		}
	}
	return parts, nil
}

// trains reports whether the step updates the model weight name.
func trains(m *lm.Model, name string) bool {
	v := m.Variable(name)
	return v != nil && v.Trainable
}

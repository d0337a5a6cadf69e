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
// prefixes (comma-separated, Config.Trainable) trainable and returns their
// names; empty prefixes leave every weight trainable. A prefix that matches
// no weight is an error naming it, so a typo cannot silently freeze the
// model.
func FreezeAllBut(m *lm.Model, prefixes string) ([]string, error) {
	names := m.WeightNames()
	if strings.TrimSpace(prefixes) == "" {
		for _, n := range names {
			m.Variable(n).SetTrainable(true)
		}
		return names, nil
	}
	var want []string
	for _, p := range strings.Split(prefixes, ",") {
		if p = strings.TrimSpace(p); p != "" {
			want = append(want, p)
		}
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
	for _, n := range names {
		if stem, ok := strings.CutSuffix(n, ".weight"); ok && m.Variable(stem+".bias") != nil && trains(m, n) != trains(m, stem+".bias") {
			return nil, fmt.Errorf("train: trainable = %q: %s and %s are one op's weight and bias: train both or neither", prefixes, n, stem+".bias")
		}
	}
	for _, p := range want {
		if !matched[p] {
			return nil, fmt.Errorf("train: trainable = %q: prefix %q matches no weight of the model (weights: %s)", prefixes, p, strings.Join(names, ", "))
		}
	}
	return trained, nil
}

// trains reports whether the step updates the model weight name.
func trains(m *lm.Model, name string) bool {
	v := m.Variable(name)
	return v != nil && v.Trainable
}

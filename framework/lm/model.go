package lm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	_ "github.com/privlm/privlm/framework/graphx" // fast DotGeneral gradients
)

// Model is a causal LM: a config plus its weights held as GoMLX variables.
type Model struct {
	Config  Config
	Backend backends.Backend
	// Ctx holds the weights as variables; optimizers add their state to it.
	Ctx  *context.Context
	vars map[string]*context.Variable
}

// scopeAndName splits "layers.0.attention.wq" into ("/layers/0/attention", "wq").
func scopeAndName(name string) (string, string) {
	i := strings.LastIndex(name, ".")
	if i < 0 {
		return context.RootScope, name
	}
	return context.RootScope + strings.ReplaceAll(name[:i], ".", context.ScopeSeparator), name[i+1:]
}

// FromWeights builds a model from weights that fit cfg.
func FromWeights(cfg Config, w Weights, backend backends.Backend) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.CheckWeights(w); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Backend: backend, Ctx: context.New(), vars: map[string]*context.Variable{}}
	for _, name := range w.Names() {
		t := w[name]
		scope, short := scopeAndName(name)
		value := tensors.FromFlatDataAndDimensions(append([]float32(nil), t.Data...), t.Shape...)
		m.vars[name] = m.Ctx.InAbsPath(scope).VariableWithValue(short, value)
	}
	return m, nil
}

// New returns a randomly initialised model, reproducible from seed: N(0, 0.02)
// matrices and embeddings, output projections of each block scaled by
// 1/sqrt(2*layers) (GPT-2's scheme), norm weights 1 and biases 0.
func New(cfg Config, backend backends.Backend, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return FromWeights(cfg, RandomWeights(cfg, seed), backend)
}

// RandomWeights draws the initial weights of New.
func RandomWeights(cfg Config, seed uint64) Weights {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	w := Weights{}
	residualScale := 1 / math.Sqrt(2*float64(cfg.Layers))
	shapes := cfg.WeightShapes()
	// Draw in name order so the result does not depend on map iteration.
	for _, name := range sortedKeys(shapes) {
		s := shapes[name]
		t := &Tensor{Shape: append([]int(nil), s...), Data: make([]float32, s.size())}
		switch {
		case isNormWeight(name):
			for i := range t.Data {
				t.Data[i] = 1
			}
		case isBias(name):
			// zeros
		default:
			std := 0.02
			if isResidualOutput(name) {
				std *= residualScale
			}
			for i := range t.Data {
				t.Data[i] = float32(r.NormFloat64() * std)
			}
		}
		w[name] = t
	}
	return w
}

func isNormWeight(name string) bool {
	return name == "norm" || strings.HasSuffix(name, "_norm") ||
		(strings.Contains(name, "ln_") && strings.HasSuffix(name, ".weight"))
}

func isBias(name string) bool {
	return strings.HasSuffix(name, ".bias") || name == "cls.bias" || strings.HasSuffix(name, "_b") ||
		strings.HasSuffix(name, ".bq") || strings.HasSuffix(name, ".bk") ||
		strings.HasSuffix(name, ".bv") || strings.HasSuffix(name, ".bo")
}

func isResidualOutput(name string) bool {
	return strings.HasSuffix(name, ".wo") || strings.HasSuffix(name, ".w2") || strings.HasSuffix(name, ".proj_w")
}

// Weights copies the current weights out of the model.
func (m *Model) Weights() (Weights, error) {
	w := Weights{}
	for name, v := range m.vars {
		value, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("reading weight %s: %w", name, err)
		}
		data, err := tensors.CopyFlatData[float32](value)
		if err != nil {
			return nil, fmt.Errorf("reading weight %s: %w", name, err)
		}
		w[name] = &Tensor{Shape: value.Shape().Dimensions, Data: data}
	}
	return w, nil
}

// NumParams is the number of parameters.
func (m *Model) NumParams() int { return m.Config.NumParams() }

// Clone returns an independent copy of the model (same backend), e.g. a
// reference model kept beside the one being fine-tuned.
func (m *Model) Clone() (*Model, error) {
	w, err := m.Weights()
	if err != nil {
		return nil, err
	}
	return FromWeights(m.Config, w, m.Backend)
}

// Variable returns the GoMLX variable holding a weight (nil if unknown).
func (m *Model) Variable(name string) *context.Variable { return m.vars[name] }

// WeightNames lists the model's weights, sorted.
func (m *Model) WeightNames() []string { return sortedKeys(m.vars) }

// WithClassifier returns a copy of the model with a freshly initialised
// classification head of numClasses (the LM weights are shared by value).
func (m *Model) WithClassifier(numClasses int, seed uint64) (*Model, error) {
	w, err := m.Weights()
	if err != nil {
		return nil, err
	}
	cfg := m.Config
	cfg.NumClasses = numClasses
	head := RandomWeights(cfg, seed)
	w["cls.weight"], w["cls.bias"] = head["cls.weight"], head["cls.bias"]
	return FromWeights(cfg, w, m.Backend)
}

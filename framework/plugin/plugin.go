package plugin

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	goplugin "github.com/hashicorp/go-plugin"
)

// APIVersion is the plugin protocol version. A plugin built against another
// version is refused at start-up with a clear error.
const APIVersion = 1

// Handshake is what host and plugin check before talking. Running a plugin
// binary by hand prints a message saying it is a plugin.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  APIVersion,
	MagicCookieKey:   "PRIVLM_PLUGIN",
	MagicCookieValue: "privlm-plugin-7c1d5b2e",
}

// Kind is a kind of plugin.
type Kind string

const (
	KindAttack     Kind = "attack"
	KindFineTuner  Kind = "finetuner"
	KindMitigation Kind = "mitigation"
)

// Info identifies a plugin.
type Info struct {
	Kind        Kind   `json:"kind"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	APIVersion  int    `json:"api_version"`
	Description string `json:"description,omitempty"`
}

// Param describes one configuration parameter.
type Param struct {
	Name string `json:"name"`
	// Type is "string", "int", "float" or "bool".
	Type        string `json:"type"`
	Default     any    `json:"default,omitempty"`
	Description string `json:"description,omitempty"`
	// Enum, if set, lists the allowed string values.
	Enum []string `json:"enum,omitempty"`
	// Min and Max, if set, bound a numeric value (inclusive); the host checks
	// them before any stage runs.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Bound is a helper for Param.Min and Param.Max: Min: plugin.Bound(1).
func Bound(x float64) *float64 { return &x }

// Config holds parameter values by name (JSON types: string, float64, bool).
type Config map[string]any

// Plugin is what every plugin implements.
type Plugin interface {
	Info() Info
	// ConfigSchema lists the accepted parameters.
	ConfigSchema() []Param
	// Configure receives values already checked against ConfigSchema, with
	// defaults filled in.
	Configure(cfg Config) error
}

// CheckConfig validates cfg against schema (unknown keys, wrong types, values
// outside an enum) and returns it with defaults filled in. String values are
// converted when the parameter is numeric or boolean (the key=value syntax).
func CheckConfig(schema []Param, cfg Config) (Config, error) {
	byName := map[string]Param{}
	var names []string
	for _, p := range schema {
		byName[p.Name] = p
		names = append(names, p.Name)
	}
	sort.Strings(names)
	out := Config{}
	for _, p := range schema {
		if p.Default != nil {
			out[p.Name] = p.Default
		}
	}
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := cfg[k]
		p, ok := byName[k]
		if !ok {
			return nil, fmt.Errorf("unknown parameter %q (known: %s)", k, strings.Join(names, ", "))
		}
		cv, err := convertParam(p, v)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", k, err)
		}
		out[k] = cv
	}
	return out, nil
}

func convertParam(p Param, v any) (any, error) {
	s, isString := v.(string)
	switch p.Type {
	case "string":
		if !isString {
			return nil, fmt.Errorf("want a string, got %v", v)
		}
		if len(p.Enum) > 0 && !contains(p.Enum, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(p.Enum, ", "))
		}
		return s, nil
	case "int", "float":
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		case json.Number:
			var err error
			if f, err = x.Float64(); err != nil {
				return nil, err
			}
		case string:
			if _, err := fmt.Sscan(x, &f); err != nil {
				return nil, fmt.Errorf("want a number, got %q", x)
			}
		default:
			return nil, fmt.Errorf("want a number, got %v", v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("want a finite number, got %v", f)
		}
		if p.Type == "int" && f != math.Trunc(f) {
			return nil, fmt.Errorf("want an integer, got %v", f)
		}
		if p.Min != nil && f < *p.Min || p.Max != nil && f > *p.Max {
			return nil, fmt.Errorf("%v is outside [%s, %s]", f, bound(p.Min, "-inf"), bound(p.Max, "+inf"))
		}
		return f, nil
	case "bool":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(x) {
			case "true", "1", "yes":
				return true, nil
			case "false", "0", "no":
				return false, nil
			}
		}
		return nil, fmt.Errorf("want true or false, got %v", v)
	}
	return nil, fmt.Errorf("schema type %q is unknown", p.Type)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// String, Float, Int and Bool read checked values (after CheckConfig).
func (c Config) String(name string) string { s, _ := c[name].(string); return s }
func (c Config) Float(name string) float64 { f, _ := c[name].(float64); return f }
func (c Config) Int(name string) int       { return int(c.Float(name)) }
func (c Config) Bool(name string) bool     { b, _ := c[name].(bool); return b }

// NoConfig can be embedded by plugins without parameters.
type NoConfig struct{}

func (NoConfig) ConfigSchema() []Param      { return nil }
func (NoConfig) Configure(cfg Config) error { return nil }

func bound(b *float64, none string) string {
	if b == nil {
		return none
	}
	return fmt.Sprint(*b)
}

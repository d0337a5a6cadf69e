package backend

import (
	"strings"
	"testing"
)

func TestSpecPrecedence(t *testing.T) {
	tests := []struct {
		name, explicit, privlm, gomlx, want string
	}{
		{"default", "", "", "", DefaultSpec},
		{"gomlx env", "", "", "go:ops_sequential", "go:ops_sequential"},
		{"privlm env wins over gomlx env", "", "go", "xla:cuda", "go"},
		{"explicit wins", "go:parallelism=2", "go", "xla:cuda", "go:parallelism=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvVar, tc.privlm)
			t.Setenv(GoMLXEnvVar, tc.gomlx)
			if got := Spec(tc.explicit); got != tc.want {
				t.Errorf("Spec(%q) = %q, want %q", tc.explicit, got, tc.want)
			}
		})
	}
}

func TestNewDefaultIsPureGo(t *testing.T) {
	t.Setenv(EnvVar, "")
	t.Setenv(GoMLXEnvVar, "")
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.Name(), "(go)") {
		t.Errorf("default backend = %q, want the pure-Go backend", b.Name())
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		spec, wantInErr string
	}{
		{"tpu-magic", "unknown backend"},
		{"go:no_such_option", "no_such_option"},
	}
	if !XLAEnabled {
		tests = append(tests, struct{ spec, wantInErr string }{"xla:/nonexistent/plugin.so", "-tags xla"})
	} else {
		tests = append(tests, struct{ spec, wantInErr string }{"xla:/nonexistent/plugin.so", "PRIVLM_BACKEND"})
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := New(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Fatalf("New(%q) error = %v, want one containing %q", tc.spec, err, tc.wantInErr)
			}
		})
	}
}

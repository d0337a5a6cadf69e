package main

import (
	"strings"
	"testing"
)

// TestSweepCLIErrors: the sweep subcommands fail with what was expected.
func TestSweepCLIErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sweep"}, "usage: privlm sweep run"},
		{[]string{"sweep", "frobnicate"}, `unknown subcommand "frobnicate"`},
		{[]string{"sweep", "status", dir}, "not a sweep directory"},
		{[]string{"sweep", "collect", dir}, "not a sweep directory"},
		{[]string{"sweep", "status"}, "want one sweep directory"},
		{[]string{"sweep", "run", "--set", "name=x"}, "no --sweep key=v1,v2"},
		{[]string{"sweep", "run", "--sweep", "attack.samples=1", "--sweep", "attack.samples=2"}, "swept twice"},
		{[]string{"sweep", "worker", dir}, "want DIR --shared or DIR --point I"},
		{[]string{"sweep", "worker", dir, "--point", "array"}, "SLURM_ARRAY_TASK_ID is unset"},
		{[]string{"sweep", "worker", dir, "--point", "x"}, `--point "x": want a point index`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("SLURM_ARRAY_TASK_ID", "")
			_, stderr, status := run(t, "", tc.args...)
			if status == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("status %d stderr %q, want failure containing %q", status, stderr, tc.want)
			}
		})
	}
}

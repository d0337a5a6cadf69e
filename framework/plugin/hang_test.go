package plugin_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/privlm/privlm/framework/plugin"
)

// TestScriptWhoseChildKeepsStdoutOpen: a "plugin" that is a script leaving
// a child behind with its stdout open (and never handshaking) fails within
// the start timeout instead of hanging the host (`privlm plugins list` did).
func TestScriptWhoseChildKeepsStdoutOpen(t *testing.T) {
	for _, script := range []string{
		"#!/bin/sh\nsleep 600 &\nexit 0\n",         // exits, its child holds stdout
		"#!/bin/sh\nsleep 600 &\nexec sleep 600\n", // never handshakes
	} {
		path := filepath.Join(t.TempDir(), "plugin-script")
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			c, err := plugin.Open(path, plugin.Options{StartTimeout: 2 * time.Second, Log: testWriter{t}})
			if err == nil {
				c.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("script %q opened as a plugin", script)
			}
			t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
		case <-time.After(30 * time.Second):
			t.Fatalf("script %q: Open hung past 30 s (start timeout 2 s)", script)
		}
	}
}

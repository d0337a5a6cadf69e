//go:build linux

package plugin

import (
	"strings"
	"testing"
)

// TestCheckProtected: a run path under a system folder every sandboxed
// plugin may read is refused, naming it; paths elsewhere pass.
func TestCheckProtected(t *testing.T) {
	tmp := t.TempDir()
	for _, tc := range []struct {
		paths []string
		bad   string // the path the error must name; "" = accepted
	}{
		{[]string{tmp + "/out", tmp + "/models/m.bin"}, ""},
		{[]string{"/tmp/privlm-run"}, ""},
		{[]string{"/usrx/app/out"}, ""},
		{[]string{tmp, "/usr/src/app/out"}, "/usr/src/app/out"},
		{[]string{"/usr"}, "/usr"},
		{[]string{"/lib/x/cache"}, "/lib/x/cache"},
		{[]string{"/usr/local/../src/app/../../../tmp/ok"}, ""},
	} {
		err := checkProtected(tc.paths)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%v: %v, want accepted", tc.paths, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%v: error %v, want one naming %s", tc.paths, err, tc.bad)
		}
	}
}

package plugin

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCloseOnExecKeepsDescriptorsOpen: the shim marks inherited descriptors
// close-on-exec instead of closing them, so its own Go runtime's (the epoll
// descriptor its sysmon thread polls until the exec) stay valid. A shim
// that closed them aborted now and then with "runtime: netpoll failed".
func TestCloseOnExecKeepsDescriptorsOpen(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "inherited")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A descriptor like one a host opened without O_CLOEXEC.
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC != 0 {
		t.Fatalf("dup'd descriptor flags %d, %v: want open without close-on-exec", flags, err)
	}
	if err := closeOnExecFrom(fd); err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatalf("descriptor %d after closeOnExecFrom: %v (closed: the shim's runtime would lose its own descriptors before the exec)", fd, err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("descriptor %d flags %d: want close-on-exec (exec must not hand it to the plugin)", fd, flags)
	}
}

//go:build linux

package plugin

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// The host starts every plugin as /proc/self/exe (the host binary itself:
// privlm, a test binary, a notebook) with one of these argv[0]s. This
// package's init notices them before main runs: the shim restricts itself
// and execs the plugin, the probe only reports what the kernel allows.
const (
	shimArg0  = "privlm-plugin-sandbox"
	probeArg0 = "privlm-plugin-sandbox-probe"
)

// maxLandlockABI is the Landlock ABI the rules are written for (Linux 6.15+
// offers 7). Newer kernels are used at this level.
const maxLandlockABI = 7

// shimSpec is what the host tells the shim (argv[1], JSON).
type shimSpec struct {
	Binary   string   `json:"binary"`
	Dir      string   `json:"dir"` // working directory, TMPDIR and go-plugin socket directory (read-write)
	Read     []string `json:"read,omitempty"`
	Write    []string `json:"write,omitempty"`
	Devices  []string `json:"devices,omitempty"`
	Landlock bool     `json:"landlock"`
}

// System paths any plugin may read (and execute): the dynamic loader and
// shared libraries of a cgo-built or script plugin. Nothing of a run lives
// there.
var (
	systemDirs  = []string{"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"}
	systemFiles = []string{"/etc/ld.so.cache", "/etc/localtime", "/dev/urandom", "/dev/random", "/dev/zero"}
)

func init() {
	if len(os.Args) == 0 {
		return
	}
	switch os.Args[0] {
	case probeArg0:
		runProbe()
	case shimArg0:
		runShim()
	}
}

// sandboxRules are the Landlock rules of one plugin process. Everything not
// named is denied: other files, TCP bind/connect (ABI >= 4), signals to and
// abstract sockets of processes outside the sandbox (ABI >= 6).
func sandboxRules(s shimSpec) ([]landlock.Rule, error) {
	rules := []landlock.Rule{
		landlock.ROFiles(s.Binary),
		landlock.RODirs(systemDirs...).IgnoreIfMissing(),
		landlock.ROFiles(systemFiles...).IgnoreIfMissing(),
		landlock.RWFiles("/dev/null").IgnoreIfMissing(),
		landlock.RWDirs(s.Dir).WithRefer(),
	}
	for _, p := range s.Read {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			rules = append(rules, landlock.RODirs(p))
		} else {
			rules = append(rules, landlock.ROFiles(p))
		}
	}
	for _, p := range s.Write {
		rules = append(rules, landlock.RWDirs(p).WithRefer())
	}
	for _, p := range s.Devices {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			rules = append(rules, landlock.RWDirs(p))
		} else {
			rules = append(rules, landlock.RWFiles(p).WithIoctlDev().IgnoreIfMissing())
		}
	}
	return rules, nil
}

// runShim restricts this process and replaces it with the plugin. It never
// returns: a shim that cannot restrict itself exits without running the plugin.
func runShim() {
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "privlm plugin sandbox: %v (the plugin was not started)\n", err)
		os.Exit(70)
	}
	if len(os.Args) != 2 {
		fail(fmt.Errorf("want one argument, got %d", len(os.Args)-1))
	}
	var s shimSpec
	if err := json.Unmarshal([]byte(os.Args[1]), &s); err != nil {
		fail(err)
	}
	if err := os.Chdir(s.Dir); err != nil {
		fail(err)
	}
	// Capabilities, the bounding set and Landlock are per thread: this
	// thread does all of them and then execs.
	runtime.LockOSThread()
	if err := nullStdin(); err != nil {
		fail(fmt.Errorf("stdin: %w", err))
	}
	if err := dropCapabilities(); err != nil {
		fail(fmt.Errorf("capabilities: %w", err))
	}
	if s.Landlock {
		rules, err := sandboxRules(s)
		if err != nil {
			fail(err)
		}
		if err := restrictThisThread(rules...); err != nil {
			fail(fmt.Errorf("landlock: %w", err))
		}
	}
	// Nothing the host opened without O_CLOEXEC reaches the plugin: go-plugin
	// needs only stdout and stderr (its socket it creates itself).
	if err := closeOnExecFrom(3); err != nil {
		fail(fmt.Errorf("marking inherited descriptors close-on-exec: %w", err))
	}
	fail(syscall.Exec(s.Binary, []string{s.Binary}, os.Environ()))
}

// closeOnExecFrom marks every descriptor from first up close-on-exec: exec
// closes them. It must not close them itself: this process's Go runtime
// owns some (its epoll descriptor), and its sysmon thread polling a closed
// one between the close and the exec aborts the shim ("runtime: netpoll
// failed", a crash seen about once in tens of plugin starts when the shim
// closed them with close_range).
func closeOnExecFrom(first int) error {
	err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if err != unix.EINVAL && err != unix.ENOSYS { // kernels before 5.11 lack the flag
		return err
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < first {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return fmt.Errorf("descriptor %d: %w", fd, err)
		}
	}
	return nil
}

// nullStdin puts /dev/null on fd 0: go-plugin hands the plugin the host's
// stdin (a terminal or a pipe the user feeds).
func nullStdin() error {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
	if err != nil {
		return err
	}
	if fd != 0 {
		defer unix.Close(fd)
		return unix.Dup2(fd, 0)
	}
	return nil
}

// dropCapabilities empties this thread's bounding, ambient, inheritable,
// permitted and effective capability sets, so that the exec'd plugin has
// none even when the host runs as root (no user namespace then), and
// no_new_privs (set before Landlock) keeps setuid binaries from giving them
// back.
func dropCapabilities() error {
	last := 63
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	return unix.Capset(&hdr, &data[0])
}

// restrictThisThread enforces the rules on the calling OS thread only, which
// then must exec (the exec'd program keeps the thread's Landlock domain).
// Restricting every thread (Config.Restrict) needs a signal round to all
// threads, which hangs as PID 1 of a new PID namespace.
func restrictThisThread(rules ...landlock.Rule) error {
	fd, _, err := landlock.V7.BestEffort().NewRulesetFD(rules...)
	if err != nil {
		return err
	}
	if fd < 0 {
		return fmt.Errorf("no Landlock ruleset (unsupported kernel)")
	}
	defer syscall.Close(fd)
	runtime.LockOSThread() // never unlocked: the thread execs or the process exits
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	return llsys.LandlockRestrictSelf(fd, 0)
}

// runProbe exits 0 if this process (started with the namespaces under test)
// can also restrict itself with Landlock, 3 if it cannot.
func runProbe() {
	if len(os.Args) > 1 && os.Args[1] == "landlock" {
		if err := restrictThisThread(landlock.RODirs("/")); err != nil {
			os.Exit(3)
		}
	}
	os.Exit(0)
}

// sandboxCaps is what this host allows, probed once.
type sandboxCaps struct {
	abi   int
	flags uintptr
	why   []string // protections that are unavailable
}

var (
	capsOnce sync.Once
	caps     sandboxCaps
)

// nsAttr is the SysProcAttr that starts a child in the namespaces of flags
// (with a user namespace mapping this uid when not root).
func nsAttr(flags uintptr) *syscall.SysProcAttr {
	// Setsid: the plugin leads a new session without a controlling terminal
	// (no reading or injecting keystrokes into the user's shell via TIOCSTI)
	// and a new process group, which killGroup stops (without a PID
	// namespace, a child that keeps the plugin's stdout open would otherwise
	// outlive it and hang go-plugin).
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Cloneflags: flags, Setsid: true}
	if flags != 0 && os.Geteuid() != 0 {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
	}
	return a
}

// probeSandbox finds the Landlock ABI and the namespaces a child may get.
func probeSandbox() sandboxCaps {
	capsOnce.Do(func() {
		abi, err := llsys.LandlockGetABIVersion()
		switch {
		case err != nil || abi < 1:
			caps.why = append(caps.why, fmt.Sprintf("Landlock unavailable (%v): plugins are not restricted to their files and may open TCP connections", err))
			abi = 0
		case abi > maxLandlockABI:
			abi = maxLandlockABI
		}
		tryProbe := func(flags uintptr, arg string) bool {
			cmd := &exec.Cmd{Path: "/proc/self/exe", Args: []string{probeArg0, arg}, SysProcAttr: nsAttr(flags)}
			return cmd.Run() == nil
		}
		if abi > 0 && !tryProbe(0, "landlock") {
			caps.why = append(caps.why, fmt.Sprintf("Landlock ABI %d is offered but restricting a process failed", abi))
			abi = 0
		}
		if abi > 0 && abi < 4 {
			caps.why = append(caps.why, fmt.Sprintf("Landlock ABI %d < 4 does not restrict TCP", abi))
		}
		caps.abi = abi
		for _, f := range []uintptr{syscall.CLONE_NEWNET | syscall.CLONE_NEWPID, syscall.CLONE_NEWNET, syscall.CLONE_NEWPID} {
			if tryProbe(f, "") {
				caps.flags = f
				break
			}
		}
		if caps.flags&syscall.CLONE_NEWNET == 0 {
			caps.why = append(caps.why, "no new network namespace (plugins share the host's network"+map[bool]string{true: ", TCP is denied by Landlock)", false: ")"}[abi >= 4])
		}
		if caps.flags&syscall.CLONE_NEWPID == 0 {
			caps.why = append(caps.why, "no new PID namespace")
		}
		if abi == 0 {
			caps.why = append(caps.why, "without Landlock, /proc shows the host's processes and files")
		}
	})
	return caps
}

// pluginCmd is the command that starts binary: through the sandbox shim
// unless PRIVLM_PLUGIN_SANDBOX=off. dir is the plugin's own empty directory.
func pluginCmd(binary, dir string, opts Options) (*exec.Cmd, Isolation, error) {
	if os.Getenv(SandboxEnv) == "off" {
		cmd := exec.Command(binary)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), opts.Env...)
		cmd.SysProcAttr = nsAttr(0)
		iso := Isolation{Sandbox: "off", Env: "inherited"}
		warnDegraded(iso, []string{SandboxEnv + "=off: plugins run unrestricted"})
		return cmd, iso, nil
	}
	c := probeSandbox()
	if c.abi > 0 { // without Landlock every path is readable anyway (and said so)
		if err := checkProtected(append([]string{dir}, opts.Protect...)); err != nil {
			return nil, Isolation{}, err
		}
	}
	spec := shimSpec{Binary: binary, Dir: dir, Landlock: c.abi > 0}
	for _, p := range opts.Read {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, Isolation{}, err
		}
		spec.Read = append(spec.Read, abs)
	}
	for _, p := range opts.Write {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, Isolation{}, err
		}
		spec.Write = append(spec.Write, abs)
	}
	spec.Devices = opts.Devices
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, Isolation{}, err
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{shimArg0, string(b)},
		Dir:         dir,
		Env:         scrubbedEnv(dir, append(append([]string{}, opts.Env...), "PLUGIN_UNIX_SOCKET_DIR="+dir)),
		SysProcAttr: nsAttr(c.flags),
	}
	iso := Isolation{Sandbox: "on", LandlockABI: c.abi, NetNS: c.flags&syscall.CLONE_NEWNET != 0,
		PIDNS: c.flags&syscall.CLONE_NEWPID != 0, Env: "scrubbed"}
	warnDegraded(iso, c.why)
	return cmd, iso, nil
}

// checkProtected refuses data paths that lie under a system folder or file
// every sandboxed plugin may read (systemDirs, systemFiles): such a grant
// would hand the run's data to any attack plugin. Paths are compared
// absolute and with symlinks resolved (as far as they exist) on both sides.
func checkProtected(paths []string) error {
	var granted []string
	for _, g := range append(append([]string{}, systemDirs...), systemFiles...) {
		granted = append(granted, g)
		if r, err := filepath.EvalSymlinks(g); err == nil && r != g {
			granted = append(granted, r)
		}
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		forms := []string{abs}
		if r, err := filepath.EvalSymlinks(abs); err == nil && r != abs {
			forms = append(forms, r)
		}
		for _, f := range forms {
			for _, g := range granted {
				if f == g || strings.HasPrefix(f, g+string(filepath.Separator)) {
					return fmt.Errorf("plugin sandbox: the run's path %s lies under %s, which every plugin may read; move it (--out, models, PRIVLM_CACHE, TMPDIR) outside %v", p, g, systemDirs)
				}
			}
		}
	}
	return nil
}

// killGroup kills the plugin's process group: the plugin and whatever it
// started, even after the plugin itself exited.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

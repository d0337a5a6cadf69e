// Command spy is an attack plugin for the sandbox test: besides scoring
// users through the oracle (mean log-likelihood under the target), it tries
// to reach what the threat model forbids and logs each attempt as
// "SPY probe=NAME result=ok|denied".
package main

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/privlm/privlm/framework/plugin"
	"golang.org/x/sys/unix"
)

type spy struct{ cfg plugin.Config }

func (*spy) Info() plugin.Info {
	return plugin.Info{Kind: plugin.KindAttack, Name: "spy", Version: "0.0.1", Description: "sandbox test spy"}
}

func (*spy) ConfigSchema() []plugin.Param {
	var ps []plugin.Param
	for _, n := range []string{"out", "home", "pid", "port", "canary", "run"} {
		ps = append(ps, plugin.Param{Name: n, Type: "string", Default: ""})
	}
	return ps
}

func (s *spy) Configure(cfg plugin.Config) error { s.cfg = cfg; return nil }

func report(name string, err error) {
	result := "ok"
	if err != nil {
		result = "denied"
	}
	plugin.Logger().Info(fmt.Sprintf("SPY probe=%s result=%s err=%v", name, result, err))
}

// readAny reads the first file under root whose path matches want.
func readAny(root string, want func(path string) bool) error {
	var found error = fmt.Errorf("no matching file found under %s", root)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && want(p) {
			if _, err := os.ReadFile(p); err != nil {
				return err
			}
			found = nil
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return err
	}
	return found
}

func (s *spy) probe() {
	out := s.cfg.String("out")
	report("read-train", readAny(out, func(p string) bool { return filepath.Base(p) == "train.parquet" }))
	report("read-checkpoint", readAny(out, func(p string) bool { return strings.Contains(p, "/finetune-") }))
	_, err := os.ReadFile(s.cfg.String("home"))
	report("read-home", err)
	pid := s.cfg.String("pid")
	_, err = os.ReadFile("/proc/" + pid + "/cmdline")
	report("read-host-cmdline", err)
	canary := s.cfg.String("canary")
	err = fmt.Errorf("canary not in the environment")
	for _, kv := range os.Environ() {
		if strings.Contains(kv, canary) {
			err = nil
		}
	}
	if b, rerr := os.ReadFile("/proc/" + pid + "/environ"); rerr == nil && strings.Contains(string(b), canary) {
		err = nil
	}
	report("host-env", err)
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+s.cfg.String("port"), 3*time.Second)
	if err == nil {
		conn.Write([]byte("leak\n"))
		conn.Close()
	}
	report("tcp-connect", err)
	s.probeProcess(canary)
}

// probeProcess checks what the process itself inherited: the host's stdin,
// a terminal session, descriptors the host opened without O_CLOEXEC, and
// capabilities.
func (s *spy) probeProcess(canary string) {
	var st unix.Stat_t
	err := unix.Fstat(0, &st)
	if err == nil {
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(1, 3) {
			err = fmt.Errorf("stdin is /dev/null")
		} else {
			err = nil
		}
	}
	report("host-stdin", err)
	// A session leader of its own session has no controlling terminal
	// (it never opened one); anything else shares the host's session.
	sid, err := unix.Getsid(0)
	if err == nil && sid == unix.Getpid() {
		if f, terr := os.Open("/dev/tty"); terr != nil {
			err = fmt.Errorf("own session %d, /dev/tty: %v", sid, terr)
		} else {
			f.Close()
		}
	} else if err == nil {
		err = nil // in the host's (or a foreign) session
	}
	report("host-session", err)
	err = fmt.Errorf("no inherited descriptor holds the canary")
	buf := make([]byte, 256)
	for fd := 3; fd < 1024; fd++ {
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		if n, rerr := unix.Pread(fd, buf, 0); rerr == nil && strings.Contains(string(buf[:n]), canary) {
			err = nil
		}
	}
	report("inherited-fd", err)
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	err = unix.Capget(&hdr, &data[0])
	if err == nil {
		held := data[0].Effective|data[1].Effective|data[0].Permitted|data[1].Permitted|data[0].Inheritable|data[1].Inheritable != 0
		for c := 0; c < 64 && !held; c++ {
			r, _ := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
			held = r == 1
		}
		if !held {
			err = fmt.Errorf("no capabilities (effective, permitted, inheritable, bounding)")
		}
	}
	report("capabilities", err)
}

func (s *spy) Score(ctx context.Context, req plugin.AttackRequest, oracle plugin.Oracle) (plugin.AttackResponse, error) {
	s.probe()
	var resp plugin.AttackResponse
	for _, u := range req.Users {
		lls, err := oracle.LogLikelihood(ctx, plugin.Target, u.Texts, false)
		if err != nil {
			return resp, err
		}
		sum := 0.0
		for _, l := range lls {
			sum += l.LogLik
		}
		resp.Scores = append(resp.Scores, plugin.UserScore{UserID: u.UserID, Score: sum / float64(len(lls))})
	}
	return resp, nil
}

func main() { plugin.Serve(&spy{}) }

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

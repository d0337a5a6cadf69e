//go:build unix

package sweep_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/privlm/privlm/framework/experiment"
	"github.com/privlm/privlm/framework/sweep"
)

// startSlurm starts a single-node Slurm (munged, slurmctld, slurmd) from a
// slurm.conf in a temp dir and points the Slurm commands at it
// (SLURM_CONF). It skips where Slurm or munge is not installed or the test
// is not root; the daemons it started are stopped by PID at the end.
func startSlurm(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "munged"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err := os.Stat("/usr/sbin/" + bin); err != nil {
				t.Skipf("Slurm is not installed here (%s not found; apt-get install slurmd slurmctld slurm-client munge)", bin)
			}
		}
	}
	if os.Getuid() != 0 {
		t.Skip("the single-node Slurm test starts slurmctld/slurmd and must run as root")
	}
	host, err := exec.Command("hostname", "-s").Output()
	if err != nil {
		t.Fatal(err)
	}
	node := strings.TrimSpace(string(host))
	tmp, err := os.MkdirTemp("", "privlm-slurm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	stopPID := func(name, pidFile string) {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			return
		}
		syscall.Kill(pid, syscall.SIGTERM)
		for range 100 {
			if syscall.Kill(pid, 0) != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("%s (pid %d) did not stop on SIGTERM; killing it", name, pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	// munge: reuse a working munged, else start one as the munge user.
	if exec.Command("bash", "-c", "munge -n | unmunge").Run() != nil {
		for _, c := range [][]string{{"mkdir", "-p", "/run/munge"}, {"chown", "munge:munge", "/run/munge"},
			{"chown", "-R", "munge:munge", "/var/log/munge", "/var/lib/munge", "/etc/munge"}} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v: %s", c, err, out)
			}
		}
		if out, err := exec.Command("runuser", "-u", "munge", "--", "/usr/sbin/munged", "--pid-file="+"/run/munge/privlm-test.pid").CombinedOutput(); err != nil {
			t.Fatalf("munged: %v: %s", err, out)
		}
		t.Cleanup(func() { stopPID("munged", "/run/munge/privlm-test.pid") })
		if out, err := exec.Command("bash", "-c", "munge -n | unmunge").CombinedOutput(); err != nil {
			t.Fatalf("munge does not work: %v: %s", err, out)
		}
	}
	ports := make([]int, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	for _, d := range []string{"state", "spool"} {
		os.MkdirAll(filepath.Join(tmp, d), 0o755)
	}
	conf := filepath.Join(tmp, "slurm.conf")
	text := fmt.Sprintf(`ClusterName=privlmtest
SlurmctldHost=%[1]s
SlurmUser=root
SlurmdUser=root
SlurmctldPort=%[2]d
SlurmdPort=%[3]d
AuthType=auth/munge
StateSaveLocation=%[4]s/state
SlurmdSpoolDir=%[4]s/spool
SlurmctldPidFile=%[4]s/slurmctld.pid
SlurmdPidFile=%[4]s/slurmd.pid
SlurmctldLogFile=%[4]s/slurmctld.log
SlurmdLogFile=%[4]s/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=%[1]s CPUs=2 State=UNKNOWN
PartitionName=test Nodes=%[1]s Default=YES MaxTime=INFINITE State=UP
`, node, ports[0], ports[1], tmp)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLURM_CONF", conf)
	if out, err := exec.Command("slurmctld", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("slurmctld: %v: %s", err, out)
	}
	t.Cleanup(func() { stopPID("slurmctld", filepath.Join(tmp, "slurmctld.pid")) })
	if out, err := exec.Command("slurmd", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("slurmd: %v: %s", err, out)
	}
	t.Cleanup(func() { stopPID("slurmd", filepath.Join(tmp, "slurmd.pid")) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := exec.Command("sinfo", "-h", "-o", "%T").Output()
		if s := strings.TrimSpace(string(out)); s == "idle" {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(tmp, "slurmctld.log"))
			t.Fatalf("the Slurm node did not become idle (sinfo: %q)\n%s", out, log)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestSlurmSweep runs the tiny 4-point sweep through a real single-node
// Slurm: a shared job, then an array depending on it. One array task is
// killed with scancel while it runs: status reports that point failed by
// name, the others done; a resubmission runs only it; the collected tables
// are identical to the local executor's.
func TestSlurmSweep(t *testing.T) {
	startSlurm(t)
	base, points := tinySweep(t)
	dir := filepath.Join(t.TempDir(), "sweep")
	if _, err := experiment.PlanSweep(base, points, dir); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := sweep.Slurm{CPUs: 1, Time: "00:30:00", Command: workerCommand}
	start := time.Now()
	sub, err := s.Submit(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "slurm", "points.sbatch")); err != nil || !strings.Contains(string(b), "--point \"$SLURM_ARRAY_TASK_ID\"") || !strings.Contains(string(b), "#SBATCH --cpus-per-task=1") {
		t.Fatalf("points.sbatch: %v\n%s", err, b)
	}
	// Kill the first point seen running.
	var killed sweep.PointState
	for deadline := time.Now().Add(10 * time.Minute); killed.Job == ""; {
		states, err := sweep.Status(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range states {
			if st.State == "running" && killed.Job == "" {
				killed = st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no point started running: %+v", states)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, err := exec.Command("scancel", killed.Job).CombinedOutput(); err != nil {
		t.Fatalf("scancel %s: %v: %s", killed.Job, err, out)
	}
	states, err := sweep.Wait(ctx, dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	failed := sweep.Failed(states)
	if len(failed) != 1 || failed[0].Name != killed.Name || failed[0].Point != killed.Point {
		t.Fatalf("after scancel %s (%s): states %+v, want only it failed", killed.Job, killed.Name, states)
	}
	for _, st := range states {
		if st.Index != killed.Index && st.State != "done" {
			t.Errorf("point %s: %s, want done", st.Name, st.State)
		}
	}
	if _, err := experiment.CollectSweep(dir); err == nil || !strings.Contains(err.Error(), killed.Name) {
		t.Errorf("collect with a failed point: %v, want an error naming %s", err, killed.Name)
	}
	re, err := s.Resubmit(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(re.Points) != 1 || re.Points[0] != killed.Index || re.Array == sub.Array {
		t.Fatalf("resubmission %+v, want only point %d", re, killed.Index)
	}
	if states, err = sweep.Wait(ctx, dir, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if st.State != "done" {
			t.Errorf("after resubmission: point %s: %s", st.Name, st.State)
		}
	}
	if _, err := experiment.CollectSweep(dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("Slurm (2 CPUs, 1 per task; includes the kill and resubmission): %.1fs", time.Since(start).Seconds())
	sameResults(t, localSweep(t), dir)
}

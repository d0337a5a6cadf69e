package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/privlm/privlm/framework/plugin/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultTimeout bounds each call to a plugin.
const DefaultTimeout = 30 * time.Minute

// Options configure how the host starts a plugin.
type Options struct {
	// SHA256 (hex), if set, pins the binary: a changed binary is refused before it runs.
	SHA256 string
	// Timeout bounds each call (DefaultTimeout if 0).
	Timeout time.Duration
	// StartTimeout bounds start-up and handshake (10 s if 0).
	StartTimeout time.Duration
	// Log receives the plugin's log lines (os.Stderr if nil).
	Log io.Writer
	// Env adds environment variables for the plugin process (its
	// environment is otherwise scrubbed: see Isolation).
	Env []string
	// Read lists the files and directories the sandboxed plugin may read
	// besides its binary and system libraries (a fine-tuner's inputs).
	Read []string
	// Write lists the directories it may write (a stage's output directory).
	Write []string
	// Devices lists device files (read-write, with ioctl) and directories
	// (read-write) a fine-tuner on an accelerator needs (/dev/nvidia*).
	Devices []string
	// Protect lists the run's data paths (its output and stage folders,
	// models, caches): a sandboxed plugin is refused, naming the path, if
	// one of them lies under a system folder every plugin may read (/usr,
	// /lib, ...; e.g. a container's WORKDIR /usr/src/app).
	Protect []string
}

// Client is the host's handle on a running plugin. It is safe for
// sequential use; Close stops the process.
type Client struct {
	path    string
	info    Info
	schema  []Param
	client  *goplugin.Client
	remote  *remote
	timeout time.Duration
	iso     Isolation
	dir     string // the plugin's own working directory, removed by Close
	cmd     *exec.Cmd
}

// Open starts the plugin binary at path, checks its handshake and API
// version, and reads its Info.
func Open(path string, opts Options) (*Client, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	logOut := opts.Log
	if logOut == nil {
		logOut = os.Stderr
	}
	if opts.SHA256 != "" {
		// Checked here, not by go-plugin: the process it starts is the sandbox shim.
		want, err := hex.DecodeString(opts.SHA256)
		if err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("plugin %s: pinned sha256 %q is not 64 hex digits", path, opts.SHA256)
		}
		if got, err := SHA256File(abs); err != nil {
			return nil, fmt.Errorf("plugin %s: %w", path, err)
		} else if got != hex.EncodeToString(want) {
			return nil, fmt.Errorf("plugin %s: %w", path, goplugin.ErrChecksumsDoNotMatch)
		}
	}
	dir, err := os.MkdirTemp("", "privlm-plugin-")
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	cmd, iso, err := pluginCmd(abs, dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	cfg := &goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{APIVersion: {pluginName: &grpcPlugin{}}},
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     opts.StartTimeout,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin." + filepath.Base(abs), Output: logOut, Level: hclog.Info}),
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes))},
	}
	gc := goplugin.NewClient(cfg)
	fail := func(err error) (*Client, error) {
		killGroup(cmd)
		gc.Kill()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	conn, err := gc.Client()
	if err != nil {
		return fail(err)
	}
	raw, err := conn.Dispense(pluginName)
	if err != nil {
		return fail(err)
	}
	c := &Client{path: abs, client: gc, remote: raw.(*remote), timeout: opts.Timeout, iso: iso, dir: dir, cmd: cmd}
	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()
	info, err := c.remote.rpc.Info(ctx, &pb.Empty{})
	if err != nil {
		return fail(fmt.Errorf("reading its info: %w", err))
	}
	c.info = Info{Kind: Kind(info.Kind), Name: info.Name, Version: info.Version, APIVersion: int(info.ApiVersion), Description: info.Description}
	if c.info.APIVersion != APIVersion {
		return fail(fmt.Errorf("API version %d, this privlm speaks %d", c.info.APIVersion, APIVersion))
	}
	if err := json.Unmarshal(info.ConfigSchemaJson, &c.schema); err != nil {
		return fail(fmt.Errorf("its config schema is not valid JSON: %w", err))
	}
	return c, nil
}

// SHA256File returns the hex sha256 of a file, for Options.SHA256.
func SHA256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Info is the plugin's identity.
func (c *Client) Info() Info { return c.info }

// Path is the plugin binary.
func (c *Client) Path() string { return c.path }

// ConfigSchema is the plugin's parameter list.
func (c *Client) ConfigSchema() []Param { return c.schema }

// Isolation is what the host enforced on the plugin process.
func (c *Client) Isolation() Isolation { return c.iso }

// Close stops the plugin process and removes its working directory.
func (c *Client) Close() {
	// go-plugin's Kill waits for the plugin's stdout to close, which a child
	// of the plugin can hold open: after a grace period, kill the group.
	done := make(chan struct{})
	go func() { c.client.Kill(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		killGroup(c.cmd)
		<-done
	}
	killGroup(c.cmd)
	os.RemoveAll(c.dir)
}

// call runs one RPC with the deadline, turning transport failures into errors
// that name the plugin.
func (c *Client) call(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	if c.client.Exited() {
		return fmt.Errorf("plugin %s (%s): the plugin process has exited; %s not run", c.info.Name, c.path, what)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := fn(ctx)
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || st.Code() == codes.DeadlineExceeded:
		c.client.Kill() // a hung plugin is stopped, not waited for
		return fmt.Errorf("plugin %s: %s did not finish within %v (stopped)", c.info.Name, what, c.timeout)
	case st.Code() == codes.Unavailable || st.Code() == codes.Canceled && c.client.Exited():
		c.client.Kill()
		return fmt.Errorf("plugin %s: crashed or exited during %s: %s", c.info.Name, what, st.Message())
	default:
		return fmt.Errorf("plugin %s: %s: %s", c.info.Name, what, st.Message())
	}
}

// Configure checks cfg against the schema and passes it to the plugin.
func (c *Client) Configure(ctx context.Context, cfg Config) error {
	checked, err := CheckConfig(c.schema, cfg)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", c.info.Name, err)
	}
	b, err := json.Marshal(checked)
	if err != nil {
		return err
	}
	return c.call(ctx, "configure", func(ctx context.Context) error {
		_, err := c.remote.rpc.Configure(ctx, &pb.ConfigureRequest{ConfigJson: b})
		return err
	})
}

// Attack runs an attack plugin with the host's oracle and checks its answer:
// exactly one finite score per requested user.
func (c *Client) Attack(ctx context.Context, req AttackRequest, oracle Oracle) (AttackResponse, error) {
	if c.info.Kind != KindAttack {
		return AttackResponse{}, fmt.Errorf("plugin %s is a %s, not an attack", c.info.Name, c.info.Kind)
	}
	id := c.remote.broker.NextId()
	go c.remote.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes))
		s := grpc.NewServer(opts...)
		pb.RegisterOracleServer(s, &oracleServer{oracle: oracle})
		return s
	})
	preq := &pb.AttackRequest{OracleBrokerId: id}
	for _, u := range req.Users {
		preq.Users = append(preq.Users, &pb.UserSamples{UserId: u.UserID, Texts: u.Texts})
	}
	var presp *pb.AttackResponse
	err := c.call(ctx, "attack", func(ctx context.Context) error {
		var err error
		presp, err = c.remote.rpc.Attack(ctx, preq)
		return err
	})
	if err != nil {
		return AttackResponse{}, err
	}
	out := AttackResponse{}
	want := map[string]int{}
	for _, u := range req.Users {
		want[u.UserID] = len(u.Texts)
	}
	seen := map[string]bool{}
	for _, s := range presp.Scores {
		n, ok := want[s.UserId]
		switch {
		case !ok:
			return AttackResponse{}, fmt.Errorf("plugin %s: scored user %q, who was not asked for", c.info.Name, s.UserId)
		case seen[s.UserId]:
			return AttackResponse{}, fmt.Errorf("plugin %s: scored user %q twice", c.info.Name, s.UserId)
		case math.IsNaN(s.Score) || math.IsInf(s.Score, 0):
			return AttackResponse{}, fmt.Errorf("plugin %s: score of user %q is %v", c.info.Name, s.UserId, s.Score)
		case len(s.SampleScores) != 0 && len(s.SampleScores) != n:
			return AttackResponse{}, fmt.Errorf("plugin %s: user %q has %d sample scores for %d samples", c.info.Name, s.UserId, len(s.SampleScores), n)
		}
		seen[s.UserId] = true
		out.Scores = append(out.Scores, UserScore{UserID: s.UserId, Score: s.Score, SampleScores: s.SampleScores})
	}
	if len(seen) != len(want) {
		return AttackResponse{}, fmt.Errorf("plugin %s: returned %d scores for %d users", c.info.Name, len(seen), len(want))
	}
	return out, nil
}

func (c *Client) callJSON(ctx context.Context, kind Kind, what string, req, resp any,
	rpc func(context.Context, *pb.JSONMessage, ...grpc.CallOption) (*pb.JSONMessage, error)) error {
	if c.info.Kind != kind {
		return fmt.Errorf("plugin %s is a %s, not a %s", c.info.Name, c.info.Kind, kind)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var out *pb.JSONMessage
	if err := c.call(ctx, what, func(ctx context.Context) error {
		var err error
		out, err = rpc(ctx, &pb.JSONMessage{Json: b})
		return err
	}); err != nil {
		return err
	}
	if err := json.Unmarshal(out.Json, resp); err != nil {
		return fmt.Errorf("plugin %s: %s answered invalid JSON: %w", c.info.Name, what, err)
	}
	return nil
}

// FineTune runs a fine-tuner plugin.
func (c *Client) FineTune(ctx context.Context, req FineTuneRequest) (FineTuneResponse, error) {
	var resp FineTuneResponse
	err := c.callJSON(ctx, KindFineTuner, "fine-tune", req, &resp, c.remote.rpc.FineTune)
	if err == nil && resp.Best == "" {
		err = fmt.Errorf("plugin %s: fine-tune named no best checkpoint", c.info.Name)
	}
	return resp, err
}

// Mitigate runs a mitigation plugin.
func (c *Client) Mitigate(ctx context.Context, req MitigationRequest) (MitigationResponse, error) {
	var resp MitigationResponse
	err := c.callJSON(ctx, KindMitigation, "mitigate", req, &resp, c.remote.rpc.Mitigate)
	return resp, err
}

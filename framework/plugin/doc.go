// Package plugin is privlm's plugin SDK. Attacks, fine-tuners and
// mitigations run as separate processes (hashicorp/go-plugin over gRPC); an
// attack reaches the models only through an Oracle of log-likelihoods, and
// the host's sandbox (below) keeps it from reaching them any other way.
//
// # Sandbox
//
// Open starts every plugin through a shim: the host re-executes its own
// binary (/proc/self/exe, with argv[0] "privlm-plugin-sandbox"; this
// package's init runs it before main), which restricts itself and execs the
// plugin. On Linux with Landlock (5.13+; ABI 4 for TCP, Linux 6.7+; ABI 6 for
// scoping, 6.12+; rules written for ABI 7, 6.15+, used at the kernel's level)
// and permission to create namespaces, a plugin process:
//
//   - reads and executes only its own binary, /usr, /lib, /lib64, /lib32,
//     /bin, /sbin, /etc/ld.so.cache, /etc/localtime, /dev/null (read-write),
//     /dev/zero, /dev/random and /dev/urandom; everything else (the run's
//     --out and stages, $HOME, /proc, /sys, /tmp, other /etc files) is denied;
//   - writes only its own empty working directory (also its TMPDIR, HOME and
//     go-plugin socket directory, removed on Close) and, for fine-tuners and
//     mitigations, the stage output directory (Options.Write); fine-tuners and
//     mitigations also read exactly their inputs (Options.Read: base
//     checkpoint, tokenizer, training and validation Parquet);
//   - cannot bind or connect TCP sockets (Landlock ABI >= 4) and runs in a new,
//     empty network namespace (no interface but a down loopback);
//   - runs in a new PID namespace (it is PID 1 and sees no host process by
//     PID; /proc is denied anyway) and in its own session and process group
//     (no controlling terminal: it cannot read or inject keystrokes into the
//     user's terminal), all of which dies with it and with the host
//     (Pdeathsig);
//   - gets /dev/null as stdin (go-plugin would hand it the host's), and no
//     descriptor of the host but stdout and stderr (all fds >= 3 are closed
//     before exec, even ones the host opened without O_CLOEXEC);
//   - has no capabilities (bounding, ambient, inheritable, permitted and
//     effective sets emptied before exec; no_new_privs keeps setuid binaries
//     from restoring them), also when the host runs as root;
//   - cannot signal processes or reach abstract unix sockets outside its
//     Landlock domain (ABI >= 6);
//   - gets a scrubbed environment: go-plugin's variables, TMPDIR, HOME, PATH,
//     the GOMLX_*, GOPJRT_*, XLA_FLAGS, CUDA_VISIBLE_DEVICES and
//     NVIDIA_VISIBLE_DEVICES of the host, and Options.Env.
//
// Because the system folders above are readable by every plugin, Open
// refuses (fail closed, naming the path) to start a sandboxed plugin when one
// of the run's data paths (Options.Protect: --out, stages, models, the
// dataset source, the plugin cache) or the plugin's own temporary directory
// lies under one of them (e.g. a container's WORKDIR /usr/src/app).
//
// Not enforced: connecting to pathname unix sockets (the broker's oracle
// socket needs it; Landlock ABI < 9 cannot restrict it, so a plugin that
// guesses the path of another host socket may connect to it; this kernel
// offers ABI 7); UDP on kernels without a network namespace; reading the
// system directories listed above; for XLA fine-tuners, /proc, /sys and
// /dev/shm (read, resp. read-write: PJRT needs them); CPU, memory and time (only the per-call deadline); covert
// channels through timing. Client.Isolation says what each process got
// (Sandbox, LandlockABI, NetNS, PIDNS, Env) and experiment manifests record
// it as plugin_isolation. Where a protection is unavailable (no Landlock,
// namespaces refused, a non-Linux host) the host warns once on stderr and
// runs the plugin with what is left. PRIVLM_PLUGIN_SANDBOX=off turns the
// sandbox off (for debugging a plugin; recorded as sandbox "off").
//
// A plugin is a main package that calls Serve:
//
//	type myAttack struct{ k float64 }
//
//	func (*myAttack) Info() plugin.Info {
//		return plugin.Info{Kind: plugin.KindAttack, Name: "my-attack", Version: "1.0.0"}
//	}
//	func (*myAttack) ConfigSchema() []plugin.Param {
//		return []plugin.Param{{Name: "k", Type: "float", Default: 0.5}}
//	}
//	func (a *myAttack) Configure(cfg plugin.Config) error { a.k = cfg.Float("k"); return nil }
//	func (a *myAttack) Score(ctx context.Context, req plugin.AttackRequest, o plugin.Oracle) (plugin.AttackResponse, error) {
//		... o.LogLikelihood(ctx, plugin.Target, texts, false) ...
//	}
//
//	func main() { plugin.Serve(&myAttack{}) }
//
// plugins/examples/length-ratio is a complete one in its own module.
//
// Checklist for a new plugin:
//
//   - Pick the kind and implement its interface: Attack (Score), FineTuner
//     (FineTune) or Mitigation (Apply), plus Info, ConfigSchema and Configure.
//     Embed NoConfig if there is nothing to configure.
//   - Info: a unique Name (also the binary's file name), a Version you bump
//     when results can change (it keys privlm's result caches).
//   - ConfigSchema: every parameter with a type and a default; Configure gets
//     values already checked, defaults filled in, and rejects bad values with
//     an error that says what is wanted.
//   - Never write to stdout (it carries the handshake); log with Logger().
//   - Attack: return exactly one finite score per requested user, higher
//     meaning "more likely a member"; optional SampleScores in request order.
//     Batch oracle calls (hundreds of texts per call, not one).
//   - FineTuner: write checkpoints, a training-log Parquet and (for DP) a
//     privacy report under OutputDir; name the Best checkpoint.
//   - Mitigation: write transformed data under OutputDir and return its path,
//     and/or return Settings (key=value overrides for the fine-tuner).
//   - Build: go build -o ~/.cache/privlm/plugins/NAME . (or any directory
//     in $PRIVLM_PLUGINS); check with `privlm plugins describe NAME`.
//
// The host side (Open, Client) starts a binary in the sandbox, checks the handshake and API
// version (and the sha256, when pinned), bounds every call with a deadline,
// forwards the plugin's log, validates answers, and never hangs on a plugin
// that crashed, exited or hung: the error names the plugin. Plugins die with
// the host (Pdeathsig on Linux). Built-in plugins live in plugins/ and are
// built on demand by BuildBuiltins.
package plugin

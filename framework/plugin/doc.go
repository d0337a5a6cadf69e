// Package plugin is privlm's plugin SDK. Attacks, fine-tuners and
// mitigations run as separate processes (hashicorp/go-plugin over gRPC); an
// attack reaches the models only through an Oracle of log-likelihoods, so the
// process boundary enforces the threat model: no weights, no training data.
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
// The host side (Open, Client) starts a binary, checks the handshake and API
// version (and the sha256, when pinned), bounds every call with a deadline,
// forwards the plugin's log, validates answers, and never hangs on a plugin
// that crashed, exited or hung: the error names the plugin. Plugins die with
// the host (Pdeathsig on Linux). Built-in plugins live in plugins/ and are
// built on demand by BuildBuiltins.
package plugin

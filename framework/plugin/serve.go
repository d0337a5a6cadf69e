package plugin

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Serve is the whole main of a plugin:
//
//	func main() { plugin.Serve(myAttack{}) }
//
// It never returns. A plugin must print nothing on stdout before Serve (the
// handshake uses it); log with Logger instead.
func Serve(impl Plugin) {
	info := impl.Info()
	switch info.Kind {
	case KindAttack:
		_, ok := impl.(Attack)
		mustBe(ok, info, "Attack")
	case KindFineTuner:
		_, ok := impl.(FineTuner)
		mustBe(ok, info, "FineTuner")
	case KindMitigation:
		_, ok := impl.(Mitigation)
		mustBe(ok, info, "Mitigation")
	default:
		fmt.Fprintf(os.Stderr, "privlm plugin %q: unknown kind %q (want attack, finetuner or mitigation)\n", info.Name, info.Kind)
		os.Exit(1)
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{APIVersion: {pluginName: &grpcPlugin{impl: impl}}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes))
			return grpc.NewServer(opts...)
		},
		Logger: Logger(),
	})
}

func mustBe(ok bool, info Info, iface string) {
	if !ok {
		fmt.Fprintf(os.Stderr, "privlm plugin %q says it is a %s but does not implement plugin.%s\n", info.Name, info.Kind, iface)
		os.Exit(1)
	}
}

// stderr is the process's stderr before go-plugin redirects it: go-plugin
// forwards what is written there to the host's log.
var stderr = os.Stderr

// Logger is the logger for plugin code: its lines reach the host's log (a
// plugin's stdout belongs to the protocol).
func Logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: stderr, JSONFormat: true, Level: hclog.Debug})
}

package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/privlm/privlm/framework/plugin/pb"
	"google.golang.org/grpc"
)

// MaxMessageBytes is the gRPC message size limit on both sides (gRPC's
// default, 4 MiB, is too small for real batches).
const MaxMessageBytes = 512 << 20

// pluginName is the name go-plugin dispenses; one plugin per binary.
const pluginName = "privlm"

// grpcPlugin adapts an implementation to go-plugin's GRPCPlugin.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl Plugin // nil on the host side
}

func (p *grpcPlugin) GRPCServer(broker *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, &server{impl: p.impl, broker: broker})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, broker *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &remote{rpc: pb.NewPluginClient(c), broker: broker}, nil
}

// remote is the host's handle on a plugin process.
type remote struct {
	rpc    pb.PluginClient
	broker *goplugin.GRPCBroker
}

// server runs in the plugin process.
type server struct {
	pb.UnimplementedPluginServer
	impl   Plugin
	broker *goplugin.GRPCBroker
}

// guard turns a panic in plugin code into an error, so one bad call does not
// kill the plugin.
func guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("plugin panicked: %v\n%s", r, debug.Stack())
	}
}

func (s *server) Info(context.Context, *pb.Empty) (resp *pb.InfoResponse, err error) {
	defer guard(&err)
	info := s.impl.Info()
	schema, err := json.Marshal(s.impl.ConfigSchema())
	if err != nil {
		return nil, err
	}
	return &pb.InfoResponse{Kind: string(info.Kind), Name: info.Name, Version: info.Version,
		ApiVersion: APIVersion, Description: info.Description, ConfigSchemaJson: schema}, nil
}

func (s *server) Configure(_ context.Context, req *pb.ConfigureRequest) (_ *pb.Empty, err error) {
	defer guard(&err)
	var cfg Config
	if err := json.Unmarshal(req.ConfigJson, &cfg); err != nil {
		return nil, err
	}
	return &pb.Empty{}, s.impl.Configure(cfg)
}

func (s *server) Attack(ctx context.Context, req *pb.AttackRequest) (resp *pb.AttackResponse, err error) {
	defer guard(&err)
	a, ok := s.impl.(Attack)
	if !ok {
		return nil, fmt.Errorf("plugin %s is not an attack", s.impl.Info().Name)
	}
	conn, err := s.broker.Dial(req.OracleBrokerId)
	if err != nil {
		return nil, fmt.Errorf("connecting to the host's oracle: %w", err)
	}
	defer conn.Close()
	oracle := &oracleClient{rpc: pb.NewOracleClient(conn)}
	areq := AttackRequest{Users: make([]UserSamples, len(req.Users))}
	for i, u := range req.Users {
		areq.Users[i] = UserSamples{UserID: u.UserId, Texts: u.Texts}
	}
	out, err := a.Score(ctx, areq, oracle)
	if err != nil {
		return nil, err
	}
	resp = &pb.AttackResponse{}
	for _, sc := range out.Scores {
		resp.Scores = append(resp.Scores, &pb.UserScore{UserId: sc.UserID, Score: sc.Score, SampleScores: sc.SampleScores})
	}
	return resp, nil
}

func (s *server) FineTune(ctx context.Context, msg *pb.JSONMessage) (resp *pb.JSONMessage, err error) {
	defer guard(&err)
	f, ok := s.impl.(FineTuner)
	if !ok {
		return nil, fmt.Errorf("plugin %s is not a fine-tuner", s.impl.Info().Name)
	}
	var req FineTuneRequest
	if err := json.Unmarshal(msg.Json, &req); err != nil {
		return nil, err
	}
	out, err := f.FineTune(ctx, req)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	return &pb.JSONMessage{Json: b}, err
}

func (s *server) Mitigate(ctx context.Context, msg *pb.JSONMessage) (resp *pb.JSONMessage, err error) {
	defer guard(&err)
	m, ok := s.impl.(Mitigation)
	if !ok {
		return nil, fmt.Errorf("plugin %s is not a mitigation", s.impl.Info().Name)
	}
	var req MitigationRequest
	if err := json.Unmarshal(msg.Json, &req); err != nil {
		return nil, err
	}
	out, err := m.Apply(ctx, req)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	return &pb.JSONMessage{Json: b}, err
}

// oracleClient is the plugin's view of the host's Oracle.
type oracleClient struct{ rpc pb.OracleClient }

func (o *oracleClient) LogLikelihood(ctx context.Context, model Model, texts []string, perToken bool) ([]SequenceScore, error) {
	resp, err := o.rpc.LogLikelihood(ctx, &pb.OracleRequest{Texts: texts, Model: string(model), PerToken: perToken},
		grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes))
	if err != nil {
		return nil, err
	}
	out := make([]SequenceScore, len(resp.Sequences))
	for i, s := range resp.Sequences {
		out[i] = SequenceScore{LogLik: s.Loglik, NumTokens: int(s.NumTokens), TokenLogProbs: s.TokenLogprobs}
	}
	return out, nil
}

// oracleServer serves the host's Oracle to a plugin.
type oracleServer struct {
	pb.UnimplementedOracleServer
	oracle Oracle
}

func (o *oracleServer) LogLikelihood(ctx context.Context, req *pb.OracleRequest) (*pb.OracleResponse, error) {
	scores, err := o.oracle.LogLikelihood(ctx, Model(req.Model), req.Texts, req.PerToken)
	if err != nil {
		return nil, err
	}
	resp := &pb.OracleResponse{Sequences: make([]*pb.SequenceScore, len(scores))}
	for i, s := range scores {
		resp.Sequences[i] = &pb.SequenceScore{Loglik: s.LogLik, NumTokens: int32(s.NumTokens), TokenLogprobs: s.TokenLogProbs}
	}
	return resp, nil
}

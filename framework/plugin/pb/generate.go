// Package pb is the generated gRPC code of privlm's plugin protocol.
package pb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative privlm_plugin.proto

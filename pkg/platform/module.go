package platform

import (
	"context"
	"io/fs"
	"log/slog"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/server"
)

// Module is one service as the platform runs it.
type Module interface {
	// Name is the service's short name ("invitation"); it names its
	// database, its outbox relay and its consumers.
	Name() string
	// Migrations are the service's own *.sql goose migrations, numbered
	// from pgdb.ServiceMigrationFloor; nil when it has none.
	Migrations() fs.FS
	// Build wires the service on its dependencies.
	Build(ctx context.Context, d Deps) (*Component, error)
}

// Deps is what the platform gives a module.
type Deps struct {
	Name   string
	Source string // CloudEvents source for the module's events, "/rollcall/<name>"
	Pool   *pgxpool.Pool
	NC     *nats.Conn
	JS     jetstream.JetStream
	Log    *slog.Logger
	// Relay publishes the module's outbox; Kick it after committing events.
	Relay *outbox.Relay
	// HandlerOptions go to every generated NewXxxServiceHandler: tracing
	// (trusting the caller's trace), protovalidate request validation, and
	// an ERROR log line with the cause of every INTERNAL or UNKNOWN answer
	// (the cause an error mapping wraps under "internal error").
	HandlerOptions []connect.HandlerOption
}

// Component is what a module hands back to be run.
type Component struct {
	Handlers     []server.Handler
	ServiceNames []string // fully-qualified gRPC service names, for health and reflection
	Consumers    []bus.ConsumerConfig
	// Start and Stop run optional background work beyond consumers.
	Start func(ctx context.Context) error
	Stop  func(ctx context.Context) error
}

// Package syncsvc is the sync service: it owns HR↔ERP connections, field mapping, employee links and sync runs.
//
// The module wires the service's layers for the platform runtime (pkg/platform):
// ports (Connect handlers and event consumers, which only translate), app (one
// handler per use case), domain (rules, no I/O) and adapters (Postgres, NATS,
// HTTP clients). The use cases arrive with the service's own issue; this
// module already runs its migrations, outbox relay and API surface.
package syncsvc

import (
	"context"
	"embed"
	"io/fs"

	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"
	"rollcall.dev/services/sync/ports"
)

//go:embed migrations
var migrations embed.FS

// Name is the service's short name: its database, relay and consumer prefix.
const Name = "sync"

// Module returns the sync service for the platform runtime.
func Module(cfg Config) platform.Module { return module{cfg: cfg} }

type module struct{ cfg Config }

func (module) Name() string { return Name }

func (module) Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

func (module) Build(_ context.Context, d platform.Deps) (*platform.Component, error) {
	path, handler := syncv1connect.NewSyncServiceHandler(ports.NewConnect(), d.HandlerOptions...)
	return &platform.Component{
		Handlers:     []server.Handler{{Path: path, Handler: handler}},
		ServiceNames: []string{syncv1connect.SyncServiceName},
	}, nil
}

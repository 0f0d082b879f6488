// Package invitation is the invitation service: it owns invitations, one-time codes and their delivery (email, SMS, to the inviter).
//
// The module wires the service's layers for the platform runtime (pkg/platform):
// ports (Connect handlers and event consumers, which only translate), app (one
// handler per use case), domain (rules, no I/O) and adapters (Postgres, NATS,
// HTTP clients). The use cases arrive with the service's own issue; this
// module already runs its migrations, outbox relay and API surface.
package invitation

import (
	"context"
	"io/fs"
	"time"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
	"rollcall.dev/services/invitation/adapters/postgres"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/migrations"
	"rollcall.dev/services/invitation/ports"
)

// Name is the service's short name: its database, relay and consumer prefix.
const Name = "invitation"

// Module returns the invitation service for the platform runtime.
func Module(cfg Config) platform.Module { return module{cfg: cfg} }

type module struct{ cfg Config }

func (module) Name() string { return Name }

func (module) Migrations() fs.FS { return migrations.FS }

func (module) Build(_ context.Context, d platform.Deps) (*platform.Component, error) {
	store := postgres.New(d.Pool, d.Source)
	store.Published = d.Relay.Kick
	// The use cases that need only this service's own data run now: the
	// expiry sweep and the reaction to IntegratorReplaced.
	svc := &app.Service{Store: store, Log: d.Log}
	sweeper := &ports.Sweeper{App: svc, Interval: time.Minute, Log: d.Log}

	// ports.Connect (the real handler, tested in ports/) also needs an
	// Authenticator and a Directory from the identity service (issue 4), the
	// partner registry (issue 5), a notifier and the code key; until those
	// are wired the API validates requests and answers Unimplemented.
	path, handler := invitationv1connect.NewInvitationServiceHandler(invitationv1connect.UnimplementedInvitationServiceHandler{}, d.HandlerOptions...)
	return &platform.Component{
		Handlers:     []server.Handler{{Path: path, Handler: handler}},
		ServiceNames: []string{invitationv1connect.InvitationServiceName},
		Consumers:    []bus.ConsumerConfig{ports.IntegratorReplaced(svc)},
		Start:        sweeper.Start,
		Stop:         sweeper.Stop,
	}, nil
}

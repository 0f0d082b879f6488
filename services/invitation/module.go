// Package invitation is the invitation service: it owns invitations, one-time codes and their delivery (email, SMS, to the inviter).
//
// The module wires the service's layers for the platform runtime (pkg/platform):
// ports (Connect handlers and event consumers, which only translate), app (one
// handler per use case), domain (rules, no I/O) and adapters (Postgres, NATS,
// HTTP clients). It calls the identity service (admins' tokens, tenants'
// structure, login assertions, passwords) and the partner registry
// (integrator-policy) while a person waits, and nothing else synchronously.
package invitation

import (
	"context"
	"fmt"
	"io/fs"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
	"rollcall.dev/services/invitation/adapters/identity"
	"rollcall.dev/services/invitation/adapters/notifier"
	"rollcall.dev/services/invitation/adapters/partners"
	"rollcall.dev/services/invitation/adapters/postgres"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
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

func (m module) Build(_ context.Context, d platform.Deps) (*platform.Component, error) {
	cfg := m.cfg
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invitation config: %w", err)
	}
	idc, err := svcauth.NewClient(cfg.IdentityURL, cfg.ServiceToken, cfg.CallTimeout)
	if err != nil {
		return nil, fmt.Errorf("IDENTITY_URL: %w", err)
	}
	ipc, err := svcauth.NewClient(cfg.IntegratorPolicyURL, cfg.ServiceToken, cfg.CallTimeout)
	if err != nil {
		return nil, fmt.Errorf("INTEGRATOR_POLICY_URL: %w", err)
	}
	mailer, err := notify.NewSMTPMailer(cfg.smtp())
	if err != nil {
		return nil, fmt.Errorf("SMTP: %w", err)
	}
	sms, err := notify.NewHTTPSMS(cfg.SMSGatewayURL, cfg.SMSGatewayToken, cfg.CallTimeout)
	if err != nil {
		return nil, fmt.Errorf("SMS_GATEWAY_URL: %w", err)
	}
	note, err := notifier.New(mailer, notify.InstrumentSMS(sms), cfg.AcceptURL)
	if err != nil {
		return nil, err
	}

	store := postgres.New(d.Pool, d.Source)
	store.Published = d.Relay.Kick
	idn := identity.New(idc)
	pol := partners.New(ipc)
	svc := &app.Service{
		Store: store, Directory: idn, Partners: pol, Policy: pol, Credentials: idn,
		Notifier: note, Key: domain.CodeKey(cfg.CodeKey), Log: d.Log,
	}
	sweeper := &ports.Sweeper{App: svc, Interval: cfg.SweepInterval, Log: d.Log}
	path, handler := invitationv1connect.NewInvitationServiceHandler(&ports.Connect{App: svc, Auth: idn, Logins: idn, Log: d.Log}, d.HandlerOptions...)
	return &platform.Component{
		Handlers:     []server.Handler{{Path: path, Handler: handler}},
		ServiceNames: []string{invitationv1connect.InvitationServiceName},
		Consumers:    []bus.ConsumerConfig{ports.IntegratorReplaced(svc)},
		Start:        sweeper.Start,
		Stop:         sweeper.Stop,
	}, nil
}

// Package integratorpolicy is the integrator-policy service: it owns the
// partner registry, the active integrator(s) of each tenant and the
// integrator's rights (seed 003).
//
// The module wires the service's layers for the platform runtime (pkg/platform):
// ports (Connect handler and event consumers, which only translate), app (one
// handler per use case), domain (rules, no I/O) and adapters (Postgres, the
// identity client).
package integratorpolicy

import (
	"context"
	"fmt"
	"io/fs"

	"connectrpc.com/connect"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/services/integrator-policy/adapters/identity"
	"rollcall.dev/services/integrator-policy/adapters/postgres"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/migrations"
	"rollcall.dev/services/integrator-policy/ports"
)

// Name is the service's short name: its database, relay and consumer prefix.
const Name = "integrator-policy"

// Module returns the integrator-policy service for the platform runtime.
func Module(cfg Config) platform.Module { return module{cfg: cfg} }

type module struct{ cfg Config }

func (module) Name() string { return Name }

func (module) Migrations() fs.FS { return migrations.FS }

func (m module) Build(ctx context.Context, d platform.Deps) (*platform.Component, error) {
	tokens, err := svcauth.ParseTokens(m.cfg.InternalTokens)
	if err != nil {
		return nil, fmt.Errorf("INTERNAL_TOKENS: %w", err)
	}
	operators, err := m.cfg.operatorTokens()
	if err != nil {
		return nil, err
	}
	if m.cfg.OperatorTokens == "" && d.Log != nil {
		d.Log.InfoContext(ctx, "OPERATOR_TOKENS is not set: RegisterPartner, RevokePartner and ListPartners refuse every caller; partners come from PARTNERS_FILE")
	}
	idc, err := identity.New(m.cfg.IdentityURL, m.cfg.ServiceToken, m.cfg.IdentityTimeout)
	if err != nil {
		return nil, fmt.Errorf("IDENTITY_URL: %w", err)
	}
	store := postgres.New(d.Pool, d.Source)
	store.Published = d.Relay.Kick
	svc := &app.Service{Store: store, Log: d.Log}

	seeds, err := m.cfg.seeds()
	if err != nil {
		return nil, err
	}
	if err := svc.SeedPartners(ctx, seeds); err != nil {
		return nil, fmt.Errorf("seed partners: %w", err)
	}

	// The token checks run after validation (HandlerOptions), so a
	// malformed request is refused the same way with or without a token.
	opts := append(append([]connect.HandlerOption{}, d.HandlerOptions...), connect.WithInterceptors(ports.RequireTokens(tokens, operators)))
	path, handler := integratorv1connect.NewIntegratorPolicyServiceHandler(
		&ports.Connect{App: svc, Auth: idc, Tokens: tokens, Operators: operators, Log: d.Log}, opts...)
	return &platform.Component{
		Handlers:     []server.Handler{{Path: path, Handler: handler}},
		ServiceNames: []string{integratorv1connect.IntegratorPolicyServiceName},
		Consumers:    []bus.ConsumerConfig{ports.UserInvited(svc), ports.InviteAccepted(svc)},
	}, nil
}

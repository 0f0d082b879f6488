// Package syncsvc is the sync service: it owns HR↔ERP connections, field mapping, employee links and sync runs.
//
// The module wires the service's layers for the platform runtime (pkg/platform):
// ports (Connect handlers, the FieldChanged consumer and the HR webhook, which
// only translate), app (connections, previews and runs; taking in HR
// changes, propagating them to the ERP), domain (the field map, versions,
// provenance, the comparison and plan of a synchronisation; no I/O) and
// adapters (Postgres, identity, the report mailer). The ERP is reached
// through erp.Connector (erp/tso speaks 24SevenOffice), HR through
// hr.Connector (hr/hrapi); erpsim and hrsim are their stand-ins for
// development.
package syncsvc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"
	"rollcall.dev/services/sync/adapters/identity"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/adapters/report"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erp/tso"
	"rollcall.dev/services/sync/erpsim"
	"rollcall.dev/services/sync/hr/hrapi"
	"rollcall.dev/services/sync/hrsim"
	"rollcall.dev/services/sync/keyring"
	"rollcall.dev/services/sync/migrations"
	"rollcall.dev/services/sync/ports"
)

// Name is the service's short name: its database, relay and consumer prefix.
const Name = "sync"

// ERPSystem labels the 24SevenOffice connector in metrics and spans.
const ERPSystem = tso.System

// Module returns the sync service for the platform runtime.
func Module(cfg Config) platform.Module { return module{cfg: cfg} }

type module struct{ cfg Config }

func (module) Name() string { return Name }

func (module) Migrations() fs.FS { return migrations.FS }

// Dialer makes 24SevenOffice connectors (instrumented) for API keys.
type Dialer = tso.Dialer

func (m module) Build(_ context.Context, d platform.Deps) (*platform.Component, error) {
	cfg := m.cfg
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sync config: %w", err)
	}
	store := postgres.New(d.Pool, d.Source)
	store.Published = d.Relay.Kick
	// The deployment's own ERP account, when configured, serves the
	// tenants it lists that have no connection of their own.
	var static erp.Resolver = &erp.StaticResolver{}
	if cfg.ERPBaseURL != "" && cfg.ERPAPIKey != "" {
		conn, err := Dialer{BaseURL: cfg.ERPBaseURL, Timeout: cfg.ERPTimeout}.Dial(cfg.ERPAPIKey)
		if err != nil {
			return nil, fmt.Errorf("SYNC_ERP_BASE_URL: %w", err)
		}
		all, tenants, _ := cfg.tenants()
		static = &erp.StaticResolver{Conn: erp.Connection{ID: cfg.ERPConnectionID, Connector: conn}, AllTenants: all, Tenants: tenants}
	}
	if cfg.ERPBaseURL == "" {
		d.Log.Warn("no ERP configured (SYNC_ERP_BASE_URL): HR changes are not consumed and wait in the HR stream")
	}
	resolver := static
	prop := &app.Propagator{
		Store: store, Log: d.Log, Concurrency: cfg.Concurrency, BurstHold: cfg.BurstHold,
		Lease: 4*cfg.ERPTimeout + 30*time.Second, BackoffBase: cfg.RetryBase, BackoffMax: cfg.RetryMax,
	}
	handler := ports.NewConnect()
	var exec *app.Executor
	if cfg.connectionsAPI() {
		keys, err := keyring.Parse(cfg.ConnectionKeys)
		if err != nil {
			return nil, fmt.Errorf("SYNC_CONNECTION_KEYS: %w", err)
		}
		store.Keys = keys
		dialer := Dialer{BaseURL: cfg.ERPBaseURL, Timeout: cfg.ERPTimeout}
		byConnection := &app.Resolver{Store: store, Dialer: dialer, Fallback: static}
		resolver = byConnection
		hrc, err := hrapi.New(hrapi.Config{BaseURL: cfg.HRBaseURL, Token: cfg.HRToken, Timeout: cfg.HRTimeout})
		if err != nil {
			return nil, fmt.Errorf("SYNC_HR_BASE_URL: %w", err)
		}
		mailer, err := notify.NewSMTPMailer(cfg.smtp())
		if err != nil {
			return nil, fmt.Errorf("SMTP: %w", err)
		}
		idc, err := svcauth.NewClient(cfg.IdentityURL, cfg.ServiceToken, cfg.CallTimeout)
		if err != nil {
			return nil, fmt.Errorf("IDENTITY_URL: %w", err)
		}
		exec = &app.Executor{
			Runs: store, Connections: store, ERP: dialer, HR: hrc, Reporter: &report.Mailer{Mail: mailer}, Log: d.Log,
			Lease: cfg.RunLease, Concurrency: cfg.RunConcurrency, BackoffBase: cfg.RetryBase, BackoffMax: cfg.RetryMax,
			Activated: prop.Kick,
		}
		ident := identity.New(idc)
		syncs := &app.Syncs{
			Connections: store, Runs: store, ERP: dialer, HR: hrc, Tenants: ident, Resolver: byConnection, ThresholdPercent: cfg.RunThreshold,
			PreviewTTL: cfg.PreviewTTL, Kick: exec.Kick, Log: d.Log,
		}
		handler = &ports.Connect{Syncs: syncs, Auth: ident, Log: d.Log}
	}
	prop.Resolver = resolver
	svc := &app.Service{Store: store, Resolver: resolver, Coalesce: cfg.Coalesce, Due: prop.KickAfter, Burst: prop.Burst}

	path, h := syncv1connect.NewSyncServiceHandler(handler, d.HandlerOptions...)
	handlers := []server.Handler{{Path: path, Handler: h}}
	if cfg.WebhookSecret != "" {
		secret := []byte(cfg.WebhookSecret)
		handlers = append(handlers, server.Handler{Path: "POST /webhooks/hr/{tenant}", Handler: &ports.Webhook{
			Secret:   func(context.Context, string) ([]byte, error) { return secret, nil },
			Resolver: resolver, Deliveries: store, Publisher: bus.NewPublisher(d.JS), Source: d.Source,
			Tolerance: cfg.WebhookTolerance, Log: d.Log,
		}})
	}
	if cfg.DevERPSim {
		var keys []string
		for _, k := range []string{cfg.ERPAPIKey, cfg.DevERPKey} {
			if k != "" {
				keys = append(keys, k)
			}
		}
		sim := erpsim.New(erpsim.Options{APIKeys: keys})
		handlers = append(handlers, server.Handler{Path: "/dev/erp/", Handler: http.StripPrefix("/dev/erp", sim)})
	}
	if cfg.DevHRSim {
		sim := hrsim.New(hrsim.Options{Tokens: []string{cfg.HRToken}})
		handlers = append(handlers, server.Handler{Path: "/dev/hr/", Handler: http.StripPrefix("/dev/hr", sim)})
	}
	comp := &platform.Component{Handlers: handlers, ServiceNames: []string{syncv1connect.SyncServiceName}}
	consume := cfg.ERPBaseURL != ""
	if consume {
		comp.Consumers = ports.FieldChangedConsumers(svc)
	}
	comp.Start = func(ctx context.Context) error {
		if n, err := store.Reseal(ctx); err != nil {
			return fmt.Errorf("resealing API keys under the current SYNC_CONNECTION_KEYS version: %w", err)
		} else if n > 0 {
			d.Log.Info("resealed connection API keys under the current key version", "connections", n)
		}
		if consume {
			if err := prop.Start(ctx); err != nil {
				return err
			}
		}
		if exec != nil {
			return exec.Start(ctx)
		}
		return nil
	}
	comp.Stop = func(ctx context.Context) error {
		var errs []error
		if exec != nil {
			errs = append(errs, exec.Stop(ctx))
		}
		errs = append(errs, prop.Stop(ctx))
		return errors.Join(errs...)
	}
	return comp, nil
}

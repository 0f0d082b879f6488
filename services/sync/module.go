// Package syncsvc is the sync service: it owns HR↔ERP connections, field mapping, employee links and sync runs.
//
// The module wires the service's layers for the platform runtime (pkg/platform):
// ports (Connect handlers, the FieldChanged consumer and the HR webhook, which
// only translate), app (taking in HR changes, propagating them to the ERP),
// domain (the field map, versions and provenance, no I/O) and adapters
// (Postgres). The ERP is reached through erp.Connector (erp/tso speaks
// 24SevenOffice); erpsim is the stand-in ERP for development.
package syncsvc

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erp/tso"
	"rollcall.dev/services/sync/erpsim"
	"rollcall.dev/services/sync/migrations"
	"rollcall.dev/services/sync/ports"
)

// Name is the service's short name: its database, relay and consumer prefix.
const Name = "sync"

// ERPSystem labels the 24SevenOffice connector in metrics and spans.
const ERPSystem = "24sevenoffice"

// Module returns the sync service for the platform runtime.
func Module(cfg Config) platform.Module { return module{cfg: cfg} }

type module struct{ cfg Config }

func (module) Name() string { return Name }

func (module) Migrations() fs.FS { return migrations.FS }

func (m module) Build(_ context.Context, d platform.Deps) (*platform.Component, error) {
	cfg := m.cfg
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sync config: %w", err)
	}
	// Until issue 7 brings per-tenant connections, one configured ERP
	// serves the tenants it lists; without one nothing is consumed.
	resolver := &erp.StaticResolver{}
	if cfg.ERPBaseURL != "" {
		client, err := tso.New(tso.Config{BaseURL: cfg.ERPBaseURL, APIKey: cfg.ERPAPIKey, Timeout: cfg.ERPTimeout})
		if err != nil {
			return nil, fmt.Errorf("SYNC_ERP_BASE_URL: %w", err)
		}
		all, tenants, _ := cfg.tenants()
		resolver = &erp.StaticResolver{
			Conn:       erp.Connection{ID: cfg.ERPConnectionID, Connector: erp.Instrument(client, ERPSystem)},
			AllTenants: all, Tenants: tenants,
		}
	} else {
		d.Log.Warn("no ERP configured (SYNC_ERP_BASE_URL): HR changes are not consumed and wait in the HR stream")
	}
	store := postgres.New(d.Pool, d.Source)
	store.Published = d.Relay.Kick
	prop := &app.Propagator{
		Store: store, Resolver: resolver, Log: d.Log, Concurrency: cfg.Concurrency,
		Lease: 4*cfg.ERPTimeout + 30*time.Second, BackoffBase: cfg.RetryBase, BackoffMax: cfg.RetryMax,
	}
	svc := &app.Service{Store: store, Resolver: resolver, Coalesce: cfg.Coalesce, Due: prop.KickAfter}

	path, handler := syncv1connect.NewSyncServiceHandler(ports.NewConnect(), d.HandlerOptions...)
	handlers := []server.Handler{{Path: path, Handler: handler}}
	if cfg.WebhookSecret != "" {
		secret := []byte(cfg.WebhookSecret)
		handlers = append(handlers, server.Handler{Path: "POST /webhooks/hr/{tenant}", Handler: &ports.Webhook{
			Secret:   func(context.Context, string) ([]byte, error) { return secret, nil },
			Resolver: resolver, Deliveries: store, Publisher: bus.NewPublisher(d.JS), Source: d.Source,
			Tolerance: cfg.WebhookTolerance, Log: d.Log,
		}})
	}
	if cfg.DevERPSim {
		sim := erpsim.New(erpsim.Options{APIKeys: []string{cfg.ERPAPIKey}})
		handlers = append(handlers, server.Handler{Path: "/dev/erp/", Handler: http.StripPrefix("/dev/erp", sim)})
	}
	comp := &platform.Component{Handlers: handlers, ServiceNames: []string{syncv1connect.SyncServiceName}}
	if cfg.ERPBaseURL != "" {
		comp.Consumers = ports.FieldChangedConsumers(svc, cfg.Consumers)
		comp.Start, comp.Stop = prop.Start, prop.Stop
	}
	return comp, nil
}

// Package identity is the identity service: it owns tenants and their structure, users of every kind, grants, credentials and the seat count.
//
// The module wires the service's layers for the platform runtime (pkg/platform):
// ports (Connect handlers, event consumers and the dev login endpoint, which
// only translate), app (one handler per use case), domain (rules, no I/O)
// and adapters (Postgres, the login stand-ins, the integrator-policy client).
package identity

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"connectrpc.com/connect"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/services/identity/adapters/letter"
	"rollcall.dev/services/identity/adapters/login"
	"rollcall.dev/services/identity/adapters/policy"
	"rollcall.dev/services/identity/adapters/postgres"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
	"rollcall.dev/services/identity/migrations"
	"rollcall.dev/services/identity/ports"
)

// Name is the service's short name: its database, relay and consumer prefix.
const Name = "identity"

// Module returns the identity service for the platform runtime.
func Module(cfg Config) platform.Module { return module{cfg: cfg} }

type module struct{ cfg Config }

func (module) Name() string { return Name }

func (module) Migrations() fs.FS { return migrations.FS }

func (m module) Build(_ context.Context, d platform.Deps) (*platform.Component, error) {
	cfg := m.cfg
	tokens, err := svcauth.ParseTokens(cfg.InternalTokens)
	if err != nil {
		return nil, fmt.Errorf("INTERNAL_TOKENS: %w", err)
	}
	pc, err := svcauth.NewClient(cfg.IntegratorPolicyURL, cfg.ServiceToken, 0)
	if err != nil {
		return nil, fmt.Errorf("INTEGRATOR_POLICY_URL: %w", err)
	}
	store := postgres.New(d.Pool, d.Source)
	store.Published = d.Relay.Kick
	svc := &app.Service{
		Store: store, Providers: map[string]app.LoginProvider{}, Policy: policy.New(pc), Letters: letter.Writer{}, Log: d.Log,
		TokenTTL: cfg.AdminTokenTTL, APITokenTTL: cfg.APITokenTTL,
		Throttle: domain.Throttle{MaxFailures: cfg.SignInMaxFailures, Lockout: cfg.SignInLockout},
	}
	var sim *login.Sim
	if cfg.LoginSimKey != "" {
		if sim, err = login.NewSim([]byte(cfg.LoginSimKey), store); err != nil {
			return nil, fmt.Errorf("LOGIN_SIM_KEY: %w", err)
		}
		svc.Providers["bankid"] = sim.BankID()
		for _, p := range cfg.profileProviders() {
			svc.Providers[p] = sim.Profile(p)
		}
		d.Log.Warn("login stand-ins are on: bankid and profile providers accept development assertions signed with LOGIN_SIM_KEY, not real logins",
			"providers", cfg.profileProviders())
	}

	opts := append([]connect.HandlerOption{}, d.HandlerOptions...)
	path, handler := identityv1connect.NewIdentityServiceHandler(&ports.Connect{App: svc, ServiceTokens: tokens}, opts...)
	ipath, ihandler := identityv1connect.NewInternalServiceHandler(&ports.Internal{App: svc},
		append(opts, connect.WithInterceptors(svcauth.Require(tokens)))...)
	comp := &platform.Component{
		Handlers:     []server.Handler{{Path: path, Handler: handler}, {Path: ipath, Handler: ihandler}},
		ServiceNames: []string{identityv1connect.IdentityServiceName, identityv1connect.InternalServiceName},
		Consumers:    []bus.ConsumerConfig{ports.InviteAccepted(svc), ports.IntegratorEvents(svc)},
	}
	if cfg.dev != nil {
		if sim != nil {
			comp.Handlers = append(comp.Handlers, server.Handler{Path: ports.DevLoginPath, Handler: ports.DevLogin{Sim: sim, Profiles: cfg.profileProviders()}})
		}
		comp.Start = func(ctx context.Context) error { return bootstrap(ctx, svc, cfg.dev) }
	}
	return comp, nil
}

// demo is the tenant `rollcall dev` makes sure exists.
func demo() app.Bootstrap {
	item := func(kind domain.ItemKind, key, name string) domain.Item {
		return domain.Item{Kind: kind, Key: key, Name: name}
	}
	return app.Bootstrap{
		Tenant: app.NewTenant{
			Name: "Demo AS", CompanyCode: "DEMO", Language: "nb", SeatLimit: 25,
			Admin: app.NewPerson{FirstName: "Kari", LastName: "Nordmann", Email: "kari.nordmann@demo.example"},
			Items: []domain.Item{
				item(domain.ItemOrganisation, "", "Demo AS Oslo"), item(domain.ItemOrganisation, "", "Demo AB Stockholm"),
				item(domain.ItemCustomer, "", "Fjord Shipping"), item(domain.ItemCustomer, "", "Nordlys Energi"),
				item(domain.ItemCostCentre, "", "100 Administrasjon"), item(domain.ItemCostCentre, "", "200 Salg"),
				item(domain.ItemProductCategory, "", "Mobil"), item(domain.ItemProductCategory, "", "Bredbånd"),
				item(domain.ItemApplication, "", "Lønn (payroll)"), item(domain.ItemApplication, "", "Fakturaportal"),
				item(domain.ItemPermissionArea, "support", "Support"), item(domain.ItemPermissionArea, "invoices", "Fakturaer"),
				item(domain.ItemPermissionArea, "applications", "Applikasjoner"),
				item(domain.ItemAdditionalPackage, "payroll", "Lønn"), item(domain.ItemAdditionalPackage, "invoicing", "Fakturering"),
				item(domain.ItemCompany, "", "Demo AS"),
			},
		},
		AppManager: &app.NewPerson{FirstName: "Ola", LastName: "Nordmann", Email: "ola.nordmann@demo.example"},
	}
}

// bootstrap makes sure the demo tenant exists and prints its id and a
// bearer token for each of its two administrators. The tokens' plaintext is
// kept under the data dir (0600) so a restart prints the same ones while
// they are valid; a revoked or expired one is replaced.
func bootstrap(ctx context.Context, svc *app.Service, dev *devOptions) error {
	b, err := svc.EnsureBootstrap(ctx, demo())
	if err != nil {
		return fmt.Errorf("identity bootstrap: %w", err)
	}
	dir := filepath.Join(dev.dataDir, "identity")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("identity bootstrap: %w", err)
	}
	// The tenant id too, for scripts (the README's walkthrough reads it).
	if err := os.WriteFile(filepath.Join(dir, "bootstrap-tenant.id"), []byte(b.Tenant.ID+"\n"), 0o600); err != nil {
		return fmt.Errorf("identity bootstrap: %w", err)
	}
	adminTok, err := keptToken(ctx, svc, filepath.Join(dir, "bootstrap-admin.token"), b.Admin)
	if err != nil {
		return err
	}
	amTok, err := keptToken(ctx, svc, filepath.Join(dir, "bootstrap-app-manager.token"), b.AppManager)
	if err != nil {
		return err
	}
	fmt.Fprintf(dev.out, "\nIdentity bootstrap (demo tenant %q, company code %s):\n", b.Tenant.Name, b.Tenant.CompanyCode)
	fmt.Fprintf(dev.out, "  tenant id              %s\n", b.Tenant.ID)
	fmt.Fprintf(dev.out, "  main administrator     %s  %s\n", b.Admin.Email, b.Admin.ID)
	fmt.Fprintf(dev.out, "    bearer token         %s\n", adminTok)
	fmt.Fprintf(dev.out, "  application manager    %s  %s\n", b.AppManager.Email, b.AppManager.ID)
	fmt.Fprintf(dev.out, "    bearer token         %s\n", amTok)
	fmt.Fprintf(dev.out, "  (tokens kept in %s; dev logins: POST /dev/login/bankid or /dev/login/telia)\n", dir)
	return nil
}

func keptToken(ctx context.Context, svc *app.Service, path string, u *domain.User) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		if owner, err := svc.Authenticate(ctx, tok); err == nil && owner.ID == u.ID && owner.TenantID == u.TenantID {
			return tok, nil
		} else if err != nil && !errors.Is(err, domain.ErrUnauthenticated) {
			return "", fmt.Errorf("identity bootstrap: %w", err)
		}
	}
	issued, err := svc.CreateAccessToken(ctx, nil, u.TenantID, u.ID, "rollcall dev bootstrap", 0)
	if err != nil {
		return "", fmt.Errorf("identity bootstrap: token: %w", err)
	}
	if err := os.WriteFile(path, []byte(issued.Token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("identity bootstrap: %w", err)
	}
	return issued.Token, nil
}

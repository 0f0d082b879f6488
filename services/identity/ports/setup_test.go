package ports_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/pkg/testkit"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/services/identity/adapters/letter"
	"rollcall.dev/services/identity/adapters/login"
	"rollcall.dev/services/identity/adapters/postgres"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
	"rollcall.dev/services/identity/migrations"
	"rollcall.dev/services/identity/ports"
)

var (
	serviceToken = strings.Repeat("s", 40)
	simKey       = []byte(strings.Repeat("k", 32))
)

// env is one test's identity service over HTTP, on its own database.
type env struct {
	pool     *pgxpool.Pool
	svc      *app.Service
	sim      *login.Sim
	url      string
	ops      identityv1connect.IdentityServiceClient // with the service token
	internal identityv1connect.InternalServiceClient // with the service token
	anon     identityv1connect.IdentityServiceClient // no token
	policy   *policyStandIn
}

// option changes the service before its server starts.
type setupOption func(svc *app.Service, pol *policyStandIn)

func setup(t *testing.T, setupOpts ...setupOption) *env {
	t.Helper()
	pool := testkit.NewDB(t, migrations.FS)
	store := postgres.New(pool, "/rollcall/identity")
	sim, err := login.NewSim(simKey, store)
	require.NoError(t, err)
	pol := newPolicyStandIn(t)
	svc := &app.Service{
		Store: store, Policy: pol.client(t), TokenTTL: time.Hour, APITokenTTL: time.Hour, Letters: letter.Writer{},
		Log:       slog.New(slog.DiscardHandler),
		Providers: map[string]app.LoginProvider{"bankid": sim.BankID(), "telia": sim.Profile("telia")},
	}
	for _, o := range setupOpts {
		o(svc, pol)
	}
	tokens, err := svcauth.ParseTokens(serviceToken)
	require.NoError(t, err)
	opts, err := server.HandlerOptions()
	require.NoError(t, err)
	p1, h1 := identityv1connect.NewIdentityServiceHandler(&ports.Connect{App: svc, ServiceTokens: tokens}, opts...)
	p2, h2 := identityv1connect.NewInternalServiceHandler(&ports.Internal{App: svc}, append(opts, connect.WithInterceptors(svcauth.Require(tokens)))...)
	mux := http.NewServeMux()
	for _, h := range []server.Handler{{Path: p1, Handler: h1}, {Path: p2, Handler: h2}, {Path: ports.DevLoginPath, Handler: ports.DevLogin{Sim: sim, Profiles: []string{"telia"}}}} {
		mux.Handle(h.Path, h.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sc, err := svcauth.NewClient(srv.URL, serviceToken, 0)
	require.NoError(t, err)
	anon, err := svcauth.NewClient(srv.URL, "", 0)
	require.NoError(t, err)
	return &env{
		pool: pool, svc: svc, sim: sim, url: srv.URL, policy: pol,
		ops:      identityv1connect.NewIdentityServiceClient(sc.HTTP, sc.BaseURL, sc.Options...),
		internal: identityv1connect.NewInternalServiceClient(sc.HTTP, sc.BaseURL, sc.Options...),
		anon:     identityv1connect.NewIdentityServiceClient(anon.HTTP, anon.BaseURL, anon.Options...),
	}
}

// as returns an IdentityService client presenting token.
func (e *env) as(t *testing.T, token string) identityv1connect.IdentityServiceClient {
	t.Helper()
	c, err := svcauth.NewClient(e.url, token, 0)
	require.NoError(t, err)
	return identityv1connect.NewIdentityServiceClient(c.HTTP, c.BaseURL, c.Options...)
}

// tenant is a tenant made through the app with its main administrator's token.
type tenant struct {
	id, adminID, adminToken string
	orgs, apps, companies   []string
}

func (e *env) tenant(t *testing.T, code string, seats int) tenant {
	t.Helper()
	ctx := context.Background()
	items := []domain.Item{
		{Kind: domain.ItemOrganisation, Name: "Org A"}, {Kind: domain.ItemOrganisation, Name: "Org B"},
		{Kind: domain.ItemCustomer, Name: "Customer"}, {Kind: domain.ItemCostCentre, Name: "100"},
		{Kind: domain.ItemProductCategory, Name: "Mobile"}, {Kind: domain.ItemApplication, Name: "Payroll"},
		{Kind: domain.ItemCompany, Name: "Company"},
		{Kind: domain.ItemPermissionArea, Key: "support", Name: "Support"}, {Kind: domain.ItemPermissionArea, Key: "invoices", Name: "Invoices"},
		{Kind: domain.ItemAdditionalPackage, Key: "payroll", Name: "Payroll"},
	}
	for i := range items {
		items[i].ID = uuid.NewString()
	}
	tn, admin, err := e.svc.CreateTenant(ctx, app.NewTenant{
		Name: "Tenant " + code, CompanyCode: code, Language: "nb", SeatLimit: seats, Items: items,
		Admin: app.NewPerson{FirstName: "Kari", LastName: "Admin", Email: strings.ToLower(code) + "-admin@example.com"},
	})
	require.NoError(t, err)
	tok, err := e.svc.CreateAccessToken(ctx, nil, tn.ID, admin.ID, "test", 0)
	require.NoError(t, err)
	return tenant{id: tn.ID, adminID: admin.ID, adminToken: tok.Token,
		orgs: []string{items[0].ID, items[1].ID}, apps: []string{items[5].ID}, companies: []string{items[6].ID}}
}

// outboxTypes lists the event types written for a tenant, in order.
func (e *env) outboxTypes(t *testing.T, tenantID string) []string {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT event_type FROM rollcall_outbox WHERE subject LIKE $1 ORDER BY id`, "identity.v1."+tenantID+".%")
	require.NoError(t, err)
	types, err := pgxCollect(rows)
	require.NoError(t, err)
	return types
}

func requireCode(t *testing.T, err error, code connect.Code) *connect.Error {
	t.Helper()
	require.Error(t, err)
	var ce *connect.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, code, ce.Code(), ce.Message())
	return ce
}

func (e *env) asInternal(t *testing.T, token string) identityv1connect.InternalServiceClient {
	t.Helper()
	c, err := svcauth.NewClient(e.url, token, 0)
	require.NoError(t, err)
	return identityv1connect.NewInternalServiceClient(c.HTTP, c.BaseURL, c.Options...)
}

// person inserts an active person with role into the tenant and returns its id.
func (e *env) person(t *testing.T, tn tenant, email string, role domain.Role) string {
	t.Helper()
	now := time.Now().UTC()
	u := &domain.User{
		TenantID: tn.id, ID: uuid.NewString(), Kind: domain.KindPerson, Origin: domain.OriginTenantCreation,
		Status: domain.StatusActive, Role: role, FirstName: "Per", LastName: email, Email: email, CountsSeat: true,
		Grants:    &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support"}},
		CreatedAt: now, UpdatedAt: now,
	}
	u.Record(domain.Created{})
	require.NoError(t, e.svc.Store.Do(context.Background(), func(tx app.Tx) error { return tx.InsertUser(u) }))
	return u.ID
}

// integrator inserts an active integrator (main administrator, marker, no
// seat) whom the policy stand-in knows, and returns his id and a token.
func (e *env) integrator(t *testing.T, tn tenant, email string) (string, string) {
	t.Helper()
	ctx := context.Background()
	id := e.person(t, tn, email, domain.RoleMainAdministrator)
	_, err := e.pool.Exec(ctx, `UPDATE users SET kind = 4, integrator = true, counts_seat = false, grants = '{"permissionLevel":"PERMISSION_LEVEL_MAIN_ADMINISTRATOR"}' WHERE tenant_id = $1 AND id = $2`, tn.id, id)
	require.NoError(t, err)
	e.policy.integrator(tn.id, id)
	tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, id, "", 0)
	require.NoError(t, err)
	return id, tok.Token
}

package ports_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/pkg/testkit"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/services/integrator-policy/adapters/identity"
	"rollcall.dev/services/integrator-policy/adapters/postgres"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/migrations"
	"rollcall.dev/services/integrator-policy/ports"
)

var (
	serviceToken  = strings.Repeat("s", 40)
	operatorToken = strings.Repeat("o", 40)
	tenantA       = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a10"
	tenantB       = "1c8f9b4f-5b6d-4f9a-8b62-4d2e3f0a8b21"
)

// identityStandIn is a real-HTTP stand-in of identity's
// InternalService.Authenticate (identity is built concurrently): it knows a
// few bearer tokens and requires the service token like the real one.
type identityStandIn struct {
	identityv1connect.UnimplementedInternalServiceHandler
	mu         sync.Mutex
	principals map[string]*identityv1.Principal
	down       bool
}

func (s *identityStandIn) Authenticate(_ context.Context, req *connect.Request[identityv1.AuthenticateRequest]) (*connect.Response[identityv1.AuthenticateResponse], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("down"))
	}
	p, ok := s.principals[req.Msg.GetToken()]
	if !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("bad token"))
	}
	return connect.NewResponse(&identityv1.AuthenticateResponse{Principal: p}), nil
}

func (s *identityStandIn) add(token, tenant, user string, role identityv1.Role, integrator bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind := identityv1.UserKind_USER_KIND_PERSON
	if integrator {
		kind = identityv1.UserKind_USER_KIND_INTEGRATOR
	}
	s.principals[token] = &identityv1.Principal{TenantId: tenant, UserId: user, Role: role, Integrator: integrator, Kind: kind, Name: "X", Email: "x@example.com"}
}

type fixture struct {
	svc      *app.Service
	store    *postgres.Store
	identity *identityStandIn
	client   integratorv1connect.IntegratorPolicyServiceClient
	url      string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	operators, err := svcauth.ParseTokens(operatorToken)
	require.NoError(t, err)
	return setupWith(t, operators)
}

// setupWith serves the service with the given operator tokens (OPERATOR_TOKENS).
func setupWith(t *testing.T, operators svcauth.Tokens) *fixture {
	t.Helper()
	pool := testkit.NewDB(t, migrations.FS)
	store := postgres.New(pool, "/rollcall/integrator-policy")
	svc := &app.Service{Store: store, Log: slog.New(slog.DiscardHandler)}

	tokens, err := svcauth.ParseTokens(serviceToken)
	require.NoError(t, err)
	stand := &identityStandIn{principals: map[string]*identityv1.Principal{}}
	idMux := http.NewServeMux()
	idMux.Handle(identityv1connect.NewInternalServiceHandler(stand, connect.WithInterceptors(svcauth.Require(tokens))))
	idSrv := httptest.NewServer(idMux)
	t.Cleanup(idSrv.Close)
	idc, err := identity.New(idSrv.URL, serviceToken, 5*time.Second)
	require.NoError(t, err)

	opts, err := server.HandlerOptions()
	require.NoError(t, err)
	opts = append(opts, connect.WithInterceptors(ports.RequireTokens(tokens, operators)))
	mux := http.NewServeMux()
	mux.Handle(integratorv1connect.NewIntegratorPolicyServiceHandler(&ports.Connect{App: svc, Auth: idc, Tokens: tokens, Operators: operators}, opts...))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{svc: svc, store: store, identity: stand, url: srv.URL,
		client: integratorv1connect.NewIntegratorPolicyServiceClient(srv.Client(), srv.URL)}
}

// seedTestPartner registers the partner the tests' integrators belong to:
// an acceptance of an unknown partner's integrator ends him at once.
// Seeding is idempotent, so helpers may call it again.
func seedTestPartner(t *testing.T, svc *app.Service) {
	t.Helper()
	require.NoError(t, svc.SeedPartners(context.Background(), []app.PartnerSeed{{ID: partnerID, Name: "Test Partner AS", Domains: []string{"partner.example"}}}))
}

// req builds a request carrying a bearer token ("" for none).
func req[T any](msg *T, bearer string) *connect.Request[T] {
	r := connect.NewRequest(msg)
	if bearer != "" {
		r.Header().Set("Authorization", "Bearer "+bearer)
	}
	return r
}

func requireCode(t *testing.T, err error, code connect.Code) *connect.Error {
	t.Helper()
	require.Error(t, err)
	var ce *connect.Error
	require.True(t, errors.As(err, &ce), "%v", err)
	require.Equal(t, code, ce.Code(), "%v", err)
	return ce
}

// requireField checks the error names field in a BadRequest detail.
func requireField(t *testing.T, ce *connect.Error, field string) {
	t.Helper()
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				if fv.GetField() == field {
					return
				}
			}
		}
	}
	t.Fatalf("no violation of field %q in %v", field, ce)
}

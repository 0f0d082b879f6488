package identity_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/svcauth"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/services/invitation/adapters/identity"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
)

const (
	tenant   = "0b7c2c9e-6f3a-4f7e-9d7a-3c5e8b1a2d4f"
	userID   = "6a1f0e52-3d4b-4c8e-a1f2-9b8c7d6e5f40"
	invID    = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	svcToken = "service-token-0123456789abcdef0123456789"
)

// stand-in is identity's InternalService and SetInitialPassword over real
// HTTP, behind the real service-token check and request validation.
type standIn struct {
	identityv1connect.UnimplementedInternalServiceHandler
	identityv1connect.UnimplementedIdentityServiceHandler
	passwords map[string]string
	audiences []string
}

func (s *standIn) Authenticate(_ context.Context, r *connect.Request[identityv1.AuthenticateRequest]) (*connect.Response[identityv1.AuthenticateResponse], error) {
	if r.Msg.GetToken() != "admin" {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("the bearer token is not valid"))
	}
	return connect.NewResponse(&identityv1.AuthenticateResponse{Principal: &identityv1.Principal{
		TenantId: tenant, UserId: userID, Name: "Ada Admin", Email: "ada@example.com",
		Kind: identityv1.UserKind_USER_KIND_PERSON, Role: identityv1.Role_ROLE_SUPERUSER,
		Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support"},
			Scope: &commonv1.AccessScope{Organisations: &commonv1.Selection{Ids: []string{"11111111-1111-4111-8111-111111111111"}}}},
	}}), nil
}

func (s *standIn) DescribeTenant(_ context.Context, r *connect.Request[identityv1.DescribeTenantRequest]) (*connect.Response[identityv1.DescribeTenantResponse], error) {
	if r.Msg.GetTenantId() != tenant {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("no such tenant"))
	}
	return connect.NewResponse(&identityv1.DescribeTenantResponse{TenantId: tenant, Name: "Nordlys AS", Language: "nb", PermissionAreas: []string{"support", "invoices"}, AdditionalPackages: []string{"payroll"}}), nil
}

func (s *standIn) CheckScope(_ context.Context, r *connect.Request[identityv1.CheckScopeRequest]) (*connect.Response[identityv1.CheckScopeResponse], error) {
	if r.Msg.GetTenantId() != tenant {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("no such tenant"))
	}
	var out []*identityv1.UnknownIds
	check := func(field string, ids []string) {
		var bad []string
		for _, id := range ids {
			if strings.HasPrefix(id, "f") {
				bad = append(bad, id)
			}
		}
		if bad != nil {
			out = append(out, &identityv1.UnknownIds{Field: field, Ids: bad})
		}
	}
	sc := r.Msg.GetScope()
	check("organisations", sc.GetOrganisations().GetIds())
	check("customers", sc.GetCustomers().GetIds())
	check("application_link_ids", sc.GetApplicationLinkIds())
	return connect.NewResponse(&identityv1.CheckScopeResponse{Unknown: out}), nil
}

func (s *standIn) VerifyLogin(_ context.Context, r *connect.Request[identityv1.VerifyLoginRequest]) (*connect.Response[identityv1.VerifyLoginResponse], error) {
	s.audiences = append(s.audiences, r.Msg.GetAudience())
	switch {
	case r.Msg.GetAssertion() == "bad":
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New("assertion refused"))
	case r.Msg.GetProvider() == "rollcall":
		id := userID
		return connect.NewResponse(&identityv1.VerifyLoginResponse{Subject: "rollcall:" + userID, ExistingUserId: &id}), nil
	default:
		return connect.NewResponse(&identityv1.VerifyLoginResponse{Subject: r.Msg.GetProvider() + ":subject-1"}), nil
	}
}

func (s *standIn) SetInitialPassword(_ context.Context, r *connect.Request[identityv1.SetInitialPasswordRequest]) (*connect.Response[identityv1.SetInitialPasswordResponse], error) {
	s.passwords[r.Msg.GetTenantId()+"/"+r.Msg.GetUserId()+"/"+r.Msg.GetInvitationId()] = r.Msg.GetPassword()
	return connect.NewResponse(&identityv1.SetInitialPasswordResponse{}), nil
}

func setup(t *testing.T, token string) (*identity.Client, *standIn) {
	t.Helper()
	s := &standIn{passwords: map[string]string{}}
	tokens, err := svcauth.ParseTokens(svcToken)
	require.NoError(t, err)
	opts, err := server.HandlerOptions()
	require.NoError(t, err)
	opts = append(opts, connect.WithInterceptors(svcauth.Require(tokens)))
	mux := http.NewServeMux()
	mux.Handle(identityv1connect.NewInternalServiceHandler(s, opts...))
	mux.Handle(identityv1connect.NewIdentityServiceHandler(s, opts...))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := svcauth.NewClient(srv.URL, token, 0)
	require.NoError(t, err)
	return identity.New(c), s
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, svcToken)
	ctx := context.Background()
	a, err := c.Authenticate(ctx, "admin")
	require.NoError(t, err)
	require.Equal(t, tenant, a.TenantID)
	require.Equal(t, userID, a.UserID)
	require.Equal(t, domain.RoleSuperuser, a.Role)
	require.Equal(t, domain.LevelCustom, a.Grants.Level)
	require.Equal(t, []string{"support"}, a.Grants.Areas)
	require.Equal(t, []string{"11111111-1111-4111-8111-111111111111"}, a.Grants.Scope.Organisations.IDs)
	require.False(t, a.Integrator)

	_, err = c.Authenticate(ctx, "someone-else")
	require.ErrorIs(t, err, identity.ErrBadToken)
	require.NotErrorIs(t, err, app.ErrUnavailable)
}

func TestWrongServiceTokenIsUnavailableNotABadAdminToken(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, strings.Repeat("z", 40))
	_, err := c.Authenticate(context.Background(), "admin")
	require.ErrorIs(t, err, app.ErrUnavailable)
	_, err = c.Verify(context.Background(), tenant, invID, domain.LoginBankID, "bankid", "ok")
	require.ErrorIs(t, err, app.ErrUnavailable)
}

func TestIdentityDownIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	cl, err := svcauth.NewClient(srv.URL, svcToken, 0)
	require.NoError(t, err)
	c := identity.New(cl)
	ctx := context.Background()
	_, err = c.Authenticate(ctx, "admin")
	require.ErrorIs(t, err, app.ErrUnavailable)
	_, err = c.Tenant(ctx, tenant)
	require.ErrorIs(t, err, app.ErrUnavailable)
	require.ErrorIs(t, c.SetInitialPassword(ctx, tenant, userID, invID, "correct horse battery"), app.ErrUnavailable)
}

func TestTenantAndScope(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, svcToken)
	ctx := context.Background()
	tn, err := c.Tenant(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, app.Tenant{ID: tenant, Name: "Nordlys AS", Language: "nb", Areas: []string{"support", "invoices"}, Packages: []string{"payroll"}}, tn)
	_, err = c.Tenant(ctx, invID)
	require.ErrorIs(t, err, app.ErrUnknownTenant)

	const (
		o1 = "11111111-1111-4111-8111-111111111111"
		x2 = "ffffffff-2222-4222-8222-222222222222"
		a1 = "33333333-3333-4333-8333-333333333333"
		x9 = "ffffffff-9999-4999-8999-999999999999"
	)
	unknown, err := c.UnknownScopeIDs(ctx, tenant, domain.Scope{
		Organisations:    &domain.Selection{IDs: []string{o1, x2}},
		Customers:        &domain.Selection{All: true},
		ApplicationLinks: []string{a1, x9},
	})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"organisations": {x2}, "application_links": {x9}}, unknown)

	unknown, err = c.UnknownScopeIDs(ctx, tenant, domain.Scope{})
	require.NoError(t, err)
	require.Empty(t, unknown)
	_, err = c.UnknownScopeIDs(ctx, invID, domain.Scope{Customers: &domain.Selection{IDs: []string{tenant}}})
	require.ErrorIs(t, err, app.ErrUnknownTenant)
}

func TestVerifyLogin(t *testing.T) {
	t.Parallel()
	c, s := setup(t, svcToken)
	ctx := context.Background()
	res, err := c.Verify(ctx, tenant, invID, domain.LoginBankID, "bankid", "signed")
	require.NoError(t, err)
	require.Equal(t, "bankid:subject-1", res.Subject)
	require.Empty(t, res.ExistingUserID)
	require.Equal(t, []string{invID}, s.audiences, "the assertion is checked against the invitation")

	res, err = c.Verify(ctx, tenant, invID, domain.LoginExisting, "rollcall", "session")
	require.NoError(t, err)
	require.Equal(t, userID, res.ExistingUserID)

	_, err = c.Verify(ctx, tenant, invID, domain.LoginBankID, "bankid", "bad")
	require.ErrorIs(t, err, identity.ErrLoginRefused)
	for _, mismatch := range []struct {
		m        domain.LoginMethod
		provider string
	}{{domain.LoginBankID, "telia"}, {domain.LoginExisting, "bankid"}, {domain.LoginProviderProfile, "rollcall"}, {domain.LoginPassword, "bankid"}} {
		_, err = c.Verify(ctx, tenant, invID, mismatch.m, mismatch.provider, "signed")
		require.ErrorIs(t, err, identity.ErrLoginRefused, "%v/%s", mismatch.m, mismatch.provider)
	}
	require.Len(t, s.audiences, 3, "mismatched providers are refused before asking identity")
}

func TestSetInitialPassword(t *testing.T) {
	t.Parallel()
	c, s := setup(t, svcToken)
	require.NoError(t, c.SetInitialPassword(context.Background(), tenant, userID, invID, "correct horse battery"))
	require.Equal(t, "correct horse battery", s.passwords[tenant+"/"+userID+"/"+invID])
	// The contract's own rules still hold on the way in.
	// identity's answer on the password is the invitee's to fix.
	err := c.SetInitialPassword(context.Background(), tenant, userID, invID, "short")
	require.ErrorIs(t, err, domain.ErrInvalid)
	var fe *domain.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "password", fe.Field)
	require.NotErrorIs(t, err, app.ErrUnavailable)
	// A refusal of our own service token is not.
	bad, _ := setup(t, "a-wrong-service-token-of-32-characters-or-more")
	err = bad.SetInitialPassword(context.Background(), tenant, userID, invID, "correct horse battery")
	require.ErrorIs(t, err, app.ErrUnavailable)
	require.NotErrorIs(t, err, domain.ErrInvalid)
}

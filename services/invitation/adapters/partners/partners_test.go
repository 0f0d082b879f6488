package partners_test

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
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/services/invitation/adapters/partners"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
)

const svcToken = "service-token-0123456789abcdef0123456789"

type registry struct {
	integratorv1connect.UnimplementedIntegratorPolicyServiceHandler
}

func (registry) CheckPartner(_ context.Context, r *connect.Request[integratorv1.CheckPartnerRequest]) (*connect.Response[integratorv1.CheckPartnerResponse], error) {
	if strings.HasSuffix(r.Msg.GetEmail(), "@integra.example") {
		id, name := "5d1c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "Integra AS"
		return connect.NewResponse(&integratorv1.CheckPartnerResponse{Registered: true, PartnerId: &id, PartnerName: &name}), nil
	}
	return connect.NewResponse(&integratorv1.CheckPartnerResponse{}), nil
}

// CheckAction refuses integrator "5d1c…" (as integrator-policy would, and
// would record); it allows anyone else.
func (registry) CheckAction(_ context.Context, r *connect.Request[integratorv1.CheckActionRequest]) (*connect.Response[integratorv1.CheckActionResponse], error) {
	if r.Msg.GetAction() != integratorv1.Action_ACTION_CREATE_ADMINISTRATOR || r.Msg.GetResource() != "invitations/new" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("unexpected action"))
	}
	if r.Msg.GetActorUserId() == integratorUser {
		return connect.NewResponse(&integratorv1.CheckActionResponse{
			Reason: integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_RESTRICTION, Message: "an integrator may not create administrators",
		}), nil
	}
	return connect.NewResponse(&integratorv1.CheckActionResponse{Allowed: true}), nil
}

const (
	integratorUser = "5d1c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
	tenantID       = "0b7c4d6e-1f2a-4b3c-8d9e-0a1b2c3d4e5f"
)

func TestMayCreateAdministrator(t *testing.T) {
	t.Parallel()
	srv := start(t)
	ctx := context.Background()
	cl, err := svcauth.NewClient(srv.URL, svcToken, 0)
	require.NoError(t, err)
	p := partners.New(cl)
	err = p.MayCreateAdministrator(ctx, tenantID, integratorUser)
	require.ErrorIs(t, err, domain.ErrForbidden)
	require.ErrorContains(t, err, "an integrator may not create administrators")
	require.NoError(t, p.MayCreateAdministrator(ctx, tenantID, "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"))
	srv.Close()
	err = p.MayCreateAdministrator(ctx, tenantID, integratorUser)
	require.ErrorIs(t, err, app.ErrUnavailable)
	require.NotErrorIs(t, err, domain.ErrForbidden)
}

func start(t *testing.T) *httptest.Server {
	t.Helper()
	tokens, err := svcauth.ParseTokens(svcToken)
	require.NoError(t, err)
	opts, err := server.HandlerOptions()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(integratorv1connect.NewIntegratorPolicyServiceHandler(registry{}, append(opts, connect.WithInterceptors(svcauth.Require(tokens)))...))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestCheckPartner(t *testing.T) {
	t.Parallel()
	srv := start(t)
	ctx := context.Background()

	cl, err := svcauth.NewClient(srv.URL, svcToken, 0)
	require.NoError(t, err)
	p := partners.New(cl)
	id, err := p.CheckPartner(ctx, "kari@integra.example")
	require.NoError(t, err)
	require.Equal(t, "5d1c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", id)
	id, err = p.CheckPartner(ctx, "kari@elsewhere.example")
	require.NoError(t, err)
	require.Empty(t, id)

	// A refused service token or a registry that is down is never read as
	// "not a partner".
	cl, err = svcauth.NewClient(srv.URL, strings.Repeat("z", 40), 0)
	require.NoError(t, err)
	_, err = partners.New(cl).CheckPartner(ctx, "kari@integra.example")
	require.ErrorIs(t, err, app.ErrUnavailable)
	srv.Close()
	_, err = p.CheckPartner(ctx, "kari@integra.example")
	require.ErrorIs(t, err, app.ErrUnavailable)
}

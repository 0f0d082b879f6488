package partners_test

import (
	"context"
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

func TestCheckPartner(t *testing.T) {
	t.Parallel()
	tokens, err := svcauth.ParseTokens(svcToken)
	require.NoError(t, err)
	opts, err := server.HandlerOptions()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(integratorv1connect.NewIntegratorPolicyServiceHandler(registry{}, append(opts, connect.WithInterceptors(svcauth.Require(tokens)))...))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
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

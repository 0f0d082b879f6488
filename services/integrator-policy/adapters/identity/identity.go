// Package identity is the integrator-policy service's client of the identity
// service: it resolves administrators' bearer tokens with
// InternalService.Authenticate, presenting this service's service token.
package identity

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"rollcall.dev/pkg/svcauth"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/ports"
)

// Client calls identity's InternalService.
type Client struct {
	c identityv1connect.InternalServiceClient
}

// New returns a Client for the identity service at baseURL.
func New(baseURL, serviceToken string, timeout time.Duration) (*Client, error) {
	sc, err := svcauth.NewClient(baseURL, serviceToken, timeout)
	if err != nil {
		return nil, fmt.Errorf("identity client: %w", err)
	}
	return &Client{c: identityv1connect.NewInternalServiceClient(sc.HTTP, sc.BaseURL, sc.Options...)}, nil
}

var _ ports.Authenticator = (*Client)(nil)

// Authenticate resolves an administrator's bearer token. identity's
// UNAUTHENTICATED (and a refused argument) is ports.ErrBadToken; any other
// failure is identity being unavailable.
func (c *Client) Authenticate(ctx context.Context, bearer string) (app.Principal, error) {
	resp, err := c.c.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: bearer}))
	if err != nil {
		switch connect.CodeOf(err) {
		case connect.CodeUnauthenticated, connect.CodeInvalidArgument, connect.CodePermissionDenied:
			return app.Principal{}, ports.ErrBadToken
		}
		return app.Principal{}, fmt.Errorf("identity: authenticate: %w", err)
	}
	p := resp.Msg.GetPrincipal()
	return app.Principal{
		TenantID: p.GetTenantId(), UserID: p.GetUserId(), Role: app.Role(p.GetRole()),
		Integrator: p.GetIntegrator() || p.GetKind() == identityv1.UserKind_USER_KIND_INTEGRATOR,
	}, nil
}

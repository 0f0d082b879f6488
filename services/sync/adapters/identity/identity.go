// Package identity is the sync service's client of the identity service: it
// resolves administrators' bearer tokens over InternalService.Authenticate
// and describes tenants (their companies and language) over
// InternalService.DescribeTenant, presenting the sync service's service
// token (pkg/svcauth), as the invitation service does.
//
// A token identity refuses is app.ErrBadToken, a tenant it does not know
// app.ErrNotFound; every other failure (identity down, a timeout, identity
// refusing *our* service token) is an *app.UnavailableError naming
// identity, so the admin is told to try again.
package identity

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"rollcall.dev/pkg/svcauth"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/services/sync/app"
)

// Client implements app.Authenticator and app.TenantDirectory.
type Client struct {
	internal identityv1connect.InternalServiceClient
}

var (
	_ app.Authenticator   = (*Client)(nil)
	_ app.TenantDirectory = (*Client)(nil)
)

// New returns a client of the identity service at c.BaseURL.
func New(c svcauth.Client) *Client {
	return &Client{internal: identityv1connect.NewInternalServiceClient(c.HTTP, c.BaseURL, c.Options...)}
}

// Authenticate implements app.Authenticator.
func (c *Client) Authenticate(ctx context.Context, bearer string) (app.Actor, error) {
	res, err := c.internal.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: bearer}))
	if err != nil {
		switch connect.CodeOf(err) {
		case connect.CodeUnauthenticated, connect.CodeInvalidArgument, connect.CodePermissionDenied, connect.CodeNotFound:
			if isServiceTokenRefusal(err) {
				return app.Actor{}, &app.UnavailableError{Dependency: "identity", Err: fmt.Errorf("authenticating: %w", err)}
			}
			return app.Actor{}, app.ErrBadToken
		default:
			return app.Actor{}, &app.UnavailableError{Dependency: "identity", Err: fmt.Errorf("authenticating: %w", err)}
		}
	}
	p := res.Msg.GetPrincipal()
	if p.GetTenantId() == "" || p.GetUserId() == "" {
		return app.Actor{}, &app.UnavailableError{Dependency: "identity", Err: errors.New("answer without tenant or user")}
	}
	role := app.RoleUser
	switch p.GetRole() {
	case identityv1.Role_ROLE_MAIN_ADMINISTRATOR:
		role = app.RoleMainAdministrator
	case identityv1.Role_ROLE_SUPERUSER:
		role = app.RoleSuperuser
	case identityv1.Role_ROLE_APPLICATION_MANAGER:
		role = app.RoleApplicationMgr
	}
	return app.Actor{TenantID: p.GetTenantId(), UserID: p.GetUserId(), Name: p.GetName(), Email: p.GetEmail(), Role: role}, nil
}

// DescribeTenant implements app.TenantDirectory.
func (c *Client) DescribeTenant(ctx context.Context, tenantID string) (app.TenantInfo, error) {
	res, err := c.internal.DescribeTenant(ctx, connect.NewRequest(&identityv1.DescribeTenantRequest{TenantId: tenantID}))
	if err != nil {
		if connect.CodeOf(err) == connect.CodeNotFound {
			return app.TenantInfo{}, fmt.Errorf("tenant %s: %w", tenantID, app.ErrNotFound)
		}
		return app.TenantInfo{}, &app.UnavailableError{Dependency: "identity", Err: fmt.Errorf("describing tenant %s: %w", tenantID, err)}
	}
	info := app.TenantInfo{Language: res.Msg.GetLanguage()}
	for _, co := range res.Msg.GetCompanies() {
		info.Companies = append(info.Companies, app.Company{ID: co.GetId(), Name: co.GetName()})
	}
	return info, nil
}

// isServiceTokenRefusal tells identity refusing our service token (an
// operator's misconfiguration) from refusing the admin's token.
func isServiceTokenRefusal(err error) bool {
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeUnauthenticated {
		return false
	}
	return ce.Message() == svcauth.ErrNoToken.Error() || ce.Message() == svcauth.ErrBadToken.Error()
}

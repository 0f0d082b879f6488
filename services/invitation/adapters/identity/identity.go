// Package identity is the invitation service's client of the identity
// service: it resolves administrators' bearer tokens, answers for tenants'
// structure, verifies invitees' login assertions and sets integration users'
// first passwords, all over Connect with the service token.
//
// Every failure that is not an answer about the request (identity down, a
// timeout, a refused service token) wraps app.ErrUnavailable, so the admin
// or invitee is told to try again and nothing is written.
package identity

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"rollcall.dev/pkg/svcauth"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/services/invitation/adapters/postgres"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
	"rollcall.dev/services/invitation/ports"
)

// ErrBadToken is a bearer token identity does not accept.
var ErrBadToken = errors.New("identity: the bearer token is not valid")

// ErrLoginRefused is a login assertion the provider did not confirm, or one
// that does not fit the chosen login method.
var ErrLoginRefused = errors.New("identity: the login provider did not confirm the sign-in")

// Client implements ports.Authenticator, ports.LoginProviders,
// app.Directory and app.Credentials.
type Client struct {
	internal identityv1connect.InternalServiceClient
	service  identityv1connect.IdentityServiceClient
}

var (
	_ ports.Authenticator  = (*Client)(nil)
	_ ports.LoginProviders = (*Client)(nil)
	_ app.Directory        = (*Client)(nil)
	_ app.Credentials      = (*Client)(nil)
)

// New returns a client of the identity service at c.BaseURL.
func New(c svcauth.Client) *Client {
	return &Client{
		internal: identityv1connect.NewInternalServiceClient(c.HTTP, c.BaseURL, c.Options...),
		service:  identityv1connect.NewIdentityServiceClient(c.HTTP, c.BaseURL, c.Options...),
	}
}

func unavailable(what string, err error) error {
	return app.Unavailable("identity", fmt.Errorf("%s: %w", what, err))
}

// Authenticate resolves an administrator's bearer token.
func (c *Client) Authenticate(ctx context.Context, bearer string) (domain.Actor, error) {
	res, err := c.internal.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: bearer}))
	if err != nil {
		switch connect.CodeOf(err) {
		case connect.CodeUnauthenticated, connect.CodeInvalidArgument, connect.CodePermissionDenied, connect.CodeNotFound:
			if isServiceTokenRefusal(err) {
				return domain.Actor{}, unavailable("authenticating", err)
			}
			return domain.Actor{}, ErrBadToken
		default:
			return domain.Actor{}, unavailable("authenticating", err)
		}
	}
	p := res.Msg.GetPrincipal()
	if p.GetTenantId() == "" || p.GetUserId() == "" {
		return domain.Actor{}, unavailable("authenticating", errors.New("answer without tenant or user"))
	}
	return domain.Actor{
		TenantID: p.GetTenantId(), UserID: p.GetUserId(), Name: p.GetName(), Email: p.GetEmail(),
		Role: roleFromProto(p.GetRole()), Grants: postgres.GrantsFromProto(p.GetGrants()),
		Integrator: p.GetIntegrator() || p.GetKind() == identityv1.UserKind_USER_KIND_INTEGRATOR,
	}, nil
}

// isServiceTokenRefusal tells identity refusing *our* service token (a
// misconfiguration the operator must fix, reported as unavailable) from
// refusing the admin's token or the invitee's assertion.
func isServiceTokenRefusal(err error) bool {
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeUnauthenticated {
		return false
	}
	return ce.Message() == svcauth.ErrNoToken.Error() || ce.Message() == svcauth.ErrBadToken.Error()
}

func roleFromProto(r identityv1.Role) domain.Role {
	switch r {
	case identityv1.Role_ROLE_MAIN_ADMINISTRATOR:
		return domain.RoleMainAdministrator
	case identityv1.Role_ROLE_SUPERUSER:
		return domain.RoleSuperuser
	case identityv1.Role_ROLE_APPLICATION_MANAGER:
		return domain.RoleApplicationManager
	default:
		return domain.RoleUser // unknown roles get no administration rights
	}
}

// Tenant describes a tenant.
func (c *Client) Tenant(ctx context.Context, tenantID string) (app.Tenant, error) {
	res, err := c.internal.DescribeTenant(ctx, connect.NewRequest(&identityv1.DescribeTenantRequest{TenantId: tenantID}))
	if err != nil {
		switch connect.CodeOf(err) {
		case connect.CodeNotFound:
			return app.Tenant{}, app.ErrUnknownTenant
		default:
			return app.Tenant{}, unavailable("describing the tenant", err)
		}
	}
	m := res.Msg
	return app.Tenant{ID: m.GetTenantId(), Name: m.GetName(), Language: m.GetLanguage(), Areas: m.GetPermissionAreas(), Packages: m.GetAdditionalPackages()}, nil
}

// UnknownScopeIDs asks identity which scope ids the tenant does not have.
func (c *Client) UnknownScopeIDs(ctx context.Context, tenantID string, scope domain.Scope) (map[string][]string, error) {
	g := postgres.GrantsToProto(domain.Grants{Scope: scope})
	if g.GetScope() == nil {
		return nil, nil // nothing to check
	}
	res, err := c.internal.CheckScope(ctx, connect.NewRequest(&identityv1.CheckScopeRequest{TenantId: tenantID, Scope: g.GetScope()}))
	if err != nil {
		switch connect.CodeOf(err) {
		case connect.CodeNotFound:
			return nil, app.ErrUnknownTenant
		default:
			return nil, unavailable("checking the scope", err)
		}
	}
	var out map[string][]string
	for _, u := range res.Msg.GetUnknown() {
		if len(u.GetIds()) == 0 {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		field := u.GetField()
		if field == "application_link_ids" {
			field = "application_links" // the name app.Directory documents
		}
		out[field] = append(out[field], u.GetIds()...)
	}
	return out, nil
}

// SetInitialPassword hands an integration user's password to identity,
// which keeps only its argon2id hash.
func (c *Client) SetInitialPassword(ctx context.Context, tenantID, userID, invitationID, password string) error {
	_, err := c.service.SetInitialPassword(ctx, connect.NewRequest(&identityv1.SetInitialPasswordRequest{
		TenantId: tenantID, UserId: userID, InvitationId: invitationID, Password: password,
	}))
	if err != nil {
		// Identity's own rule on the password is the invitee's to fix;
		// anything else (a refusal of our service token included) is not.
		var ce *connect.Error
		if errors.As(err, &ce) && ce.Code() == connect.CodeInvalidArgument && !isServiceTokenRefusal(err) {
			return domain.Invalid("password", "%s", ce.Message())
		}
		return unavailable("setting the password", err)
	}
	return nil
}

// Verify checks an invitee's login assertion for the invitation. The
// provider must fit the method: "rollcall" (an existing profile's session)
// for EXISTING, "bankid" for BANKID, any other provider for PROVIDER_PROFILE.
func (c *Client) Verify(ctx context.Context, tenantID, invitationID string, method domain.LoginMethod, provider, assertion string) (ports.LoginResult, error) {
	if !fits(method, provider) {
		return ports.LoginResult{}, fmt.Errorf("%w: provider %q does not match the login method", ErrLoginRefused, provider)
	}
	res, err := c.internal.VerifyLogin(ctx, connect.NewRequest(&identityv1.VerifyLoginRequest{
		TenantId: tenantID, Provider: provider, Assertion: assertion, Audience: invitationID,
	}))
	if err != nil {
		switch connect.CodeOf(err) {
		case connect.CodePermissionDenied, connect.CodeInvalidArgument, connect.CodeUnauthenticated, connect.CodeNotFound:
			if isServiceTokenRefusal(err) {
				return ports.LoginResult{}, unavailable("verifying the sign-in", err)
			}
			return ports.LoginResult{}, ErrLoginRefused
		default:
			return ports.LoginResult{}, unavailable("verifying the sign-in", err)
		}
	}
	out := ports.LoginResult{Subject: res.Msg.GetSubject(), ExistingUserID: res.Msg.GetExistingUserId()}
	if method == domain.LoginExisting && out.ExistingUserID == "" {
		return ports.LoginResult{}, fmt.Errorf("%w: no existing profile", ErrLoginRefused)
	}
	if method != domain.LoginExisting && out.Subject == "" {
		return ports.LoginResult{}, fmt.Errorf("%w: no subject", ErrLoginRefused)
	}
	return out, nil
}

func fits(m domain.LoginMethod, provider string) bool {
	switch m {
	case domain.LoginExisting:
		return provider == "rollcall"
	case domain.LoginBankID:
		return provider == "bankid"
	case domain.LoginProviderProfile:
		return provider != "bankid" && provider != "rollcall"
	default:
		return false
	}
}

// Package ports translates between the outside world and the identity
// service's use cases: Connect handlers (IdentityService for administrators
// and operators, InternalService for the other services), event consumers
// and the development login endpoint. It holds no rules.
package ports

import (
	"context"
	"errors"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/svcauth"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/services/identity/adapters/postgres"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// Connect serves rollcall.identity.v1.IdentityService. Requests are
// validated by the platform's protovalidate interceptor before they reach
// it. Callers present either an administrator's bearer token or (for the
// operator and service-to-service RPCs) one of identity's service tokens.
type Connect struct {
	identityv1connect.UnimplementedIdentityServiceHandler
	App *app.Service
	// ServiceTokens are accepted for CreateTenant, SetInitialPassword and
	// operator calls of CreateAccessToken/RevokeAccessToken.
	ServiceTokens svcauth.Tokens
}

var _ identityv1connect.IdentityServiceHandler = (*Connect)(nil)

// caller is who called: a service (operator) or an administrator.
type caller struct {
	service bool
	actor   domain.Actor
}

var errNoCredentials = connect.NewError(connect.CodeUnauthenticated, errors.New("an access token is required (Authorization: Bearer <token>)"))

func (h *Connect) who(ctx context.Context, hdr http.Header) (caller, error) {
	tok := svcauth.Bearer(hdr)
	if tok == "" {
		return caller{}, errNoCredentials
	}
	if h.ServiceTokens.Check(tok) == nil {
		return caller{service: true}, nil
	}
	a, err := h.App.Actor(ctx, tok)
	if err != nil {
		return caller{}, toConnect(err)
	}
	return caller{actor: a}, nil
}

// admin requires an administrator's token.
func (h *Connect) admin(ctx context.Context, hdr http.Header) (domain.Actor, error) {
	c, err := h.who(ctx, hdr)
	if err != nil {
		return domain.Actor{}, err
	}
	if c.service {
		return domain.Actor{}, connect.NewError(connect.CodePermissionDenied, errors.New("this RPC needs an administrator's token, not a service token"))
	}
	return c.actor, nil
}

// service requires a service token.
func (h *Connect) service(hdr http.Header) error {
	tok := svcauth.Bearer(hdr)
	if tok == "" {
		return errNoCredentials
	}
	if h.ServiceTokens.Check(tok) != nil {
		return connect.NewError(connect.CodePermissionDenied, errors.New("this RPC is for operators and Rollcall services (a service token)"))
	}
	return nil
}

// CreateTenant creates a tenant and its first main administrator (operators).
func (h *Connect) CreateTenant(ctx context.Context, req *connect.Request[identityv1.CreateTenantRequest]) (*connect.Response[identityv1.CreateTenantResponse], error) {
	if err := h.service(req.Header()); err != nil {
		return nil, err
	}
	m := req.Msg
	a := m.GetAdministrator()
	t, admin, err := h.App.CreateTenant(ctx, app.NewTenant{
		Name: m.GetName(), CompanyCode: m.GetCompanyCode(), Language: m.GetLanguage(), SeatLimit: int(m.GetSeatLimit()),
		Admin: app.NewPerson{FirstName: a.GetFirstName(), LastName: a.GetLastName(), Email: a.GetEmail(), Mobile: a.GetMobile()},
	})
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.CreateTenantResponse{Tenant: TenantOf(t), Administrator: UserOf(admin)}), nil
}

// SetInitialPassword stores an integration invitee's password (services only).
func (h *Connect) SetInitialPassword(ctx context.Context, req *connect.Request[identityv1.SetInitialPasswordRequest]) (*connect.Response[identityv1.SetInitialPasswordResponse], error) {
	if err := h.service(req.Header()); err != nil {
		return nil, err
	}
	m := req.Msg
	if err := h.App.SetInitialPassword(ctx, m.GetTenantId(), m.GetUserId(), m.GetInvitationId(), m.GetPassword()); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.SetInitialPasswordResponse{}), nil
}

// CreateAccessToken issues an administrator token.
func (h *Connect) CreateAccessToken(ctx context.Context, req *connect.Request[identityv1.CreateAccessTokenRequest]) (*connect.Response[identityv1.CreateAccessTokenResponse], error) {
	c, err := h.who(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	var actor *domain.Actor
	if !c.service {
		actor = &c.actor
	}
	m := req.Msg
	tok, err := h.App.CreateAccessToken(ctx, actor, m.GetTenantId(), m.GetUserId(), m.GetLabel(), time.Duration(m.GetTtlSeconds())*time.Second)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.CreateAccessTokenResponse{
		Token: tok.Token, TokenId: tok.Record.ID, ExpiresAt: timestamppb.New(tok.Record.ExpiresAt),
	}), nil
}

// RevokeAccessToken revokes a token.
func (h *Connect) RevokeAccessToken(ctx context.Context, req *connect.Request[identityv1.RevokeAccessTokenRequest]) (*connect.Response[identityv1.RevokeAccessTokenResponse], error) {
	c, err := h.who(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	var actor *domain.Actor
	if !c.service {
		actor = &c.actor
	}
	if err := h.App.RevokeAccessToken(ctx, actor, req.Msg.GetTenantId(), req.Msg.GetTokenId()); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.RevokeAccessTokenResponse{}), nil
}

// IssueJoinAssertion gives the caller (his own bearer token) a join
// assertion for an invitation. A service token is refused: it stands for no
// person.
func (h *Connect) IssueJoinAssertion(ctx context.Context, req *connect.Request[identityv1.IssueJoinAssertionRequest]) (*connect.Response[identityv1.IssueJoinAssertionResponse], error) {
	tok := svcauth.Bearer(req.Header())
	if tok == "" {
		return nil, errNoCredentials
	}
	if h.ServiceTokens.Check(tok) == nil {
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New("a join assertion is for the person accepting the invitation: call with his own bearer token, not a service token"))
	}
	a, err := h.App.IssueJoinAssertion(ctx, tok, req.Msg.GetAudience())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.IssueJoinAssertionResponse{
		Assertion: a.Assertion, Provider: app.ProviderRollcall, ExpiresAt: timestamppb.New(a.Record.ExpiresAt),
	}), nil
}

// TenantOf is the API's tenant.
func TenantOf(t *domain.Tenant) *identityv1.Tenant {
	return &identityv1.Tenant{
		TenantId: t.ID, Name: t.Name, CompanyCode: t.CompanyCode, SeatLimit: uint32(t.SeatLimit),
		CreatedAt: timestamppb.New(t.CreatedAt), Language: t.Language,
	}
}

// UserOf is the API's user.
func UserOf(u *domain.User) *identityv1.User {
	out := &identityv1.User{
		UserId: u.ID, TenantId: u.TenantID, Kind: identityv1.UserKind(u.Kind), CreatedAt: timestamppb.New(u.CreatedAt),
		Role: identityv1.Role(u.Role), SponsorUserId: u.SponsorUserID, NeedsNewSponsor: u.NeedsSponsor,
	}
	out.Origin = originOf(u.Origin)
	out.Status = identityv1.UserStatus_USER_STATUS_ACTIVE
	switch u.Status {
	case domain.StatusDeactivated:
		out.Status = identityv1.UserStatus_USER_STATUS_DEACTIVATED
		out.DeactivatedAt = timestamppb.New(u.DeactivatedAt)
	case domain.StatusWaiting:
		out.Status = identityv1.UserStatus_USER_STATUS_WAITING
	}
	if sd := u.Service; sd != nil {
		st := identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE
		if sd.Active {
			st = identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE
		}
		out.ServiceUser = &identityv1.ServiceUser{
			UserCode: sd.UserCode, ApplicationId: sd.ApplicationID, Status: st, Language: sd.Language,
			AllCompanies: sd.AllCompanies, CompanyIds: sd.CompanyIDs, AllStructure: sd.AllStructure, StructureLevelIds: sd.StructureLevelIDs,
		}
	} else {
		out.Profile = postgres.ProfileOf(u)
	}
	return out
}

func originOf(o int32) commonv1.CreationOrigin { return commonv1.CreationOrigin(o) }

// DeactivateUser takes a user's access away.
func (h *Connect) DeactivateUser(ctx context.Context, req *connect.Request[identityv1.DeactivateUserRequest]) (*connect.Response[identityv1.DeactivateUserResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	u, err := h.App.DeactivateUser(ctx, a, m.GetTenantId(), m.GetUserId(), domain.Reason(m.GetReason()))
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.DeactivateUserResponse{User: UserOf(u)}), nil
}

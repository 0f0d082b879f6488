package ports

import (
	"context"

	"connectrpc.com/connect"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// Internal serves rollcall.identity.v1.InternalService to the other
// services. It is mounted behind svcauth.Require, so every call here already
// carries one of identity's service tokens.
type Internal struct {
	App *app.Service
}

var _ identityv1connect.InternalServiceHandler = (*Internal)(nil)

// Authenticate resolves an administrator's bearer token.
func (h *Internal) Authenticate(ctx context.Context, req *connect.Request[identityv1.AuthenticateRequest]) (*connect.Response[identityv1.AuthenticateResponse], error) {
	u, err := h.App.Authenticate(ctx, req.Msg.GetToken())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.AuthenticateResponse{Principal: PrincipalOf(u)}), nil
}

// PrincipalOf is who a token stands for.
func PrincipalOf(u *domain.User) *identityv1.Principal {
	grants := u.Grants
	if grants == nil {
		grants = &commonv1.Grants{}
	}
	return &identityv1.Principal{
		TenantId: u.TenantID, UserId: u.ID, Name: u.Name(), Email: u.Email, Kind: identityv1.UserKind(u.Kind),
		Role: identityv1.Role(u.Role), Grants: grants, Integrator: u.Kind == domain.KindIntegrator || u.Integrator,
	}
}

// DescribeTenant answers what a tenant offers.
func (h *Internal) DescribeTenant(ctx context.Context, req *connect.Request[identityv1.DescribeTenantRequest]) (*connect.Response[identityv1.DescribeTenantResponse], error) {
	v, err := h.App.DescribeTenant(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, toConnect(err)
	}
	out := &identityv1.DescribeTenantResponse{
		TenantId: v.Tenant.ID, Name: v.Tenant.Name, Language: v.Tenant.Language,
		PermissionAreas: v.PermissionAreas, AdditionalPackages: v.AdditionalPackages,
	}
	for _, c := range v.Companies {
		out.Companies = append(out.Companies, &identityv1.TenantCompany{Id: c.ID, Name: c.Name})
	}
	return connect.NewResponse(out), nil
}

// CheckScope lists the scope ids the tenant does not have.
func (h *Internal) CheckScope(ctx context.Context, req *connect.Request[identityv1.CheckScopeRequest]) (*connect.Response[identityv1.CheckScopeResponse], error) {
	unknown, err := h.App.CheckScope(ctx, req.Msg.GetTenantId(), req.Msg.GetScope())
	if err != nil {
		return nil, toConnect(err)
	}
	out := &identityv1.CheckScopeResponse{}
	for _, u := range unknown {
		out.Unknown = append(out.Unknown, &identityv1.UnknownIds{Field: u.Field, Ids: u.IDs})
	}
	return connect.NewResponse(out), nil
}

// VerifyLogin checks a login provider's assertion.
func (h *Internal) VerifyLogin(ctx context.Context, req *connect.Request[identityv1.VerifyLoginRequest]) (*connect.Response[identityv1.VerifyLoginResponse], error) {
	m := req.Msg
	res, err := h.App.VerifyLogin(ctx, m.GetTenantId(), m.GetProvider(), m.GetAssertion(), m.GetAudience())
	if err != nil {
		return nil, toConnect(err)
	}
	out := &identityv1.VerifyLoginResponse{Subject: res.Subject}
	if res.ExistingUserID != "" {
		out.ExistingUserId = &res.ExistingUserID
		out.ExistingUserEmail = &res.Email
	}
	return connect.NewResponse(out), nil
}

// AuthenticateServiceUser resolves a service user's API token.
func (h *Internal) AuthenticateServiceUser(ctx context.Context, req *connect.Request[identityv1.AuthenticateServiceUserRequest]) (*connect.Response[identityv1.AuthenticateServiceUserResponse], error) {
	u, err := h.App.AuthenticateServiceUser(ctx, req.Msg.GetToken())
	if err != nil {
		return nil, toConnect(err)
	}
	sd := u.Service
	return connect.NewResponse(&identityv1.AuthenticateServiceUserResponse{
		TenantId: u.TenantID, UserId: u.ID, UserCode: sd.UserCode, ApplicationId: sd.ApplicationID,
		AllCompanies: sd.AllCompanies, CompanyIds: sd.CompanyIDs, AllStructure: sd.AllStructure, StructureLevelIds: sd.StructureLevelIDs,
	}), nil
}

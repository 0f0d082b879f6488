package ports

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// GetUser returns one user of the caller's tenant.
func (h *Connect) GetUser(ctx context.Context, req *connect.Request[identityv1.GetUserRequest]) (*connect.Response[identityv1.GetUserResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	u, err := h.App.GetUser(ctx, a, req.Msg.GetTenantId(), req.Msg.GetUserId())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.GetUserResponse{User: UserOf(u)}), nil
}

// ListUsers pages through the caller's tenant's users.
func (h *Connect) ListUsers(ctx context.Context, req *connect.Request[identityv1.ListUsersRequest]) (*connect.Response[identityv1.ListUsersResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	f := app.ListFilter{IncludeDeactivated: m.GetIncludeDeactivated(), Limit: int(m.GetPageSize())}
	for _, k := range m.GetKinds() {
		f.Kinds = append(f.Kinds, domain.Kind(k))
	}
	if m.GetPageToken() != "" {
		b, err := base64.RawURLEncoding.DecodeString(m.GetPageToken())
		if err != nil || json.Unmarshal(b, &f.After) != nil || f.After[2] == "" {
			return nil, toConnect(domain.Invalid("page_token", "not a page token from this API"))
		}
	}
	us, more, err := h.App.ListUsers(ctx, a, m.GetTenantId(), f)
	if err != nil {
		return nil, toConnect(err)
	}
	out := &identityv1.ListUsersResponse{}
	for _, u := range us {
		out.Users = append(out.Users, UserOf(u))
	}
	if more {
		last := us[len(us)-1]
		b, _ := json.Marshal([3]string{last.LastName, last.FirstName, last.ID})
		out.NextPageToken = base64.RawURLEncoding.EncodeToString(b)
	}
	return connect.NewResponse(out), nil
}

// CreateServiceUser creates an API-only service user and returns its letter once.
func (h *Connect) CreateServiceUser(ctx context.Context, req *connect.Request[identityv1.CreateServiceUserRequest]) (*connect.Response[identityv1.CreateServiceUserResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	u, letter, err := h.App.CreateServiceUser(ctx, a, app.NewServiceUser{
		TenantID: m.GetTenantId(), UserCode: m.GetUserCode(), ApplicationID: m.GetApplicationId(),
		Active: m.GetStatus() == identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, Language: m.GetLanguage(),
		AllCompanies: m.GetAllCompanies(), CompanyIDs: m.GetCompanyIds(), AllStructure: m.GetAllStructure(), StructureLevelIDs: m.GetStructureLevelIds(),
	})
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.CreateServiceUserResponse{User: UserOf(u), Letter: letterOf(letter)}), nil
}

// ResetServiceUserPassword issues a new permanent password and letter.
func (h *Connect) ResetServiceUserPassword(ctx context.Context, req *connect.Request[identityv1.ResetServiceUserPasswordRequest]) (*connect.Response[identityv1.ResetServiceUserPasswordResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	letter, err := h.App.ResetServiceUserPassword(ctx, a, req.Msg.GetTenantId(), req.Msg.GetUserId())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.ResetServiceUserPasswordResponse{Letter: letterOf(letter)}), nil
}

// SetServiceUserStatus deactivates or reactivates a service user.
func (h *Connect) SetServiceUserStatus(ctx context.Context, req *connect.Request[identityv1.SetServiceUserStatusRequest]) (*connect.Response[identityv1.SetServiceUserStatusResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	u, err := h.App.SetServiceUserStatus(ctx, a, m.GetTenantId(), m.GetUserId(), m.GetStatus() == identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.SetServiceUserStatusResponse{User: UserOf(u)}), nil
}

func letterOf(l app.Letter) *identityv1.ServiceUserLetter {
	return &identityv1.ServiceUserLetter{CompanyCode: l.CompanyCode, UserCode: l.UserCode, Password: l.Password,
		Text: l.Text, Pdf: l.PDF, Language: l.Language}
}

// IssueServiceToken is the service users' API token endpoint (no bearer token needed).
func (h *Connect) IssueServiceToken(ctx context.Context, req *connect.Request[identityv1.IssueServiceTokenRequest]) (*connect.Response[identityv1.IssueServiceTokenResponse], error) {
	m := req.Msg
	tok, err := h.App.IssueServiceToken(ctx, m.GetCompanyCode(), m.GetUserCode(), m.GetPassword())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.IssueServiceTokenResponse{Token: tok.Token, ExpiresAt: timestamppb.New(tok.Record.ExpiresAt)}), nil
}

// SignIn is the interactive sign-in (no bearer token needed).
func (h *Connect) SignIn(ctx context.Context, req *connect.Request[identityv1.SignInRequest]) (*connect.Response[identityv1.SignInResponse], error) {
	m := req.Msg
	tok, u, err := h.App.SignIn(ctx, app.SignInRequest{CompanyCode: m.GetCompanyCode(), Email: m.GetEmail(), Password: m.GetPassword(),
		Provider: m.GetProvider(), Assertion: m.GetAssertion()})
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.SignInResponse{Token: tok.Token, ExpiresAt: timestamppb.New(tok.Record.ExpiresAt), User: UserOf(u)}), nil
}

// SetUserRole changes a user's role.
func (h *Connect) SetUserRole(ctx context.Context, req *connect.Request[identityv1.SetUserRoleRequest]) (*connect.Response[identityv1.SetUserRoleResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	u, err := h.App.SetUserRole(ctx, a, req.Msg.GetTenantId(), req.Msg.GetUserId(), domain.Role(req.Msg.GetRole()))
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.SetUserRoleResponse{User: UserOf(u)}), nil
}

// SetTwoFactor turns a person's two-factor authentication on or off.
func (h *Connect) SetTwoFactor(ctx context.Context, req *connect.Request[identityv1.SetTwoFactorRequest]) (*connect.Response[identityv1.SetTwoFactorResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	u, err := h.App.SetTwoFactor(ctx, a, req.Msg.GetTenantId(), req.Msg.GetUserId(), req.Msg.GetEnabled())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.SetTwoFactorResponse{User: UserOf(u)}), nil
}

// AssignSponsor names an integration user's sponsor.
func (h *Connect) AssignSponsor(ctx context.Context, req *connect.Request[identityv1.AssignSponsorRequest]) (*connect.Response[identityv1.AssignSponsorResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	u, err := h.App.AssignSponsor(ctx, a, req.Msg.GetTenantId(), req.Msg.GetUserId(), req.Msg.GetSponsorUserId())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.AssignSponsorResponse{User: UserOf(u)}), nil
}

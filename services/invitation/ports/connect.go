// Package ports translates between the outside world and the invitation
// service's use cases: the Connect handler (administrators and invitees) and
// the event consumers. It holds no rules; errors are mapped to Connect codes
// in one place (errors.go).
package ports

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
	"rollcall.dev/services/invitation/adapters/postgres"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
)

// Authenticator turns an administrator's bearer token into the actor it
// stands for (the identity service owns tokens, roles and grants).
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (domain.Actor, error)
}

// LoginResult is what a login provider vouches for.
type LoginResult struct {
	Subject        string // the provider's subject (BankID, provider profile)
	ExistingUserID string // set when the assertion is an existing Rollcall profile's
}

// LoginProviders verify the invitee's login assertion (BankID, provider
// profiles such as Telia, and "rollcall": an existing profile's join
// assertion from identity's IssueJoinAssertion, never his bearer token).
// The assertion is bound to the tenant being joined and to the invitation
// (audience).
type LoginProviders interface {
	Verify(ctx context.Context, tenantID, invitationID string, method domain.LoginMethod, provider, assertion string) (LoginResult, error)
}

// Connect serves rollcall.invitation.v1.InvitationService. Requests are
// validated by the platform's protovalidate interceptor before they get here.
type Connect struct {
	App    *app.Service
	Auth   Authenticator
	Logins LoginProviders
	// Log receives the causes the answers leave out (a dependency's own
	// error); nil is slog.Default().
	Log *slog.Logger
}

// fail maps err to the API (toConnect) and logs what the answer hides.
func (c *Connect) fail(ctx context.Context, err error) error {
	var ue *app.UnavailableError
	if errors.As(err, &ue) {
		log := c.Log
		if log == nil {
			log = slog.Default()
		}
		log.WarnContext(ctx, "a dependency failed", "dependency", ue.Dependency, "error", ue.Err)
	}
	return toConnect(err)
}

var _ invitationv1connect.InvitationServiceHandler = (*Connect)(nil)

func (c *Connect) actor(ctx context.Context, h http.Header) (domain.Actor, error) {
	const prefix = "Bearer "
	v := h.Get("Authorization")
	if len(v) <= len(prefix) || v[:len(prefix)] != prefix {
		return domain.Actor{}, connect.NewError(connect.CodeUnauthenticated, fmt.Errorf("a bearer token is required"))
	}
	a, err := c.Auth.Authenticate(ctx, v[len(prefix):])
	if errors.Is(err, app.ErrUnavailable) {
		return domain.Actor{}, c.fail(ctx, err)
	}
	if err != nil {
		return domain.Actor{}, connect.NewError(connect.CodeUnauthenticated, fmt.Errorf("the bearer token is not valid"))
	}
	return a, nil
}

// CreateInvitation implements the admin's form.
func (c *Connect) CreateInvitation(ctx context.Context, req *connect.Request[invitationv1.CreateInvitationRequest]) (*connect.Response[invitationv1.CreateInvitationResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	form := domain.NewInvitation{
		TenantID: m.GetTenantId(), Kind: domain.Kind(m.GetKind()), Origin: domain.Origin(m.GetOrigin()),
		FirstName: m.GetFirstName(), LastName: m.GetLastName(), Email: m.GetEmail(), Mobile: m.GetMobile(),
		CodeDelivery: domain.CodeDelivery(m.GetCodeDelivery()), Grants: postgres.GrantsFromProto(m.GetGrants()),
	}
	var lifetime time.Duration
	if m.GetLifetime() != nil {
		lifetime = m.GetLifetime().AsDuration()
	}
	inv, err := c.App.CreateWithLifetime(ctx, by, form, lifetime)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&invitationv1.CreateInvitationResponse{Invitation: InvitationToProto(inv)}), nil
}

// GetInvitation reads one invitation.
func (c *Connect) GetInvitation(ctx context.Context, req *connect.Request[invitationv1.GetInvitationRequest]) (*connect.Response[invitationv1.GetInvitationResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	inv, err := c.App.Get(ctx, by, req.Msg.GetTenantId(), req.Msg.GetInvitationId())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&invitationv1.GetInvitationResponse{Invitation: InvitationToProto(inv)}), nil
}

type pageToken struct {
	CreatedAt time.Time `json:"c"`
	ID        string    `json:"i"`
}

// ListInvitations pages through the tenant's invitations.
func (c *Connect) ListInvitations(ctx context.Context, req *connect.Request[invitationv1.ListInvitationsRequest]) (*connect.Response[invitationv1.ListInvitationsResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	f := app.ListFilter{Limit: int(m.GetPageSize())}
	if f.Limit == 0 {
		f.Limit = 50
	}
	for _, st := range m.GetStatuses() {
		f.Statuses = append(f.Statuses, statusFromProto(st))
	}
	for _, k := range m.GetKinds() {
		f.Kinds = append(f.Kinds, domain.Kind(k))
	}
	if t := m.GetPageToken(); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		var pt pageToken
		if err != nil || json.Unmarshal(raw, &pt) != nil || uuid.Validate(pt.ID) != nil {
			return nil, c.fail(ctx, &domain.FieldError{Field: "page_token", Reason: "is not a token this service issued"})
		}
		f.AfterCreatedAt, f.AfterID = pt.CreatedAt, pt.ID
	}
	invs, err := c.App.List(ctx, by, m.GetTenantId(), f)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	out := &invitationv1.ListInvitationsResponse{}
	for _, inv := range invs {
		out.Invitations = append(out.Invitations, InvitationToProto(inv))
	}
	if len(invs) == f.Limit {
		last := invs[len(invs)-1]
		raw, _ := json.Marshal(pageToken{CreatedAt: last.CreatedAt, ID: last.ID})
		out.NextPageToken = base64.RawURLEncoding.EncodeToString(raw)
	}
	return connect.NewResponse(out), nil
}

// RevokeInvitation withdraws an invitation.
func (c *Connect) RevokeInvitation(ctx context.Context, req *connect.Request[invitationv1.RevokeInvitationRequest]) (*connect.Response[invitationv1.RevokeInvitationResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	inv, err := c.App.Revoke(ctx, by, req.Msg.GetTenantId(), req.Msg.GetInvitationId())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&invitationv1.RevokeInvitationResponse{Invitation: InvitationToProto(inv)}), nil
}

// ResendInvitation issues a new link and code (by another delivery when
// the request names one).
func (c *Connect) ResendInvitation(ctx context.Context, req *connect.Request[invitationv1.ResendInvitationRequest]) (*connect.Response[invitationv1.ResendInvitationResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	var delivery *domain.CodeDelivery
	if req.Msg.CodeDelivery != nil {
		d := domain.CodeDelivery(req.Msg.GetCodeDelivery())
		delivery = &d
	}
	inv, err := c.App.Resend(ctx, by, req.Msg.GetTenantId(), req.Msg.GetInvitationId(), delivery)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&invitationv1.ResendInvitationResponse{Invitation: InvitationToProto(inv)}), nil
}

// IssueNewCode is the inviter sending a new code.
func (c *Connect) IssueNewCode(ctx context.Context, req *connect.Request[invitationv1.IssueNewCodeRequest]) (*connect.Response[invitationv1.IssueNewCodeResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	inv, err := c.App.IssueCode(ctx, by, req.Msg.GetTenantId(), req.Msg.GetInvitationId())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&invitationv1.IssueNewCodeResponse{Invitation: InvitationToProto(inv)}), nil
}

// OpenInvitation is the invitee following the link.
func (c *Connect) OpenInvitation(ctx context.Context, req *connect.Request[invitationv1.OpenInvitationRequest]) (*connect.Response[invitationv1.OpenInvitationResponse], error) {
	inv, err := c.App.Open(ctx, domain.Token(req.Msg.GetToken()))
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	out := &invitationv1.OpenInvitationResponse{
		InvitationId: inv.ID, TenantId: inv.TenantID, Kind: invitationv1.InvitationKind(inv.Kind),
		InviterName: inv.Inviter.Name, ExpiresAt: timestamppb.New(inv.ExpiresAt), CodeRequired: inv.NeedsCode(),
		CodeDelivery: invitationv1.CodeDelivery(inv.CodeDelivery), Locked: inv.Status == domain.StatusLocked,
		Email: inv.Email, TenantName: c.App.TenantName(ctx, inv.TenantID),
	}
	for _, lm := range inv.LoginMethods() {
		out.LoginMethods = append(out.LoginMethods, invitationv1.LoginMethod(lm))
	}
	return connect.NewResponse(out), nil
}

// VerifyCode checks a code without completing the invitation.
func (c *Connect) VerifyCode(ctx context.Context, req *connect.Request[invitationv1.VerifyCodeRequest]) (*connect.Response[invitationv1.VerifyCodeResponse], error) {
	tok := domain.Token(req.Msg.GetToken())
	if err := c.App.VerifyCode(ctx, tok, domain.Code(req.Msg.GetCode())); err != nil {
		return nil, c.fail(ctx, err)
	}
	inv, err := c.App.Open(ctx, tok)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	out := &invitationv1.VerifyCodeResponse{
		InvitationId: inv.ID, Kind: invitationv1.InvitationKind(inv.Kind), Email: inv.Email,
		FirstName: inv.FirstName, LastName: inv.LastName, ExpiresAt: timestamppb.New(inv.ExpiresAt),
	}
	for _, lm := range inv.LoginMethods() {
		out.LoginMethods = append(out.LoginMethods, invitationv1.LoginMethod(lm))
	}
	return connect.NewResponse(out), nil
}

// RequestNewCode is the invitee asking for a new code.
func (c *Connect) RequestNewCode(ctx context.Context, req *connect.Request[invitationv1.RequestNewCodeRequest]) (*connect.Response[invitationv1.RequestNewCodeResponse], error) {
	tok := domain.Token(req.Msg.GetToken())
	if err := c.App.RequestCode(ctx, tok); err != nil {
		return nil, c.fail(ctx, err)
	}
	inv, err := c.App.Open(ctx, tok)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&invitationv1.RequestNewCodeResponse{CodeExpiresAt: timestamppb.New(inv.CodeExpiresAt)}), nil
}

// AcceptInvitation completes the invitation.
func (c *Connect) AcceptInvitation(ctx context.Context, req *connect.Request[invitationv1.AcceptInvitationRequest]) (*connect.Response[invitationv1.AcceptInvitationResponse], error) {
	m := req.Msg
	form := app.AcceptForm{
		Token: domain.Token(m.GetToken()), Code: domain.Code(m.GetCode()),
		Method: domain.LoginMethod(m.GetLoginMethod()), Password: m.GetPassword(),
		FirstName: m.GetFirstName(), LastName: m.GetLastName(),
	}
	if a := m.GetLoginAssertion(); a != nil {
		// The assertion is verified against the invitation it was made for;
		// a bad link answers as every bad link does.
		inv, err := c.App.Open(ctx, form.Token)
		if err != nil {
			return nil, c.fail(ctx, err)
		}
		// Assertions are single-use: check everything else first (the
		// method, the names, the code), so an answer bound to fail does
		// not burn the invitee's sign-in (a wrong code is counted here as
		// it would be by Accept).
		if err := c.App.CheckAccept(inv, form); err != nil {
			return nil, c.fail(ctx, err)
		}
		if inv.NeedsCode() {
			if err := c.App.VerifyCode(ctx, form.Token, form.Code); err != nil {
				return nil, c.fail(ctx, err)
			}
		}
		res, err := c.Logins.Verify(ctx, inv.TenantID, inv.ID, form.Method, a.GetProvider(), a.GetAssertion())
		if errors.Is(err, app.ErrUnavailable) {
			return nil, c.fail(ctx, err)
		}
		if err != nil {
			return nil, c.fail(ctx, &domain.FieldError{Field: "login_assertion", Reason: "the login provider did not confirm the sign-in"})
		}
		form.ExternalSubject, form.ExistingUserID = res.Subject, res.ExistingUserID
	}
	inv, err := c.App.Accept(ctx, form)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&invitationv1.AcceptInvitationResponse{InvitationId: inv.ID, TenantId: inv.TenantID, UserId: inv.UserID}), nil
}

// InvitationToProto is the API view of an invitation (never a secret).
func InvitationToProto(inv *domain.Invitation) *invitationv1.Invitation {
	out := &invitationv1.Invitation{
		InvitationId: inv.ID, TenantId: inv.TenantID, Kind: invitationv1.InvitationKind(inv.Kind),
		FirstName: inv.FirstName, LastName: inv.LastName, Email: inv.Email, Mobile: postgres.Optional(inv.Mobile),
		CodeDelivery: invitationv1.CodeDelivery(inv.CodeDelivery), Grants: postgres.GrantsToProto(inv.Grants),
		Origin: commonv1.CreationOrigin(inv.Origin), PartnerId: postgres.Optional(inv.PartnerID), Inviter: postgres.ActorToProto(inv.Inviter),
		Status: statusToProto(inv.Status), CreatedAt: timestamppb.New(inv.CreatedAt), ExpiresAt: timestamppb.New(inv.ExpiresAt),
	}
	if !inv.AcceptedAt.IsZero() {
		out.AcceptedAt = timestamppb.New(inv.AcceptedAt)
	}
	return out
}

var statuses = map[domain.Status]invitationv1.InvitationStatus{
	domain.StatusPending:  invitationv1.InvitationStatus_INVITATION_STATUS_PENDING,
	domain.StatusAccepted: invitationv1.InvitationStatus_INVITATION_STATUS_ACCEPTED,
	domain.StatusExpired:  invitationv1.InvitationStatus_INVITATION_STATUS_EXPIRED,
	domain.StatusRevoked:  invitationv1.InvitationStatus_INVITATION_STATUS_REVOKED,
	domain.StatusLocked:   invitationv1.InvitationStatus_INVITATION_STATUS_LOCKED,
}

func statusToProto(s domain.Status) invitationv1.InvitationStatus { return statuses[s] }

func statusFromProto(s invitationv1.InvitationStatus) domain.Status {
	for k, v := range statuses {
		if v == s {
			return k
		}
	}
	return ""
}

// GetInvitationSettings returns the tenant's invitation settings.
func (c *Connect) GetInvitationSettings(ctx context.Context, req *connect.Request[invitationv1.GetInvitationSettingsRequest]) (*connect.Response[invitationv1.GetInvitationSettingsResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	l, err := c.App.Settings(ctx, by, req.Msg.GetTenantId())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&invitationv1.GetInvitationSettingsResponse{Settings: &invitationv1.InvitationSettings{DefaultLifetime: durationpb.New(l)}}), nil
}

// UpdateInvitationSettings sets the tenant's default link lifetime.
func (c *Connect) UpdateInvitationSettings(ctx context.Context, req *connect.Request[invitationv1.UpdateInvitationSettingsRequest]) (*connect.Response[invitationv1.UpdateInvitationSettingsResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	l, err := c.App.SetDefaultLifetime(ctx, by, req.Msg.GetTenantId(), req.Msg.GetDefaultLifetime().AsDuration())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&invitationv1.UpdateInvitationSettingsResponse{Settings: &invitationv1.InvitationSettings{DefaultLifetime: durationpb.New(l)}}), nil
}

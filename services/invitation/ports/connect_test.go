package ports_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/testkit"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
	"rollcall.dev/services/invitation/adapters/postgres"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
	"rollcall.dev/services/invitation/migrations"
	"rollcall.dev/services/invitation/ports"
)

// tokens maps bearer tokens to actors (the identity service's job, issue 4).
type tokens map[string]domain.Actor

func (t tokens) Authenticate(_ context.Context, bearer string) (domain.Actor, error) {
	a, ok := t[bearer]
	if !ok {
		return domain.Actor{}, errors.New("unknown token")
	}
	return a, nil
}

// logins is a stand-in login provider: "bankid" assertions "ok:<subject>",
// single-use like the real ones.
type logins struct{ used *sync.Map }

func (l logins) Verify(_ context.Context, _, _ string, _ domain.LoginMethod, provider, assertion string) (ports.LoginResult, error) {
	if provider != "bankid" || !strings.HasPrefix(assertion, "ok:") {
		return ports.LoginResult{}, errors.New("rejected")
	}
	if _, replay := l.used.LoadOrStore(assertion, true); replay {
		return ports.LoginResult{}, errors.New("replayed")
	}
	return ports.LoginResult{Subject: strings.TrimPrefix(assertion, "ok:")}, nil
}

type dir struct{ tenant app.Tenant }

func (d dir) Tenant(_ context.Context, id string) (app.Tenant, error) {
	if id != d.tenant.ID {
		return app.Tenant{}, app.ErrUnknownTenant
	}
	return d.tenant, nil
}
func (dir) UnknownScopeIDs(context.Context, string, domain.Scope) (map[string][]string, error) {
	return nil, nil
}

type nobody struct{}

func (nobody) CheckPartner(context.Context, string) (string, error) { return "", nil }
func (nobody) SetInitialPassword(context.Context, string, string, string, string) error {
	return nil
}

type outbox struct {
	mu      sync.Mutex
	tok     domain.Token
	code    domain.Code
	codeVia domain.CodeDelivery // how the last code went
}

func (o *outbox) Invitation(_ context.Context, _ app.Tenant, inv *domain.Invitation, tok domain.Token, code domain.Code) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tok, o.code, o.codeVia = tok, code, inv.CodeDelivery
	return nil
}
func (o *outbox) Code(_ context.Context, _ app.Tenant, inv *domain.Invitation, code domain.Code) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.code, o.codeVia = code, inv.CodeDelivery
	return nil
}

type bundle struct {
	client invitationv1connect.InvitationServiceClient
	sent   *outbox
	tenant string
}

func setup(t *testing.T, opts ...func(*app.Service, *ports.Connect)) bundle {
	t.Helper()
	pool := testkit.NewDB(t, migrations.FS)
	tenant := uuid.NewString()
	sent := &outbox{}
	svc := &app.Service{
		Store: postgres.New(pool, "/rollcall/invitation"), Directory: dir{app.Tenant{ID: tenant, Name: "Nordlys AS", Language: "sv", Areas: []string{"support"}}},
		Partners: nobody{}, Credentials: nobody{}, Notifier: sent, Key: domain.CodeKey(strings.Repeat("k", 32)),
	}
	auth := tokens{
		"admin-token": {TenantID: tenant, UserID: uuid.NewString(), Name: "Ada", Email: "ada@example.com", Role: domain.RoleMainAdministrator, Grants: domain.Grants{Level: domain.LevelMainAdministrator}},
		"user-token":  {TenantID: tenant, UserID: uuid.NewString(), Name: "Ulf", Email: "ulf@example.com", Role: domain.RoleUser},
	}
	handler := &ports.Connect{App: svc, Auth: auth, Logins: logins{used: &sync.Map{}}}
	for _, o := range opts {
		o(svc, handler)
	}
	hopts, err := server.HandlerOptions()
	require.NoError(t, err)
	path, h := invitationv1connect.NewInvitationServiceHandler(handler, hopts...)
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return bundle{client: invitationv1connect.NewInvitationServiceClient(srv.Client(), srv.URL), sent: sent, tenant: tenant}
}

func as[T any](token string, msg *T) *connect.Request[T] {
	r := connect.NewRequest(msg)
	if token != "" {
		r.Header().Set("Authorization", "Bearer "+token)
	}
	return r
}

func (b bundle) form() *invitationv1.CreateInvitationRequest {
	return &invitationv1.CreateInvitationRequest{
		TenantId: b.tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
		Origin:    commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		FirstName: "Karin", LastName: "Svensson", Email: "karin@example.se", Mobile: proto("+46701234567"),
		CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_SMS,
		Grants:       &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support"}},
	}
}

func proto(s string) *string { return &s }

func violationField(t *testing.T, err error) string {
	t.Helper()
	var ce *connect.Error
	require.ErrorAs(t, err, &ce)
	for _, d := range ce.Details() {
		v, derr := d.Value()
		require.NoError(t, derr)
		if br, ok := v.(*errdetails.BadRequest); ok && len(br.FieldViolations) > 0 {
			return br.FieldViolations[0].Field
		}
	}
	return ""
}

func TestOverHTTP(t *testing.T) {
	t.Parallel()

	t.Run("TheWholeFlow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		created, err := b.client.CreateInvitation(ctx, as("admin-token", b.form()))
		require.NoError(t, err)
		inv := created.Msg.Invitation
		require.Equal(t, invitationv1.InvitationStatus_INVITATION_STATUS_PENDING, inv.Status)

		opened, err := b.client.OpenInvitation(ctx, as("", &invitationv1.OpenInvitationRequest{Token: string(b.sent.tok)}))
		require.NoError(t, err)
		require.True(t, opened.Msg.CodeRequired)
		require.Equal(t, "Ada", opened.Msg.InviterName)
		require.Equal(t, "Nordlys AS", opened.Msg.TenantName)

		_, err = b.client.VerifyCode(ctx, as("", &invitationv1.VerifyCodeRequest{Token: string(b.sent.tok), Code: wrong(b.sent.code)}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Equal(t, "code", violationField(t, err))
		require.Contains(t, err.Error(), "4 attempts left")

		_, err = b.client.AcceptInvitation(ctx, as("", &invitationv1.AcceptInvitationRequest{
			Token: string(b.sent.tok), Code: string(b.sent.code), LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_BANKID,
			LoginAssertion: &invitationv1.LoginAssertion{Provider: "bankid", Assertion: "forged"},
		}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Equal(t, "login_assertion", violationField(t, err))

		acc, err := b.client.AcceptInvitation(ctx, as("", &invitationv1.AcceptInvitationRequest{
			Token: string(b.sent.tok), Code: string(b.sent.code), LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_BANKID,
			LoginAssertion: &invitationv1.LoginAssertion{Provider: "bankid", Assertion: "ok:19800101-1234"},
		}))
		require.NoError(t, err)
		require.Equal(t, inv.InvitationId, acc.Msg.InvitationId)

		_, err = b.client.OpenInvitation(ctx, as("", &invitationv1.OpenInvitationRequest{Token: string(b.sent.tok)}))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err), "a used link")
		got, err := b.client.GetInvitation(ctx, as("admin-token", &invitationv1.GetInvitationRequest{TenantId: b.tenant, InvitationId: inv.InvitationId}))
		require.NoError(t, err)
		require.Equal(t, invitationv1.InvitationStatus_INVITATION_STATUS_ACCEPTED, got.Msg.Invitation.Status)
	})

	// Seed 001: when the SMS does not arrive, the admin sends the code to
	// himself instead; the choice sticks for later codes.
	t.Run("ResendAnotherWay", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		created, err := b.client.CreateInvitation(ctx, as("admin-token", b.form()))
		require.NoError(t, err)
		id := created.Msg.GetInvitation().GetInvitationId()
		require.Equal(t, domain.CodeBySMS, b.sent.codeVia)
		toMe := invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER
		res, err := b.client.ResendInvitation(ctx, as("admin-token", &invitationv1.ResendInvitationRequest{TenantId: b.tenant, InvitationId: id, CodeDelivery: &toMe}))
		require.NoError(t, err)
		require.Equal(t, toMe, res.Msg.GetInvitation().GetCodeDelivery())
		require.Equal(t, domain.CodeToInviter, b.sent.codeVia, "the new code went to the inviter")
		_, err = b.client.IssueNewCode(ctx, as("admin-token", &invitationv1.IssueNewCodeRequest{TenantId: b.tenant, InvitationId: id}))
		require.NoError(t, err)
		require.Equal(t, domain.CodeToInviter, b.sent.codeVia, "and so do later ones")
		got, err := b.client.GetInvitation(ctx, as("admin-token", &invitationv1.GetInvitationRequest{TenantId: b.tenant, InvitationId: id}))
		require.NoError(t, err)
		require.Equal(t, toMe, got.Msg.GetInvitation().GetCodeDelivery(), "stored")
		// Without it, the delivery stays.
		_, err = b.client.ResendInvitation(ctx, as("admin-token", &invitationv1.ResendInvitationRequest{TenantId: b.tenant, InvitationId: id}))
		require.NoError(t, err)
		require.Equal(t, domain.CodeToInviter, b.sent.codeVia)
		// NONE is refused for a person, and nothing changes.
		none := invitationv1.CodeDelivery_CODE_DELIVERY_NONE
		tok := b.sent.tok
		_, err = b.client.ResendInvitation(ctx, as("admin-token", &invitationv1.ResendInvitationRequest{TenantId: b.tenant, InvitationId: id, CodeDelivery: &none}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Equal(t, "code_delivery", violationField(t, err))
		require.Equal(t, tok, b.sent.tok, "no new link was sent")
		_, err = b.client.OpenInvitation(ctx, as("", &invitationv1.OpenInvitationRequest{Token: string(tok)}))
		require.NoError(t, err, "the link still works")
	})

	t.Run("ErrorsNameTheProblem", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		_, err := b.client.CreateInvitation(ctx, as("", b.form()))
		require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))
		_, err = b.client.CreateInvitation(ctx, as("stolen", b.form()))
		require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))
		_, err = b.client.CreateInvitation(ctx, as("user-token", b.form()))
		require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))

		f := b.form()
		f.Mobile = proto("07012345")
		_, err = b.client.CreateInvitation(ctx, as("admin-token", f))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "protovalidate: not E.164")

		f = b.form()
		f.Grants.PermissionAreas = []string{"payroll"}
		_, err = b.client.CreateInvitation(ctx, as("admin-token", f))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Equal(t, "grants.permission_areas[0]", violationField(t, err))

		f = b.form()
		f.Lifetime = durationpb.New(31 * 24 * time.Hour)
		_, err = b.client.CreateInvitation(ctx, as("admin-token", f))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "lifetime over 30 days")

		f = b.form()
		f.TenantId = uuid.NewString()
		_, err = b.client.CreateInvitation(ctx, as("admin-token", f))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err), "another tenant looks like nothing")

		unknown, _ := domain.NewToken()
		_, err = b.client.OpenInvitation(ctx, as("", &invitationv1.OpenInvitationRequest{Token: string(unknown)}))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
	})

	t.Run("ListPagesAndFilters", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		for range 3 {
			_, err := b.client.CreateInvitation(ctx, as("admin-token", b.form()))
			require.NoError(t, err)
		}
		page, err := b.client.ListInvitations(ctx, as("admin-token", &invitationv1.ListInvitationsRequest{TenantId: b.tenant, PageSize: 2}))
		require.NoError(t, err)
		require.Len(t, page.Msg.Invitations, 2)
		require.NotEmpty(t, page.Msg.NextPageToken)
		next, err := b.client.ListInvitations(ctx, as("admin-token", &invitationv1.ListInvitationsRequest{TenantId: b.tenant, PageSize: 2, PageToken: page.Msg.NextPageToken}))
		require.NoError(t, err)
		require.Len(t, next.Msg.Invitations, 1)
		_, err = b.client.ListInvitations(ctx, as("admin-token", &invitationv1.ListInvitationsRequest{TenantId: b.tenant, PageToken: "forged"}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		accepted, err := b.client.ListInvitations(ctx, as("admin-token", &invitationv1.ListInvitationsRequest{TenantId: b.tenant,
			Statuses: []invitationv1.InvitationStatus{invitationv1.InvitationStatus_INVITATION_STATUS_ACCEPTED}}))
		require.NoError(t, err)
		require.Empty(t, accepted.Msg.Invitations)
	})
}

func wrong(c domain.Code) string {
	if c == "000000" {
		return "111111"
	}
	return "000000"
}

func TestInvitationSettingsOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	got, err := b.client.GetInvitationSettings(ctx, as("admin-token", &invitationv1.GetInvitationSettingsRequest{TenantId: b.tenant}))
	require.NoError(t, err)
	require.Equal(t, 7*24*time.Hour, got.Msg.GetSettings().GetDefaultLifetime().AsDuration())

	set, err := b.client.UpdateInvitationSettings(ctx, as("admin-token", &invitationv1.UpdateInvitationSettingsRequest{TenantId: b.tenant, DefaultLifetime: durationpb.New(2 * time.Hour)}))
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, set.Msg.GetSettings().GetDefaultLifetime().AsDuration())
	created, err := b.client.CreateInvitation(ctx, as("admin-token", b.form()))
	require.NoError(t, err)
	inv := created.Msg.GetInvitation()
	require.InDelta(t, (2 * time.Hour).Seconds(), inv.GetExpiresAt().AsTime().Sub(inv.GetCreatedAt().AsTime()).Seconds(), 1, "new links take the tenant's lifetime")

	for _, bad := range []time.Duration{59 * time.Minute, 31 * 24 * time.Hour} {
		_, err = b.client.UpdateInvitationSettings(ctx, as("admin-token", &invitationv1.UpdateInvitationSettingsRequest{TenantId: b.tenant, DefaultLifetime: durationpb.New(bad)}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "%s", bad)
		require.ErrorContains(t, err, "default_lifetime")
	}
	_, err = b.client.UpdateInvitationSettings(ctx, as("user-token", &invitationv1.UpdateInvitationSettingsRequest{TenantId: b.tenant, DefaultLifetime: durationpb.New(time.Hour)}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
	_, err = b.client.GetInvitationSettings(ctx, as("admin-token", &invitationv1.GetInvitationSettingsRequest{TenantId: uuid.NewString()}))
	require.Equal(t, connect.CodeNotFound, connect.CodeOf(err), "another tenant's settings do not exist for this admin")

	got, err = b.client.GetInvitationSettings(ctx, as("admin-token", &invitationv1.GetInvitationSettingsRequest{TenantId: b.tenant}))
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, got.Msg.GetSettings().GetDefaultLifetime().AsDuration(), "refused changes changed nothing")
}

// A mistyped code must not burn the invitee's single-use sign-in: the code
// is checked (and counted) before the assertion is spent.
func TestWrongCodeDoesNotSpendTheLoginAssertion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.client.CreateInvitation(ctx, as("admin-token", b.form()))
	require.NoError(t, err)
	accept := func(code string) error {
		_, err := b.client.AcceptInvitation(ctx, as("", &invitationv1.AcceptInvitationRequest{
			Token: string(b.sent.tok), Code: code, LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_BANKID,
			LoginAssertion: &invitationv1.LoginAssertion{Provider: "bankid", Assertion: "ok:karin"},
		}))
		return err
	}
	err = accept(wrong(b.sent.code))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	require.ErrorContains(t, err, "4 attempts left", "the wrong code is counted")
	require.NoError(t, accept(string(b.sent.code)), "the same assertion still works with the right code")
}

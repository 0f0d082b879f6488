package ports_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
	"rollcall.dev/services/identity/ports"
)

func TestCreateTenant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	req := func() *identityv1.CreateTenantRequest {
		return &identityv1.CreateTenantRequest{Name: "Fjord AS", CompanyCode: "FJORD", SeatLimit: 10, Language: "nb",
			Administrator: &identityv1.NewAdministrator{FirstName: "Kari", LastName: "Nordmann", Email: "kari@fjord.example"}}
	}

	t.Run("OperatorOnly", func(t *testing.T) {
		_, err := e.anon.CreateTenant(ctx, connect.NewRequest(req()))
		requireCode(t, err, connect.CodeUnauthenticated)
		other := e.tenant(t, "OTHER", 0)
		_, err = e.as(t, other.adminToken).CreateTenant(ctx, connect.NewRequest(req()))
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("CreatesTenantAndMainAdministrator", func(t *testing.T) {
		res, err := e.ops.CreateTenant(ctx, connect.NewRequest(req()))
		require.NoError(t, err)
		tn, admin := res.Msg.GetTenant(), res.Msg.GetAdministrator()
		require.Equal(t, "FJORD", tn.GetCompanyCode())
		require.Equal(t, uint32(10), tn.GetSeatLimit())
		require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, admin.GetStatus())
		require.True(t, admin.GetProfile().GetCountsTowardSeatLimit())
		require.Equal(t, []string{"rollcall.identity.v1.UserCreated"}, e.outboxTypes(t, tn.GetTenantId()))

		// The operator issues the administrator's first token.
		tok, err := e.ops.CreateAccessToken(ctx, connect.NewRequest(&identityv1.CreateAccessTokenRequest{TenantId: tn.GetTenantId(), UserId: admin.GetUserId()}))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(tok.Msg.GetToken(), domain.TokenPrefix))
		// ... who makes himself another one, and cannot make one for someone else.
		adm := e.as(t, tok.Msg.GetToken())
		_, err = adm.CreateAccessToken(ctx, connect.NewRequest(&identityv1.CreateAccessTokenRequest{TenantId: tn.GetTenantId(), Label: "laptop"}))
		require.NoError(t, err)
		_, err = adm.CreateAccessToken(ctx, connect.NewRequest(&identityv1.CreateAccessTokenRequest{TenantId: tn.GetTenantId(), UserId: uuid.NewString()}))
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("DuplicateCompanyCode", func(t *testing.T) {
		r := req()
		r.CompanyCode = "fjord"
		_, err := e.ops.CreateTenant(ctx, connect.NewRequest(r))
		ce := requireCode(t, err, connect.CodeAlreadyExists)
		require.Contains(t, ce.Message(), "company_code")
	})
	t.Run("BadInputNamesTheField", func(t *testing.T) {
		r := req()
		r.CompanyCode = "a b"
		r.Administrator.Email = "nope"
		_, err := e.ops.CreateTenant(ctx, connect.NewRequest(r))
		ce := requireCode(t, err, connect.CodeInvalidArgument)
		require.Contains(t, ce.Message(), "company_code")
		require.Contains(t, ce.Message(), "administrator.email")
	})
}

func TestSetInitialPassword(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "PWD1", 0)
	user, inv := uuid.NewString(), uuid.NewString()
	set := func(c interface {
		SetInitialPassword(context.Context, *connect.Request[identityv1.SetInitialPasswordRequest]) (*connect.Response[identityv1.SetInitialPasswordResponse], error)
	}, tenantID, userID, invitationID, pw string) error {
		_, err := c.SetInitialPassword(ctx, connect.NewRequest(&identityv1.SetInitialPasswordRequest{TenantId: tenantID, UserId: userID, InvitationId: invitationID, Password: pw}))
		return err
	}

	require.NoError(t, set(e.ops, tn.id, user, inv, "first password 1"))
	require.NoError(t, set(e.ops, tn.id, user, inv, "second password 2"), "a retry replaces the hash")
	var hash string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT password_hash FROM pending_credentials WHERE tenant_id = $1 AND user_id = $2 AND invitation_id = $3`, tn.id, user, inv).Scan(&hash))
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$"))
	ok, err := domain.CheckPassword(hash, "second password 2")
	require.NoError(t, err)
	require.True(t, ok)

	t.Run("OnlyServices", func(t *testing.T) {
		requireCode(t, set(e.anon, tn.id, user, inv, "first password 1"), connect.CodeUnauthenticated)
		requireCode(t, set(e.as(t, tn.adminToken), tn.id, user, inv, "first password 1"), connect.CodePermissionDenied)
	})
	t.Run("ExistingUserFromElsewhere", func(t *testing.T) {
		requireCode(t, set(e.ops, tn.id, tn.adminID, inv, "first password 1"), connect.CodeFailedPrecondition)
	})
	t.Run("NeverASecondPassword", func(t *testing.T) {
		// An integration user who has his password: the same invitation
		// cannot set another one (his sign-in keeps the first).
		ev := integration(tn, "klarna-pwd@tenant.example")
		require.NoError(t, set(e.ops, tn.id, ev.GetUserId(), ev.GetInvitationId(), "the chosen password"))
		require.NoError(t, deliver(t, ports.InviteAccepted(e.svc), uuid.NewString(), ev))
		ce := requireCode(t, set(e.ops, tn.id, ev.GetUserId(), ev.GetInvitationId(), "an attacker's password"), connect.CodeFailedPrecondition)
		require.Contains(t, ce.Message(), "already has credentials")
		signIn := func(pw string) error {
			_, err := e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "PWD1", Email: "klarna-pwd@tenant.example", Password: pw}))
			return err
		}
		require.NoError(t, signIn("the chosen password"))
		requireCode(t, signIn("an attacker's password"), connect.CodeUnauthenticated)
	})
	t.Run("NotAProfileOfAnotherTenant", func(t *testing.T) {
		// The user id of someone in another tenant is refused before any
		// password is kept for it.
		other := e.tenant(t, "PWD2", 0)
		ce := requireCode(t, set(e.ops, tn.id, other.adminID, uuid.NewString(), "first password 1"), connect.CodeFailedPrecondition)
		require.Contains(t, ce.Message(), "another tenant")
		var n int
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM pending_credentials WHERE user_id = $1`, other.adminID).Scan(&n))
		require.Zero(t, n)
	})
	t.Run("FirstPasswordOfAUserCreatedWithout", func(t *testing.T) {
		// Accepted before the password arrived: the first one is still set, once.
		ev := integration(tn, "late@tenant.example")
		require.NoError(t, deliver(t, ports.InviteAccepted(e.svc), uuid.NewString(), ev))
		require.NoError(t, set(e.ops, tn.id, ev.GetUserId(), ev.GetInvitationId(), "the late password"))
		_, err := e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "PWD1", Email: "late@tenant.example", Password: "the late password"}))
		require.NoError(t, err)
		requireCode(t, set(e.ops, tn.id, ev.GetUserId(), ev.GetInvitationId(), "another password"), connect.CodeFailedPrecondition)
	})
	t.Run("UnknownTenant", func(t *testing.T) {
		requireCode(t, set(e.ops, uuid.NewString(), user, inv, "first password 1"), connect.CodeNotFound)
	})
	t.Run("ShortPassword", func(t *testing.T) {
		requireCode(t, set(e.ops, tn.id, user, inv, "short"), connect.CodeInvalidArgument)
	})
}

func TestBootstrapIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	b := app.Bootstrap{
		Tenant:     app.NewTenant{Name: "Demo AS", CompanyCode: "DEMO", Language: "nb", Admin: app.NewPerson{FirstName: "Kari", LastName: "Nordmann", Email: "kari@demo.example"}},
		AppManager: &app.NewPerson{FirstName: "Ola", LastName: "Nordmann", Email: "ola@demo.example"},
	}
	first, err := e.svc.EnsureBootstrap(ctx, b)
	require.NoError(t, err)
	require.True(t, first.Created)
	again, err := e.svc.EnsureBootstrap(ctx, b)
	require.NoError(t, err)
	require.False(t, again.Created)
	require.Equal(t, first.Tenant.ID, again.Tenant.ID)
	require.Equal(t, first.Admin.ID, again.Admin.ID)
	require.Equal(t, first.AppManager.ID, again.AppManager.ID)
	require.Equal(t, domain.RoleApplicationManager, again.AppManager.Role)
}

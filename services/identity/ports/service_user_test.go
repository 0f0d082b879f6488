package ports_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/domain"
)

// appManager adds an application manager to the tenant and returns his token.
func (e *env) appManager(t *testing.T, tn tenant) string {
	t.Helper()
	id := e.person(t, tn, "apps-"+uuid.NewString()[:8]+"@example.com", domain.RoleApplicationManager)
	tok, err := e.svc.CreateAccessToken(context.Background(), nil, tn.id, id, "", 0)
	require.NoError(t, err)
	return tok.Token
}

func serviceUserReq(tn tenant, code string) *identityv1.CreateServiceUserRequest {
	return &identityv1.CreateServiceUserRequest{
		TenantId: tn.id, UserCode: code, ApplicationId: tn.apps[0], Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE,
		Language: "fr-CA", CompanyIds: tn.companies, AllStructure: true,
	}
}

type serviceUser struct{ id, code, password, apiToken string }

// serviceUser creates a service user through the API and signs it in to the API.
func (e *env) serviceUser(t *testing.T, tn tenant, code string) serviceUser {
	t.Helper()
	ctx := context.Background()
	res, err := e.as(t, e.appManager(t, tn)).CreateServiceUser(ctx, connect.NewRequest(serviceUserReq(tn, code)))
	require.NoError(t, err)
	l := res.Msg.GetLetter()
	tok, err := e.anon.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{CompanyCode: l.GetCompanyCode(), UserCode: code, Password: l.GetPassword()}))
	require.NoError(t, err)
	return serviceUser{id: res.Msg.GetUser().GetUserId(), code: code, password: l.GetPassword(), apiToken: tok.Msg.GetToken()}
}

func TestServiceUsers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "PAIE", 0)
	am := e.as(t, e.appManager(t, tn))
	create := func(c interface {
		CreateServiceUser(context.Context, *connect.Request[identityv1.CreateServiceUserRequest]) (*connect.Response[identityv1.CreateServiceUserResponse], error)
	}, r *identityv1.CreateServiceUserRequest) (*identityv1.CreateServiceUserResponse, error) {
		res, err := c.CreateServiceUser(ctx, connect.NewRequest(r))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}

	t.Run("OnlyAnApplicationManager", func(t *testing.T) {
		_, err := create(e.as(t, tn.adminToken), serviceUserReq(tn, "ADMIN01"))
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "application manager")
		_, err = create(e.ops, serviceUserReq(tn, "ADMIN01"))
		requireCode(t, err, connect.CodePermissionDenied)
	})

	var created *identityv1.CreateServiceUserResponse
	t.Run("CreatesWithALetterOnce", func(t *testing.T) {
		var err error
		created, err = create(am, serviceUserReq(tn, "PAIE2026"))
		require.NoError(t, err)
		u, l := created.GetUser(), created.GetLetter()
		require.Equal(t, identityv1.UserKind_USER_KIND_SERVICE, u.GetKind())
		require.Nil(t, u.GetProfile())
		require.Equal(t, "PAIE2026", u.GetServiceUser().GetUserCode())
		require.Equal(t, tn.apps[0], u.GetServiceUser().GetApplicationId())
		require.Equal(t, identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, u.GetServiceUser().GetStatus())
		require.Equal(t, "PAIE", l.GetCompanyCode())
		require.Equal(t, "PAIE2026", l.GetUserCode())
		require.Len(t, l.GetPassword(), 20)
		require.Equal(t, "fr", l.GetLanguage())
		for _, want := range []string{"PAIE", "PAIE2026", l.GetPassword(), "Code d'utilisateur", "permanent"} {
			require.Contains(t, l.GetText(), want)
		}
		require.True(t, bytes.HasPrefix(l.GetPdf(), []byte("%PDF-")))
		// The password is nowhere but in the response: not in the database
		// in clear, not in the event.
		var payload []byte
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT payload FROM rollcall_outbox WHERE event_type = 'rollcall.identity.v1.ServiceUserCreated' AND subject LIKE $1`, "identity.v1."+tn.id+".service-user.%.created").Scan(&payload))
		require.NotContains(t, string(payload), l.GetPassword())
		var hash string
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT password_hash FROM credentials WHERE user_id = $1`, u.GetUserId()).Scan(&hash))
		require.True(t, strings.HasPrefix(hash, "$argon2id$"))
		var seat bool
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT counts_seat FROM users WHERE tenant_id = $1 AND id = $2`, tn.id, u.GetUserId()).Scan(&seat))
		require.False(t, seat, "service users take no seat")
		got, err := am.GetUser(ctx, connect.NewRequest(&identityv1.GetUserRequest{TenantId: tn.id, UserId: u.GetUserId()}))
		require.NoError(t, err)
		require.Equal(t, "PAIE2026", got.Msg.GetUser().GetServiceUser().GetUserCode())
	})

	t.Run("UserCodeRules", func(t *testing.T) {
		for _, c := range []struct{ code, why string }{
			{"ABC12", "5 characters"}, {"ABCDEF12345", "11 characters"}, {"ABC-123", "a symbol"},
			{"ABC 123", "a space"}, {"ÆBC1234", "a letter outside A-Z"}, {"", "empty"},
		} {
			_, err := create(am, serviceUserReq(tn, c.code))
			ce := requireCode(t, err, connect.CodeInvalidArgument)
			require.Contains(t, ce.Message(), "user_code", c.why)
		}
		for _, ok := range []string{"ABC123", "abcdef1234"} {
			_, err := create(am, serviceUserReq(tn, ok))
			require.NoError(t, err, ok)
		}
		_, err := create(am, serviceUserReq(tn, "PAIE2026"))
		ce := requireCode(t, err, connect.CodeAlreadyExists)
		require.Contains(t, ce.Message(), "user_code")
		_, err = create(am, serviceUserReq(tn, "paie2026"))
		requireCode(t, err, connect.CodeAlreadyExists)
		// Another tenant may use the same code.
		other := e.tenant(t, "PAIE2", 0)
		_, err = create(e.as(t, e.appManager(t, other)), serviceUserReq(other, "PAIE2026"))
		require.NoError(t, err)
	})

	t.Run("TheTenantsApplicationAndCompanies", func(t *testing.T) {
		other := e.tenant(t, "PAIE3", 0)
		r := serviceUserReq(tn, "OTHERAPP")
		r.ApplicationId = other.apps[0]
		_, err := create(am, r)
		ce := requireCode(t, err, connect.CodeInvalidArgument)
		require.Contains(t, ce.Message(), "application_id")
		r = serviceUserReq(tn, "OTHERCO1")
		r.CompanyIds = other.companies
		_, err = create(am, r)
		ce = requireCode(t, err, connect.CodeInvalidArgument)
		require.Contains(t, ce.Message(), "company_ids")
		r = serviceUserReq(tn, "BOTHCO12")
		r.AllCompanies = true
		_, err = create(am, r)
		requireCode(t, err, connect.CodeInvalidArgument)
	})

	t.Run("APIOnly", func(t *testing.T) {
		l := created.GetLetter()
		tok, err := e.anon.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{CompanyCode: "paie", UserCode: "paie2026", Password: l.GetPassword()}))
		require.NoError(t, err)
		// The API token is what the API resolves ...
		su, err := e.internal.AuthenticateServiceUser(ctx, connect.NewRequest(&identityv1.AuthenticateServiceUserRequest{Token: tok.Msg.GetToken()}))
		require.NoError(t, err)
		require.Equal(t, created.GetUser().GetUserId(), su.Msg.GetUserId())
		require.Equal(t, tn.apps[0], su.Msg.GetApplicationId())
		require.Equal(t, tn.companies, su.Msg.GetCompanyIds())
		require.True(t, su.Msg.GetAllStructure())
		// ... an admin token is not an API token ...
		_, err = e.internal.AuthenticateServiceUser(ctx, connect.NewRequest(&identityv1.AuthenticateServiceUserRequest{Token: tn.adminToken}))
		requireCode(t, err, connect.CodeUnauthenticated)
		// ... and the API token is no admin token.
		_, err = e.internal.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: tok.Msg.GetToken()}))
		requireCode(t, err, connect.CodeUnauthenticated)
		// Interactive sign-in is refused with a clear reason.
		_, err = e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "PAIE", Email: "PAIE2026", Password: l.GetPassword()}))
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "only use the API")
		var reason string
		for _, d := range ce.Details() {
			if v, err := d.Value(); err == nil {
				if info, ok := v.(*errdetails.ErrorInfo); ok {
					reason = info.GetReason()
				}
			}
		}
		require.Equal(t, "SERVICE_USER_API_ONLY", reason)
		// ... and no admin token can be made for it.
		_, err = e.ops.CreateAccessToken(ctx, connect.NewRequest(&identityv1.CreateAccessTokenRequest{TenantId: tn.id, UserId: created.GetUser().GetUserId()}))
		requireCode(t, err, connect.CodePermissionDenied)
		// Wrong password, wrong code, wrong company: the same answer.
		for _, r := range []*identityv1.IssueServiceTokenRequest{
			{CompanyCode: "PAIE", UserCode: "PAIE2026", Password: "wrong"},
			{CompanyCode: "PAIE", UserCode: "NOBODY1", Password: l.GetPassword()},
			{CompanyCode: "NOPE", UserCode: "PAIE2026", Password: l.GetPassword()},
		} {
			_, err := e.anon.IssueServiceToken(ctx, connect.NewRequest(r))
			ce := requireCode(t, err, connect.CodeUnauthenticated)
			require.Equal(t, domain.ErrBadCredentials.Error(), ce.Message())
		}
	})

	t.Run("ResetIssuesANewPermanentPassword", func(t *testing.T) {
		old := created.GetLetter().GetPassword()
		_, err := e.as(t, tn.adminToken).ResetServiceUserPassword(ctx, connect.NewRequest(&identityv1.ResetServiceUserPasswordRequest{TenantId: tn.id, UserId: created.GetUser().GetUserId()}))
		requireCode(t, err, connect.CodePermissionDenied)
		res, err := am.ResetServiceUserPassword(ctx, connect.NewRequest(&identityv1.ResetServiceUserPasswordRequest{TenantId: tn.id, UserId: created.GetUser().GetUserId()}))
		require.NoError(t, err)
		l := res.Msg.GetLetter()
		require.NotEqual(t, old, l.GetPassword())
		require.Contains(t, l.GetText(), l.GetPassword())
		_, err = e.anon.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{CompanyCode: "PAIE", UserCode: "PAIE2026", Password: old}))
		requireCode(t, err, connect.CodeUnauthenticated)
		_, err = e.anon.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{CompanyCode: "PAIE", UserCode: "PAIE2026", Password: l.GetPassword()}))
		require.NoError(t, err)
		types := e.outboxTypes(t, tn.id)
		require.Equal(t, "rollcall.identity.v1.ServiceUserPasswordReset", types[len(types)-1])
		// Resetting a person is refused.
		_, err = am.ResetServiceUserPassword(ctx, connect.NewRequest(&identityv1.ResetServiceUserPasswordRequest{TenantId: tn.id, UserId: tn.adminID}))
		requireCode(t, err, connect.CodeInvalidArgument)
	})

	t.Run("InactiveServiceUserCannotGetATokenEither", func(t *testing.T) {
		r := serviceUserReq(tn, "INACTIV1")
		r.Status = identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE
		res, err := create(am, r)
		require.NoError(t, err)
		_, err = e.anon.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{CompanyCode: "PAIE", UserCode: "INACTIV1", Password: res.GetLetter().GetPassword()}))
		requireCode(t, err, connect.CodeUnauthenticated)
	})
}

// TestServiceUserStatus: an application manager deactivates and reactivates
// a service user (seed 002, "Statut"); while inactive it gets no API token
// and the ones it had stop working, for good.
func TestServiceUserStatus(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "STATUS", 0)
	am := e.as(t, e.appManager(t, tn))
	s := e.serviceUser(t, tn, "STATUS01")
	set := func(c interface {
		SetServiceUserStatus(context.Context, *connect.Request[identityv1.SetServiceUserStatusRequest]) (*connect.Response[identityv1.SetServiceUserStatusResponse], error)
	}, tenantID, userID string, st identityv1.ServiceUserStatus) (*identityv1.User, error) {
		res, err := c.SetServiceUserStatus(ctx, connect.NewRequest(&identityv1.SetServiceUserStatusRequest{TenantId: tenantID, UserId: userID, Status: st}))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetUser(), nil
	}
	issue := func() (string, error) {
		res, err := e.anon.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{CompanyCode: "STATUS", UserCode: s.code, Password: s.password}))
		if err != nil {
			return "", err
		}
		return res.Msg.GetToken(), nil
	}
	apiAuth := func(tok string) error {
		_, err := e.internal.AuthenticateServiceUser(ctx, connect.NewRequest(&identityv1.AuthenticateServiceUserRequest{Token: tok}))
		return err
	}
	inactive, active := identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE, identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE

	_, err := set(e.as(t, tn.adminToken), tn.id, s.id, inactive)
	ce := requireCode(t, err, connect.CodePermissionDenied)
	require.Contains(t, ce.Message(), "application manager")

	u, err := set(am, tn.id, s.id, inactive)
	require.NoError(t, err)
	require.Equal(t, inactive, u.GetServiceUser().GetStatus())
	require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, u.GetStatus(), "inactive, not deactivated")
	_, err = issue()
	requireCode(t, err, connect.CodeUnauthenticated)
	requireCode(t, apiAuth(s.apiToken), connect.CodeUnauthenticated)
	types := e.outboxTypes(t, tn.id)
	require.Equal(t, "rollcall.identity.v1.ServiceUserStatusChanged", types[len(types)-1])
	_, err = set(am, tn.id, s.id, inactive)
	require.NoError(t, err)
	require.Len(t, e.outboxTypes(t, tn.id), len(types), "the same status again changes nothing")

	u, err = set(am, tn.id, s.id, active)
	require.NoError(t, err)
	require.Equal(t, active, u.GetServiceUser().GetStatus())
	tok, err := issue()
	require.NoError(t, err, "reactivated: tokens again")
	require.NoError(t, apiAuth(tok))
	requireCode(t, apiAuth(s.apiToken), connect.CodeUnauthenticated) // the tokens from before stay revoked

	// Only service users; only the tenant's; not one deactivated for good.
	_, err = set(am, tn.id, tn.adminID, inactive)
	requireCode(t, err, connect.CodeInvalidArgument)
	other := e.tenant(t, "STATUS2", 0)
	os := e.serviceUser(t, other, "STATUS02")
	_, err = set(am, tn.id, os.id, inactive)
	requireCode(t, err, connect.CodeNotFound)
	_, err = set(am, other.id, os.id, inactive)
	requireCode(t, err, connect.CodeNotFound)
	_, err = e.as(t, tn.adminToken).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
		TenantId: tn.id, UserId: s.id, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_ADMIN}))
	require.NoError(t, err)
	_, err = set(am, tn.id, s.id, active)
	ce = requireCode(t, err, connect.CodePermissionDenied)
	require.Contains(t, ce.Message(), "for good")
	_, err = issue()
	requireCode(t, err, connect.CodeUnauthenticated)
}

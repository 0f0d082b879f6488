package ports_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/domain"
)

func TestDeactivateUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "DEACT1", 0)
	deactivate := func(token, tenantID, userID string) (*identityv1.User, error) {
		res, err := e.as(t, token).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
			TenantId: tenantID, UserId: userID, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_DISMISSED}))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetUser(), nil
	}

	t.Run("EndsAccessAtOnce", func(t *testing.T) {
		u := e.person(t, tn, "leaver@example.com", domain.RoleSuperuser)
		tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, u, "", 0)
		require.NoError(t, err)
		_, err = e.svc.Authenticate(ctx, tok.Token)
		require.NoError(t, err)
		got, err := deactivate(tn.adminToken, tn.id, u)
		require.NoError(t, err)
		require.Equal(t, identityv1.UserStatus_USER_STATUS_DEACTIVATED, got.GetStatus())
		_, err = e.internal.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: tok.Token}))
		requireCode(t, err, connect.CodeUnauthenticated)
		types := e.outboxTypes(t, tn.id)
		require.Equal(t, "rollcall.identity.v1.UserDeactivated", types[len(types)-1])
		// Again: nothing changes, no second event.
		_, err = deactivate(tn.adminToken, tn.id, u)
		require.NoError(t, err)
		require.Len(t, e.outboxTypes(t, tn.id), len(types))
	})
	t.Run("OrdinaryUsersMayNot", func(t *testing.T) {
		u := e.person(t, tn, "plain@example.com", domain.RoleUser)
		tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, u, "", 0)
		require.NoError(t, err)
		_, err = deactivate(tok.Token, tn.id, tn.adminID)
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("NotYourself", func(t *testing.T) {
		_, err := deactivate(tn.adminToken, tn.id, tn.adminID)
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("IntegratorMayNotDismissEmployees", func(t *testing.T) {
		integrator := e.person(t, tn, "integrator@partner.example", domain.RoleMainAdministrator)
		_, err := e.pool.Exec(ctx, `UPDATE users SET kind = 4, integrator = true WHERE tenant_id = $1 AND id = $2`, tn.id, integrator)
		require.NoError(t, err)
		e.policy.integrator(tn.id, integrator)
		tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, integrator, "", 0)
		require.NoError(t, err)
		employee := e.person(t, tn, "employee@example.com", domain.RoleUser)
		before := e.policy.callCount()
		_, err = deactivate(tok.Token, tn.id, employee)
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "integrator")
		require.Equal(t, before+1, e.policy.callCount(), "decided by integrator-policy")
		got, err := e.svc.Authenticate(ctx, tn.adminToken)
		require.NoError(t, err)
		require.True(t, got.Active())
		// A main administrator may; the policy is not asked for him.
		_, err = deactivate(tn.adminToken, tn.id, employee)
		require.NoError(t, err)
		require.Equal(t, before+1, e.policy.callCount())
	})
	t.Run("SuperuserOnlyWithinHisGrants", func(t *testing.T) {
		su := e.person(t, tn, "super@example.com", domain.RoleSuperuser) // areas: support
		tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, su, "", 0)
		require.NoError(t, err)
		within := e.person(t, tn, "within@example.com", domain.RoleUser) // areas: support
		beyond := e.person(t, tn, "beyond@example.com", domain.RoleUser)
		_, err = e.pool.Exec(ctx, `UPDATE users SET grants = '{"permissionLevel":"PERMISSION_LEVEL_CUSTOM","permissionAreas":["invoices"]}' WHERE tenant_id = $1 AND id = $2`, tn.id, beyond)
		require.NoError(t, err)
		_, err = deactivate(tok.Token, tn.id, beyond)
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "within his own")
		_, err = deactivate(tok.Token, tn.id, tn.adminID)
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = deactivate(tok.Token, tn.id, within)
		require.NoError(t, err)
	})
	t.Run("ServiceUserLosesItsAPITokens", func(t *testing.T) {
		s := e.serviceUser(t, tn, "GONE1234")
		_, err := deactivate(tn.adminToken, tn.id, s.id)
		require.NoError(t, err)
		_, err = e.internal.AuthenticateServiceUser(ctx, connect.NewRequest(&identityv1.AuthenticateServiceUserRequest{Token: s.apiToken}))
		requireCode(t, err, connect.CodeUnauthenticated)
		_, err = e.anon.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{CompanyCode: "DEACT1", UserCode: s.code, Password: s.password}))
		requireCode(t, err, connect.CodeUnauthenticated)
		types := e.outboxTypes(t, tn.id)
		require.Equal(t, "rollcall.identity.v1.UserDeactivated", types[len(types)-1])
	})
	t.Run("ListFiltersByKindAndStatus", func(t *testing.T) {
		adm := e.as(t, tn.adminToken)
		res, err := adm.ListUsers(ctx, connect.NewRequest(&identityv1.ListUsersRequest{TenantId: tn.id, Kinds: []identityv1.UserKind{identityv1.UserKind_USER_KIND_SERVICE}, IncludeDeactivated: true}))
		require.NoError(t, err)
		require.Len(t, res.Msg.GetUsers(), 1)
		require.Equal(t, identityv1.UserStatus_USER_STATUS_DEACTIVATED, res.Msg.GetUsers()[0].GetStatus())
		res, err = adm.ListUsers(ctx, connect.NewRequest(&identityv1.ListUsersRequest{TenantId: tn.id, Kinds: []identityv1.UserKind{identityv1.UserKind_USER_KIND_SERVICE}}))
		require.NoError(t, err)
		require.Empty(t, res.Msg.GetUsers(), "deactivated users are left out unless asked for")
	})
	t.Run("OtherTenantsUsersAreNotFound", func(t *testing.T) {
		other := e.tenant(t, "DEACT2", 0)
		_, err := deactivate(tn.adminToken, other.id, other.adminID)
		requireCode(t, err, connect.CodeNotFound)
		_, err = deactivate(tn.adminToken, tn.id, other.adminID)
		requireCode(t, err, connect.CodeNotFound)
		ok, err := e.svc.Authenticate(ctx, other.adminToken)
		require.NoError(t, err)
		require.True(t, ok.Active())
	})
}

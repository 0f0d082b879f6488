package ports_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/identity/domain"
)

// TestTwoFactor: administrators turn a person's two-factor authentication
// on and off within their role and scope; an integrator may turn it on but
// never off (seed 003), as integrator-policy decides.
func TestTwoFactor(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "TWOFA", 0)
	set := func(token, tenantID, userID string, on bool) (*identityv1.User, error) {
		res, err := e.as(t, token).SetTwoFactor(ctx, connect.NewRequest(&identityv1.SetTwoFactorRequest{TenantId: tenantID, UserId: userID, Enabled: on}))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetUser(), nil
	}
	enabled := func(userID string) bool { return e.user(t, tn.id, userID).GetProfile().GetTwoFactorEnabled() }
	employee := e.person(t, tn, "employee@example.com", domain.RoleUser)
	_, itok := e.integrator(t, tn, "ivan@partner.example")

	t.Run("AdministratorTurnsItOnAndOff", func(t *testing.T) {
		calls := e.policy.callCount()
		u, err := set(tn.adminToken, tn.id, employee, true)
		require.NoError(t, err)
		require.True(t, u.GetProfile().GetTwoFactorEnabled())
		types := e.outboxTypes(t, tn.id)
		require.Equal(t, "rollcall.identity.v1.UserUpdated", types[len(types)-1])
		_, err = set(tn.adminToken, tn.id, employee, true)
		require.NoError(t, err)
		require.Len(t, e.outboxTypes(t, tn.id), len(types), "the same value again changes nothing")
		_, err = set(tn.adminToken, tn.id, employee, false)
		require.NoError(t, err)
		require.False(t, enabled(employee))
		require.Equal(t, calls, e.policy.callCount(), "integrator-policy is asked about integrators only")
	})

	t.Run("IntegratorMayNotTurnItOff", func(t *testing.T) {
		_, err := set(tn.adminToken, tn.id, employee, true)
		require.NoError(t, err)
		calls := e.policy.callCount()
		_, err = set(itok, tn.id, employee, false)
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "two-factor authentication")
		require.Equal(t, calls+1, e.policy.callCount())
		last := e.policy.lastCall()
		require.Equal(t, integratorv1.Action_ACTION_DISABLE_TWO_FACTOR, last.GetAction())
		require.Equal(t, "users/"+employee, last.GetResource())
		require.True(t, enabled(employee), "still on")

		// Policy unreachable: still not turned off (fail closed).
		e.policy.setDown(true)
		_, err = set(itok, tn.id, employee, false)
		requireCode(t, err, connect.CodeUnavailable)
		e.policy.setDown(false)
		require.True(t, enabled(employee))
	})

	t.Run("IntegratorMayTurnItOn", func(t *testing.T) {
		other := e.person(t, tn, "other@example.com", domain.RoleUser)
		calls := e.policy.callCount()
		u, err := set(itok, tn.id, other, true)
		require.NoError(t, err)
		require.True(t, u.GetProfile().GetTwoFactorEnabled())
		require.Equal(t, calls, e.policy.callCount(), "turning it on is no carve-out")
	})

	t.Run("PeopleOnly", func(t *testing.T) {
		s := e.serviceUser(t, tn, "TWOFA123")
		_, err := set(tn.adminToken, tn.id, s.id, true)
		ce := requireCode(t, err, connect.CodeInvalidArgument)
		require.Contains(t, ce.Message(), "people only")
		ivan, _ := e.integrator(t, tn, "ivan2@partner.example")
		_, err = set(tn.adminToken, tn.id, ivan, true)
		requireCode(t, err, connect.CodeInvalidArgument)
	})

	t.Run("RoleAndScope", func(t *testing.T) {
		plain := e.person(t, tn, "plain@example.com", domain.RoleUser)
		ptok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, plain, "", 0)
		require.NoError(t, err)
		_, err = set(ptok.Token, tn.id, employee, false)
		requireCode(t, err, connect.CodePermissionDenied)

		su := e.person(t, tn, "super@example.com", domain.RoleSuperuser) // areas: support
		stok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, su, "", 0)
		require.NoError(t, err)
		beyond := e.person(t, tn, "beyond@example.com", domain.RoleUser)
		_, err = e.pool.Exec(ctx, `UPDATE users SET grants = '{"permissionLevel":"PERMISSION_LEVEL_CUSTOM","permissionAreas":["invoices"]}' WHERE tenant_id = $1 AND id = $2`, tn.id, beyond)
		require.NoError(t, err)
		_, err = set(stok.Token, tn.id, beyond, true)
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "within his own")
		_, err = set(stok.Token, tn.id, tn.adminID, true)
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = set(stok.Token, tn.id, plain, true) // areas: support, within his
		require.NoError(t, err)

		other := e.tenant(t, "TWOFA2", 0)
		_, err = set(tn.adminToken, tn.id, other.adminID, true)
		requireCode(t, err, connect.CodeNotFound)
		_, err = set(tn.adminToken, other.id, other.adminID, true)
		requireCode(t, err, connect.CodeNotFound)
	})
}

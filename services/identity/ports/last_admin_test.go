package ports_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/bus"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/identity/domain"
	"rollcall.dev/services/identity/ports"
)

// TestLastMainAdministrator: the tenant's last active main administrator
// who is not an integrator can be neither deactivated nor demoted, by any
// path; an integrator (main administrator by role) does not count, since he
// can be dismissed at any time and may dismiss nobody (seed 003).
func TestLastMainAdministrator(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "LAST", 0)
	_, _ = e.integrator(t, tn, "ivan@partner.example") // a second "main administrator" by role
	adm := e.as(t, tn.adminToken)
	requireMain := func() {
		t.Helper()
		u := e.user(t, tn.id, tn.adminID)
		require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, u.GetStatus())
		require.Equal(t, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, u.GetRole())
	}

	t.Run("NotDemoted", func(t *testing.T) {
		_, err := adm.SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: tn.adminID, Role: identityv1.Role_ROLE_SUPERUSER}))
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "last main administrator cannot be demoted")
		requireMain()
	})
	t.Run("NotDeactivated", func(t *testing.T) {
		// An integrator integrator-policy has no record of is "allowed" by
		// it (not its to refuse); identity's own rule still holds.
		stray := e.person(t, tn, "stray@partner.example", domain.RoleMainAdministrator)
		_, err := e.pool.Exec(ctx, `UPDATE users SET kind = 4, integrator = true, counts_seat = false WHERE tenant_id = $1 AND id = $2`, tn.id, stray)
		require.NoError(t, err)
		tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, stray, "", 0)
		require.NoError(t, err)
		_, err = e.as(t, tok.Token).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
			TenantId: tn.id, UserId: tn.adminID, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_DISMISSED}))
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "last main administrator cannot be deactivated")
		requireMain()
	})
	t.Run("NotDemotedByAnotherInvitation", func(t *testing.T) {
		ev := member(tn, "kari@example.com", "")
		ev.UserId, ev.ExistingProfile, ev.LoginMethod, ev.ExternalSubject = tn.adminID, true, invitationv1.LoginMethod_LOGIN_METHOD_EXISTING, nil
		err := deliver(t, ports.InviteAccepted(e.svc), uuid.NewString(), ev)
		require.True(t, bus.IsPermanent(err), "dead-lettered with the reason: %v", err)
		require.Contains(t, err.Error(), "last main administrator")
		requireMain()
	})
	t.Run("WithASecondOneBoth", func(t *testing.T) {
		second := e.person(t, tn, "second@example.com", domain.RoleUser)
		_, err := adm.SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: second, Role: identityv1.Role_ROLE_MAIN_ADMINISTRATOR}))
		require.NoError(t, err)
		_, err = adm.SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: second, Role: identityv1.Role_ROLE_USER}))
		require.NoError(t, err, "the admin stays")
		_, err = adm.SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: second, Role: identityv1.Role_ROLE_MAIN_ADMINISTRATOR}))
		require.NoError(t, err)
		_, err = adm.DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
			TenantId: tn.id, UserId: second, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_LEFT}))
		require.NoError(t, err)
	})
}

package ports_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/domain"
)

const (
	mainAdmin = identityv1.Role_ROLE_MAIN_ADMINISTRATOR
	superuser = identityv1.Role_ROLE_SUPERUSER
)

// withIntegrator makes user the tenant's active integrator.
func withIntegrator(t *testing.T, f *fixture, tenant, user string) {
	t.Helper()
	ctx := context.Background()
	seedTestPartner(t, f.svc)
	inv := domain.Invitation{TenantID: tenant, InvitationID: uuid.NewString(), PartnerID: partnerID, Email: "dev@integra.example", InvitedAt: time.Now().UTC()}
	require.NoError(t, f.svc.Invited(ctx, app.Dedupe{}, inv))
	require.NoError(t, f.svc.Accepted(ctx, app.Dedupe{}, domain.Acceptance{Invitation: inv, UserID: user, AcceptedAt: inv.InvitedAt}, false))
}

func TestAdminRPCs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	admin, integrator, su := uuid.NewString(), uuid.NewString(), uuid.NewString()
	f.identity.add("admin", tenantA, admin, mainAdmin, false)
	f.identity.add("integrator", tenantA, integrator, mainAdmin, true)
	f.identity.add("superuser", tenantA, su, superuser, false)
	f.identity.add("other-tenant", tenantB, uuid.NewString(), mainAdmin, false)
	withIntegrator(t, f, tenantA, integrator)

	t.Run("Authentication", func(t *testing.T) {
		_, err := f.client.GetPolicy(ctx, req(&integratorv1.GetPolicyRequest{TenantId: tenantA}, ""))
		requireCode(t, err, connect.CodeUnauthenticated)
		_, err = f.client.GetPolicy(ctx, req(&integratorv1.GetPolicyRequest{TenantId: tenantA}, "unknown"))
		requireCode(t, err, connect.CodeUnauthenticated)
		_, err = f.client.GetPolicy(ctx, req(&integratorv1.GetPolicyRequest{TenantId: tenantA}, serviceToken))
		requireCode(t, err, connect.CodeUnauthenticated) // a service token is not an administrator
		_, err = f.client.GetPolicy(ctx, req(&integratorv1.GetPolicyRequest{TenantId: tenantA}, "other-tenant"))
		requireCode(t, err, connect.CodeNotFound)
		f.identity.mu.Lock()
		f.identity.down = true
		f.identity.mu.Unlock()
		_, err = f.client.GetPolicy(ctx, req(&integratorv1.GetPolicyRequest{TenantId: tenantA}, "admin"))
		requireCode(t, err, connect.CodeUnavailable)
		f.identity.mu.Lock()
		f.identity.down = false
		f.identity.mu.Unlock()
	})

	t.Run("Policy", func(t *testing.T) {
		resp, err := f.client.GetPolicy(ctx, req(&integratorv1.GetPolicyRequest{TenantId: tenantA}, "superuser"))
		require.NoError(t, err)
		require.Equal(t, uint32(1), resp.Msg.GetPolicy().GetMaxActiveIntegrators())
		require.Equal(t, integratorv1.OverflowMode_OVERFLOW_MODE_REPLACE_CURRENT, resp.Msg.GetPolicy().GetOverflowMode())

		set := &integratorv1.SetPolicyRequest{TenantId: tenantA, MaxActiveIntegrators: 2, OverflowMode: integratorv1.OverflowMode_OVERFLOW_MODE_ADMIN_CHOOSES}
		for _, who := range []string{"superuser", "integrator"} {
			_, err = f.client.SetPolicy(ctx, req(set, who))
			requireCode(t, err, connect.CodePermissionDenied)
		}
		for _, bad := range []*integratorv1.SetPolicyRequest{
			{TenantId: tenantA, MaxActiveIntegrators: 0, OverflowMode: 1},
			{TenantId: tenantA, MaxActiveIntegrators: 11, OverflowMode: 1},
			{TenantId: tenantA, MaxActiveIntegrators: 1},
			{TenantId: "A", MaxActiveIntegrators: 1, OverflowMode: 1},
		} {
			_, err = f.client.SetPolicy(ctx, req(bad, "admin"))
			requireCode(t, err, connect.CodeInvalidArgument)
		}
		out, err := f.client.SetPolicy(ctx, req(set, "admin"))
		require.NoError(t, err)
		require.Equal(t, uint32(2), out.Msg.GetPolicy().GetMaxActiveIntegrators())
		require.Equal(t, admin, out.Msg.GetPolicy().GetUpdatedByUserId())
		require.NotNil(t, out.Msg.GetPolicy().GetUpdatedAt())
		// Back to the seed's default; lowering below the active ones would
		// be refused, but one is active and the limit is 1.
		_, err = f.client.SetPolicy(ctx, req(&integratorv1.SetPolicyRequest{TenantId: tenantA, MaxActiveIntegrators: 1, OverflowMode: 1}, "admin"))
		require.NoError(t, err)
	})

	t.Run("GetActiveIntegrator", func(t *testing.T) {
		for _, who := range []string{serviceToken, "admin", "integrator"} {
			resp, err := f.client.GetActiveIntegrator(ctx, req(&integratorv1.GetActiveIntegratorRequest{TenantId: tenantA}, who))
			require.NoError(t, err, who)
			require.Equal(t, integrator, resp.Msg.GetIntegrator().GetUserId())
			require.NotNil(t, resp.Msg.GetAssignedAt())
			require.Len(t, resp.Msg.GetAssignments(), 1)
			require.Equal(t, integratorv1.IntegratorState_INTEGRATOR_STATE_ACTIVE, resp.Msg.GetAssignments()[0].GetState())
		}
		_, err := f.client.GetActiveIntegrator(ctx, req(&integratorv1.GetActiveIntegratorRequest{TenantId: tenantA}, ""))
		requireCode(t, err, connect.CodeUnauthenticated)
		_, err = f.client.GetActiveIntegrator(ctx, req(&integratorv1.GetActiveIntegratorRequest{TenantId: tenantA}, "other-tenant"))
		requireCode(t, err, connect.CodeNotFound)
		resp, err := f.client.GetActiveIntegrator(ctx, req(&integratorv1.GetActiveIntegratorRequest{TenantId: tenantB}, serviceToken))
		require.NoError(t, err)
		require.Nil(t, resp.Msg.GetIntegrator(), "tenant B has none")
	})

	t.Run("CheckAction", func(t *testing.T) {
		resource := "users/" + uuid.NewString()
		for _, a := range []integratorv1.Action{
			integratorv1.Action_ACTION_CREATE_ADMINISTRATOR, integratorv1.Action_ACTION_GRANT_ADMINISTRATOR,
			integratorv1.Action_ACTION_DISMISS_EMPLOYEE, integratorv1.Action_ACTION_DISABLE_TWO_FACTOR,
		} {
			resp, err := f.client.CheckAction(ctx, req(&integratorv1.CheckActionRequest{TenantId: tenantA, ActorUserId: integrator, Action: a, Resource: resource}, serviceToken))
			require.NoError(t, err)
			require.False(t, resp.Msg.GetAllowed(), a)
			require.Equal(t, integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_RESTRICTION, resp.Msg.GetReason())
			require.NotEmpty(t, resp.Msg.GetMessage())

			// Only integrators are asked about: someone with no integrator
			// record in the tenant is refused, not waved through.
			resp, err = f.client.CheckAction(ctx, req(&integratorv1.CheckActionRequest{TenantId: tenantA, ActorUserId: admin, Action: a, Resource: resource}, serviceToken))
			require.NoError(t, err)
			require.False(t, resp.Msg.GetAllowed())
			require.Equal(t, integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_INACTIVE, resp.Msg.GetReason())
		}
		for _, bad := range []*integratorv1.CheckActionRequest{
			{TenantId: tenantA, ActorUserId: integrator, Action: 0, Resource: resource},
			{TenantId: tenantA, ActorUserId: integrator, Action: 99, Resource: resource},
			{TenantId: tenantA, ActorUserId: integrator, Action: 3, Resource: "users"},
			{TenantId: "nope", ActorUserId: integrator, Action: 3, Resource: resource},
		} {
			_, err := f.client.CheckAction(ctx, req(bad, serviceToken))
			requireCode(t, err, connect.CodeInvalidArgument)
		}
	})

	t.Run("DismissIntegrator", func(t *testing.T) {
		dismiss := func(user, who string) error {
			_, err := f.client.DismissIntegrator(ctx, req(&integratorv1.DismissIntegratorRequest{TenantId: tenantA, IntegratorUserId: user, Note: "done"}, who))
			return err
		}
		requireCode(t, dismiss(integrator, "integrator"), connect.CodePermissionDenied)
		requireCode(t, dismiss(integrator, "superuser"), connect.CodePermissionDenied)
		requireCode(t, dismiss(integrator, ""), connect.CodeUnauthenticated)
		requireCode(t, dismiss(su, "admin"), connect.CodeNotFound) // not the integrator
		_, err := f.client.DismissIntegrator(ctx, req(&integratorv1.DismissIntegratorRequest{TenantId: tenantB, IntegratorUserId: integrator}, "admin"))
		requireCode(t, err, connect.CodeNotFound) // another tenant
		_, err = f.client.DismissIntegrator(ctx, req(&integratorv1.DismissIntegratorRequest{TenantId: tenantA, IntegratorUserId: "x"}, "admin"))
		requireCode(t, err, connect.CodeInvalidArgument)

		resp, err := f.client.DismissIntegrator(ctx, req(&integratorv1.DismissIntegratorRequest{TenantId: tenantA, IntegratorUserId: integrator, Note: "done"}, "admin"))
		require.NoError(t, err)
		require.Equal(t, integrator, resp.Msg.GetIntegrator().GetUserId())
		requireCode(t, dismiss(integrator, "admin"), connect.CodeFailedPrecondition) // already dismissed

		// Dismissed, his guarded actions are refused as inactive.
		cr, err := f.client.CheckAction(ctx, req(&integratorv1.CheckActionRequest{TenantId: tenantA, ActorUserId: integrator,
			Action: integratorv1.Action_ACTION_DISMISS_EMPLOYEE, Resource: "users/" + su}, serviceToken))
		require.NoError(t, err)
		require.False(t, cr.Msg.GetAllowed())
		require.Equal(t, integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_INACTIVE, cr.Msg.GetReason())
	})
}

package ports_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/identity/adapters/login"
	"rollcall.dev/services/identity/ports"
)

// TestWaitingIntegratorHasNoAccess: an accepted integrator gets admin
// access only when integrator-policy assigns him (IntegratorAssigned). Under
// its ADMIN_CHOOSES overflow mode he may wait for an administrator to choose
// him, and meanwhile he can neither sign in nor be given a token.
func TestWaitingIntegratorHasNoAccess(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "WAIT", 0)
	accept := ports.InviteAccepted(e.svc)
	assign := ports.IntegratorAssigned(e.svc)
	signIn := func(email string) (*identityv1.SignInResponse, error) {
		a, err := e.sim.Mint(login.Claims{Provider: "telia", UserID: email, Audience: tn.id})
		require.NoError(t, err)
		res, err := e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "WAIT", Provider: "telia", Assertion: a}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	before := len(e.outboxTypes(t, tn.id))

	ev := integratorAccepted(tn, "ivan@partner.example")
	require.NoError(t, deliver(t, accept, uuid.NewString(), ev))

	t.Run("WaitingMeansNoAccess", func(t *testing.T) {
		u := e.user(t, tn.id, ev.GetUserId())
		require.Equal(t, identityv1.UserStatus_USER_STATUS_WAITING, u.GetStatus())
		require.True(t, u.GetProfile().GetIntegratorMarker())
		require.Len(t, e.outboxTypes(t, tn.id), before, "not announced while he waits")
		_, err := signIn("ivan@partner.example")
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "administrator must choose you")
		var reason string
		for _, d := range ce.Details() {
			if v, err := d.Value(); err == nil {
				if info, ok := v.(*errdetails.ErrorInfo); ok {
					reason = info.GetReason()
				}
			}
		}
		require.Equal(t, "INTEGRATOR_WAITING", reason)
		_, err = e.ops.CreateAccessToken(ctx, connect.NewRequest(&identityv1.CreateAccessTokenRequest{TenantId: tn.id, UserId: ev.GetUserId()}))
		requireCode(t, err, connect.CodePermissionDenied)
		// The tenant's administrators see him waiting.
		res, err := e.as(t, tn.adminToken).ListUsers(ctx, connect.NewRequest(&identityv1.ListUsersRequest{TenantId: tn.id,
			Kinds: []identityv1.UserKind{identityv1.UserKind_USER_KIND_INTEGRATOR}}))
		require.NoError(t, err)
		require.Len(t, res.Msg.GetUsers(), 1)
		require.Equal(t, identityv1.UserStatus_USER_STATUS_WAITING, res.Msg.GetUsers()[0].GetStatus())
	})

	t.Run("AssignedOpensAccess", func(t *testing.T) {
		other := assigned(ev)
		other.InvitationId = uuid.NewString()
		err := deliver(t, assign, uuid.NewString(), other)
		require.Error(t, err, "an assignment of an invitation identity has not seen is retried")
		require.False(t, bus.IsPermanent(err))

		id := uuid.NewString()
		require.NoError(t, deliver(t, assign, id, assigned(ev)))
		require.NoError(t, deliver(t, assign, id, assigned(ev)), "redelivery")
		require.NoError(t, deliver(t, assign, uuid.NewString(), assigned(ev)), "republished")
		u := e.user(t, tn.id, ev.GetUserId())
		require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, u.GetStatus())
		require.Equal(t, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, u.GetRole())
		require.Equal(t, []string{"rollcall.identity.v1.UserCreated"}, e.outboxTypes(t, tn.id)[before:], "announced once, when assigned")
		res, err := signIn("ivan@partner.example")
		require.NoError(t, err)
		p, err := e.internal.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: res.GetToken()}))
		require.NoError(t, err)
		require.True(t, p.Msg.GetPrincipal().GetIntegrator())
	})

	t.Run("DismissedWhileWaiting", func(t *testing.T) {
		// The administrator dismisses the waiting one instead of choosing him.
		w := integratorAccepted(tn, "waiter@partner.example")
		require.NoError(t, deliver(t, accept, uuid.NewString(), w))
		n := len(e.outboxTypes(t, tn.id))
		dismissed := &integratorv1.IntegratorDismissed{TenantId: tn.id, OccurredAt: timestamppb.Now(),
			Integrator:        &integratorv1.IntegratorRef{UserId: w.GetUserId(), PartnerId: w.GetPartnerId(), Email: "waiter@partner.example"},
			DismissedByUserId: proto.String(tn.adminID), Reason: integratorv1.DismissalReason_DISMISSAL_REASON_ADMIN}
		require.NoError(t, deliver(t, ports.IntegratorDismissed(e.svc), uuid.NewString(), dismissed))
		require.Equal(t, identityv1.UserStatus_USER_STATUS_DEACTIVATED, e.user(t, tn.id, w.GetUserId()).GetStatus())
		require.Len(t, e.outboxTypes(t, tn.id), n, "never announced, so nothing to retract")
		// A late assignment does not bring him back.
		require.NoError(t, deliver(t, assign, uuid.NewString(), assigned(w)))
		require.Equal(t, identityv1.UserStatus_USER_STATUS_DEACTIVATED, e.user(t, tn.id, w.GetUserId()).GetStatus())
		_, err := signIn("waiter@partner.example")
		requireCode(t, err, connect.CodeUnauthenticated)
	})

	t.Run("AssignedBeforeAcceptedIsRetried", func(t *testing.T) {
		early := integratorAccepted(tn, "early@partner.example")
		err := deliver(t, assign, uuid.NewString(), assigned(early))
		require.Error(t, err)
		require.False(t, bus.IsPermanent(err))
		require.NoError(t, deliver(t, accept, uuid.NewString(), early))
		require.NoError(t, deliver(t, assign, uuid.NewString(), assigned(early)))
		require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, e.user(t, tn.id, early.GetUserId()).GetStatus())
	})

	t.Run("NoIntegratorByAMemberInvitation", func(t *testing.T) {
		// A member's membership cannot become an integrator's, which would
		// skip the waiting.
		again := integratorAccepted(tn, "kari@example.com")
		again.UserId, again.ExistingProfile = tn.adminID, true
		err := deliver(t, accept, uuid.NewString(), again)
		require.True(t, bus.IsPermanent(err), "%v", err)
	})
}

package ports_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/testkit"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/integrator-policy/adapters/postgres"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/migrations"
	"rollcall.dev/services/integrator-policy/ports"
)

var partnerID = "8a5f4e3d-2c1b-4d0a-9f9e-4b5c6d7e8f9a"

func inviter() *commonv1.Actor {
	return &commonv1.Actor{UserId: uuid.NewString(), Name: "Ada Admin", Email: "ada@customer.example"}
}

func userInvited(tenant, invitation, email string, at time.Time) *invitationv1.UserInvited {
	return &invitationv1.UserInvited{
		InvitationId: invitation, TenantId: tenant, OccurredAt: timestamppb.New(at),
		Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		Email: email, CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_NONE,
		Grants:    &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR},
		PartnerId: proto.String(partnerID), ExpiresAt: timestamppb.New(at.Add(7 * 24 * time.Hour)), Inviter: inviter(),
	}
}

func inviteAccepted(tenant, invitation, user, email string, at time.Time) *invitationv1.InviteAccepted {
	return &invitationv1.InviteAccepted{
		InvitationId: invitation, TenantId: tenant, OccurredAt: timestamppb.New(at), AcceptedAt: timestamppb.New(at),
		Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		UserId: user, LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_PROVIDER_PROFILE, ExternalSubject: proto.String("telia:" + user), FirstName: "Ivan", LastName: "Petrov",
		Email: email, Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR},
		PartnerId: proto.String(partnerID), Inviter: inviter(),
	}
}

// publish sends an invitation event as the invitation service's relay does
// (subject invitation.v1.<tenant>.invitation.<id>.<verb>); msgID overrides
// Nats-Msg-Id (a republish outside the broker's duplicate window).
func publish(t *testing.T, js jetstream.JetStream, tenant, invitation, verb string, msg proto.Message, eventID, msgID string) {
	t.Helper()
	ev, err := bus.NewEvent("/rollcall/invitation", "invitation.v1."+tenant+".invitation."+invitation+"."+verb, "invitation/"+invitation, msg)
	require.NoError(t, err)
	if eventID != "" {
		ev.ID = eventID
	}
	m, err := ev.Msg(context.Background())
	require.NoError(t, err)
	if msgID != "" {
		m.Header.Set(bus.HeaderMsgID, msgID)
	}
	_, err = js.PublishMsg(context.Background(), m)
	require.NoError(t, err)
}

// The consumers end to end: invitation events in on the INVITATION stream,
// integrator events out of the outbox onto the INTEGRATOR stream, on the
// subjects the invitation and identity services subscribe to.
func TestConsumersEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testkit.NewDB(t, migrations.FS)
	n := testkit.NewNATS(t)
	store := postgres.New(pool, "/rollcall/integrator-policy")
	log := slog.New(slog.DiscardHandler)
	svc := &app.Service{Store: store, Log: log}
	seedTestPartner(t, svc)
	relay := outbox.NewRelay(pool, bus.NewPublisher(n.JS), log, outbox.RelayConfig{Service: "integrator-policy", PollInterval: 20 * time.Millisecond})
	store.Published = relay.Kick
	require.NoError(t, relay.Start(ctx))
	t.Cleanup(relay.Stop)
	cons := []bus.ConsumerConfig{ports.UserInvited(svc), ports.InviteAccepted(svc)}
	// Short back-off, but long enough that the early acceptance below is
	// still waiting (not yet past UnknownInvitationRetries) when its
	// invitation arrives.
	for i := range cons {
		cons[i].Backoff = []time.Duration{300 * time.Millisecond}
	}
	r, err := bus.NewRunner(n.Conn, n.JS, log, cons...)
	require.NoError(t, err)
	require.NoError(t, r.Start(ctx))
	t.Cleanup(func() { _ = r.Stop(ctx) })

	tenant := uuid.NewString()
	active := func() []string {
		tn, err := svc.Integrators(ctx, nil, tenant)
		require.NoError(t, err)
		var out []string
		for _, in := range tn.Integrators {
			out = append(out, in.UserID+"/"+string(in.State))
		}
		return out
	}
	t0 := time.Now().UTC().Add(-time.Hour)
	ola, olaInv := uuid.NewString(), uuid.NewString()
	kari, kariInv := uuid.NewString(), uuid.NewString()

	// Ola's acceptance arrives before his invitation: it waits for it.
	acceptOla := uuid.NewString()
	publish(t, n.JS, tenant, olaInv, "accepted", inviteAccepted(tenant, olaInv, ola, "Ola@Integra.example", t0.Add(time.Minute)), acceptOla, "")
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, active())
	publish(t, n.JS, tenant, olaInv, "invited", userInvited(tenant, olaInv, "ola@integra.example", t0), "", "")
	require.Eventually(t, func() bool { return len(active()) == 1 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, []string{ola + "/active"}, active())

	// The same acceptance again, past the broker's de-duplication: the inbox.
	publish(t, n.JS, tenant, olaInv, "accepted", inviteAccepted(tenant, olaInv, ola, "ola@integra.example", t0.Add(time.Minute)), acceptOla, uuid.NewString())

	// A member invitation and a malformed one are not this service's, and
	// do not hold the stream up.
	member := userInvited(tenant, uuid.NewString(), "x@customer.example", t0)
	member.Kind, member.PartnerId, member.FirstName, member.LastName = invitationv1.InvitationKind_INVITATION_KIND_MEMBER, nil, "A", "B"
	member.CodeDelivery = invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER
	publish(t, n.JS, tenant, member.GetInvitationId(), "invited", member, "", "")
	bad := userInvited(tenant, uuid.NewString(), "y@integra.example", t0)
	bad.PartnerId = nil
	publish(t, n.JS, tenant, bad.GetInvitationId(), "invited", bad, "", "")

	// Inviting Kari dismisses Ola at once; her acceptance makes her active.
	publish(t, n.JS, tenant, kariInv, "invited", userInvited(tenant, kariInv, "kari@nordicsetup.example", t0.Add(time.Hour)), "", "")
	require.Eventually(t, func() bool { return len(active()) == 0 }, 10*time.Second, 20*time.Millisecond)
	publish(t, n.JS, tenant, kariInv, "accepted", inviteAccepted(tenant, kariInv, kari, "kari@nordicsetup.example", t0.Add(2*time.Hour)), "", "")
	require.Eventually(t, func() bool { return len(active()) == 1 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, []string{kari + "/active"}, active())

	// What the other services receive, in order.
	c, err := n.JS.OrderedConsumer(ctx, bus.StreamIntegrator, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"integrator.v1." + tenant + ".>"}})
	require.NoError(t, err)
	var got []string
	var replaced integratorv1.IntegratorReplaced
	for len(got) < 3 {
		msgs, err := c.Fetch(3-len(got), jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		for m := range msgs.Messages() {
			got = append(got, m.Subject())
			if m.Headers().Get(bus.HeaderType) == "rollcall.integrator.v1.IntegratorReplaced" {
				require.NoError(t, proto.Unmarshal(m.Data(), &replaced))
			}
		}
	}
	require.Equal(t, []string{
		"integrator.v1." + tenant + ".integrator." + ola + ".assigned",
		"integrator.v1." + tenant + ".integrator." + ola + ".replaced",
		"integrator.v1." + tenant + ".integrator." + kari + ".assigned",
	}, got)
	require.True(t, bus.ValidSubject(got[1]) == nil)
	require.Equal(t, ola, replaced.GetPreviousIntegrator().GetUserId())
	require.Equal(t, "ola@integra.example", replaced.GetPreviousIntegrator().GetEmail())
	require.Equal(t, kariInv, replaced.GetNewIntegrator().GetInvitationId())

	// Nothing else was published: the redelivered acceptance had no effect.
	time.Sleep(200 * time.Millisecond)
	info, err := c.Info(ctx)
	require.NoError(t, err)
	require.Zero(t, info.NumPending)

	dls, err := bus.ListDeadLetters(ctx, n.JS, 0, 10)
	require.NoError(t, err)
	require.Len(t, dls, 1, "the malformed invitation, with its reason")
	require.Contains(t, dls[0].Reason, "partner_id")
}

// An integrator event without a usable event id cannot be de-duplicated:
// it is dead-lettered with the reason, never applied.
func TestAnEventWithoutAnIDIsNotApplied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testkit.NewDB(t, migrations.FS)
	svc := &app.Service{Store: postgres.New(pool, "/rollcall/integrator-policy"), Log: slog.New(slog.DiscardHandler)}
	seedTestPartner(t, svc)
	tenant, inv := uuid.NewString(), uuid.NewString()
	t0 := time.Now().UTC().Add(-time.Hour)
	for _, id := range []string{"", "nul\x00id"} {
		for _, c := range []struct {
			cfg bus.ConsumerConfig
			ev  proto.Message
		}{
			{ports.UserInvited(svc), userInvited(tenant, inv, "ola@integra.example", t0)},
			{ports.InviteAccepted(svc), inviteAccepted(tenant, inv, uuid.NewString(), "ola@integra.example", t0.Add(time.Minute))},
		} {
			data, err := proto.Marshal(c.ev)
			require.NoError(t, err)
			err = c.cfg.Handler(ctx, &bus.Message{ID: id, Type: bus.TypeOf(c.ev), Data: data, NumDelivered: 100})
			require.True(t, bus.IsPermanent(err), "%q: %v", id, err)
		}
	}
	tn, err := svc.Integrators(ctx, nil, tenant)
	require.NoError(t, err)
	require.Empty(t, tn.Integrators, "nothing applied")
}

package ports

import (
	"context"
	"errors"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/inbox"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/domain"
)

// Subjects the consumers read (invitation service's outbox).
const (
	UserInvitedSubjects    = "invitation.v1.*.invitation.*.invited"
	InviteAcceptedSubjects = "invitation.v1.*.invitation.*.accepted"
)

// Durable consumer names; also the inbox's consumer names.
const (
	UserInvitedConsumer    = "integrator-policy-user-invited"
	InviteAcceptedConsumer = "integrator-policy-invite-accepted"
)

// UnknownInvitationRetries is how many deliveries of an acceptance wait for
// its UserInvited before the acceptance time stands in for the invitation
// time (see app.Service.Accepted).
const UnknownInvitationRetries = 3

// UserInvited consumes integrator invitations: seed 003, inviting another
// integrator automatically dismisses the current one. Other kinds are
// acknowledged and ignored.
func UserInvited(svc *app.Service) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Stream:         bus.StreamInvitation,
		Durable:        UserInvitedConsumer,
		FilterSubjects: []string{UserInvitedSubjects},
		Handler: bus.Typed(func(ctx context.Context, m *bus.Message, ev *invitationv1.UserInvited) error {
			if ev.GetKind() != invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR {
				return nil
			}
			email, err := domain.NormalizeEmail("email", ev.GetEmail())
			if err != nil {
				return bus.Permanent(err)
			}
			return noEventID(svc.Invited(ctx, app.Dedupe{Consumer: UserInvitedConsumer, EventID: m.ID}, domain.Invitation{
				TenantID: ev.GetTenantId(), InvitationID: ev.GetInvitationId(), PartnerID: ev.GetPartnerId(),
				Email: email, InvitedAt: ev.GetOccurredAt().AsTime().UTC(),
			}))
		}),
	}
}

// InviteAccepted consumes accepted integrator invitations: the invitee
// becomes an integrator of the tenant within its policy. Other kinds are
// acknowledged and ignored.
func InviteAccepted(svc *app.Service) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Stream:         bus.StreamInvitation,
		Durable:        InviteAcceptedConsumer,
		FilterSubjects: []string{InviteAcceptedSubjects},
		Handler: bus.Typed(func(ctx context.Context, m *bus.Message, ev *invitationv1.InviteAccepted) error {
			if ev.GetKind() != invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR {
				return nil
			}
			email, err := domain.NormalizeEmail("email", ev.GetEmail())
			if err != nil {
				return bus.Permanent(err)
			}
			acc := domain.Acceptance{
				Invitation: domain.Invitation{
					TenantID: ev.GetTenantId(), InvitationID: ev.GetInvitationId(), PartnerID: ev.GetPartnerId(), Email: email,
				},
				UserID: ev.GetUserId(), AcceptedAt: ev.GetAcceptedAt().AsTime().UTC(),
			}
			// An acceptance whose invitation is not known yet fails and is
			// retried with the consumer's back-off; from the delivery after
			// UnknownInvitationRetries on, the acceptance time stands in.
			return noEventID(svc.Accepted(ctx, app.Dedupe{Consumer: InviteAcceptedConsumer, EventID: m.ID}, acc,
				m.NumDelivered > UnknownInvitationRetries))
		}),
	}
}

// noEventID dead-letters an event that cannot be de-duplicated (no usable
// event id): applying it could apply it twice, and retrying cannot help.
func noEventID(err error) error {
	if errors.Is(err, inbox.ErrNoEventID) {
		return bus.Permanent(err)
	}
	return err
}

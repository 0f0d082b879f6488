package ports

import (
	"context"
	"errors"
	"strings"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/inbox"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// Subjects identity consumes.
const (
	InviteAcceptedSubjects      = "invitation.v1.*.invitation.*.accepted"
	IntegratorReplacedSubjects  = "integrator.v1.*.integrator.*.replaced"
	IntegratorDismissedSubjects = "integrator.v1.*.integrator.*.dismissed"
	IntegratorAssignedSubjects  = "integrator.v1.*.integrator.*.assigned"
)

// Durable consumer names (also the inbox's consumer names). The three
// integrator names are the inbox names of IntegratorEvents' event types.
const (
	InviteAcceptedDurable      = "identity-invite-accepted"
	IntegratorEventsDurable    = "identity-integrator-events"
	IntegratorReplacedDurable  = "identity-integrator-replaced"
	IntegratorDismissedDurable = "identity-integrator-dismissed"
	IntegratorAssignedDurable  = "identity-integrator-assigned"
)

// consumerError maps a use case's error for the runner: ErrSkip, domain
// rule errors and a message without a usable event id are dead-lettered at
// once with their reason (a retry cannot help; an operator replays after
// fixing the cause), anything else is retried with back-off.
func consumerError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, app.ErrSkip) || errors.Is(err, domain.ErrInvalid) || errors.Is(err, domain.ErrAlreadyExists) ||
		errors.Is(err, inbox.ErrNoEventID) {
		return bus.Permanent(err)
	}
	return err
}

var kindOfInvitation = map[invitationv1.InvitationKind]domain.Kind{
	invitationv1.InvitationKind_INVITATION_KIND_MEMBER:      domain.KindPerson,
	invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION: domain.KindIntegration,
	invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR:  domain.KindIntegrator,
}

// InviteAccepted creates or activates the invited user (once per event).
func InviteAccepted(svc *app.Service) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Stream:         bus.StreamInvitation,
		Durable:        InviteAcceptedDurable,
		FilterSubjects: []string{InviteAcceptedSubjects},
		Handler: bus.Typed(func(ctx context.Context, m *bus.Message, ev *invitationv1.InviteAccepted) error {
			return consumerError(svc.InviteAccepted(ctx, InviteAcceptedDurable, m.ID, AcceptedOf(ev)))
		}),
	}
}

// AcceptedOf translates the event.
func AcceptedOf(ev *invitationv1.InviteAccepted) app.Accepted {
	return app.Accepted{
		InvitationID: ev.GetInvitationId(), TenantID: ev.GetTenantId(), UserID: ev.GetUserId(),
		Kind: kindOfInvitation[ev.GetKind()], Origin: int32(ev.GetOrigin()), ExistingProfile: ev.GetExistingProfile(),
		LoginMethod: int32(ev.GetLoginMethod()), FirstName: ev.GetFirstName(), LastName: ev.GetLastName(),
		Email: ev.GetEmail(), Mobile: ev.GetMobile(), Grants: ev.GetGrants(), PartnerID: ev.GetPartnerId(),
		InviterUserID: ev.GetInviter().GetUserId(), ExternalSubject: ev.GetExternalSubject(), AcceptedAt: ev.GetAcceptedAt().AsTime(),
	}
}

// IntegratorEvents is the one consumer of integrator-policy's integrator
// events that identity runs: replacements, dismissals and assignments of a
// tenant are applied in the order integrator-policy published them (its
// outbox publishes a replacement before the assignment that follows it),
// never side by side. MaxAckPending 1 keeps that order when an event fails
// and is retried: nothing behind it is applied before it, so the newcomer's
// access never opens while the integrator he replaces still has his. The
// stream carries few events (one per integrator change), so serial
// handling costs nothing that matters; an assignment that waits for its
// acceptance (ErrNotYet) holds the stream back for its back-off (1 s first).
//
// An ending is final in any order: a replaced or dismissed integrator
// identity does not know yet is recorded and created deactivated when his
// acceptance arrives, and an assignment after an ending opens nothing.
func IntegratorEvents(svc *app.Service) bus.ConsumerConfig {
	byVerb := map[string]bus.Handler{
		"replaced":  IntegratorReplaced(svc).Handler,
		"dismissed": IntegratorDismissed(svc).Handler,
		"assigned":  IntegratorAssigned(svc).Handler,
	}
	return bus.ConsumerConfig{
		Stream:         bus.StreamIntegrator,
		Durable:        IntegratorEventsDurable,
		FilterSubjects: []string{IntegratorReplacedSubjects, IntegratorDismissedSubjects, IntegratorAssignedSubjects},
		MaxAckPending:  1,
		Handler: func(ctx context.Context, m *bus.Message) error {
			h, ok := byVerb[m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]]
			if !ok {
				return bus.Permanentf("identity does not handle %q", m.Subject)
			}
			return h(ctx, m)
		},
	}
}

// IntegratorReplaced deactivates the previous integrator (seed 003: inviting
// another one dismisses the current one).
func IntegratorReplaced(svc *app.Service) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Stream:         bus.StreamIntegrator,
		Durable:        IntegratorReplacedDurable,
		FilterSubjects: []string{IntegratorReplacedSubjects},
		Handler: bus.Typed(func(ctx context.Context, m *bus.Message, ev *integratorv1.IntegratorReplaced) error {
			if err := subjectNames(m, ev.GetTenantId(), ev.GetPreviousIntegrator().GetUserId(), "replaced"); err != nil {
				return err
			}
			return consumerError(svc.IntegratorGone(ctx, IntegratorReplacedDurable, m.ID, ev.GetTenantId(),
				ev.GetPreviousIntegrator().GetUserId(), domain.ReasonIntegratorReplaced, ""))
		}),
	}
}

// IntegratorAssigned opens the access of the tenant's new active integrator
// (he waited since his acceptance, seed 003 and integrator-policy's
// overflow mode).
func IntegratorAssigned(svc *app.Service) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Stream:         bus.StreamIntegrator,
		Durable:        IntegratorAssignedDurable,
		FilterSubjects: []string{IntegratorAssignedSubjects},
		Handler: bus.Typed(func(ctx context.Context, m *bus.Message, ev *integratorv1.IntegratorAssigned) error {
			if err := subjectNames(m, ev.GetTenantId(), ev.GetIntegrator().GetUserId(), "assigned"); err != nil {
				return err
			}
			return consumerError(svc.IntegratorAssigned(ctx, IntegratorAssignedDurable, m.ID, ev.GetTenantId(),
				ev.GetIntegrator().GetUserId(), ev.GetInvitationId()))
		}),
	}
}

// IntegratorDismissed deactivates the dismissed integrator.
func IntegratorDismissed(svc *app.Service) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Stream:         bus.StreamIntegrator,
		Durable:        IntegratorDismissedDurable,
		FilterSubjects: []string{IntegratorDismissedSubjects},
		Handler: bus.Typed(func(ctx context.Context, m *bus.Message, ev *integratorv1.IntegratorDismissed) error {
			if err := subjectNames(m, ev.GetTenantId(), ev.GetIntegrator().GetUserId(), "dismissed"); err != nil {
				return err
			}
			return consumerError(svc.IntegratorGone(ctx, IntegratorDismissedDurable, m.ID, ev.GetTenantId(),
				ev.GetIntegrator().GetUserId(), domain.ReasonIntegratorDismissed, ev.GetDismissedByUserId()))
		}),
	}
}

// subjectNames dead-letters an integrator event whose subject
// (integrator.v1.<tenant>.integrator.<user>.<verb>) names another tenant or
// user than its payload: integrator-policy never publishes one, and the
// NATS permissions that let a publisher write a tenant's subjects must not
// let it change another tenant's integrators. (A message handed to a
// handler without a subject, as tests do, is not checked.)
func subjectNames(m *bus.Message, tenantID, userID, verb string) error {
	if m.Subject == "" {
		return nil
	}
	if want := "integrator.v1." + tenantID + ".integrator." + userID + "." + verb; m.Subject != want {
		return bus.Permanentf("subject %q does not match the event's tenant and integrator (want %q)", m.Subject, want)
	}
	return nil
}

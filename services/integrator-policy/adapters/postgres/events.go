package postgres

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/outbox"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/domain"
)

// Subject is where an integrator event goes:
// integrator.v1.<tenant>.integrator.<user>.<verb>.
func Subject(tenantID, userID, verb string) string {
	return "integrator.v1." + tenantID + ".integrator." + userID + "." + verb
}

// DenialSubject is where ActionDenied goes:
// integrator.v1.<tenant>.denial.<actor>.denied.
func DenialSubject(tenantID, actorID string) string {
	return "integrator.v1." + tenantID + ".denial." + actorID + ".denied"
}

// Aggregate orders a tenant's integrator events: a replacement is published
// before the assignment that follows it.
func Aggregate(tenantID string) string { return "integrators/" + tenantID }

// Ref maps an integrator to the contract's IntegratorRef.
func Ref(in domain.Integrator) *integratorv1.IntegratorRef {
	return &integratorv1.IntegratorRef{UserId: in.UserID, PartnerId: in.PartnerID, Email: in.Email}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func record(tenantID string, ev domain.Event) outbox.Record {
	var (
		msg  proto.Message
		user string
		verb string
	)
	switch e := ev.(type) {
	case domain.IntegratorAssigned:
		user, verb = e.Integrator.UserID, "assigned"
		msg = &integratorv1.IntegratorAssigned{
			TenantId: tenantID, OccurredAt: timestamppb.New(e.Integrator.Since),
			Integrator: Ref(e.Integrator), InvitationId: e.Integrator.InvitationID,
		}
	case domain.IntegratorReplaced:
		user, verb = e.Previous.UserID, "replaced"
		msg = &integratorv1.IntegratorReplaced{
			TenantId: tenantID, OccurredAt: timestamppb.New(e.Previous.EndedAt),
			PreviousIntegrator: Ref(e.Previous),
			NewIntegrator: &integratorv1.IncomingIntegrator{
				InvitationId: e.New.InvitationID, PartnerId: e.New.PartnerID, Email: e.New.Email, UserId: optional(e.New.UserID),
			},
		}
	case domain.IntegratorDismissed:
		user, verb = e.Integrator.UserID, "dismissed"
		msg = &integratorv1.IntegratorDismissed{
			TenantId: tenantID, OccurredAt: timestamppb.New(e.Integrator.EndedAt), Integrator: Ref(e.Integrator),
			DismissedByUserId: optional(e.By), Reason: integratorv1.DismissalReason(e.Reason), Note: e.Note,
		}
	}
	return outbox.Record{Subject: Subject(tenantID, user, verb), Aggregate: Aggregate(tenantID), Event: msg}
}

// Denial is a refused guarded action (the app layer's type).
type Denial = app.Denial

func deniedRecord(d Denial) outbox.Record {
	return outbox.Record{
		Subject:   DenialSubject(d.TenantID, d.ActorID),
		Aggregate: "denials/" + d.TenantID,
		Event: &integratorv1.ActionDenied{
			TenantId: d.TenantID, OccurredAt: timestamppb.New(d.At), ActorUserId: d.ActorID,
			Action: integratorv1.Action(d.Action), Resource: d.Resource, Reason: integratorv1.DenialReason(d.Reason),
		},
	}
}

package postgres

import (
	"fmt"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/outbox"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/domain"
)

// Subject is where a user's event goes:
// identity.v1.<tenant>.<aggregate>.<user>.<verb>, aggregate "user" or
// "service-user".
func Subject(tenantID, aggregate, userID, verb string) string {
	return "identity.v1." + tenantID + "." + aggregate + "." + userID + "." + verb
}

// events appends u's recorded events to the outbox, each validated against
// its contract first: a change whose event consumers would refuse is not
// written.
func (t *tx) events(u *domain.User) error {
	for _, ev := range u.Events() {
		rec, err := record(u, ev)
		if err != nil {
			return err
		}
		if err := protovalidate.Validate(rec.Event); err != nil {
			return fmt.Errorf("identity store: %s would break its contract: %w", rec.Event.ProtoReflect().Descriptor().Name(), err)
		}
		if _, err := outbox.Append(t.ctx, t.tx, t.s.source, rec); err != nil {
			return fmt.Errorf("identity store: %w", err)
		}
		t.wrote = true
	}
	return nil
}

// ProfileOf is a person, integration or integrator user's profile.
func ProfileOf(u *domain.User) *identityv1.UserProfile {
	p := &identityv1.UserProfile{
		FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Grants: u.Grants,
		CountsTowardSeatLimit: u.CountsSeat, IntegratorMarker: u.Kind == domain.KindIntegrator, Role: identityv1.Role(u.Role),
		TwoFactorEnabled: u.TwoFactor && u.Kind == domain.KindPerson,
	}
	if u.Mobile != "" {
		p.Mobile = proto.String(u.Mobile)
	}
	return p
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func record(u *domain.User, ev domain.Event) (outbox.Record, error) {
	now := timestamppb.New(time.Now().UTC())
	var (
		msg       proto.Message
		verb      string
		aggregate = "user"
	)
	switch e := ev.(type) {
	case domain.Created:
		verb = "created"
		m := &identityv1.UserCreated{
			UserId: u.ID, TenantId: u.TenantID, OccurredAt: timestamppb.New(u.CreatedAt), Kind: identityv1.UserKind(u.Kind),
			Origin: commonv1.CreationOrigin(u.Origin), Profile: ProfileOf(u), PartnerId: optional(u.PartnerID),
		}
		if u.Origin != domain.OriginTenantCreation {
			m.SourceInvitationId = optional(u.SourceInvitationID)
		}
		msg = m
	case domain.Updated:
		verb = "updated"
		fields := make([]identityv1.UserField, len(e.Fields))
		for i, f := range e.Fields {
			fields[i] = identityv1.UserField(f)
		}
		msg = &identityv1.UserUpdated{
			UserId: u.ID, TenantId: u.TenantID, OccurredAt: now, ChangedFields: fields, Profile: ProfileOf(u),
			UpdatedByUserId: optional(e.By),
		}
	case domain.Deactivated:
		verb = "deactivated"
		if u.Kind == domain.KindService {
			aggregate = "service-user"
		}
		msg = &identityv1.UserDeactivated{
			UserId: u.ID, TenantId: u.TenantID, OccurredAt: timestamppb.New(u.DeactivatedAt), Kind: identityv1.UserKind(u.Kind),
			Reason: identityv1.DeactivationReason(e.Reason), DeactivatedByUserId: optional(e.By), FreedSeat: e.FreedSeat,
		}
	case domain.ServiceCreated:
		verb, aggregate = "created", "service-user"
		sd := u.Service
		status := identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE
		if sd.Active {
			status = identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE
		}
		msg = &identityv1.ServiceUserCreated{
			UserId: u.ID, TenantId: u.TenantID, OccurredAt: timestamppb.New(u.CreatedAt), UserCode: sd.UserCode,
			ApplicationId: sd.ApplicationID, Status: status, Language: sd.Language, AllCompanies: sd.AllCompanies,
			CompanyIds: sd.CompanyIDs, AllStructure: sd.AllStructure, StructureLevelIds: sd.StructureLevelIDs,
			CreatedByUserId: u.CreatedByUserID,
		}
	case domain.ServiceStatusChanged:
		verb, aggregate = "status-changed", "service-user"
		status := identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE
		if u.Service.Active {
			status = identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE
		}
		msg = &identityv1.ServiceUserStatusChanged{
			UserId: u.ID, TenantId: u.TenantID, OccurredAt: timestamppb.New(u.UpdatedAt), UserCode: u.Service.UserCode,
			Status: status, ChangedByUserId: e.By,
		}
	case domain.PasswordReset:
		verb, aggregate = "password-reset", "service-user"
		msg = &identityv1.ServiceUserPasswordReset{
			UserId: u.ID, TenantId: u.TenantID, OccurredAt: now, UserCode: u.Service.UserCode,
			ResetAt: timestamppb.New(e.At), Permanent: true, ResetByUserId: e.By,
		}
	default:
		return outbox.Record{}, fmt.Errorf("identity store: unknown event %T", ev)
	}
	return outbox.Record{Subject: Subject(u.TenantID, aggregate, u.ID, verb), Aggregate: "user/" + u.TenantID + "/" + u.ID, Event: msg}, nil
}

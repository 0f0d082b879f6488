package postgres

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/outbox"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/invitation/domain"
)

// Subject is where an invitation's event goes:
// invitation.v1.<tenant>.invitation.<id>.<verb>.
func Subject(tenantID, id, verb string) string {
	return "invitation.v1." + tenantID + ".invitation." + id + "." + verb
}

// record maps a domain event to its outbox record; ok is false for events
// that are only delivered (a new link or code), never published.
func record(inv *domain.Invitation, ev domain.Event) (outbox.Record, bool, error) {
	now := timestamppb.Now()
	var (
		msg  proto.Message
		verb string
	)
	switch e := ev.(type) {
	case domain.Invited:
		verb = "invited"
		msg = &invitationv1.UserInvited{
			InvitationId: inv.ID, TenantId: inv.TenantID, OccurredAt: timestamppb.New(inv.CreatedAt),
			Kind: KindToProto(inv.Kind), Origin: OriginToProto(inv.Origin),
			FirstName: inv.FirstName, LastName: inv.LastName, Email: inv.Email, Mobile: Optional(inv.Mobile),
			CodeDelivery: DeliveryToProto(inv.CodeDelivery), Grants: GrantsToProto(inv.Grants),
			PartnerId: Optional(inv.PartnerID), ExpiresAt: timestamppb.New(inv.ExpiresAt), Inviter: ActorToProto(inv.Inviter),
		}
	case domain.Accepted:
		verb = "accepted"
		msg = &invitationv1.InviteAccepted{
			InvitationId: inv.ID, TenantId: inv.TenantID, OccurredAt: now, AcceptedAt: timestamppb.New(inv.AcceptedAt),
			Kind: KindToProto(inv.Kind), Origin: OriginToProto(inv.Origin), UserId: inv.UserID,
			ExistingProfile: e.ExistingProfile, LoginMethod: invitationv1.LoginMethod(inv.LoginMethod),
			FirstName: inv.FirstName, LastName: inv.LastName, Email: inv.Email, Mobile: Optional(inv.Mobile),
			Grants: GrantsToProto(inv.Grants), PartnerId: Optional(inv.PartnerID), Inviter: ActorToProto(inv.Inviter),
		}
		if inv.LoginMethod == domain.LoginBankID || inv.LoginMethod == domain.LoginProviderProfile {
			msg.(*invitationv1.InviteAccepted).ExternalSubject = Optional(inv.ExternalSubject)
		}
	case domain.Expired:
		verb = "expired"
		msg = &invitationv1.InviteExpired{
			InvitationId: inv.ID, TenantId: inv.TenantID, OccurredAt: now,
			ExpiresAt: timestamppb.New(inv.ExpiresAt), Kind: KindToProto(inv.Kind),
		}
	case domain.Revoked:
		verb = "revoked"
		m := &invitationv1.InviteRevoked{
			InvitationId: inv.ID, TenantId: inv.TenantID, OccurredAt: now, Kind: KindToProto(inv.Kind),
			Reason: invitationv1.RevocationReason(e.Reason), SupersededByInvitationId: Optional(inv.SupersededBy),
		}
		if inv.RevokedBy.UserID != "" {
			m.RevokedBy = ActorToProto(inv.RevokedBy)
		}
		msg = m
	case domain.Locked:
		verb = "locked"
		msg = &invitationv1.InviteLocked{
			InvitationId: inv.ID, TenantId: inv.TenantID, OccurredAt: now, Attempts: uint32(e.Attempts),
			CodeDelivery: DeliveryToProto(inv.CodeDelivery), Inviter: ActorToProto(inv.Inviter),
		}
	case domain.CodeIssued, domain.LinkIssued:
		return outbox.Record{}, false, nil
	default:
		return outbox.Record{}, false, fmt.Errorf("invitation store: unknown event %T", ev)
	}
	return outbox.Record{Subject: Subject(inv.TenantID, inv.ID, verb), Aggregate: "invitation/" + inv.ID, Event: msg}, true, nil
}

// Optional is nil for an empty string (absent in the contract).
func Optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// KindToProto maps the domain kind (same numbering as the contract).
func KindToProto(k domain.Kind) invitationv1.InvitationKind { return invitationv1.InvitationKind(k) }

// OriginToProto maps the origin.
func OriginToProto(o domain.Origin) commonv1.CreationOrigin { return commonv1.CreationOrigin(o) }

// DeliveryToProto maps the code channel.
func DeliveryToProto(d domain.CodeDelivery) invitationv1.CodeDelivery {
	return invitationv1.CodeDelivery(d)
}

// ActorToProto maps an actor to the events' Actor.
func ActorToProto(a domain.Actor) *commonv1.Actor {
	return &commonv1.Actor{UserId: a.UserID, Name: a.Name, Email: a.Email}
}

// GrantsToProto maps grants.
func GrantsToProto(g domain.Grants) *commonv1.Grants {
	out := &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel(g.Level), PermissionAreas: g.Areas}
	sel := func(s *domain.Selection) *commonv1.Selection {
		if s == nil {
			return nil
		}
		return &commonv1.Selection{All: s.All, Ids: s.IDs}
	}
	sc := g.Scope
	if sc.Organisations != nil || sc.Customers != nil || sc.CostCentres != nil || sc.ProductCategories != nil || len(sc.ApplicationLinks) > 0 {
		out.Scope = &commonv1.AccessScope{
			Organisations: sel(sc.Organisations), Customers: sel(sc.Customers), CostCentres: sel(sc.CostCentres),
			ProductCategories: sel(sc.ProductCategories), ApplicationLinkIds: sc.ApplicationLinks,
		}
	}
	if p := g.Packages; p != nil {
		out.AccessPackages = &commonv1.AccessPackages{IntegrationUser: p.IntegrationUser, AllAdditionalPackages: p.AllAdditionalPackages, AdditionalPackages: p.Additional}
	}
	return out
}

// GrantsFromProto maps the contract's grants to the domain's.
func GrantsFromProto(g *commonv1.Grants) domain.Grants {
	if g == nil {
		return domain.Grants{}
	}
	sel := func(s *commonv1.Selection) *domain.Selection {
		if s == nil {
			return nil
		}
		return &domain.Selection{All: s.GetAll(), IDs: s.GetIds()}
	}
	out := domain.Grants{Level: domain.PermissionLevel(g.GetPermissionLevel()), Areas: g.GetPermissionAreas()}
	if sc := g.GetScope(); sc != nil {
		out.Scope = domain.Scope{
			Organisations: sel(sc.GetOrganisations()), Customers: sel(sc.GetCustomers()), CostCentres: sel(sc.GetCostCentres()),
			ProductCategories: sel(sc.GetProductCategories()), ApplicationLinks: sc.GetApplicationLinkIds(),
		}
	}
	if p := g.GetAccessPackages(); p != nil {
		out.Packages = &domain.Packages{IntegrationUser: p.GetIntegrationUser(), AllAdditionalPackages: p.GetAllAdditionalPackages(), Additional: p.GetAdditionalPackages()}
	}
	return out
}

package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	"rollcall.dev/services/identity/domain"
)

// ErrSkip marks an event that can never be applied as it is (its reason
// says why); the consumer dead-letters it so an operator can look, fix the
// cause (e.g. free a seat) and replay it.
var ErrSkip = errors.New("event cannot be applied")

// ErrNotYet marks an event that arrived before what it depends on (an
// integrator dismissed before identity saw him accepted); it is retried.
var ErrNotYet = errors.New("event depends on one not applied yet")

// Accepted is an accepted invitation (invitation.v1.InviteAccepted).
type Accepted struct {
	InvitationID    string
	TenantID        string
	UserID          string
	Kind            domain.Kind
	Origin          int32
	ExistingProfile bool
	LoginMethod     int32
	FirstName       string
	LastName        string
	Email           string
	Mobile          string
	Grants          *commonv1.Grants
	PartnerID       string
	InviterUserID   string
	ExternalSubject string
	AcceptedAt      time.Time
}

// InviteAccepted creates the user with exactly the invited grants (or, for
// an existing profile, adds the membership of this tenant or reactivates
// it), once per event (inbox). People take a seat; over the plan's limit the
// event is refused with ErrSkip and a clear reason (dead-lettered: replay it
// once a seat is free). Integration users get the inviter as sponsor and the
// password set through SetInitialPassword.
func (s *Service) InviteAccepted(ctx context.Context, consumer, eventID string, e Accepted) error {
	return s.Store.Process(ctx, consumer, eventID, func(tx Tx) error {
		t, err := tx.Tenant(e.TenantID, true) // serialises seat counting per tenant
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("%w: unknown tenant %s", ErrSkip, e.TenantID)
		}
		if err != nil {
			return err
		}
		existing, err := tx.User(e.TenantID, e.UserID, true)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			existing = nil
		case err != nil:
			return err
		case existing.SourceInvitationID == e.InvitationID:
			return nil // applied before (the inbox forgot, or another event id): nothing to do
		case !e.ExistingProfile:
			return fmt.Errorf("%w: user %s already exists in tenant %s from another invitation", ErrSkip, e.UserID, e.TenantID)
		case existing.Kind == domain.KindService:
			return fmt.Errorf("%w: user %s is a service user", ErrSkip, e.UserID)
		case (existing.Kind == domain.KindIntegrator) != (e.Kind == domain.KindIntegrator):
			// An integrator invitation must not turn a member into an
			// administrator past integrator-policy, nor a member invitation
			// strip an integrator of his marker.
			return fmt.Errorf("%w: user %s of tenant %s is kind %d; an invitation of kind %d cannot change that", ErrSkip, e.UserID, e.TenantID, existing.Kind, e.Kind)
		}

		now := s.now()
		takesSeat := domain.TakesSeat(e.Kind)
		if takesSeat && (existing == nil || !existing.Active() || !existing.CountsSeat) && t.SeatLimit > 0 {
			n, err := tx.CountSeats(t.ID)
			if err != nil {
				return err
			}
			if n >= t.SeatLimit {
				s.log().WarnContext(ctx, "accepted invitation refused: no free seat", "tenant_id", t.ID, "invitation_id", e.InvitationID, "seats", n, "limit", t.SeatLimit)
				return fmt.Errorf("%w: %w: %d of %d seats are taken; free a seat or raise the plan's limit, then replay", ErrSkip, domain.ErrSeatLimit, n, t.SeatLimit)
			}
		}

		if existing != nil {
			if domain.RoleFor(e.Grants) != domain.RoleMainAdministrator {
				if err := keepsAMainAdministrator(tx, existing, "grants", "demoted"); err != nil {
					return fmt.Errorf("%w: %w (invitation %s would demote him)", ErrSkip, err, e.InvitationID)
				}
			}
			// An existing profile joins again (or with new grants): exactly the
			// invited grants, active.
			existing.Status, existing.DeactivatedAt = domain.StatusActive, time.Time{}
			existing.Grants, existing.Role = e.Grants, domain.RoleFor(e.Grants)
			existing.CountsSeat = takesSeat
			existing.SourceInvitationID, existing.Origin = e.InvitationID, e.Origin
			existing.UpdatedAt = now
			if e.Kind == domain.KindIntegrator {
				// Back as integrator: he waits for integrator-policy like a
				// newcomer, announced (UserUpdated) when assigned.
				existing.PartnerID = e.PartnerID
				existing.Wait(now)
			} else {
				existing.Record(domain.Updated{Fields: []int32{fieldGrants, fieldRole, fieldSeat}})
			}
			return tx.SaveUser(existing)
		}

		u := &domain.User{
			TenantID: e.TenantID, ID: e.UserID, Kind: e.Kind, Origin: e.Origin, Status: domain.StatusActive,
			Role: domain.RoleFor(e.Grants), FirstName: e.FirstName, LastName: e.LastName, Email: normEmail(e.Email),
			Mobile: e.Mobile, Grants: e.Grants, CountsSeat: takesSeat, SourceInvitationID: e.InvitationID,
			LoginMethod: e.LoginMethod, CreatedAt: now, UpdatedAt: now,
		}
		var login *domain.Credential
		switch e.Kind {
		case domain.KindIntegrator:
			// Accepting does not make him the tenant's integrator:
			// integrator-policy decides (at once, or, under its ADMIN_CHOOSES
			// mode over the limit, when an administrator chooses him) and
			// says so with IntegratorAssigned. Until then he waits with no
			// access, and is not announced (UserCreated comes then).
			u.Integrator, u.PartnerID = true, e.PartnerID
			u.Wait(now)
			u.Unannounced = true
			end, gone, err := tx.IntegratorEnding(e.TenantID, e.UserID)
			if err != nil {
				return err
			}
			if gone {
				// integrator-policy replaced or dismissed him before this
				// acceptance reached identity: he arrives gone.
				u.Deactivate(end.Reason, end.By, end.At)
				s.log().InfoContext(ctx, "integrator accepted after integrator-policy ended him; created deactivated",
					"tenant_id", e.TenantID, "user_id", e.UserID, "reason", int32(end.Reason))
			}
		case domain.KindIntegration:
			u.SponsorUserID = e.InviterUserID
			sp, err := tx.User(e.TenantID, e.InviterUserID, false)
			if err != nil || !sp.Active() || sp.Kind != domain.KindPerson {
				u.NeedsSponsor = true // the inviter is gone or no person: flag, never fail
			}
			hash, err := tx.TakePendingCredential(e.TenantID, e.UserID, e.InvitationID)
			if err != nil {
				return err
			}
			if hash == "" {
				s.log().WarnContext(ctx, "integration user created without a password (SetInitialPassword was not called)", "tenant_id", e.TenantID, "user_id", e.UserID)
			} else {
				login = &domain.Credential{UserID: u.ID, Method: domain.LoginPassword, LoginEmail: u.Email, PasswordHash: hash}
			}
		}
		if e.ExternalSubject != "" && login == nil {
			login = &domain.Credential{UserID: u.ID, Method: e.LoginMethod, Subject: e.ExternalSubject}
		}
		if e.ExistingProfile {
			// A profile from another tenant joins this one: the membership
			// is new here, so it is created (UserCreated) with its own
			// grants; his login is the one he has (credentials belong to the
			// person), so none is written.
			u.LoginMethod, login = domain.LoginExisting, nil
		}
		if !u.Unannounced {
			u.Record(domain.Created{})
		}
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		if login == nil {
			return nil
		}
		if err := tx.InsertCredential(*login, now); err != nil {
			if errors.Is(err, domain.ErrConflict) {
				// Not an existing profile, yet the id has a login: giving it
				// a second one would hand someone else's account over.
				return fmt.Errorf("%w: %w; an invitation not accepted with the existing profile cannot give user %s another", ErrSkip, err, e.UserID)
			}
			return err
		}
		u.Login = login
		return nil
	})
}

// IntegratorAssigned opens the access of an integrator integrator-policy
// made the tenant's active integrator (integrator.v1.IntegratorAssigned):
// a waiting integrator becomes active (UserCreated, or UserUpdated when he
// came back). An integrator identity has not seen accepted yet, or seen
// only from another invitation, is retried (ErrNotYet); one who is active
// already or was dismissed meanwhile changes nothing; a user who is no
// integrator is ErrSkip.
func (s *Service) IntegratorAssigned(ctx context.Context, consumer, eventID, tenantID, userID, invitationID string) error {
	return s.Store.Process(ctx, consumer, eventID, func(tx Tx) error {
		u, err := tx.User(tenantID, userID, true)
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("%w: integrator %s is not known in tenant %s yet", ErrNotYet, userID, tenantID)
		}
		if err != nil {
			return err
		}
		switch {
		case u.Kind != domain.KindIntegrator:
			return fmt.Errorf("%w: user %s of tenant %s is no integrator", ErrSkip, userID, tenantID)
		case u.SourceInvitationID != invitationID:
			return fmt.Errorf("%w: integrator %s of tenant %s is known from invitation %s, not %s", ErrNotYet, userID, tenantID, u.SourceInvitationID, invitationID)
		case u.Status == domain.StatusDeactivated:
			s.log().InfoContext(ctx, "integrator assigned after he was dismissed; his access stays closed", "tenant_id", tenantID, "user_id", userID)
			return nil
		}
		if u.Assign(s.now()) {
			return tx.SaveUser(u)
		}
		return nil
	})
}

// IntegratorGone deactivates an integrator who was replaced (another one was
// invited, seed 003) or dismissed: his tokens are revoked at once. For a
// user identity has not seen yet the ending is recorded, and his acceptance,
// when it arrives, creates him deactivated (an ending is final whatever the
// order events arrive in); a user who is no integrator is ErrSkip.
func (s *Service) IntegratorGone(ctx context.Context, consumer, eventID, tenantID, userID string, reason domain.Reason, by string) error {
	return s.Store.Process(ctx, consumer, eventID, func(tx Tx) error {
		u, err := tx.User(tenantID, userID, true)
		if errors.Is(err, domain.ErrNotFound) {
			if _, err := tx.Tenant(tenantID, false); errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("%w: unknown tenant %s", ErrSkip, tenantID)
			} else if err != nil {
				return err
			}
			s.log().InfoContext(ctx, "integrator ended before his acceptance reached identity; recorded", "tenant_id", tenantID, "user_id", userID)
			return tx.RecordIntegratorEnding(tenantID, userID, IntegratorEnding{Reason: reason, By: by, At: s.now()})
		}
		if err != nil {
			return err
		}
		if u.Kind != domain.KindIntegrator {
			return fmt.Errorf("%w: user %s of tenant %s is no integrator", ErrSkip, userID, tenantID)
		}
		if u.Deactivate(reason, by, s.now()) {
			return tx.SaveUser(u)
		}
		return nil
	})
}

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"rollcall.dev/services/integrator-policy/domain"
)

// Service runs the use cases.
type Service struct {
	Store Store
	Log   *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// PartnerSeed is a partner from configuration (PARTNERS_FILE, `rollcall
// dev`). ID is optional: without it the id is derived from the name, so
// seeding is idempotent across restarts.
type PartnerSeed struct {
	ID      string   `json:"id,omitempty"`
	Name    string   `json:"name"`
	Emails  []string `json:"emails,omitempty"`
	Domains []string `json:"domains,omitempty"`
}

// seedNamespace derives partner ids from names (UUID v5).
var seedNamespace = uuid.MustParse("5b0c2d6e-8f1a-4c3b-9d7e-0a1b2c3d4e5f")

// SeedPartnerID is the id a seed without one gets.
func SeedPartnerID(name string) string {
	return uuid.NewSHA1(seedNamespace, []byte(strings.ToLower(strings.TrimSpace(name)))).String()
}

// Partner checks a seed and returns the partner it describes.
func (p PartnerSeed) Partner(now time.Time) (domain.Partner, error) {
	id := p.ID
	if id == "" {
		id = SeedPartnerID(p.Name)
	} else if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return domain.Partner{}, &domain.FieldError{Field: "id", Reason: "must be a lowercase UUID"}
	}
	return domain.NewPartner(id, p.Name, p.Emails, p.Domains, now)
}

// SeedPartners makes sure the configured partners exist (idempotent).
func (s *Service) SeedPartners(ctx context.Context, seeds []PartnerSeed) error {
	ps := make([]domain.Partner, 0, len(seeds))
	for i, sd := range seeds {
		p, err := sd.Partner(s.now())
		if err != nil {
			return fmt.Errorf("partner %d (%q): %w", i+1, sd.Name, err)
		}
		ps = append(ps, p)
	}
	n, err := s.Store.SeedPartners(ctx, ps)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		s.log().InfoContext(ctx, "partners seeded", "configured", len(ps), "created", n)
	}
	return nil
}

// RegisterPartner adds a certified partner (operator).
func (s *Service) RegisterPartner(ctx context.Context, name string, emails, domains []string) (domain.Partner, error) {
	p, err := domain.NewPartner(uuid.NewString(), name, emails, domains, s.now())
	if err != nil {
		return domain.Partner{}, err
	}
	if err := s.Store.RegisterPartner(ctx, p); err != nil {
		return domain.Partner{}, err
	}
	s.log().InfoContext(ctx, "partner registered", "partner_id", p.ID, "emails", len(p.Emails), "domains", len(p.Domains))
	return p, nil
}

// RevokePartner withdraws a partner's certification and dismisses its
// integrators everywhere (operator).
func (s *Service) RevokePartner(ctx context.Context, id, note string) (domain.Partner, int, error) {
	p, n, err := s.Store.RevokePartner(ctx, id, note, s.now())
	if err != nil {
		return domain.Partner{}, 0, err
	}
	s.log().InfoContext(ctx, "partner revoked", "partner_id", id, "dismissed_integrators", n)
	return p, n, nil
}

// ListPartners lists the registry (operator).
func (s *Service) ListPartners(ctx context.Context, includeRevoked bool) ([]domain.Partner, error) {
	return s.Store.ListPartners(ctx, includeRevoked)
}

// CheckPartner finds the registered partner an email belongs to: its
// exact address first, then its domain; revoked partners never match.
// ok is false when none does.
func (s *Service) CheckPartner(ctx context.Context, email string) (p domain.Partner, m domain.Match, ok bool, err error) {
	e, err := domain.NormalizeEmail("email", email)
	if err != nil {
		return domain.Partner{}, 0, false, err
	}
	p, m, err = s.Store.CheckPartner(ctx, e)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		return domain.Partner{}, domain.MatchNone, false, nil
	}
	if err != nil {
		return domain.Partner{}, 0, false, err
	}
	return p, m, true, nil
}

// sameTenant refuses a principal of another tenant as an unknown tenant.
func sameTenant(by Principal, tenantID string) error {
	if by.TenantID == "" || by.TenantID != tenantID {
		return ErrUnknownTenant
	}
	return nil
}

// mayRead: the tenant's main administrators and superusers (integrators
// included) see the policy and the integrators.
func mayRead(by Principal, tenantID string) error {
	if err := sameTenant(by, tenantID); err != nil {
		return err
	}
	if by.Role != RoleMainAdministrator && by.Role != RoleSuperuser {
		return fmt.Errorf("%w: only administrators see the integrator policy", domain.ErrForbidden)
	}
	return nil
}

// mayManage: only the tenant's main administrators who are not integrators
// change the policy or dismiss an integrator. The service's own records
// count too: someone it knows as a current integrator is refused even if
// identity did not mark him.
func (s *Service) mayManage(ctx context.Context, by Principal, tenantID string) error {
	if err := sameTenant(by, tenantID); err != nil {
		return err
	}
	if by.Role != RoleMainAdministrator || by.Integrator {
		return fmt.Errorf("%w: only main administrators who are not integrators may do this", domain.ErrForbidden)
	}
	last, err := s.Store.LastIntegrator(ctx, tenantID, by.UserID)
	if err != nil {
		return err
	}
	if last != nil && last.State.Current() {
		return fmt.Errorf("%w: an integrator may not do this", domain.ErrForbidden)
	}
	return nil
}

// Policy returns the tenant's policy (administrators).
func (s *Service) Policy(ctx context.Context, by Principal, tenantID string) (domain.Policy, error) {
	if err := mayRead(by, tenantID); err != nil {
		return domain.Policy{}, err
	}
	t, err := s.Store.Tenant(ctx, tenantID)
	if err != nil {
		return domain.Policy{}, err
	}
	return t.Policy, nil
}

// SetPolicy changes the tenant's policy (main administrators). It returns
// the integrators let in because the limit rose.
func (s *Service) SetPolicy(ctx context.Context, by Principal, tenantID string, maxActive int, mode domain.OverflowMode) (domain.Policy, []*domain.Integrator, error) {
	if err := s.mayManage(ctx, by, tenantID); err != nil {
		return domain.Policy{}, nil, err
	}
	var promoted []*domain.Integrator
	t, err := s.Store.Update(ctx, tenantID, Load{}, func(t *domain.Tenant) error {
		var err error
		promoted, err = t.SetPolicy(maxActive, mode, by.UserID, s.now())
		return err
	})
	if err != nil {
		return domain.Policy{}, nil, err
	}
	s.log().InfoContext(ctx, "integrator policy set", "tenant_id", tenantID, "max_active", maxActive, "overflow_mode", int(mode), "by", by.UserID)
	return t.Policy, promoted, nil
}

// Integrators returns the tenant's policy and current integrators. by is
// nil for a service caller.
func (s *Service) Integrators(ctx context.Context, by *Principal, tenantID string) (*domain.Tenant, error) {
	if by != nil {
		if err := mayRead(*by, tenantID); err != nil {
			return nil, err
		}
	}
	return s.Store.Tenant(ctx, tenantID)
}

// Dismiss ends an integrator's access (main administrators): the active
// one, or one who waits. Someone who was never the tenant's integrator is
// domain.ErrNotIntegrator; one already dismissed or replaced is
// domain.ErrNotCurrent.
func (s *Service) Dismiss(ctx context.Context, by Principal, tenantID, userID, note string) (*domain.Integrator, error) {
	if err := s.mayManage(ctx, by, tenantID); err != nil {
		return nil, err
	}
	var out *domain.Integrator
	_, err := s.Store.Update(ctx, tenantID, Load{}, func(t *domain.Tenant) error {
		in, err := t.Dismiss(userID, by.UserID, note, s.now())
		out = in
		return err
	})
	if errors.Is(err, domain.ErrNotIntegrator) {
		last, lerr := s.Store.LastIntegrator(ctx, tenantID, userID)
		if lerr != nil {
			return nil, lerr
		}
		if last != nil {
			return nil, fmt.Errorf("%w: %s was %s on %s", domain.ErrNotCurrent, userID, last.State, last.EndedAt.Format(time.RFC3339))
		}
		return nil, fmt.Errorf("%w: %s", domain.ErrNotIntegrator, userID)
	}
	if err != nil {
		return nil, err
	}
	s.log().InfoContext(ctx, "integrator dismissed", "tenant_id", tenantID, "user_id", userID, "by", by.UserID)
	return out, nil
}

// Decision is CheckAction's answer.
type Decision struct {
	Denial  domain.Denial
	Message string
}

// CheckAction decides a guarded action and records each refusal
// (ActionDenied). Called with a service token by identity and the
// invitation service, about integrators only: an actor with no integrator
// record in the tenant is refused too (domain.Decide).
func (s *Service) CheckAction(ctx context.Context, tenantID, actorID string, action domain.Action, resource string) (Decision, error) {
	last, err := s.Store.LastIntegrator(ctx, tenantID, actorID)
	if err != nil {
		return Decision{}, err
	}
	d, msg, err := domain.Decide(last, action, resource)
	if err != nil || d == domain.Allowed {
		return Decision{Denial: d}, err
	}
	if err := s.Store.Denied(ctx, Denial{
		TenantID: tenantID, ActorID: actorID, Resource: resource, Action: action, Reason: d, At: s.now(),
	}); err != nil {
		return Decision{}, err
	}
	s.log().InfoContext(ctx, "action denied", "tenant_id", tenantID, "actor_user_id", actorID, "action", int(action), "reason", int(d))
	return Decision{Denial: d, Message: msg}, nil
}

// Invited reacts to an integrator invitation (seed 003: inviting another
// integrator automatically dismisses the current one). Applied once per
// event (d), and once per invitation besides (a republished event finds it
// recorded).
func (s *Service) Invited(ctx context.Context, d Dedupe, inv domain.Invitation) error {
	t, err := s.Store.Update(ctx, inv.TenantID, Load{Dedupe: d, Invitation: inv.InvitationID}, func(t *domain.Tenant) error {
		t.Invited(inv, s.now())
		return nil
	})
	if err == nil && t != nil {
		s.logEvents(ctx, t)
	}
	return err
}

// Accepted reacts to an accepted integrator invitation. The invitation's
// UserInvited normally arrives first (it says when the invitation was made,
// which decides who wins at the limit); while it has not, the acceptance is
// ErrUnknownInvitation and nothing is written, unless useAcceptTime, when
// the acceptance time stands in for it (a lost or dead-lettered UserInvited
// must not hold the integrator out for ever).
func (s *Service) Accepted(ctx context.Context, d Dedupe, acc domain.Acceptance, useAcceptTime bool) error {
	l := Load{Dedupe: d, Invitation: acc.InvitationID, Partner: acc.PartnerID}
	t, err := s.Store.Update(ctx, acc.TenantID, l, func(t *domain.Tenant) error {
		switch {
		case t.Invitation != nil:
			acc.InvitedAt = t.Invitation.InvitedAt
		case useAcceptTime:
			s.log().WarnContext(ctx, "integrator accepted an invitation never seen; using the acceptance time",
				"tenant_id", acc.TenantID, "invitation_id", acc.InvitationID)
			acc.InvitedAt = acc.AcceptedAt
		default:
			return fmt.Errorf("%w: %s", ErrUnknownInvitation, acc.InvitationID)
		}
		t.Accepted(acc, s.now())
		return nil
	})
	if err == nil && t != nil {
		s.logEvents(ctx, t)
	}
	return err
}

func (s *Service) logEvents(ctx context.Context, t *domain.Tenant) {
	for _, ev := range t.Events() {
		switch e := ev.(type) {
		case domain.IntegratorAssigned:
			s.log().InfoContext(ctx, "integrator assigned", "tenant_id", t.ID, "user_id", e.Integrator.UserID)
		case domain.IntegratorReplaced:
			s.log().InfoContext(ctx, "integrator replaced", "tenant_id", t.ID, "previous_user_id", e.Previous.UserID, "invitation_id", e.New.InvitationID)
		case domain.IntegratorDismissed:
			s.log().InfoContext(ctx, "integrator dismissed", "tenant_id", t.ID, "user_id", e.Integrator.UserID, "reason", int(e.Reason))
		}
	}
}

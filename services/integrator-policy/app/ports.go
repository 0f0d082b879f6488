// Package app holds the integrator-policy use cases, one method each: the
// partner registry (register, revoke, list, check, seed), the tenant's
// policy (get, set), its integrators (who is active, dismiss), decisions on
// guarded actions, and the reactions to integrator invitations being made
// and accepted.
//
// It orchestrates: the domain decides, the store persists with events. It
// does no transport work and trusts no caller it did not check.
package app

import (
	"context"
	"errors"
	"time"

	"rollcall.dev/services/integrator-policy/domain"
)

// Role is an administrator's role (numbered as identity's Role).
type Role int

// Roles.
const (
	RoleMainAdministrator Role = 1
	RoleSuperuser         Role = 2
)

// Principal is who an administrator's bearer token stands for (identity's
// InternalService.Authenticate).
type Principal struct {
	TenantID   string
	UserID     string
	Role       Role
	Integrator bool // a certified partner's integrator (seed 003)
}

// Errors beside the domain's.
var (
	// ErrUnknownTenant is a tenant the caller does not belong to; it reads
	// as NOT_FOUND so tenants cannot be probed.
	ErrUnknownTenant = errors.New("unknown tenant")
	// ErrUnknownInvitation is an accepted integrator invitation whose
	// UserInvited has not been seen (yet).
	ErrUnknownInvitation = errors.New("integrator invitation not seen yet")
)

// Store persists partners and tenants (adapters/Store).
type Store interface {
	// Update locks the tenant, loads it as l asks, runs fn and saves the
	// result with its events in one transaction.
	Update(ctx context.Context, tenantID string, l Load, fn func(*domain.Tenant) error) (*domain.Tenant, error)
	Tenant(ctx context.Context, tenantID string) (*domain.Tenant, error)
	Invitation(ctx context.Context, tenantID, invitationID string) (domain.Invitation, error)
	LastIntegrator(ctx context.Context, tenantID, userID string) (*domain.Integrator, error)
	Denied(ctx context.Context, d Denial) error

	RegisterPartner(ctx context.Context, p domain.Partner) error
	SeedPartners(ctx context.Context, ps []domain.Partner) (int, error)
	Partner(ctx context.Context, id string) (domain.Partner, error)
	ListPartners(ctx context.Context, includeRevoked bool) ([]domain.Partner, error)
	CheckPartner(ctx context.Context, email string) (domain.Partner, domain.Match, error)
	RevokePartner(ctx context.Context, id, note string, now time.Time) (domain.Partner, int, error)
}

// Dedupe names the event a change applies, so a redelivery is skipped (the
// inbox, in the change's transaction); zero applies it unconditionally.
type Dedupe struct {
	Consumer string
	EventID  string
}

// Load says what Update loads beside the tenant's policy and integrators.
type Load struct {
	// Dedupe skips the change when its event was already applied.
	Dedupe Dedupe
	// Invitation, when set, is looked up among the recorded integrator
	// invitations (Tenant.Invitation; nil when not recorded).
	Invitation string
	// Partner, when set, is read before the tenant is locked, under a lock
	// that conflicts with revoking it (Tenant.PartnerLive).
	Partner string
}

// Denial is a refused guarded action, recorded as ActionDenied.
type Denial struct {
	TenantID, ActorID, Resource string
	Action                      domain.Action
	Reason                      domain.Denial
	At                          time.Time
}

// Package app holds the invitation service's use cases, one method each:
// what an administrator does (create, list, get, resend, revoke, re-issue a
// code) and what an invitee does (open the link, check the code, ask for a
// new one, accept), plus the expiry sweep and the reaction to an integrator
// being replaced.
//
// It orchestrates: the domain decides, the store persists (with events), the
// directory, partner registry and identity service answer what this service
// does not own, and the notifier delivers. It does no transport work.
package app

import (
	"context"
	"time"

	"rollcall.dev/services/invitation/domain"
)

// Tenant is what the invitation service needs to know about a tenant.
type Tenant struct {
	ID       string
	Name     string
	Language string   // the tenant's language for messages
	Areas    []string // the permission areas the tenant offers (seed 001)
	// Packages are the additional access packages the tenant offers, by
	// key (seed 000).
	Packages []string
}

// Directory answers questions about tenants' structure, owned by the
// identity service.
type Directory interface {
	// Tenant returns the tenant, or ErrUnknownTenant.
	Tenant(ctx context.Context, tenantID string) (Tenant, error)
	// UnknownScopeIDs returns, per scope field ("organisations",
	// "customers", "cost_centres", "product_categories",
	// "application_links"), the ids that do not exist in the tenant.
	UnknownScopeIDs(ctx context.Context, tenantID string, scope domain.Scope) (map[string][]string, error)
}

// Partners is the partner registry, owned by the integrator-policy service.
type Partners interface {
	// CheckPartner returns the partner id an email belongs to, or "" when it
	// belongs to no registered partner.
	CheckPartner(ctx context.Context, email string) (partnerID string, err error)
}

// Policy is integrator-policy's decision on an integrator's guarded
// actions (seed 003: he may not create administrators). Asking records a
// refusal there (ActionDenied); a refusal comes back as a
// domain.ErrForbidden field error, no answer as ErrUnavailable.
type Policy interface {
	MayCreateAdministrator(ctx context.Context, tenantID, actorUserID string) error
}

// Credentials sets an integration user's first password (identity service,
// IdentityService.SetInitialPassword); the password never enters an event.
type Credentials interface {
	SetInitialPassword(ctx context.Context, tenantID, userID, invitationID, password string) error
}

// Notifier delivers links and codes. Calls run inside the transaction that
// records the change, so a failed delivery writes nothing.
type Notifier interface {
	// Invitation sends the link to the invitee and the code (by SMS, or to
	// the inviter) when there is one.
	Invitation(ctx context.Context, t Tenant, inv *domain.Invitation, tok domain.Token, code domain.Code) error
	// Code sends a fresh code on the invitation's channel.
	Code(ctx context.Context, t Tenant, inv *domain.Invitation, code domain.Code) error
}

// Store persists invitations (adapters/postgres.Store).
type Store interface {
	Create(ctx context.Context, inv *domain.Invitation, deliver func([]domain.Event) error) error
	Update(ctx context.Context, tenantID, id string, fn func(*domain.Invitation) error, deliver func([]domain.Event) error) (*domain.Invitation, error)
	UpdateByToken(ctx context.Context, tok domain.Token, fn func(*domain.Invitation) error, deliver func([]domain.Event) error) (*domain.Invitation, error)
	Get(ctx context.Context, tenantID, id string) (*domain.Invitation, error)
	List(ctx context.Context, tenantID string, f ListFilter) ([]*domain.Invitation, error)
	DueForExpiry(ctx context.Context, now time.Time, limit int) ([][2]string, error)
	// PendingIntegratorInvitations lists live integrator invitations created
	// before `before` (zero: all).
	PendingIntegratorInvitations(ctx context.Context, tenantID string, before time.Time) ([]string, error)
	Lifetime(ctx context.Context, tenantID string) (time.Duration, error)
	SetLifetime(ctx context.Context, tenantID string, l time.Duration) error
}

// Package app holds the identity service's use cases, one method each: what
// other services ask (authenticate a token, describe a tenant, check a scope,
// verify a login, store an integration user's first password), what
// operators and administrators do (tenants and their structure, users,
// service users, tokens, sign-in), and the reactions to events (an accepted
// invitation, an integrator replaced or dismissed).
//
// It orchestrates: the domain decides, the store persists (with events,
// through the outbox), login providers and the integrator policy answer what
// identity does not own. It does no transport work.
package app

import (
	"context"
	"errors"
	"time"

	"rollcall.dev/services/identity/domain"
)

// ErrUnavailable is a dependency that did not answer (the integrator
// policy); nothing was changed. Adapters return it as an *UnavailableError
// naming the dependency.
var ErrUnavailable = errors.New("unavailable")

// UnavailableError is a dependency's failure to answer. It keeps the cause
// for logs, but the API shows only the dependency's name: the cause may be
// a dial error with an address, or the dependency refusing identity's own
// service token, which a client must not mistake for his own token being
// refused.
type UnavailableError struct {
	Dependency string // e.g. "integrator-policy"
	Err        error
}

// Unavailable wraps err as dependency's failure to answer.
func Unavailable(dependency string, err error) error {
	return &UnavailableError{Dependency: dependency, Err: err}
}

func (e *UnavailableError) Error() string {
	return e.Dependency + " is unavailable: " + e.Err.Error()
}

// Unwrap makes errors.Is(err, ErrUnavailable) hold and keeps the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Store runs use cases in transactions.
type Store interface {
	// Do runs fn in one transaction; events recorded on users it saves go
	// to the outbox in the same transaction.
	Do(ctx context.Context, fn func(tx Tx) error) error
	// Process is Do for an event consumer: it also claims eventID for
	// consumer (inbox), and skips fn when the event was already applied.
	Process(ctx context.Context, consumer, eventID string, fn func(tx Tx) error) error
}

// Tx is what a use case can read and write inside one transaction. Every
// method takes the tenant (no query crosses tenants); ErrNotFound for a row
// that does not exist in the tenant.
type Tx interface {
	Tenant(tenantID string, lock bool) (*domain.Tenant, error)
	TenantByCode(code string) (*domain.Tenant, error)
	InsertTenant(t *domain.Tenant) error
	SaveTenant(t *domain.Tenant) error

	InsertItem(it domain.Item) error
	Item(tenantID string, kind domain.ItemKind, id string) (domain.Item, error)
	Items(tenantID string, kind domain.ItemKind) ([]domain.Item, error)
	// UnknownIDs returns the ids (in order) that are no item of kind in the tenant.
	UnknownIDs(tenantID string, kind domain.ItemKind, ids []string) ([]string, error)
	// UnknownKeys returns the keys (in order) that are no item of kind in the tenant.
	UnknownKeys(tenantID string, kind domain.ItemKind, keys []string) ([]string, error)

	User(tenantID, id string, lock bool) (*domain.User, error)
	UserByCode(tenantID, code string) (*domain.User, error)
	UsersByEmail(tenantID, email string) ([]*domain.User, error)
	// UserBySubject and UsersByLoginEmail find the tenant's memberships of
	// the people whose credential (which belongs to the person, whatever
	// tenant it came from) has the subject or password-login email.
	UserBySubject(tenantID, subject string) (*domain.User, error)
	UsersByLoginEmail(tenantID, email string) ([]*domain.User, error)
	// CountMemberships counts the tenants a user id belongs to.
	CountMemberships(userID string) (int, error)
	// InsertCredential stores a person's credential; domain.ErrConflict if
	// he has one (a credential is never replaced by accident).
	InsertCredential(c domain.Credential, now time.Time) error
	// SetPasswordHash replaces the password hash of a person's credential.
	SetPasswordHash(userID, hash string, now time.Time) error
	ListUsers(tenantID string, f ListFilter) ([]*domain.User, error)
	InsertUser(u *domain.User) error
	// SaveUser writes u and its events. Deactivating revokes the user's
	// tokens and flags the integration users he sponsors, in the same
	// transaction.
	SaveUser(u *domain.User) error
	CountSeats(tenantID string) (int, error)
	// CountMainAdministrators counts the active main administrators who are
	// not integrators: an integrator may not dismiss anyone nor be relied on
	// to stay (seed 003), so he never counts as the tenant's administrator.
	CountMainAdministrators(tenantID string) (int, error)

	InsertToken(t domain.AccessToken) error
	// TokenOwner resolves a live token (not revoked, not expired) of purpose.
	TokenOwner(hash []byte, purpose string, now time.Time) (domain.AccessToken, *domain.User, error)
	Token(tenantID, id string) (domain.AccessToken, error)
	RevokeToken(tenantID, id string, now time.Time) error
	// RevokeUserTokens revokes every live token of the user in the tenant.
	RevokeUserTokens(tenantID, userID string, now time.Time) error

	// InsertJoinAssertion stores a join assertion (its hash), pruning
	// expired ones.
	InsertJoinAssertion(j domain.JoinAssertion) error
	// SpendJoinAssertion finds the live join assertion with hash and
	// audience and deletes it in the same statement (single use, also
	// against a concurrent spend); domain.ErrNotFound when there is none.
	SpendJoinAssertion(hash []byte, audience string, now time.Time) (domain.JoinAssertion, error)

	// Attempts locks and returns a login's failed-attempt record (zero when
	// none), first pruning the tenant's records that ended before stale.
	Attempts(tenantID, key string, stale time.Time) (domain.Attempts, error)
	SaveAttempts(tenantID, key string, a domain.Attempts) error
	ClearAttempts(tenantID, key string) error

	PutPendingCredential(tenantID, userID, invitationID, hash string, now time.Time) error
	// TakePendingCredential returns and deletes the pending hash ("" if none).
	TakePendingCredential(tenantID, userID, invitationID string) (string, error)

	// RecordIntegratorEnding keeps that an integrator not known yet was
	// replaced or dismissed (the first ending wins).
	RecordIntegratorEnding(tenantID, userID string, e IntegratorEnding) error
	// IntegratorEnding returns the recorded ending; ok false when none.
	IntegratorEnding(tenantID, userID string) (e IntegratorEnding, ok bool, err error)
}

// IntegratorEnding is an integrator's replacement or dismissal that arrived
// before his acceptance.
type IntegratorEnding struct {
	Reason domain.Reason
	By     string
	At     time.Time
}

// ListFilter narrows ListUsers; pages go by (last_name, first_name, id).
type ListFilter struct {
	Kinds              []domain.Kind
	IncludeDeactivated bool
	Limit              int
	After              [3]string // last_name, first_name, id of the previous page's last user
}

// LoginResult is what a login provider vouches for.
type LoginResult struct {
	Subject        string
	ExistingUserID string // provider "rollcall"
	Email          string // provider "rollcall"
}

// LoginProvider verifies one provider's assertions. A refusal wraps
// domain.ErrLoginRefused.
type LoginProvider interface {
	Verify(ctx context.Context, tenantID, assertion, audience string) (LoginResult, error)
}

// Policy is the integrator-policy service's decision on an integrator's
// guarded actions (seed 003).
type Policy interface {
	// Check returns nil when allowed, a domain.ErrForbidden FieldError with
	// the policy's sentence when not, and ErrUnavailable when it cannot say.
	Check(ctx context.Context, tenantID, actorUserID string, action PolicyAction, resource string) error
}

// PolicyAction is a guarded action (values as integrator.v1.Action).
type PolicyAction int32

// Guarded actions.
const (
	ActionCreateAdministrator PolicyAction = 1
	ActionGrantAdministrator  PolicyAction = 2
	ActionDismissEmployee     PolicyAction = 3
	ActionDisableTwoFactor    PolicyAction = 4
)

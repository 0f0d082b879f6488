// Package hr is the sync service's view of the HR system for a
// synchronisation run: the employee record as HR shows it, the Connector
// interface every HR client implements (read all employees, find one, create
// one, write some fields), and the classified errors callers decide retries
// on.
//
// It is not how real-time HR changes arrive (those are FieldChanged events
// and the webhook, see ports) and holds no comparison rules (see domain).
// ERP changes reach HR only through a Connector, when an admin runs a sync
// (seed 004: "Changes made in 24SevenOffice will not automatically be
// updated in Huma").
package hr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"rollcall.dev/services/sync/domain"
)

// Employee is one HR employee: its id, its version (increasing with every
// change, as in FieldChanged.hr_version), the company it belongs to ("" when
// HR does not say) and its supported fields.
type Employee struct {
	ID        string
	Version   uint64
	CompanyID string
	domain.Values
}

// Connector reaches one HR system for every tenant. Implementations are safe
// for concurrent use and return errors that wrap one of the Err* kinds (as
// *Error when HR answered).
type Connector interface {
	// List reads every employee of the tenant (of one company when
	// companyID is set), in HR's order.
	List(ctx context.Context, tenantID, companyID string) ([]Employee, error)
	// Get reads one employee; ErrNotFound when HR has none with id.
	Get(ctx context.Context, tenantID, id string) (Employee, error)
	// FindByEmail returns the employee with this email (compared
	// case-insensitively); ErrNotFound when none.
	FindByEmail(ctx context.Context, tenantID, email string) (Employee, error)
	// Create adds an employee (e.ID and e.Version are ignored) and returns
	// it as stored. HR answers a repeated idempotency key with the
	// employee the first request created.
	Create(ctx context.Context, tenantID string, e Employee, idempotencyKey string) (Employee, error)
	// Update writes only the listed fields of v to employee id and returns
	// the stored record (with its new version).
	Update(ctx context.Context, tenantID, id string, v domain.Values, fields []domain.Field) (Employee, error)
}

// Errors, by kind. Callers use errors.Is; Retriable tells the kinds apart.
var (
	// ErrNotFound: HR has no such employee.
	ErrNotFound = errors.New("hr: employee not found")
	// ErrConflict: a uniqueness rule (email, phone) refused the write.
	ErrConflict = errors.New("hr: conflict")
	// ErrValidation: HR refused the values.
	ErrValidation = errors.New("hr: validation failed")
	// ErrUnauthorized: HR refused the sync service's credentials.
	ErrUnauthorized = errors.New("hr: unauthorized")
	// ErrRateLimited: HTTP 429; RetryAfter says when to come back.
	ErrRateLimited = errors.New("hr: rate limited")
	// ErrUnavailable: unreachable, timed out or 5xx.
	ErrUnavailable = errors.New("hr: unavailable")
)

// Error is an answer from HR. It never holds a credential.
type Error struct {
	Kind       error // one of the Err* kinds
	Op         string
	Status     int    // HTTP status, 0 when there was no answer
	Code       string // HR's error code (e.g. duplicate_phone)
	Message    string // HR's reason, truncated
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := "hr " + e.Op + ": " + e.Kind.Error()
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d", e.Status)
		if e.Code != "" {
			s += " " + e.Code
		}
		s += ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *Error) Unwrap() error { return e.Kind }

// Retriable reports whether trying again later may succeed by itself.
func Retriable(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrUnavailable)
}

// RetryAfter is the delay HR asked for, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

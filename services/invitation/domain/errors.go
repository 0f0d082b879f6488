package domain

import (
	"errors"
	"fmt"
)

// Errors. Each names a rule; callers map them to API codes once, at the edge.
var (
	// ErrInvalid is a request that breaks a rule of the form itself (a
	// missing name, a lifetime out of range, a code channel the kind does not
	// allow). Wrapped with a FieldError saying which field.
	ErrInvalid = errors.New("invalid invitation")
	// ErrForbidden is an actor who may not do this: not an administrator or
	// superuser, granting more than they hold, an integrator creating an
	// administrator.
	ErrForbidden = errors.New("not allowed")
	// ErrInvalidToken is the one answer for a token that is unknown, used,
	// revoked or expired: callers cannot tell which (no oracle).
	ErrInvalidToken = errors.New("invitation link is not valid")
	// ErrWrongCode is a one-time code that does not match.
	ErrWrongCode = errors.New("wrong one-time code")
	// ErrCodeExpired is a one-time code past its ten minutes.
	ErrCodeExpired = errors.New("one-time code has expired")
	// ErrLocked is an invitation locked after too many wrong codes; only the
	// inviter can unlock it by issuing a new code.
	ErrLocked = errors.New("invitation is locked after too many wrong codes")
	// ErrNotPending is an operation that needs a live invitation on one that
	// is accepted, revoked or expired.
	ErrNotPending = errors.New("invitation is no longer pending")
	// ErrRateLimited is an invitee asking for new codes too often.
	ErrRateLimited = errors.New("too many code requests")
	// ErrLoginMethod is a login method the invitation's kind does not allow.
	ErrLoginMethod = errors.New("login method not allowed for this invitation")
)

// FieldError says which field broke which rule.
type FieldError struct {
	Field  string
	Reason string
	err    error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
func (e *FieldError) Unwrap() error { return e.err }

// Invalid is a FieldError wrapping ErrInvalid, for rules checked outside
// the domain (the tenant's areas, unknown scope ids, the partner registry).
func Invalid(field, format string, args ...any) error { return invalid(field, format, args...) }

// Forbidden is a FieldError wrapping ErrForbidden, for refusals decided
// outside the domain (integrator policy).
func Forbidden(field, format string, args ...any) error { return forbidden(field, format, args...) }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), err: ErrInvalid}
}

func forbidden(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), err: ErrForbidden}
}

// WrongCodeError is ErrWrongCode with the attempts left before the lock.
type WrongCodeError struct{ AttemptsLeft int }

func (e *WrongCodeError) Error() string {
	return fmt.Sprintf("%v: %d attempts left", ErrWrongCode, e.AttemptsLeft)
}
func (e *WrongCodeError) Unwrap() error { return ErrWrongCode }

// RateLimitError is ErrRateLimited with when to try again (zero: only the
// inviter can issue a new code now).
type RateLimitError struct{ RetryAfter int64 }

func (e *RateLimitError) Error() string {
	if e.RetryAfter == 0 {
		return fmt.Sprintf("%v: ask the inviter for a new code", ErrRateLimited)
	}
	return fmt.Sprintf("%v: try again in %d seconds", ErrRateLimited, e.RetryAfter)
}
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

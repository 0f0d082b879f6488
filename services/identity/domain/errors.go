package domain

import (
	"errors"
	"fmt"
)

// Errors. Each names a rule; callers map them to API codes once, at the edge.
var (
	// ErrInvalid is a request that breaks a rule of the form (wrapped in a
	// FieldError naming the field).
	ErrInvalid = errors.New("invalid request")
	// ErrForbidden is an actor who may not do this.
	ErrForbidden = errors.New("not allowed")
	// ErrUnauthenticated is the one answer for an unknown, revoked or expired
	// token, a deactivated user and a service user's token: callers cannot
	// tell which.
	ErrUnauthenticated = errors.New("the access token is not valid")
	// ErrBadCredentials is the one answer for a wrong user, code or
	// password at sign-in.
	ErrBadCredentials = errors.New("the credentials are not valid")
	// ErrServiceUserAPIOnly is a service user trying an interactive sign-in
	// (seed 002: it can never sign in to the web or mobile application).
	ErrServiceUserAPIOnly = errors.New("a service user can only use the API token endpoint; it cannot sign in to the web or mobile application")
	// ErrIntegratorWaiting is an integrator who accepted his invitation but
	// is not the tenant's active integrator (yet): integrator-policy makes
	// him wait until an administrator chooses him.
	ErrIntegratorWaiting = errors.New("you are not this tenant's active integrator yet: an administrator must choose you before you can sign in")
	// ErrSeatLimit is a person who would take a seat beyond the plan's limit.
	ErrSeatLimit = errors.New("the tenant's plan has no free seat")
	// ErrConflict is a state that forbids the change (e.g. a password
	// already set from elsewhere).
	ErrConflict = errors.New("conflicting state")
	// ErrNotFound is something that does not exist in the tenant.
	ErrNotFound = errors.New("not found")
	// ErrLoginRefused is a login assertion that is forged, expired, replayed,
	// for another purpose or for a person the provider does not vouch for.
	ErrLoginRefused = errors.New("the login was not accepted")
	// ErrAlreadyExists is a unique value used twice (a user code, a company
	// code, a key).
	ErrAlreadyExists = errors.New("already exists")
)

// FieldError says which field broke which rule.
type FieldError struct {
	Field  string
	Reason string
	err    error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
func (e *FieldError) Unwrap() error { return e.err }

// Invalid is a FieldError wrapping ErrInvalid.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), err: ErrInvalid}
}

// Forbidden is a FieldError wrapping ErrForbidden.
func Forbidden(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), err: ErrForbidden}
}

// Duplicate is a FieldError wrapping ErrAlreadyExists.
func Duplicate(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), err: ErrAlreadyExists}
}

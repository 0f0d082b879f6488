package domain

import (
	"errors"
	"fmt"
)

// Errors the use cases return; ports map each to one API code, once.
var (
	// ErrInvalid is bad input; a *FieldError names the field.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden is an actor who may not do this (e.g. an integrator
	// changing the policy).
	ErrForbidden = errors.New("not allowed")
	// ErrNotIntegrator is a user who is not one of the tenant's current
	// (active or waiting) integrators and never was.
	ErrNotIntegrator = errors.New("not an integrator of this tenant")
	// ErrNotCurrent is an integrator who was already dismissed or replaced.
	ErrNotCurrent = errors.New("the integrator is no longer active")
	// ErrPrecondition is a change the tenant's present state does not
	// allow (e.g. lowering the limit below the active integrators).
	ErrPrecondition = errors.New("not possible in the present state")
	// ErrPartnerNotFound is an unknown partner id.
	ErrPartnerNotFound = errors.New("partner not found")
	// ErrPartnerRevoked is a partner whose certification was withdrawn.
	ErrPartnerRevoked = errors.New("partner already revoked")
	// ErrAddressTaken is an email or domain already registered to another
	// partner.
	ErrAddressTaken = errors.New("already registered to another partner")
)

// FieldError is bad input in one field of a request.
type FieldError struct {
	Field  string
	Reason string
	Kind   error // ErrInvalid unless set
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets errors.Is see the kind.
func (e *FieldError) Unwrap() error {
	if e.Kind != nil {
		return e.Kind
	}
	return ErrInvalid
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

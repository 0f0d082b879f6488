package bus

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrPermanent marks a handler error that retrying cannot fix (undecodable
	// payload, failed validation, a rule the event breaks). The runner
	// dead-letters the message at once and terminates it.
	ErrPermanent = errors.New("permanent failure")

	// ErrInvalidEvent is returned when an event cannot be built or sent as
	// asked (missing id, type or subject).
	ErrInvalidEvent = errors.New("invalid event")

	// ErrDeadLetterNotFound is returned by Replay when the dead-letter
	// sequence does not exist.
	ErrDeadLetterNotFound = errors.New("dead letter not found")
)

// Permanent wraps err so the runner dead-letters the message instead of
// retrying it. The error text becomes the dead-letter reason.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// RetryAfterError asks the runner to redeliver no sooner than After (for
// example when a downstream answered 429 with Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return fmt.Sprintf("retry after %s: %v", e.After, e.Err) }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with a minimum redelivery delay.
func RetryAfter(err error, after time.Duration) error {
	return &RetryAfterError{Err: err, After: after}
}

package notify

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid marks a message (or configuration) that cannot be sent as
	// given: an empty or malformed recipient, a CR or LF in a header (header
	// injection), a bad header name, a number that is not E.164, empty text.
	// It is returned before any network I/O.
	ErrInvalid = errors.New("invalid message")

	// ErrPermanent marks a message the server or provider refused for good
	// (an SMTP 5xx reply). Retrying it cannot succeed.
	ErrPermanent = errors.New("permanently rejected")

	// ErrTransient marks a failure that may pass: an SMTP 4xx reply, a
	// network error, a timeout or a cancelled context. Retry with back-off.
	ErrTransient = errors.New("temporary failure")
)

// Permanent wraps err as a permanent rejection. SMSSender implementations
// use it for a provider's "never" answers (unknown number, blocked content).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// IsTransient reports whether err is worth retrying: it is not nil and is
// neither ErrInvalid nor ErrPermanent.
func IsTransient(err error) bool {
	return err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrPermanent)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// outcome is the metric label and span status for an error.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrInvalid):
		return "invalid"
	case errors.Is(err, ErrPermanent):
		return "permanent"
	default:
		return "transient"
	}
}

// transient wraps err with ErrTransient unless it already carries a class.
func transient(err error) error {
	if err == nil || errors.Is(err, ErrTransient) || !IsTransient(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrTransient, err)
}

func wrapf(format string, err error) error { return fmt.Errorf(format, err) }

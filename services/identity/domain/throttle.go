package domain

import (
	"errors"
	"fmt"
	"time"
)

// ErrTooManyAttempts is a login locked after too many failed password
// attempts; the error is a *LockedError saying for how long.
var ErrTooManyAttempts = errors.New("too many failed sign-in attempts")

// LockedError is a locked login and how long until it may try again.
type LockedError struct {
	RetryAfter time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("too many failed sign-in attempts for this login; try again in %d seconds", e.Seconds())
}

// Unwrap makes errors.Is(err, ErrTooManyAttempts) hold.
func (e *LockedError) Unwrap() error { return ErrTooManyAttempts }

// Seconds is RetryAfter in whole seconds, rounded up (at least 1).
func (e *LockedError) Seconds() int64 {
	s := int64((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// Attempts is one login's failed-attempt record in a tenant.
type Attempts struct {
	Failures    int
	WindowStart time.Time
	LockedUntil time.Time // zero: not locked
}

// Throttle is the brute-force rule for password logins (SignIn by email,
// IssueServiceToken by user code): MaxFailures failed attempts within
// Lockout lock the login for Lockout, even against the right password;
// success clears the record.
type Throttle struct {
	MaxFailures int
	Lockout     time.Duration
}

// Default limits: 5 failures in 15 minutes lock the login for 15 minutes.
const (
	DefaultMaxFailures = 5
	DefaultLockout     = 15 * time.Minute
)

func (th Throttle) limits() (int, time.Duration) {
	n, d := th.MaxFailures, th.Lockout
	if n <= 0 {
		n = DefaultMaxFailures
	}
	if d <= 0 {
		d = DefaultLockout
	}
	return n, d
}

// Window is how long failures count and a lock lasts.
func (th Throttle) Window() time.Duration {
	_, d := th.limits()
	return d
}

// Begin counts an attempt before its password is checked, so that
// concurrent guesses cannot exceed the limit between check and record. It
// returns the record to store and, when the login is locked, a
// *LockedError (the record must still be stored: it may have just locked).
func (th Throttle) Begin(a Attempts, now time.Time) (Attempts, error) {
	n, lockout := th.limits()
	if now.Before(a.LockedUntil) {
		return a, &LockedError{RetryAfter: a.LockedUntil.Sub(now)}
	}
	if !a.LockedUntil.IsZero() || !now.Before(a.WindowStart.Add(lockout)) {
		a = Attempts{WindowStart: now} // a lock served, or a window past: start again
	}
	a.Failures++
	if a.Failures > n {
		a.LockedUntil = now.Add(lockout)
		return a, &LockedError{RetryAfter: lockout}
	}
	return a, nil
}

// Failed records that the attempt Begin counted was wrong: the limit's
// last failure locks the login at once.
func (th Throttle) Failed(a Attempts, now time.Time) Attempts {
	n, lockout := th.limits()
	if a.Failures >= n && !now.Before(a.LockedUntil) {
		a.LockedUntil = now.Add(lockout)
	}
	return a
}

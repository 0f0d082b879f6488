package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/erp"
)

// Retries back off exponentially from BackoffBase to BackoffMax with jitter
// (between half and all of the step), and never come sooner than the ERP's
// Retry-After.
func TestBackoff(t *testing.T) {
	t.Parallel()
	p := &Propagator{BackoffBase: 100 * time.Millisecond, BackoffMax: 2 * time.Second}
	p.defaults()
	for attempt, step := range map[int]time.Duration{
		1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		5: 1600 * time.Millisecond, 6: 2 * time.Second, 40: 2 * time.Second,
	} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.backoff(attempt, 0)
			require.GreaterOrEqual(t, d, step/2, "attempt %d", attempt)
			require.LessOrEqual(t, d, step, "attempt %d", attempt)
			seen[d] = true
		}
		require.Greater(t, len(seen), 20, "attempt %d: jittered", attempt)
	}
	for range 50 {
		require.GreaterOrEqual(t, p.backoff(1, 3*time.Second), 3*time.Second, "never before Retry-After")
	}
	require.Equal(t, MaxRetryAfter, p.backoff(1, 100*365*24*time.Hour), "an absurd Retry-After is bounded")

	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }
	f := p.failure(Job{Attempts: 2}, &erp.Error{Kind: erp.ErrRateLimited, Op: "get", Status: 429, RetryAfter: 5 * time.Second})
	require.Equal(t, ReasonRateLimited, f.Reason)
	require.True(t, f.Retriable)
	require.Equal(t, 3, f.Attempt)
	require.GreaterOrEqual(t, f.NextAt.Sub(now), 5*time.Second)
	f = p.failure(Job{}, &erp.Error{Kind: erp.ErrConflict, Op: "create", Status: 409})
	require.Equal(t, ReasonDuplicateEmail, f.Reason)
	require.False(t, f.Retriable)
	require.True(t, f.NextAt.IsZero())
}

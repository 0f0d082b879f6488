package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	"rollcall.dev/services/identity/domain"
)

func TestCheckUserCode(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"ABC123", "abcdefghij", "PAIE2026", "123456"} {
		require.NoError(t, domain.CheckUserCode(ok), ok)
	}
	for _, bad := range []string{"ABC12", "ABCDEFGHIJK", "ABC_123", "ABC-123", "ABC 123", "ÅBC1234", "ABC123!"} {
		err := domain.CheckUserCode(bad)
		require.ErrorIs(t, err, domain.ErrInvalid, bad)
		var fe *domain.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "user_code", fe.Field)
	}
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	h := domain.HashPassword("correct horse battery")
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"))
	require.NotEqual(t, h, domain.HashPassword("correct horse battery"), "salted")
	ok, err := domain.CheckPassword(h, "correct horse battery")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = domain.CheckPassword(h, "correct horse batterY")
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = domain.CheckPassword("", "x")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = domain.CheckPassword("$bcrypt$nope", "x")
	require.Error(t, err)
	p := domain.GeneratePassword(20)
	require.Len(t, p, 20)
	require.NotContains(t, p, "0")
	require.NotContains(t, p, "l")
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tok, hash := domain.NewToken()
	require.True(t, strings.HasPrefix(tok, domain.TokenPrefix))
	require.Len(t, tok, len(domain.TokenPrefix)+43)
	require.Equal(t, hash, domain.HashToken(tok))
	other, _ := domain.NewToken()
	require.NotEqual(t, tok, other)
}

func TestCovers(t *testing.T) {
	t.Parallel()
	main := &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR}
	custom := func(areas []string, orgs *commonv1.Selection) *commonv1.Grants {
		return &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: areas,
			Scope: &commonv1.AccessScope{Organisations: orgs}}
	}
	su := custom([]string{"support", "invoices"}, &commonv1.Selection{Ids: []string{"a", "b"}})
	require.True(t, domain.Covers(main, su))
	require.False(t, domain.Covers(su, main))
	require.True(t, domain.Covers(su, custom([]string{"support"}, &commonv1.Selection{Ids: []string{"a"}})))
	require.False(t, domain.Covers(su, custom([]string{"reports"}, nil)))
	require.False(t, domain.Covers(su, custom([]string{"support"}, &commonv1.Selection{Ids: []string{"c"}})))
	require.False(t, domain.Covers(su, custom([]string{"support"}, &commonv1.Selection{All: true})))
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	th := domain.Throttle{MaxFailures: 3, Lockout: time.Minute}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var a domain.Attempts
	var err error
	for i := range 3 {
		a, err = th.Begin(a, now)
		require.NoError(t, err, i)
		a = th.Failed(a, now)
	}
	_, err = th.Begin(a, now.Add(59*time.Second))
	var le *domain.LockedError
	require.ErrorAs(t, err, &le, "locked after the third failure, whatever the password")
	require.ErrorIs(t, err, domain.ErrTooManyAttempts)
	require.Equal(t, int64(1), le.Seconds())
	a, err = th.Begin(a, now.Add(time.Minute))
	require.NoError(t, err, "the lock is served")
	require.Equal(t, 1, a.Failures)

	// Concurrent attempts are counted before their check: the fourth in
	// flight is refused and locks.
	var b domain.Attempts
	for range 3 {
		b, err = th.Begin(b, now)
		require.NoError(t, err)
	}
	b, err = th.Begin(b, now)
	require.ErrorAs(t, err, &le)
	require.Equal(t, now.Add(time.Minute), b.LockedUntil)

	// Failures spread wider than the window never lock.
	var c domain.Attempts
	for i := range 10 {
		c, err = th.Begin(c, now.Add(time.Duration(i)*40*time.Second))
		require.NoError(t, err, i)
		c = th.Failed(c, now.Add(time.Duration(i)*40*time.Second))
	}
}

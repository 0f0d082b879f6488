package ports_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/adapters/postgres"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
	"rollcall.dev/services/identity/ports"
)

// clock is a settable clock for the service (app.Service.Now).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// requireLocked checks the lock-out answer: RESOURCE_EXHAUSTED with the
// wait as RetryInfo, ErrorInfo and a Retry-After header.
func requireLocked(t *testing.T, err error, wait time.Duration) {
	t.Helper()
	ce := requireCode(t, err, connect.CodeResourceExhausted)
	require.Contains(t, ce.Message(), "too many failed sign-in attempts")
	var retry *errdetails.RetryInfo
	var info *errdetails.ErrorInfo
	for _, d := range ce.Details() {
		v, derr := d.Value()
		require.NoError(t, derr)
		switch v := v.(type) {
		case *errdetails.RetryInfo:
			retry = v
		case *errdetails.ErrorInfo:
			info = v
		}
	}
	require.NotNil(t, retry)
	require.Equal(t, wait, retry.GetRetryDelay().AsDuration())
	require.NotNil(t, info)
	require.Equal(t, "TOO_MANY_FAILED_ATTEMPTS", info.GetReason())
	require.Equal(t, ce.Meta().Get("Retry-After"), info.GetMetadata()["retry_after_seconds"])
	require.NotEmpty(t, ce.Meta().Get("Retry-After"))
}

func TestPasswordAttemptsAreLimited(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC()}
	e := setup(t, func(svc *app.Service, _ *policyStandIn) {
		svc.Now = clk.Now
		svc.Throttle = domain.Throttle{MaxFailures: 5, Lockout: 15 * time.Minute}
	})
	ctx := context.Background()
	tn := e.tenant(t, "THROT", 0)
	other := e.tenant(t, "THROT2", 0)
	integrationUser := func(tn tenant, email, pw string) {
		ev := integration(tn, email)
		_, err := e.ops.SetInitialPassword(ctx, connect.NewRequest(&identityv1.SetInitialPasswordRequest{
			TenantId: tn.id, UserId: ev.GetUserId(), InvitationId: ev.GetInvitationId(), Password: pw}))
		require.NoError(t, err)
		require.NoError(t, deliver(t, ports.InviteAccepted(e.svc), uuid.NewString(), ev))
	}
	integrationUser(tn, "klarna@throt.example", "correct horse battery")
	integrationUser(tn, "vipps@throt.example", "another good password")
	integrationUser(other, "klarna@throt.example", "correct horse battery")
	signIn := func(code, email, pw string) error {
		_, err := e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: code, Email: email, Password: pw}))
		return err
	}

	t.Run("SignIn", func(t *testing.T) {
		for range 5 {
			requireCode(t, signIn("THROT", "klarna@throt.example", "wrong horse battery"), connect.CodeUnauthenticated)
		}
		requireLocked(t, signIn("THROT", "Klarna@Throt.example", "correct horse battery"), 15*time.Minute)
		clk.Add(10 * time.Minute)
		requireLocked(t, signIn("THROT", "klarna@throt.example", "correct horse battery"), 5*time.Minute)
		// Only that login of that tenant is locked.
		require.NoError(t, signIn("THROT", "vipps@throt.example", "another good password"))
		require.NoError(t, signIn("THROT2", "klarna@throt.example", "correct horse battery"))
		// The lock is served: the right password works again.
		clk.Add(5 * time.Minute)
		require.NoError(t, signIn("THROT", "klarna@throt.example", "correct horse battery"))
	})

	t.Run("SuccessResets", func(t *testing.T) {
		for range 2 {
			for range 4 {
				requireCode(t, signIn("THROT", "vipps@throt.example", "wrong"), connect.CodeUnauthenticated)
			}
			require.NoError(t, signIn("THROT", "vipps@throt.example", "another good password"))
		}
	})

	t.Run("UnknownLoginsLockToo", func(t *testing.T) {
		// A guesser cannot tell which logins exist from the lock-out.
		for range 5 {
			requireCode(t, signIn("THROT", "nobody@throt.example", "whatever"), connect.CodeUnauthenticated)
		}
		requireLocked(t, signIn("THROT", "nobody@throt.example", "whatever"), 15*time.Minute)
	})

	t.Run("IssueServiceTokenAcrossInstances", func(t *testing.T) {
		s := e.serviceUser(t, tn, "LOCKME12")
		issue := func(svc *app.Service, pw string) error {
			_, err := svc.IssueServiceToken(ctx, "THROT", "lockme12", pw)
			return err
		}
		// A second instance of the service over the same database.
		second := &app.Service{Store: postgres.New(e.pool, "/rollcall/identity"), Now: clk.Now,
			Throttle: domain.Throttle{MaxFailures: 5, Lockout: 15 * time.Minute}}
		for i := range 5 {
			svc := e.svc
			if i%2 == 1 {
				svc = second
			}
			require.ErrorIs(t, issue(svc, "wrong"), domain.ErrBadCredentials)
		}
		require.ErrorIs(t, issue(second, s.password), domain.ErrTooManyAttempts)
		_, err := e.anon.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{CompanyCode: "THROT", UserCode: "LOCKME12", Password: s.password}))
		requireLocked(t, err, 15*time.Minute)
		// The interactive endpoint counts against the same login.
		requireLocked(t, signIn("THROT", "LOCKME12", s.password), 15*time.Minute)
		clk.Add(15 * time.Minute)
		require.NoError(t, issue(second, s.password))
	})
}

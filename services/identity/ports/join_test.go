package ports_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// joinEnv is a service on a settable clock, a tenant being joined (B) and a
// person of another tenant (A, Kari its admin) who joins it.
type joinEnv struct {
	*env
	clock *clock
	a, b  tenant
}

func setupJoin(t *testing.T) joinEnv {
	t.Helper()
	c := &clock{now: time.Now().UTC()}
	e := setup(t, func(svc *app.Service, _ *policyStandIn) { svc.Now = c.Now })
	return joinEnv{env: e, clock: c, a: e.tenant(t, "JOINA", 0), b: e.tenant(t, "JOINB", 0)}
}

// issue asks for a join assertion with token.
func (j joinEnv) issue(t *testing.T, token, audience string) (*identityv1.IssueJoinAssertionResponse, error) {
	t.Helper()
	res, err := j.as(t, token).IssueJoinAssertion(context.Background(), connect.NewRequest(&identityv1.IssueJoinAssertionRequest{Audience: audience}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// verify is what the invitation service asks when the invitee of tenant B
// accepts invitation audience with his existing profile.
func (j joinEnv) verify(assertion, audience string) (*identityv1.VerifyLoginResponse, error) {
	res, err := j.internal.VerifyLogin(context.Background(), connect.NewRequest(&identityv1.VerifyLoginRequest{
		TenantId: j.b.id, Provider: "rollcall", Assertion: assertion, Audience: audience}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// refusal is the one answer every bad join assertion gets.
func refusal(t *testing.T, err error) string {
	t.Helper()
	ce := requireCode(t, err, connect.CodePermissionDenied)
	require.Contains(t, ce.Message(), "not a valid join assertion for this invitation")
	return ce.Message()
}

func TestJoinAssertion(t *testing.T) {
	t.Parallel()
	j := setupJoin(t)
	ctx := context.Background()

	t.Run("IssuedAndSpentOnce", func(t *testing.T) {
		inv := uuid.NewString()
		before := j.clock.Now()
		res, err := j.issue(t, j.a.adminToken, inv)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(res.GetAssertion(), domain.JoinAssertionPrefix))
		require.Equal(t, "rollcall", res.GetProvider())
		require.Equal(t, before.Add(5*time.Minute).Truncate(time.Microsecond), res.GetExpiresAt().AsTime().Truncate(time.Microsecond))

		// Stored as a hash only, bound to Kari, her token and the invitation.
		sum := sha256.Sum256([]byte(res.GetAssertion()))
		var userID, audience string
		require.NoError(t, j.pool.QueryRow(ctx, `SELECT user_id::text, audience FROM join_assertions WHERE hash = $1`, sum[:]).Scan(&userID, &audience))
		require.Equal(t, j.a.adminID, userID)
		require.Equal(t, inv, audience)
		var plain int
		require.NoError(t, j.pool.QueryRow(ctx, `SELECT count(*) FROM join_assertions WHERE position($1 in hash::text || audience) > 0`, res.GetAssertion()).Scan(&plain))
		require.Zero(t, plain)

		v, err := j.verify(res.GetAssertion(), inv)
		require.NoError(t, err)
		require.Equal(t, j.a.adminID, v.GetExistingUserId())
		require.Equal(t, "joina-admin@example.com", v.GetExistingUserEmail())
		require.Equal(t, "rollcall:"+j.a.adminID, v.GetSubject())

		_, err = j.verify(res.GetAssertion(), inv)
		refusal(t, err)
	})

	t.Run("BearerTokenRefusedLikeAnyBadAssertion", func(t *testing.T) {
		inv := uuid.NewString()
		_, err := j.verify(j.a.adminToken, inv)
		asToken := refusal(t, err)
		res, err := j.issue(t, j.a.adminToken, inv)
		require.NoError(t, err)
		_, err = j.verify(res.GetAssertion(), inv)
		require.NoError(t, err)
		for _, bad := range []string{res.GetAssertion() /* spent */, domain.JoinAssertionPrefix + "nope", "garbage", j.b.adminToken} {
			_, err = j.verify(bad, inv)
			require.Equal(t, asToken, refusal(t, err), "one refusal for all: %.8s", bad)
		}
		// And the bearer token was not spent or otherwise harmed.
		_, err = j.svc.Authenticate(ctx, j.a.adminToken)
		require.NoError(t, err)
	})

	t.Run("AudienceMustMatch", func(t *testing.T) {
		inv := uuid.NewString()
		res, err := j.issue(t, j.a.adminToken, inv)
		require.NoError(t, err)
		_, err = j.verify(res.GetAssertion(), uuid.NewString())
		refusal(t, err)
		_, err = j.verify(res.GetAssertion(), "")
		refusal(t, err)
		_, err = j.verify(res.GetAssertion(), strings.ToUpper(inv))
		refusal(t, err)
		v, err := j.verify(res.GetAssertion(), inv)
		require.NoError(t, err, "a wrong audience does not burn it")
		require.Equal(t, j.a.adminID, v.GetExistingUserId())
	})

	t.Run("ConcurrentVerifiesOneWins", func(t *testing.T) {
		for range 5 {
			inv := uuid.NewString()
			res, err := j.issue(t, j.a.adminToken, inv)
			require.NoError(t, err)
			const n = 8
			var (
				wg         sync.WaitGroup
				start      = make(chan struct{})
				errs       = make([]error, n)
				successful = make([]string, n)
			)
			for i := range n {
				wg.Go(func() {
					<-start
					v, err := j.verify(res.GetAssertion(), inv)
					errs[i] = err
					if err == nil {
						successful[i] = v.GetExistingUserId()
					}
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for i, err := range errs {
				if err == nil {
					won++
					require.Equal(t, j.a.adminID, successful[i])
					continue
				}
				refusal(t, err)
			}
			require.Equal(t, 1, won, "exactly one of %d concurrent verifies succeeds", n)
		}
	})

	t.Run("ExpiresAfterFiveMinutes", func(t *testing.T) {
		inv := uuid.NewString()
		early, err := j.issue(t, j.a.adminToken, inv)
		require.NoError(t, err)
		late, err := j.issue(t, j.a.adminToken, inv)
		require.NoError(t, err)
		j.clock.Add(5*time.Minute - time.Second)
		_, err = j.verify(early.GetAssertion(), inv)
		require.NoError(t, err, "still alive a second before")
		j.clock.Add(time.Second)
		_, err = j.verify(late.GetAssertion(), inv)
		refusal(t, err)

		// An expired one is pruned when the next one is made.
		sum := sha256.Sum256([]byte(late.GetAssertion()))
		_, err = j.issue(t, j.a.adminToken, inv)
		require.NoError(t, err)
		var left int
		require.NoError(t, j.pool.QueryRow(ctx, `SELECT count(*) FROM join_assertions WHERE hash = $1`, sum[:]).Scan(&left))
		require.Zero(t, left)
	})

	t.Run("DiesWithItsToken", func(t *testing.T) {
		inv := uuid.NewString()
		tok, err := j.svc.CreateAccessToken(ctx, nil, j.a.id, j.a.adminID, "short", time.Minute)
		require.NoError(t, err)
		res, err := j.issue(t, tok.Token, inv)
		require.NoError(t, err)
		_, err = j.as(t, tok.Token).RevokeAccessToken(ctx, connect.NewRequest(&identityv1.RevokeAccessTokenRequest{TenantId: j.a.id, TokenId: tok.Record.ID}))
		require.NoError(t, err)
		_, err = j.verify(res.GetAssertion(), inv)
		refusal(t, err)
	})
}

func TestJoinAssertionWhoMayHaveOne(t *testing.T) {
	t.Parallel()
	j := setupJoin(t)
	ctx := context.Background()
	inv := uuid.NewString()

	t.Run("NoToken", func(t *testing.T) {
		_, err := j.anon.IssueJoinAssertion(ctx, connect.NewRequest(&identityv1.IssueJoinAssertionRequest{Audience: inv}))
		requireCode(t, err, connect.CodeUnauthenticated)
	})
	t.Run("ServiceToken", func(t *testing.T) {
		_, err := j.ops.IssueJoinAssertion(ctx, connect.NewRequest(&identityv1.IssueJoinAssertionRequest{Audience: inv}))
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("UnknownToken", func(t *testing.T) {
		_, err := j.issue(t, domain.TokenPrefix+"nope", inv)
		requireCode(t, err, connect.CodeUnauthenticated)
	})
	t.Run("AudienceNotAnInvitationID", func(t *testing.T) {
		for _, bad := range []string{"", "inv-1", strings.ToUpper(inv)} {
			_, err := j.issue(t, j.a.adminToken, bad)
			ce := requireCode(t, err, connect.CodeInvalidArgument)
			require.Contains(t, ce.Message(), "audience")
		}
		_, err := j.svc.IssueJoinAssertion(ctx, j.a.adminToken, "inv-1")
		require.ErrorIs(t, err, domain.ErrInvalid, "the use case checks it too")
	})
	t.Run("ServiceUserNever", func(t *testing.T) {
		su := j.serviceUser(t, j.a, "JOIN2026")
		_, err := j.issue(t, su.apiToken, inv)
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Equal(t, "SERVICE_USER_API_ONLY", errorReason(t, ce))
		var n int
		require.NoError(t, j.pool.QueryRow(ctx, `SELECT count(*) FROM join_assertions WHERE user_id = $1`, su.id).Scan(&n))
		require.Zero(t, n)
	})
	t.Run("DeactivatedUserCannot", func(t *testing.T) {
		id := j.person(t, j.a, "leaver@example.com", domain.RoleUser)
		tok, err := j.svc.CreateAccessToken(ctx, nil, j.a.id, id, "", 0)
		require.NoError(t, err)
		res, err := j.issue(t, tok.Token, inv)
		require.NoError(t, err, "while active")
		_, err = j.as(t, j.a.adminToken).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
			TenantId: j.a.id, UserId: id, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_LEFT}))
		require.NoError(t, err)
		_, err = j.verify(res.GetAssertion(), inv)
		refusal(t, err)
		_, err = j.issue(t, tok.Token, inv)
		requireCode(t, err, connect.CodeUnauthenticated)
	})
	t.Run("DeactivatedAfterIssueEvenWithLiveToken", func(t *testing.T) {
		// Deactivation revokes tokens; this checks the membership itself
		// is looked at too, should a token ever outlive it.
		id := j.person(t, j.a, "quiet@example.com", domain.RoleUser)
		tok, err := j.svc.CreateAccessToken(ctx, nil, j.a.id, id, "", 0)
		require.NoError(t, err)
		res, err := j.issue(t, tok.Token, inv)
		require.NoError(t, err)
		_, err = j.pool.Exec(ctx, `UPDATE users SET status = 'deactivated', deactivated_at = now() WHERE tenant_id = $1 AND id = $2`, j.a.id, id)
		require.NoError(t, err)
		_, err = j.verify(res.GetAssertion(), inv)
		refusal(t, err)
	})
}

// errorReason is a Connect error's google.rpc.ErrorInfo reason.
func errorReason(t *testing.T, ce *connect.Error) string {
	t.Helper()
	for _, d := range ce.Details() {
		v, err := d.Value()
		require.NoError(t, err)
		if info, ok := v.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

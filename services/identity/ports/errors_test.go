package ports_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/svcauth"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/adapters/policy"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// closedURL is a base URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// TestDependencyFailuresDoNotLeak: whatever integrator-policy's client
// returns (a dial error naming an address, its refusal of identity's own
// service token), the caller gets UNAVAILABLE naming the dependency only,
// and nothing is done.
func TestDependencyFailuresDoNotLeak(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		url  func(t *testing.T, pol *policyStandIn) (string, string)
	}{
		{"ClosedPort", func(t *testing.T, _ *policyStandIn) (string, string) { return closedURL(t), serviceToken }},
		{"ServiceTokenRefused", func(_ *testing.T, pol *policyStandIn) (string, string) {
			return pol.url, strings.Repeat("w", 40) // not a token integrator-policy accepts
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var hidden string
			e := setup(t, func(svc *app.Service, pol *policyStandIn) {
				url, tok := c.url(t, pol)
				hidden = strings.TrimPrefix(url, "http://")
				sc, err := svcauth.NewClient(url, tok, 0)
				require.NoError(t, err)
				svc.Policy = policy.New(sc)
			})
			ctx := context.Background()
			tn := e.tenant(t, "LEAK", 0)
			_, itok := e.integrator(t, tn, "ivan@partner.example")
			employee := e.person(t, tn, "employee@example.com", domain.RoleUser)

			_, err := e.as(t, itok).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
				TenantId: tn.id, UserId: employee, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_DISMISSED}))
			ce := requireCode(t, err, connect.CodeUnavailable)
			require.Equal(t, "integrator-policy is unavailable; nothing was changed, try again", ce.Message())
			require.NotContains(t, ce.Error(), hidden)
			require.Empty(t, ce.Details())
			require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, e.user(t, tn.id, employee).GetStatus(), "nothing was changed")
		})
	}
}

package ports_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/svcauth"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/invitation/adapters/identity"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
	"rollcall.dev/services/invitation/ports"
)

// closedURL is an address nothing listens on (a port just released).
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// brokenDirectory answers with a dependency's own refusal of our service
// token, as the identity adapter would wrap it.
type brokenDirectory struct{ err error }

func (d brokenDirectory) Tenant(context.Context, string) (app.Tenant, error) {
	return app.Tenant{}, d.err
}

func (d brokenDirectory) UnknownScopeIDs(context.Context, string, domain.Scope) (map[string][]string, error) {
	return nil, d.err
}

// refusingNotifier refuses every message as the given channel would.
type refusingNotifier struct{ err error }

func (n refusingNotifier) Invitation(context.Context, app.Tenant, *domain.Invitation, domain.Token, domain.Code) error {
	return n.err
}

func (n refusingNotifier) Code(context.Context, app.Tenant, *domain.Invitation, domain.Code) error {
	return n.err
}

// A dependency's failure is UNAVAILABLE naming only the dependency: never
// its address, and never its refusal of our own service token read back as
// the caller's token being bad.
func TestDependencyFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const unavailable = "is unavailable; nothing was changed, try again"

	t.Run("IdentityDownWhileAuthenticating", func(t *testing.T) {
		t.Parallel()
		url := closedURL(t)
		c, err := svcauth.NewClient(url, "a-service-token-of-at-least-32-characters", 0)
		require.NoError(t, err)
		b := setup(t, func(_ *app.Service, h *ports.Connect) { h.Auth = identity.New(c) })
		_, err = b.client.CreateInvitation(ctx, as("admin-token", b.form()))
		require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err), "%v", err)
		require.ErrorContains(t, err, "identity "+unavailable)
		require.NotContains(t, err.Error(), url[len("http://"):], "no address reaches the client")
		require.NotContains(t, err.Error(), "dial")
	})

	t.Run("ServiceTokenRefusedIsNotTheCallersFault", func(t *testing.T) {
		t.Parallel()
		refusal := connect.NewError(connect.CodeUnauthenticated, errors.New("service token not accepted"))
		b := setup(t, func(s *app.Service, _ *ports.Connect) {
			s.Directory = brokenDirectory{err: app.Unavailable("identity", fmt.Errorf("describing the tenant: %w", refusal))}
		})
		_, err := b.client.CreateInvitation(ctx, as("admin-token", b.form()))
		require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err), "%v", err)
		require.ErrorContains(t, err, "identity "+unavailable)
		require.NotContains(t, err.Error(), "service token")
		assertNothingSaved(t, b)
	})

	t.Run("AWrappedConnectErrorNeverPassesThrough", func(t *testing.T) {
		t.Parallel()
		// An adapter that forgets to mark its error must not leak the
		// dependency's code and words either.
		leak := fmt.Errorf("describing the tenant: %w", connect.NewError(connect.CodeUnauthenticated, errors.New("dial tcp 10.1.2.3:8080")))
		b := setup(t, func(s *app.Service, _ *ports.Connect) { s.Directory = brokenDirectory{err: leak} })
		_, err := b.client.CreateInvitation(ctx, as("admin-token", b.form()))
		require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err), "%v", err)
		require.ErrorContains(t, err, "directory "+unavailable)
		require.NotContains(t, err.Error(), "10.1.2.3")
		require.NotContains(t, err.Error(), "unauthenticated")
	})

	t.Run("TransientDeliveryFailure", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(s *app.Service, _ *ports.Connect) {
			s.Notifier = refusingNotifier{err: fmt.Errorf("notifier: invitation email: %w", notify.ErrTransient)}
		})
		_, err := b.client.CreateInvitation(ctx, as("admin-token", b.form()))
		require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err), "%v", err)
		require.ErrorContains(t, err, "delivery "+unavailable)
		assertNothingSaved(t, b)
	})

	t.Run("PermanentRefusalNamesTheField", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(s *app.Service, _ *ports.Connect) {
			s.Notifier = refusingNotifier{err: domain.Invalid("mobile", "the SMS provider refused the number for good; check it (nothing was saved)")}
		})
		_, err := b.client.CreateInvitation(ctx, as("admin-token", b.form()))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "retrying would not help: %v", err)
		require.Equal(t, "mobile", violationField(t, err))
		assertNothingSaved(t, b)
	})
}

func assertNothingSaved(t *testing.T, b bundle) {
	t.Helper()
	list, err := b.client.ListInvitations(context.Background(), as("admin-token", &invitationv1.ListInvitationsRequest{TenantId: b.tenant}))
	require.NoError(t, err)
	require.Empty(t, list.Msg.GetInvitations(), "a refused invitation leaves nothing behind")
}

// partner registers every email to one partner.
type partner struct{ nobody }

func (partner) CheckPartner(context.Context, string) (string, error) {
	return "0b7c4d6e-1f2a-4b3c-8d9e-0a1b2c3d4e5f", nil
}

// Checks that need no login provider run before the single-use assertion
// is spent: an integrator who forgot his names, or picked a method his kind
// does not allow, can still sign in with the same assertion afterwards.
func TestRefusalsBeforeTheAssertionIsSpent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, func(s *app.Service, h *ports.Connect) {
		s.Partners = partner{}
		h.Logins = logins{used: &sync.Map{}}
	})
	form := b.form()
	form.Kind = invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR
	form.FirstName, form.LastName, form.Mobile, form.Email = "", "", nil, "setup@integra.example"
	form.CodeDelivery = invitationv1.CodeDelivery_CODE_DELIVERY_NONE
	form.Grants.PermissionLevel, form.Grants.PermissionAreas = 1, nil
	_, err := b.client.CreateInvitation(ctx, as("admin-token", form))
	require.NoError(t, err)

	accept := func(method invitationv1.LoginMethod, provider, first, last string) error {
		req := &invitationv1.AcceptInvitationRequest{
			Token: string(b.sent.tok), LoginMethod: method, FirstName: proto(first),
			LoginAssertion: &invitationv1.LoginAssertion{Provider: provider, Assertion: "ok:integra-ivan"},
		}
		if last != "" {
			req.LastName = proto(last)
		}
		_, err := b.client.AcceptInvitation(ctx, as("", req))
		return err
	}
	err = accept(invitationv1.LoginMethod_LOGIN_METHOD_BANKID, "bankid", "Ivan", "")
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "%v", err)
	require.Equal(t, "last_name", violationField(t, err), "%v", err)

	err = accept(invitationv1.LoginMethod_LOGIN_METHOD_EXISTING, "rollcall", "Ivan", "Petrov")
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "%v", err)
	require.Equal(t, "login_method", violationField(t, err), "an integrator never takes over an existing profile")

	require.NoError(t, accept(invitationv1.LoginMethod_LOGIN_METHOD_BANKID, "bankid", "Ivan", "Petrov"),
		"the assertion was not spent by the refusals")
}

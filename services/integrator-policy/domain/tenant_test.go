package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/integrator-policy/domain"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func invitation(id string, invitedMin int) domain.Invitation {
	return domain.Invitation{TenantID: "t", InvitationID: "inv-" + id, PartnerID: "p", Email: id + "@partner.example", InvitedAt: at(invitedMin)}
}

func acceptance(id string, invitedMin int) domain.Acceptance {
	return domain.Acceptance{Invitation: invitation(id, invitedMin), UserID: "user-" + id, AcceptedAt: at(invitedMin + 1)}
}

func tenant(p domain.Policy, active ...*domain.Integrator) *domain.Tenant {
	return &domain.Tenant{ID: "t", Policy: p, Integrators: active, PartnerLive: true}
}

func activeIntegrator(id string, invitedMin int) *domain.Integrator {
	return &domain.Integrator{InvitationID: "inv-" + id, UserID: "user-" + id, PartnerID: "p", Email: id + "@partner.example",
		State: domain.Active, InvitedAt: at(invitedMin), Since: at(invitedMin + 1)}
}

func TestInvitingAnotherIntegratorDismissesTheCurrentOne(t *testing.T) {
	t.Parallel()
	a := activeIntegrator("a", 0)
	tn := tenant(domain.DefaultPolicy(), a)
	tn.Invited(invitation("b", 10), at(10))
	require.Equal(t, domain.Replaced, a.State)
	require.Equal(t, at(10), a.EndedAt)
	require.Equal(t, []domain.Event{domain.IntegratorReplaced{Previous: *a, New: domain.Incoming{Invitation: invitation("b", 10)}}}, tn.Events())
	require.Equal(t, 0, tn.ActiveCount())
	require.NotNil(t, tn.NewInvitation)
}

func TestInvitingWithNoIntegratorReplacesNobody(t *testing.T) {
	t.Parallel()
	tn := tenant(domain.DefaultPolicy())
	tn.Invited(invitation("b", 10), at(10))
	require.Empty(t, tn.Events())
}

func TestReinvitingTheActiveIntegratorsOwnAddressDismissesNobody(t *testing.T) {
	t.Parallel()
	a := activeIntegrator("a", 0)
	tn := tenant(domain.DefaultPolicy(), a)
	tn.Invited(invitation("a", 10), at(10))
	require.Equal(t, domain.Active, a.State)
	require.Empty(t, tn.Events())
}

func TestAnOlderInvitationArrivingLateDismissesNobody(t *testing.T) {
	t.Parallel()
	a := activeIntegrator("a", 5)
	tn := tenant(domain.DefaultPolicy(), a)
	tn.Invited(invitation("old", 1), at(20))
	require.Equal(t, domain.Active, a.State)
	require.Empty(t, tn.Events())
}

func TestUnderAdminChoosesInvitingDismissesNobody(t *testing.T) {
	t.Parallel()
	a := activeIntegrator("a", 0)
	tn := tenant(domain.Policy{MaxActive: 1, Overflow: domain.AdminChooses}, a)
	tn.Invited(invitation("b", 10), at(10))
	require.Equal(t, domain.Active, a.State)
	require.Empty(t, tn.Events())
}

func TestWithSeveralAllowedTheLongestServingIsReplaced(t *testing.T) {
	t.Parallel()
	a, b := activeIntegrator("a", 0), activeIntegrator("b", 5)
	tn := tenant(domain.Policy{MaxActive: 2, Overflow: domain.ReplaceCurrent}, b, a)
	tn.Invited(invitation("c", 10), at(10))
	require.Equal(t, domain.Replaced, a.State)
	require.Equal(t, domain.Active, b.State)
	// Below the limit nobody is replaced.
	tn = tenant(domain.Policy{MaxActive: 3, Overflow: domain.ReplaceCurrent}, activeIntegrator("a", 0), activeIntegrator("b", 5))
	tn.Invited(invitation("c", 10), at(10))
	require.Empty(t, tn.Events())
}

func TestAcceptingBelowTheLimitAssigns(t *testing.T) {
	t.Parallel()
	tn := tenant(domain.DefaultPolicy())
	tn.Accepted(acceptance("b", 10), at(12))
	require.Equal(t, 1, tn.ActiveCount())
	ev := tn.Events()
	require.Len(t, ev, 1)
	as, ok := ev[0].(domain.IntegratorAssigned)
	require.True(t, ok)
	require.Equal(t, "user-b", as.Integrator.UserID)
	require.Equal(t, "inv-b", as.Integrator.InvitationID)
	require.Equal(t, at(12), as.Integrator.Since)
}

func TestAcceptingAgainChangesNothing(t *testing.T) {
	t.Parallel()
	b := activeIntegrator("b", 10)
	tn := tenant(domain.DefaultPolicy(), b)
	tn.Accepted(acceptance("b", 10), at(30))
	require.Empty(t, tn.Events())
	require.Len(t, tn.Integrators, 1)
}

// Two pending invitations accepted at the limit: the newer invitation wins,
// whichever acceptance comes first.
func TestAtTheLimitTheNewerInvitationWins(t *testing.T) {
	t.Parallel()
	t.Run("NewerAcceptsSecond", func(t *testing.T) {
		t.Parallel()
		tn := tenant(domain.DefaultPolicy())
		tn.Accepted(acceptance("old", 1), at(20))
		tn2 := tenant(domain.DefaultPolicy(), tn.Integrators...)
		tn2.Accepted(acceptance("new", 2), at(21))
		require.Equal(t, 1, tn2.ActiveCount())
		ev := tn2.Events()
		require.Len(t, ev, 2)
		rep := ev[0].(domain.IntegratorReplaced)
		require.Equal(t, "user-old", rep.Previous.UserID)
		require.Equal(t, "user-new", rep.New.UserID, "the newcomer is known by his user too")
		require.Equal(t, "user-new", ev[1].(domain.IntegratorAssigned).Integrator.UserID)
	})
	t.Run("OlderAcceptsSecond", func(t *testing.T) {
		t.Parallel()
		n := activeIntegrator("new", 2)
		tn := tenant(domain.DefaultPolicy(), n)
		tn.Accepted(acceptance("old", 1), at(21))
		require.Equal(t, domain.Active, n.State)
		require.Equal(t, 1, tn.ActiveCount())
		ev := tn.Events()
		require.Len(t, ev, 1)
		dis := ev[0].(domain.IntegratorDismissed)
		require.Equal(t, "user-old", dis.Integrator.UserID)
		require.Equal(t, domain.ReasonSuperseded, dis.Reason)
		require.Equal(t, domain.Superseded, tn.Integrators[1].State)
	})
}

func TestAdminChoosesMakesTheNewcomerWaitUntilSomeoneIsDismissed(t *testing.T) {
	t.Parallel()
	a := activeIntegrator("a", 0)
	tn := tenant(domain.Policy{MaxActive: 1, Overflow: domain.AdminChooses}, a)
	tn.Accepted(acceptance("b", 10), at(12))
	require.Empty(t, tn.Events())
	require.Equal(t, domain.Waiting, tn.Current("user-b").State)

	tn = tenant(tn.Policy, tn.Integrators...)
	out, err := tn.Dismiss("user-a", "admin", "done", at(30))
	require.NoError(t, err)
	require.Equal(t, "user-a", out.UserID)
	ev := tn.Events()
	require.Len(t, ev, 2)
	dis := ev[0].(domain.IntegratorDismissed)
	require.Equal(t, domain.ReasonAdmin, dis.Reason)
	require.Equal(t, "admin", dis.By)
	require.Equal(t, "done", dis.Note)
	require.Equal(t, "user-b", ev[1].(domain.IntegratorAssigned).Integrator.UserID)
	require.Equal(t, at(30), tn.Current("user-b").Since)
}

func TestAdminChoosesCanDismissTheWaitingOne(t *testing.T) {
	t.Parallel()
	a := activeIntegrator("a", 0)
	b := activeIntegrator("b", 10)
	b.State = domain.Waiting
	tn := tenant(domain.Policy{MaxActive: 1, Overflow: domain.AdminChooses}, a, b)
	_, err := tn.Dismiss("user-b", "admin", "", at(30))
	require.NoError(t, err)
	require.Equal(t, domain.Active, a.State)
	require.Equal(t, domain.Dismissed, b.State)
	require.Len(t, tn.Events(), 1)
}

func TestDismissingSomeoneWhoIsNotAnIntegrator(t *testing.T) {
	t.Parallel()
	tn := tenant(domain.DefaultPolicy(), activeIntegrator("a", 0))
	_, err := tn.Dismiss("user-x", "admin", "", at(30))
	require.ErrorIs(t, err, domain.ErrNotIntegrator)
	require.Empty(t, tn.Events())
}

func TestSetPolicy(t *testing.T) {
	t.Parallel()
	t.Run("LoweringBelowTheActiveIsRefused", func(t *testing.T) {
		t.Parallel()
		tn := tenant(domain.Policy{MaxActive: 2, Overflow: domain.ReplaceCurrent}, activeIntegrator("a", 0), activeIntegrator("b", 1))
		_, err := tn.SetPolicy(1, domain.ReplaceCurrent, "admin", at(5))
		require.ErrorIs(t, err, domain.ErrPrecondition)
	})
	t.Run("BadValuesNameTheField", func(t *testing.T) {
		t.Parallel()
		tn := tenant(domain.DefaultPolicy())
		_, err := tn.SetPolicy(0, domain.ReplaceCurrent, "admin", at(5))
		var fe *domain.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "max_active_integrators", fe.Field)
		_, err = tn.SetPolicy(11, domain.ReplaceCurrent, "admin", at(5))
		require.ErrorAs(t, err, &fe)
		_, err = tn.SetPolicy(1, 7, "admin", at(5))
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "overflow_mode", fe.Field)
	})
	t.Run("RaisingLetsWaitingIntegratorsIn", func(t *testing.T) {
		t.Parallel()
		b := activeIntegrator("b", 10)
		b.State = domain.Waiting
		tn := tenant(domain.Policy{MaxActive: 1, Overflow: domain.AdminChooses}, activeIntegrator("a", 0), b)
		promoted, err := tn.SetPolicy(2, domain.ReplaceCurrent, "admin", at(40))
		require.NoError(t, err)
		require.Equal(t, []*domain.Integrator{b}, promoted)
		require.Equal(t, 2, tn.ActiveCount())
		require.True(t, tn.PolicyChanged)
		require.Equal(t, "admin", tn.Policy.UpdatedBy)
	})
	t.Run("ReplaceCurrentWithSomeoneStillWaitingIsRefused", func(t *testing.T) {
		t.Parallel()
		b := activeIntegrator("b", 10)
		b.State = domain.Waiting
		tn := tenant(domain.Policy{MaxActive: 1, Overflow: domain.AdminChooses}, activeIntegrator("a", 0), b)
		_, err := tn.SetPolicy(1, domain.ReplaceCurrent, "admin", at(40))
		require.ErrorIs(t, err, domain.ErrPrecondition)
	})
}

func TestPartnerRevokedDismissesItsIntegrators(t *testing.T) {
	t.Parallel()
	a := activeIntegrator("a", 0)
	other := activeIntegrator("o", 1)
	other.PartnerID = "q"
	tn := tenant(domain.Policy{MaxActive: 2, Overflow: domain.ReplaceCurrent}, a, other)
	require.Equal(t, 1, tn.PartnerRevoked("p", at(5)))
	require.Equal(t, domain.Dismissed, a.State)
	require.Equal(t, domain.Active, other.State)
	require.Equal(t, domain.ReasonPartnerUnregistered, tn.Events()[0].(domain.IntegratorDismissed).Reason)
}

func TestDecide(t *testing.T) {
	t.Parallel()
	active := activeIntegrator("a", 0)
	ended := activeIntegrator("b", 0)
	ended.State = domain.Replaced
	waiting := activeIntegrator("c", 0)
	waiting.State = domain.Waiting
	for _, action := range []domain.Action{domain.ActionCreateAdministrator, domain.ActionGrantAdministrator, domain.ActionDismissEmployee, domain.ActionDisableTwoFactor} {
		d, msg, err := domain.Decide(active, action, "users/u1")
		require.NoError(t, err)
		require.Equal(t, domain.DenyIntegratorRule, d, "action %d", action)
		require.NotEmpty(t, msg)
		for _, in := range []*domain.Integrator{ended, waiting} {
			d, _, err = domain.Decide(in, action, "users/u1")
			require.NoError(t, err)
			require.Equal(t, domain.DenyIntegratorInactive, d)
		}
		// The callers ask only about users identity flags as integrators:
		// one this service has no record of (lost or restored data, an
		// acceptance not applied yet) keeps no carve-out by being unknown.
		d, msg, err = domain.Decide(nil, action, "users/u1")
		require.NoError(t, err)
		require.Equal(t, domain.DenyIntegratorInactive, d, "no record of him as an integrator")
		require.NotEmpty(t, msg)
	}
	_, _, err := domain.Decide(active, 0, "users/u1")
	require.ErrorIs(t, err, domain.ErrInvalid)
	_, _, err = domain.Decide(active, domain.ActionDismissEmployee, "users")
	require.ErrorIs(t, err, domain.ErrInvalid)
}

// reinvitation is another invitation to id's own address (same partner).
func reinvitation(id, newID string, invitedMin int) domain.Acceptance {
	acc := acceptance(newID, invitedMin)
	acc.Email = id + "@partner.example"
	return acc
}

// Re-inviting an active integrator's own address replaces nobody at the
// invitation; his acceptance, as a new user, then supersedes his own
// previous assignment instead of taking someone else's place, so he never
// counts twice against the limit.
func TestAnAcceptedReinvitationSupersedesHisOwnAssignment(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]domain.Policy{
		"AtTheLimit":            {MaxActive: 2, Overflow: domain.ReplaceCurrent},
		"BelowTheLimit":         {MaxActive: 3, Overflow: domain.ReplaceCurrent},
		"AdminChoosesAtLimit":   {MaxActive: 2, Overflow: domain.AdminChooses},
		"AdminChoosesBelowIt":   {MaxActive: 3, Overflow: domain.AdminChooses},
		"TheSeedsOneIntegrator": domain.DefaultPolicy(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := activeIntegrator("a", 0), activeIntegrator("b", 5)
			ins := []*domain.Integrator{a, b}
			if p.MaxActive == 1 {
				ins = []*domain.Integrator{b}
			}
			tn := tenant(p, ins...)
			again := reinvitation("b", "b2", 10)
			tn.Invited(again.Invitation, at(10))
			require.Empty(t, tn.Events(), "re-inviting his own address replaces nobody")

			tn = tenant(p, tn.Integrators...)
			tn.Accepted(again, at(12))
			require.Equal(t, domain.Active, a.State, "the other integrator keeps his place")
			require.Equal(t, domain.Replaced, b.State)
			require.Equal(t, domain.Active, tn.Current("user-b2").State)
			require.Equal(t, len(ins), tn.ActiveCount(), "he counts once")
			ev := tn.Events()
			require.Len(t, ev, 2)
			rep := ev[0].(domain.IntegratorReplaced)
			require.Equal(t, "user-b", rep.Previous.UserID)
			require.Equal(t, "user-b2", rep.New.UserID)
			require.Equal(t, "user-b2", ev[1].(domain.IntegratorAssigned).Integrator.UserID)
		})
	}
	t.Run("AnOlderReinvitationIsSuperseded", func(t *testing.T) {
		t.Parallel()
		b := activeIntegrator("b", 5)
		tn := tenant(domain.Policy{MaxActive: 3, Overflow: domain.ReplaceCurrent}, b)
		tn.Accepted(reinvitation("b", "b0", 1), at(12))
		require.Equal(t, domain.Active, b.State, "his newer invitation wins")
		require.Equal(t, 1, tn.ActiveCount())
		require.Equal(t, domain.ReasonSuperseded, tn.Events()[0].(domain.IntegratorDismissed).Reason)
	})
	t.Run("AnotherPartnersAddressIsAnotherIntegrator", func(t *testing.T) {
		t.Parallel()
		a, b := activeIntegrator("a", 0), activeIntegrator("b", 5)
		tn := tenant(domain.Policy{MaxActive: 2, Overflow: domain.ReplaceCurrent}, a, b)
		again := reinvitation("b", "b2", 10)
		again.PartnerID = "q" // the address now belongs to another partner
		tn.Invited(again.Invitation, at(10))
		require.Equal(t, domain.Replaced, a.State, "the longest-serving one makes room")
		require.Equal(t, domain.Active, b.State)
	})
}

// A waiting integrator (AdminChooses) re-invited to his own address waits
// once: his newer acceptance takes his place in the queue, keeping his
// waiting time, and is let in once.
func TestAWaitingIntegratorReinvitedWaitsOnce(t *testing.T) {
	t.Parallel()
	p := domain.Policy{MaxActive: 1, Overflow: domain.AdminChooses}
	a := activeIntegrator("a", 0)
	b := activeIntegrator("b", 5)
	b.State = domain.Waiting
	c := activeIntegrator("c", 7)
	c.State = domain.Waiting
	tn := tenant(p, a, b, c)
	tn.Accepted(reinvitation("b", "b2", 10), at(12))
	require.Equal(t, domain.Superseded, b.State)
	b2 := tn.Current("user-b2")
	require.Equal(t, domain.Waiting, b2.State)
	require.Equal(t, at(6), b2.Since, "he keeps his place in the queue")
	ev := tn.Events()
	require.Len(t, ev, 1)
	dis := ev[0].(domain.IntegratorDismissed)
	require.Equal(t, "user-b", dis.Integrator.UserID)
	require.Equal(t, domain.ReasonSuperseded, dis.Reason)

	tn = tenant(p, tn.Integrators...)
	_, err := tn.Dismiss("user-a", "admin", "", at(30))
	require.NoError(t, err)
	require.Equal(t, domain.Active, b2.State, "the longest-waiting person is let in")
	require.Equal(t, domain.Waiting, c.State)
	require.Equal(t, 1, tn.ActiveCount())
	var assigned []string
	for _, e := range tn.Events() {
		if as, ok := e.(domain.IntegratorAssigned); ok {
			assigned = append(assigned, as.Integrator.UserID)
		}
	}
	require.Equal(t, []string{"user-b2"}, assigned)

	t.Run("AnOlderReinvitationIsSuperseded", func(t *testing.T) {
		t.Parallel()
		w := activeIntegrator("w", 5)
		w.State = domain.Waiting
		tn := tenant(p, activeIntegrator("a", 0), w)
		tn.Accepted(reinvitation("w", "w0", 1), at(12))
		require.Equal(t, domain.Waiting, w.State, "his newer invitation keeps waiting")
		require.Nil(t, tn.Current("user-w0"))
		require.Equal(t, domain.ReasonSuperseded, tn.Events()[0].(domain.IntegratorDismissed).Reason)
	})
}

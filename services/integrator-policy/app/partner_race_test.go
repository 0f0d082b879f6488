package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/integrator-policy/domain"
)

// An integrator whose partner was revoked (or never registered) never
// becomes active: his acceptance ends him at once as PARTNER_UNREGISTERED,
// so identity closes the access it opened on InviteAccepted.
func TestAcceptanceOfARevokedPartnersIntegrator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	t1 := time.Now().UTC().Add(-time.Hour)

	for name, partnerOf := range map[string]func(t *testing.T) string{
		"Revoked": func(t *testing.T) string {
			p, err := e.svc.RegisterPartner(ctx, "Gone "+id(), nil, []string{id() + ".example"})
			require.NoError(t, err)
			_, _, err = e.svc.RevokePartner(ctx, p.ID, "certification withdrawn")
			require.NoError(t, err)
			return p.ID
		},
		"NeverRegistered": func(*testing.T) string { return id() },
	} {
		t.Run(name, func(t *testing.T) {
			tenant, who := id(), newPerson("ivan")
			inv := invitedAt(tenant, who, t1)
			inv.PartnerID = partnerOf(t)
			require.NoError(t, e.svc.Invited(ctx, dedupe("i"), inv))
			require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), domain.Acceptance{Invitation: inv, UserID: who.user, AcceptedAt: t1}, false))

			tn, err := e.svc.Integrators(ctx, nil, tenant)
			require.NoError(t, err)
			require.Empty(t, tn.Integrators, "never active, never waiting")
			last, err := e.svc.Store.LastIntegrator(ctx, tenant, who.user)
			require.NoError(t, err)
			require.NotNil(t, last)
			require.Equal(t, domain.Dismissed, last.State)
			require.Equal(t, domain.ReasonPartnerUnregistered, last.EndReason)

			var mine []published
			for _, p := range e.events(t) {
				if p.Subject == "integrator.v1."+tenant+".integrator."+who.user+".dismissed" ||
					p.Subject == "integrator.v1."+tenant+".integrator."+who.user+".assigned" {
					mine = append(mine, p)
				}
			}
			require.Len(t, mine, 1, "dismissed, never assigned")
			dis := mine[0].Event.(*integratorv1.IntegratorDismissed)
			require.Equal(t, integratorv1.DismissalReason_DISMISSAL_REASON_PARTNER_UNREGISTERED, dis.GetReason())
			require.Equal(t, who.user, dis.GetIntegrator().GetUserId())

			// He is refused every guarded action.
			d, err := e.svc.CheckAction(ctx, tenant, who.user, domain.ActionDismissEmployee, "users/"+id())
			require.NoError(t, err)
			require.Equal(t, domain.DenyIntegratorInactive, d.Denial)
		})
	}
}

// Revocation and acceptance racing: whichever commits first, afterwards no
// integrator of the revoked partner is active or waiting, and the history
// never leaves one assigned (an IntegratorAssigned is always followed by his
// IntegratorDismissed).
func TestRevocationRacingAnAcceptanceNeverLeavesAnActiveIntegrator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	t1 := time.Now().UTC().Add(-time.Hour)
	for i := range 40 {
		p, err := e.svc.RegisterPartner(ctx, "Racing "+id(), nil, []string{id() + ".example"})
		require.NoError(t, err)
		tenant, who := id(), newPerson("racer")
		inv := invitedAt(tenant, who, t1)
		inv.PartnerID = p.ID
		if i%2 == 1 { // a waiting integrator must go too
			_, _, err := e.svc.SetPolicy(ctx, admin(tenant), tenant, 1, domain.AdminChooses)
			require.NoError(t, err)
			other := invitedAt(tenant, newPerson("other"), t1.Add(-time.Minute))
			require.NoError(t, e.svc.Invited(ctx, dedupe("i"), other))
			require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), domain.Acceptance{Invitation: other, UserID: id(), AcceptedAt: t1}, false))
		}
		require.NoError(t, e.svc.Invited(ctx, dedupe("i"), inv))

		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, 2)
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, _, errs[0] = e.svc.RevokePartner(ctx, p.ID, "")
		}()
		go func() {
			defer wg.Done()
			<-start
			errs[1] = e.svc.Accepted(ctx, dedupe("a"), domain.Acceptance{Invitation: inv, UserID: who.user, AcceptedAt: t1}, false)
		}()
		close(start)
		wg.Wait()
		require.NoError(t, errs[0], "iteration %d: revoke", i)
		require.NoError(t, errs[1], "iteration %d: accept", i)

		tn, err := e.svc.Integrators(ctx, nil, tenant)
		require.NoError(t, err)
		require.Nil(t, tn.Current(who.user), "iteration %d: an integrator of a revoked partner is current", i)
		open := false
		for _, ev := range e.events(t) {
			switch ev.Subject {
			case "integrator.v1." + tenant + ".integrator." + who.user + ".assigned":
				open = true
			case "integrator.v1." + tenant + ".integrator." + who.user + ".dismissed":
				require.Equal(t, integratorv1.DismissalReason_DISMISSAL_REASON_PARTNER_UNREGISTERED,
					ev.Event.(*integratorv1.IntegratorDismissed).GetReason())
				open = false
			}
		}
		require.False(t, open, "iteration %d: the history leaves him assigned", i)
	}
}

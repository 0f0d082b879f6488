package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/testkit"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/integrator-policy/adapters/postgres"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/domain"
	"rollcall.dev/services/integrator-policy/migrations"
)

type env struct {
	pool *pgxpool.Pool
	svc  *app.Service
}

func setup(t *testing.T) *env {
	t.Helper()
	pool := testkit.NewDB(t, migrations.FS)
	svc := &app.Service{Store: postgres.New(pool, "/rollcall/integrator-policy"), Log: slog.New(slog.DiscardHandler)}
	// The partner the test integrators belong to is registered: an
	// acceptance of an unknown partner's integrator ends him at once.
	require.NoError(t, svc.SeedPartners(context.Background(), []app.PartnerSeed{{ID: partner, Name: "Test Partner AS", Domains: []string{"partner.example"}}}))
	return &env{pool: pool, svc: svc}
}

func id() string { return uuid.NewString() }

// published is an outbox row, decoded.
type published struct {
	Subject string
	Event   proto.Message
}

// events reads the outbox in commit order per aggregate (outbox id order).
func (e *env) events(t *testing.T) []published {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT subject, event_type, payload FROM rollcall_outbox ORDER BY id`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (published, error) {
		var (
			p    published
			typ  string
			data []byte
		)
		if err := r.Scan(&p.Subject, &typ, &data); err != nil {
			return p, err
		}
		switch typ {
		case "rollcall.integrator.v1.IntegratorAssigned":
			p.Event = &integratorv1.IntegratorAssigned{}
		case "rollcall.integrator.v1.IntegratorReplaced":
			p.Event = &integratorv1.IntegratorReplaced{}
		case "rollcall.integrator.v1.IntegratorDismissed":
			p.Event = &integratorv1.IntegratorDismissed{}
		case "rollcall.integrator.v1.ActionDenied":
			p.Event = &integratorv1.ActionDenied{}
		default:
			return p, fmt.Errorf("unexpected event type %s", typ)
		}
		return p, proto.Unmarshal(data, p.Event)
	})
	require.NoError(t, err)
	return out
}

func subjects(ps []published) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Subject
	}
	return out
}

var partner = "8a5f4e3d-2c1b-4d0a-9f9e-4b5c6d7e8f9a"

type person struct{ inv, user, email string }

func newPerson(name string) person {
	return person{inv: id(), user: id(), email: name + "@integra.example"}
}

func invitedAt(tenant string, p person, at time.Time) domain.Invitation {
	return domain.Invitation{TenantID: tenant, InvitationID: p.inv, PartnerID: partner, Email: p.email, InvitedAt: at}
}

func accepted(tenant string, p person, invAt time.Time) domain.Acceptance {
	return domain.Acceptance{Invitation: invitedAt(tenant, p, invAt), UserID: p.user, AcceptedAt: invAt.Add(time.Minute)}
}

func dedupe(consumer string) app.Dedupe { return app.Dedupe{Consumer: consumer, EventID: id()} }

func TestInviteAcceptReplaceFlow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	tenant, other := id(), id()
	ola, kari := newPerson("ola"), newPerson("kari")
	t1 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	// The first integrator: invited (nobody to replace), accepts (assigned).
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, ola, t1)))
	require.Empty(t, e.events(t))
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, ola, t1), false))
	// Another tenant's integrator changes nothing here.
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(other, newPerson("x"), t1)))

	// Inviting another dismisses him at once (seed 003).
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, kari, t1.Add(time.Hour))))
	tn, err := e.svc.Integrators(ctx, nil, tenant)
	require.NoError(t, err)
	require.Empty(t, tn.Integrators, "nobody is active between the replacement and the acceptance")
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, kari, t1.Add(time.Hour)), false))

	ev := e.events(t)
	require.Equal(t, []string{
		"integrator.v1." + tenant + ".integrator." + ola.user + ".assigned",
		"integrator.v1." + tenant + ".integrator." + ola.user + ".replaced",
		"integrator.v1." + tenant + ".integrator." + kari.user + ".assigned",
	}, subjects(ev))
	rep := ev[1].Event.(*integratorv1.IntegratorReplaced)
	require.Equal(t, tenant, rep.GetTenantId())
	require.Equal(t, ola.user, rep.GetPreviousIntegrator().GetUserId())
	require.Equal(t, partner, rep.GetPreviousIntegrator().GetPartnerId())
	require.Equal(t, kari.inv, rep.GetNewIntegrator().GetInvitationId())
	require.Equal(t, kari.email, rep.GetNewIntegrator().GetEmail())
	require.Nil(t, rep.GetNewIntegrator().UserId, "not known until he accepts")
	as := ev[2].Event.(*integratorv1.IntegratorAssigned)
	require.Equal(t, kari.inv, as.GetInvitationId())
	require.Equal(t, kari.email, as.GetIntegrator().GetEmail())

	tn, err = e.svc.Integrators(ctx, nil, tenant)
	require.NoError(t, err)
	require.Len(t, tn.Integrators, 1)
	require.Equal(t, kari.user, tn.Integrators[0].UserID)
	require.Equal(t, domain.DefaultPolicy().MaxActive, tn.Policy.MaxActive)
}

func TestRedeliveredEventsHaveNoEffect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	tenant := id()
	ola, kari := newPerson("ola"), newPerson("kari")
	t1 := time.Now().UTC().Add(-time.Hour)

	acceptOla := dedupe("a")
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, ola, t1)))
	require.NoError(t, e.svc.Accepted(ctx, acceptOla, accepted(tenant, ola, t1), false))
	inviteKari := dedupe("i")
	require.NoError(t, e.svc.Invited(ctx, inviteKari, invitedAt(tenant, kari, t1.Add(time.Minute))))
	require.Len(t, e.events(t), 2)

	// The same deliveries again (the inbox), and the same events under new
	// ids (republished outside the broker's window; the state).
	require.NoError(t, e.svc.Accepted(ctx, acceptOla, accepted(tenant, ola, t1), false))
	require.NoError(t, e.svc.Invited(ctx, inviteKari, invitedAt(tenant, kari, t1.Add(time.Minute))))
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, kari, t1.Add(time.Minute))))
	require.Len(t, e.events(t), 2, "nothing new")

	acceptKari := dedupe("a")
	require.NoError(t, e.svc.Accepted(ctx, acceptKari, accepted(tenant, kari, t1.Add(time.Minute)), false))
	require.NoError(t, e.svc.Accepted(ctx, acceptKari, accepted(tenant, kari, t1.Add(time.Minute)), false))
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, kari, t1.Add(time.Minute)), false))
	// Ola's old acceptance, republished late, does not bring him back: his
	// invitation was accepted once already.
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, ola, t1), true))
	ev := e.events(t)
	require.Len(t, ev, 3)
	tn, err := e.svc.Integrators(ctx, nil, tenant)
	require.NoError(t, err)
	require.Len(t, tn.Integrators, 1)
	require.Equal(t, kari.user, tn.Integrators[0].UserID)

	// Nor does a dismissed integrator come back that way.
	_, err = e.svc.Dismiss(ctx, admin(tenant), tenant, kari.user, "")
	require.NoError(t, err)
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, kari, t1.Add(time.Minute)), true))
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, kari, t1.Add(time.Minute))))
	require.Len(t, e.events(t), 4)
	tn, err = e.svc.Integrators(ctx, nil, tenant)
	require.NoError(t, err)
	require.Empty(t, tn.Integrators)
}

func TestAcceptanceOfAnInvitationNotSeenYet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	tenant := id()
	ola := newPerson("ola")
	err := e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, ola, time.Now().UTC()), false)
	require.ErrorIs(t, err, app.ErrUnknownInvitation)
	require.Empty(t, e.events(t), "nothing written, so the retry can apply it")
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, ola, time.Now().UTC()), true))
	require.Len(t, e.events(t), 1)
}

func admin(tenant string) app.Principal {
	return app.Principal{TenantID: tenant, UserID: id(), Role: app.RoleMainAdministrator}
}

func TestDismiss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	tenant := id()
	ola := newPerson("ola")
	t1 := time.Now().UTC().Add(-time.Hour)
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, ola, t1)))
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, ola, t1), false))

	for name, by := range map[string]app.Principal{
		"Superuser":            {TenantID: tenant, UserID: id(), Role: app.RoleSuperuser},
		"FlaggedIntegrator":    {TenantID: tenant, UserID: id(), Role: app.RoleMainAdministrator, Integrator: true},
		"TheIntegratorHimself": {TenantID: tenant, UserID: ola.user, Role: app.RoleMainAdministrator},
	} {
		_, err := e.svc.Dismiss(ctx, by, tenant, ola.user, "")
		require.ErrorIs(t, err, domain.ErrForbidden, name)
	}
	_, err := e.svc.Dismiss(ctx, admin(id()), tenant, ola.user, "")
	require.ErrorIs(t, err, app.ErrUnknownTenant, "an administrator of another tenant")
	_, err = e.svc.Dismiss(ctx, admin(tenant), tenant, id(), "")
	require.ErrorIs(t, err, domain.ErrNotIntegrator)
	_, err = e.svc.Dismiss(ctx, admin(id()), id(), id(), "")
	require.ErrorIs(t, err, app.ErrUnknownTenant)
	require.Empty(t, e.events(t)[1:], "refusals write nothing")

	by := admin(tenant)
	in, err := e.svc.Dismiss(ctx, by, tenant, ola.user, "the work is done")
	require.NoError(t, err)
	require.Equal(t, ola.user, in.UserID)
	ev := e.events(t)
	require.Len(t, ev, 2)
	require.Equal(t, "integrator.v1."+tenant+".integrator."+ola.user+".dismissed", ev[1].Subject)
	dis := ev[1].Event.(*integratorv1.IntegratorDismissed)
	require.Equal(t, integratorv1.DismissalReason_DISMISSAL_REASON_ADMIN, dis.GetReason())
	require.Equal(t, by.UserID, dis.GetDismissedByUserId())
	require.Equal(t, "the work is done", dis.GetNote())

	_, err = e.svc.Dismiss(ctx, by, tenant, ola.user, "")
	require.ErrorIs(t, err, domain.ErrNotCurrent, "already dismissed")
	tn, err := e.svc.Integrators(ctx, nil, tenant)
	require.NoError(t, err)
	require.Empty(t, tn.Integrators)
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	tenant := id()
	by := admin(tenant)
	p, err := e.svc.Policy(ctx, by, tenant)
	require.NoError(t, err)
	require.Equal(t, domain.DefaultPolicy(), p, "a tenant never seen has the seed's defaults")

	_, err = e.svc.Policy(ctx, app.Principal{TenantID: tenant, UserID: id(), Role: 4}, tenant)
	require.ErrorIs(t, err, domain.ErrForbidden)
	_, _, err = e.svc.SetPolicy(ctx, app.Principal{TenantID: tenant, UserID: id(), Role: app.RoleSuperuser}, tenant, 2, domain.AdminChooses)
	require.ErrorIs(t, err, domain.ErrForbidden)
	_, _, err = e.svc.SetPolicy(ctx, by, id(), 2, domain.AdminChooses)
	require.ErrorIs(t, err, app.ErrUnknownTenant)

	// Admin chooses: the second integrator waits after accepting.
	_, _, err = e.svc.SetPolicy(ctx, by, tenant, 1, domain.AdminChooses)
	require.NoError(t, err)
	ola, kari := newPerson("ola"), newPerson("kari")
	t1 := time.Now().UTC().Add(-time.Hour)
	for i, p := range []person{ola, kari} {
		at := t1.Add(time.Duration(i) * time.Minute)
		require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, p, at)))
		require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, p, at), false))
	}
	tn, err := e.svc.Integrators(ctx, &by, tenant)
	require.NoError(t, err)
	require.Len(t, tn.Integrators, 2)
	require.Equal(t, domain.Active, tn.Current(ola.user).State)
	require.Equal(t, domain.Waiting, tn.Current(kari.user).State)
	require.Len(t, e.events(t), 1, "only Ola was assigned")

	_, _, err = e.svc.SetPolicy(ctx, by, tenant, 1, domain.ReplaceCurrent)
	require.ErrorIs(t, err, domain.ErrPrecondition, "Kari still waits")

	// Raising the limit lets Kari in; lowering it again is refused.
	pol, promoted, err := e.svc.SetPolicy(ctx, by, tenant, 2, domain.AdminChooses)
	require.NoError(t, err)
	require.Equal(t, 2, pol.MaxActive)
	require.Equal(t, by.UserID, pol.UpdatedBy)
	require.Len(t, promoted, 1)
	require.Equal(t, kari.user, promoted[0].UserID)
	_, _, err = e.svc.SetPolicy(ctx, by, tenant, 1, domain.AdminChooses)
	require.ErrorIs(t, err, domain.ErrPrecondition)
	p, err = e.svc.Policy(ctx, by, tenant)
	require.NoError(t, err)
	require.Equal(t, 2, p.MaxActive, "the refused change wrote nothing")
}

func TestCheckAction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	tenant := id()
	ola, kari := newPerson("ola"), newPerson("kari")
	t1 := time.Now().UTC().Add(-time.Hour)
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, ola, t1)))
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, ola, t1), false))
	employee := "users/" + id()

	for _, a := range []domain.Action{domain.ActionCreateAdministrator, domain.ActionGrantAdministrator, domain.ActionDismissEmployee, domain.ActionDisableTwoFactor} {
		d, err := e.svc.CheckAction(ctx, tenant, ola.user, a, employee)
		require.NoError(t, err)
		require.Equal(t, domain.DenyIntegratorRule, d.Denial)
		require.NotEmpty(t, d.Message)
	}
	ev := e.events(t)[1:]
	require.Len(t, ev, 4, "each denial is recorded")
	for i, p := range ev {
		require.Equal(t, "integrator.v1."+tenant+".denial."+ola.user+".denied", p.Subject)
		den := p.Event.(*integratorv1.ActionDenied)
		require.Equal(t, integratorv1.Action(i+1), den.GetAction())
		require.Equal(t, employee, den.GetResource())
		require.Equal(t, integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_RESTRICTION, den.GetReason())
	}

	// Replaced, he is refused as inactive.
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, kari, t1.Add(time.Minute))))
	d, err := e.svc.CheckAction(ctx, tenant, ola.user, domain.ActionDismissEmployee, employee)
	require.NoError(t, err)
	require.Equal(t, domain.DenyIntegratorInactive, d.Denial)

	// The callers ask only about integrators. One this service has no
	// record of in the tenant (lost or restored data, his acceptance not
	// applied yet, another tenant's integrator, a tenant never seen) is
	// refused as inactive, and the refusal recorded like any other.
	before := len(e.events(t))
	for _, c := range []struct{ tenant, actor string }{{tenant, id()}, {id(), ola.user}} {
		d, err := e.svc.CheckAction(ctx, c.tenant, c.actor, domain.ActionCreateAdministrator, "invitations/new")
		require.NoError(t, err)
		require.Equal(t, domain.DenyIntegratorInactive, d.Denial)
		require.NotEmpty(t, d.Message)
		ev := e.events(t)
		require.Len(t, ev, before+1)
		den := ev[before].Event.(*integratorv1.ActionDenied)
		require.Equal(t, c.actor, den.GetActorUserId())
		require.Equal(t, c.tenant, den.GetTenantId())
		require.Equal(t, integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_INACTIVE, den.GetReason())
		before++
	}

	_, err = e.svc.CheckAction(ctx, tenant, ola.user, 9, employee)
	require.ErrorIs(t, err, domain.ErrInvalid)
	_, err = e.svc.CheckAction(ctx, tenant, ola.user, domain.ActionDismissEmployee, "no-slash")
	require.ErrorIs(t, err, domain.ErrInvalid)
}

func TestRevokingAPartnerDismissesItsIntegratorsEverywhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	p, err := e.svc.RegisterPartner(ctx, "Integra", nil, []string{"integra.example"})
	require.NoError(t, err)
	t1 := time.Now().UTC().Add(-time.Hour)
	var tenants []string
	for range 3 {
		tenant, who := id(), newPerson("x")
		inv := invitedAt(tenant, who, t1)
		inv.PartnerID = p.ID
		require.NoError(t, e.svc.Invited(ctx, dedupe("i"), inv))
		require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), domain.Acceptance{Invitation: inv, UserID: who.user, AcceptedAt: t1}, false))
		tenants = append(tenants, tenant)
	}
	// Another partner's integrator stays.
	keep := id()
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(keep, newPerson("k"), t1), true))

	_, n, err := e.svc.RevokePartner(ctx, p.ID, "certification withdrawn")
	require.NoError(t, err)
	require.Equal(t, 3, n)
	for _, tenant := range tenants {
		tn, err := e.svc.Integrators(ctx, nil, tenant)
		require.NoError(t, err)
		require.Empty(t, tn.Integrators)
	}
	tn, err := e.svc.Integrators(ctx, nil, keep)
	require.NoError(t, err)
	require.Len(t, tn.Integrators, 1)
	dismissed := 0
	for _, ev := range e.events(t) {
		if d, ok := ev.Event.(*integratorv1.IntegratorDismissed); ok {
			require.Equal(t, integratorv1.DismissalReason_DISMISSAL_REASON_PARTNER_UNREGISTERED, d.GetReason())
			require.Nil(t, d.DismissedByUserId)
			dismissed++
		}
	}
	require.Equal(t, 3, dismissed)
}

// The review's case: with a limit above 1, re-inviting integrator B's
// address replaced nobody, and B's acceptance then replaced the oldest
// integrator A, leaving B and his new user both active. His acceptance
// supersedes his own assignment instead.
func TestAReinvitedIntegratorCountsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	tenant := id()
	_, _, err := e.svc.SetPolicy(ctx, admin(tenant), tenant, 2, domain.ReplaceCurrent)
	require.NoError(t, err)
	a, b := newPerson("anna"), newPerson("bo")
	t1 := time.Now().UTC().Add(-time.Hour)
	for i, p := range []person{a, b} {
		at := t1.Add(time.Duration(i) * time.Minute)
		require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, p, at)))
		require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, p, at), false))
	}
	again := person{inv: id(), user: id(), email: b.email} // his new user
	at := t1.Add(time.Hour)
	require.NoError(t, e.svc.Invited(ctx, dedupe("i"), invitedAt(tenant, again, at)))
	require.Len(t, e.events(t), 2, "re-inviting his own address replaces nobody")
	require.NoError(t, e.svc.Accepted(ctx, dedupe("a"), accepted(tenant, again, at), false))

	tn, err := e.svc.Integrators(ctx, nil, tenant)
	require.NoError(t, err)
	var active []string
	for _, in := range tn.Integrators {
		active = append(active, in.UserID)
	}
	require.ElementsMatch(t, []string{a.user, again.user}, active, "Anna keeps her place; Bo counts once")
	ev := e.events(t)
	require.Equal(t, []string{
		"integrator.v1." + tenant + ".integrator." + a.user + ".assigned",
		"integrator.v1." + tenant + ".integrator." + b.user + ".assigned",
		"integrator.v1." + tenant + ".integrator." + b.user + ".replaced",
		"integrator.v1." + tenant + ".integrator." + again.user + ".assigned",
	}, subjects(ev))
	require.Equal(t, again.user, ev[2].Event.(*integratorv1.IntegratorReplaced).GetNewIntegrator().GetUserId())
}

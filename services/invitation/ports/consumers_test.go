package ports_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/invitation/adapters/postgres"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
	"rollcall.dev/services/invitation/migrations"
	"rollcall.dev/services/invitation/ports"
)

func integratorInvitation(t *testing.T, store *postgres.Store, tenant string, now time.Time) *domain.Invitation {
	t.Helper()
	by := domain.Actor{TenantID: tenant, UserID: uuid.NewString(), Name: "Ada", Email: "ada@example.com", Role: domain.RoleMainAdministrator,
		Grants: domain.Grants{Level: domain.LevelMainAdministrator}}
	inv, err := domain.Create(domain.NewInvitation{ID: uuid.NewString(), TenantID: tenant, Kind: domain.KindIntegrator,
		Origin: domain.OriginUserAdministration, Email: "partner@integrator.example", CodeDelivery: domain.CodeNone,
		PartnerID: uuid.NewString(), Grants: domain.Grants{Level: domain.LevelMainAdministrator}}, by, domain.Policy{}, domain.CodeKey(strings.Repeat("k", 32)), now)
	require.NoError(t, err)
	require.NoError(t, store.Create(context.Background(), inv, nil))
	return inv
}

func TestIntegratorReplacedConsumer(t *testing.T) {
	t.Parallel()
	pool := testkit.NewDB(t, migrations.FS)
	n := testkit.NewNATS(t)
	store := postgres.New(pool, "/rollcall/invitation")
	svc := &app.Service{Store: store}
	tenant := uuid.NewString()
	old := integratorInvitation(t, store, tenant, time.Now())

	r, err := bus.NewRunner(n.Conn, n.JS, nil, ports.IntegratorReplaced(svc))
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() { _ = r.Stop(context.Background()) })

	newInvitation := integratorInvitation(t, store, tenant, time.Now().Add(time.Second)).ID
	ev := &integratorv1.IntegratorReplaced{
		TenantId: tenant, OccurredAt: timestamppb.Now(),
		PreviousIntegrator: &integratorv1.IntegratorRef{UserId: uuid.NewString(), PartnerId: uuid.NewString(), Email: "old@partner.example"},
		NewIntegrator:      &integratorv1.IncomingIntegrator{InvitationId: newInvitation, PartnerId: uuid.NewString(), Email: "new@partner.example"},
	}
	subject := "integrator.v1." + tenant + ".integrator." + ev.PreviousIntegrator.UserId + ".replaced"
	e, err := bus.NewEvent("/rollcall/integrator-policy", subject, "integrator/"+ev.PreviousIntegrator.UserId, ev)
	require.NoError(t, err)
	_, err = bus.NewPublisher(n.JS).Publish(context.Background(), e)
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		got, err := store.Get(context.Background(), tenant, old.ID)
		return err == nil && got.Status == domain.StatusRevoked
	}, 10*time.Second, 20*time.Millisecond)
	got, err := store.Get(context.Background(), tenant, old.ID)
	require.NoError(t, err)
	require.Equal(t, domain.RevokedIntegratorReplaced, got.RevokeReason)
	require.Equal(t, newInvitation, got.SupersededBy)
}

func TestSweeper(t *testing.T) {
	t.Parallel()
	pool := testkit.NewDB(t, migrations.FS)
	store := postgres.New(pool, "/rollcall/invitation")
	past := time.Now().Add(-8 * 24 * time.Hour) // created 8 days ago: past its 7 days
	inv := integratorInvitation(t, store, uuid.NewString(), past)
	s := &ports.Sweeper{App: &app.Service{Store: store}, Interval: 50 * time.Millisecond, Log: slog.Default()}
	require.NoError(t, s.Start(context.Background()))
	require.Eventually(t, func() bool {
		got, err := store.Get(context.Background(), inv.TenantID, inv.ID)
		return err == nil && got.Status == domain.StatusExpired
	}, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, s.Stop(context.Background()))
	require.NoError(t, s.Stop(context.Background()), "twice")
}

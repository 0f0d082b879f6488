package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/testkit"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/invitation/adapters/postgres"
	"rollcall.dev/services/invitation/domain"
	"rollcall.dev/services/invitation/migrations"
)

var key = domain.CodeKey(strings.Repeat("k", 32))

func setup(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := testkit.NewDB(t, migrations.FS)
	return postgres.New(pool, "/rollcall/invitation"), pool
}

func id() string { return uuid.NewString() }

func admin() domain.Actor {
	return domain.Actor{UserID: id(), Name: "Ada Admin", Email: "ada@example.com", Role: domain.RoleMainAdministrator,
		Grants: domain.Grants{Level: domain.LevelMainAdministrator}}
}

type made struct {
	inv  *domain.Invitation
	tok  domain.Token
	code domain.Code
}

func newInvitation(t *testing.T, tenant string, mutate ...func(*domain.NewInvitation)) made {
	t.Helper()
	f := domain.NewInvitation{
		ID: id(), TenantID: tenant, Kind: domain.KindMember, Origin: domain.OriginUserAdministration,
		FirstName: "Kari", LastName: "Nordmann", Email: "kari@example.com", Mobile: "+4791234567",
		CodeDelivery: domain.CodeBySMS, Language: "nb",
		Grants: domain.Grants{Level: domain.LevelCustom, Areas: []string{"support"},
			Scope: domain.Scope{Organisations: &domain.Selection{IDs: []string{id()}}, ProductCategories: &domain.Selection{All: true}}},
	}
	for _, m := range mutate {
		m(&f)
	}
	inv, err := domain.Create(f, admin(), domain.Policy{}, key, time.Now().UTC().Truncate(time.Microsecond))
	require.NoError(t, err)
	ev := inv.PendingEvents()[0].(domain.Invited)
	return made{inv: inv, tok: ev.Token, code: ev.Code}
}

// outboxEvents decodes and validates every event in the outbox.
func outboxEvents(t *testing.T, pool *pgxpool.Pool) []proto.Message {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT event_type, payload, subject FROM rollcall_outbox ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []proto.Message
	for rows.Next() {
		var typ, subject string
		var payload []byte
		require.NoError(t, rows.Scan(&typ, &payload, &subject))
		var m proto.Message
		switch typ {
		case "rollcall.invitation.v1.UserInvited":
			m = &invitationv1.UserInvited{}
		case "rollcall.invitation.v1.InviteAccepted":
			m = &invitationv1.InviteAccepted{}
		case "rollcall.invitation.v1.InviteRevoked":
			m = &invitationv1.InviteRevoked{}
		case "rollcall.invitation.v1.InviteExpired":
			m = &invitationv1.InviteExpired{}
		case "rollcall.invitation.v1.InviteLocked":
			m = &invitationv1.InviteLocked{}
		default:
			t.Fatalf("unexpected event %s", typ)
		}
		require.NoError(t, proto.Unmarshal(payload, m))
		require.NoError(t, protovalidate.Validate(m), "%s must pass its own contract", typ)
		require.True(t, strings.HasPrefix(subject, "invitation.v1."), subject)
		out = append(out, m)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestStore(t *testing.T) {
	t.Parallel()

	t.Run("CreateWritesTheRowAndAValidUserInvited", func(t *testing.T) {
		t.Parallel()
		s, pool := setup(t)
		ctx := context.Background()
		tenant := id()
		m := newInvitation(t, tenant)
		var delivered []domain.Event
		require.NoError(t, s.Create(ctx, m.inv, func(evs []domain.Event) error { delivered = evs; return nil }))
		require.Len(t, delivered, 1, "delivery sees the secrets' event")

		got, err := s.Get(ctx, tenant, m.inv.ID)
		require.NoError(t, err)
		require.Equal(t, m.inv.Grants, got.Grants)
		require.Equal(t, m.inv.Inviter, got.Inviter)
		require.Equal(t, domain.StatusPending, got.Status)
		require.True(t, m.tok.Matches(got.TokenHash))

		evs := outboxEvents(t, pool)
		require.Len(t, evs, 1)
		ui := evs[0].(*invitationv1.UserInvited)
		require.Equal(t, m.inv.ID, ui.InvitationId)
		require.Equal(t, []string{"support"}, ui.Grants.PermissionAreas)
		require.True(t, ui.Grants.Scope.ProductCategories.All)
	})

	t.Run("FailedDeliveryWritesNothing", func(t *testing.T) {
		t.Parallel()
		s, pool := setup(t)
		ctx := context.Background()
		tenant := id()
		m := newInvitation(t, tenant)
		err := s.Create(ctx, m.inv, func([]domain.Event) error { return errors.New("smtp: 451 try later") })
		require.ErrorContains(t, err, "451")
		_, err = s.Get(ctx, tenant, m.inv.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		require.Empty(t, outboxEvents(t, pool))
	})

	t.Run("AnEventThatWouldBreakItsContractWritesNothing", func(t *testing.T) {
		t.Parallel()
		s, pool := setup(t)
		ctx := context.Background()
		tenant := id()
		m := newInvitation(t, tenant, func(f *domain.NewInvitation) {
			f.Kind, f.CodeDelivery, f.FirstName, f.LastName = domain.KindIntegrator, domain.CodeNone, "", ""
			f.Grants = domain.Grants{Level: domain.LevelMainAdministrator}
			f.PartnerID = "not-a-uuid" // the contract wants a lowercase UUID
		})
		err := s.Create(ctx, m.inv, nil)
		require.ErrorContains(t, err, "would break its contract")
		require.ErrorContains(t, err, "partner_id")
		_, err = s.Get(ctx, tenant, m.inv.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		require.Empty(t, outboxEvents(t, pool))
	})

	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		ctx := context.Background()
		m := newInvitation(t, id())
		require.NoError(t, s.Create(ctx, m.inv, nil))
		again := newInvitation(t, m.inv.TenantID, func(f *domain.NewInvitation) { f.ID = m.inv.ID })
		require.ErrorIs(t, s.Create(ctx, again.inv, nil), postgres.ErrDuplicate)
	})

	t.Run("ConcurrentAcceptsExactlyOneWins", func(t *testing.T) {
		t.Parallel()
		s, pool := setup(t)
		ctx := context.Background()
		m := newInvitation(t, id())
		require.NoError(t, s.Create(ctx, m.inv, nil))

		const racers = 8
		var wg sync.WaitGroup
		results := make(chan error, racers)
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.UpdateByToken(ctx, m.tok, func(inv *domain.Invitation) error {
					return inv.Accept(domain.Acceptance{Token: m.tok, Code: m.code, Method: domain.LoginBankID, ExternalSubject: "bankid:1", NewUserID: id()}, key, time.Now())
				}, nil)
				results <- err
			}()
		}
		wg.Wait()
		close(results)
		won := 0
		for err := range results {
			if err == nil {
				won++
				continue
			}
			require.ErrorIs(t, err, domain.ErrInvalidToken, "the losers see a used link")
		}
		require.Equal(t, 1, won)
		accepted := 0
		for _, ev := range outboxEvents(t, pool) {
			if _, ok := ev.(*invitationv1.InviteAccepted); ok {
				accepted++
			}
		}
		require.Equal(t, 1, accepted)
	})

	t.Run("WrongCodesAreCountedAcrossRequestsAndLock", func(t *testing.T) {
		t.Parallel()
		s, pool := setup(t)
		ctx := context.Background()
		m := newInvitation(t, id())
		require.NoError(t, s.Create(ctx, m.inv, nil))
		wrong := domain.Code("000000")
		if m.code == wrong {
			wrong = "111111"
		}
		var last error
		for range domain.MaxCodeAttempts {
			_, err := s.UpdateByToken(ctx, m.tok, func(inv *domain.Invitation) error {
				last = inv.VerifyCode(m.tok, wrong, key, time.Now())
				return nil // keep the count even though the code was wrong
			}, nil)
			require.NoError(t, err)
		}
		require.ErrorIs(t, last, domain.ErrLocked)
		got, err := s.Get(ctx, m.inv.TenantID, m.inv.ID)
		require.NoError(t, err)
		require.Equal(t, domain.StatusLocked, got.Status)
		evs := outboxEvents(t, pool)
		require.IsType(t, &invitationv1.InviteLocked{}, evs[len(evs)-1])
	})

	t.Run("TenantsAreIsolated", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		ctx := context.Background()
		m := newInvitation(t, id())
		require.NoError(t, s.Create(ctx, m.inv, nil))
		other := id()
		_, err := s.Get(ctx, other, m.inv.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		_, err = s.Update(ctx, other, m.inv.ID, func(inv *domain.Invitation) error {
			return inv.Revoke(domain.RevokedByAdmin, admin(), "", time.Now())
		}, nil)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		list, err := s.List(ctx, other, postgres.ListFilter{Limit: 10})
		require.NoError(t, err)
		require.Empty(t, list)
	})

	t.Run("UnknownTokenIsNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		tok, err := domain.NewToken()
		require.NoError(t, err)
		_, err = s.UpdateByToken(context.Background(), tok, func(*domain.Invitation) error { return nil }, nil)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		_, err = s.UpdateByToken(context.Background(), "garbage", func(*domain.Invitation) error { return nil }, nil)
		require.ErrorIs(t, err, postgres.ErrNotFound)
	})

	t.Run("ListFiltersAndPages", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		ctx := context.Background()
		tenant := id()
		var ids []string
		for range 5 {
			m := newInvitation(t, tenant)
			require.NoError(t, s.Create(ctx, m.inv, nil))
			ids = append(ids, m.inv.ID)
			time.Sleep(2 * time.Millisecond)
		}
		_, err := s.Update(ctx, tenant, ids[0], func(inv *domain.Invitation) error {
			return inv.Revoke(domain.RevokedByAdmin, admin(), "", time.Now())
		}, nil)
		require.NoError(t, err)
		pending, err := s.List(ctx, tenant, postgres.ListFilter{Statuses: []domain.Status{domain.StatusPending}, Limit: 10})
		require.NoError(t, err)
		require.Len(t, pending, 4)
		page1, err := s.List(ctx, tenant, postgres.ListFilter{Limit: 3})
		require.NoError(t, err)
		require.Len(t, page1, 3)
		require.Equal(t, ids[4], page1[0].ID, "newest first")
		last := page1[2]
		page2, err := s.List(ctx, tenant, postgres.ListFilter{Limit: 3, AfterCreatedAt: last.CreatedAt, AfterID: last.ID})
		require.NoError(t, err)
		require.Len(t, page2, 2)
		require.Equal(t, ids[0], page2[1].ID)

		// Kinds filter in the query, so a page is full whatever the mix.
		kind := m0Kind(t, s, tenant, ids[0])
		other := domain.KindIntegration
		if kind == other {
			other = domain.KindMember
		}
		none, err := s.List(ctx, tenant, postgres.ListFilter{Kinds: []domain.Kind{other}, Limit: 10})
		require.NoError(t, err)
		require.Empty(t, none)
		all, err := s.List(ctx, tenant, postgres.ListFilter{Kinds: []domain.Kind{kind, other}, Limit: 2})
		require.NoError(t, err)
		require.Len(t, all, 2)
	})

	t.Run("SweeperFindsExpired", func(t *testing.T) {
		t.Parallel()
		s, pool := setup(t)
		ctx := context.Background()
		m := newInvitation(t, id())
		require.NoError(t, s.Create(ctx, m.inv, nil))
		due, err := s.DueForExpiry(ctx, m.inv.ExpiresAt.Add(time.Second), 10)
		require.NoError(t, err)
		require.Equal(t, [][2]string{{m.inv.TenantID, m.inv.ID}}, due)
		_, err = s.Update(ctx, m.inv.TenantID, m.inv.ID, func(inv *domain.Invitation) error {
			inv.Expire(inv.ExpiresAt)
			return nil
		}, nil)
		require.NoError(t, err)
		due, err = s.DueForExpiry(ctx, m.inv.ExpiresAt.Add(time.Second), 10)
		require.NoError(t, err)
		require.Empty(t, due)
		evs := outboxEvents(t, pool)
		require.IsType(t, &invitationv1.InviteExpired{}, evs[len(evs)-1])
	})
}

func m0Kind(t *testing.T, s *postgres.Store, tenant, id string) domain.Kind {
	t.Helper()
	inv, err := s.Get(context.Background(), tenant, id)
	require.NoError(t, err)
	return inv.Kind
}

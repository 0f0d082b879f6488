package inbox_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/inbox"
	"rollcall.dev/pkg/testkit"
)

// effects counts how often each event's effect was applied.
func effects(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT event_id, count(*) FROM effects GROUP BY event_id`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		out[id] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func setup(t *testing.T) (*pgxpool.Pool, *testkit.NATS) {
	t.Helper()
	pool := testkit.NewDB(t, nil)
	_, err := pool.Exec(context.Background(), `CREATE TABLE effects (event_id text NOT NULL)`)
	require.NoError(t, err)
	return pool, testkit.NewNATS(t)
}

func applyEffect(pool *pgxpool.Pool, hook func(m *bus.Message) error) bus.Handler {
	return func(ctx context.Context, m *bus.Message) error {
		err := inbox.Process(ctx, pool, "test-consumer", m, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO effects (event_id) VALUES ($1)`, m.ID)
			return err
		})
		if err != nil {
			return err
		}
		if hook != nil {
			return hook(m)
		}
		return nil
	}
}

func start(t *testing.T, n *testkit.NATS, h bus.Handler) {
	t.Helper()
	r, err := bus.NewRunner(n.Conn, n.JS, nil, bus.ConsumerConfig{
		Stream: bus.StreamSync, Durable: "inbox", Handler: h, Backoff: []time.Duration{20 * time.Millisecond},
	})
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
}

func TestInbox(t *testing.T) {
	t.Parallel()

	t.Run("SameEventDeliveredTwiceHasOneEffect", func(t *testing.T) {
		t.Parallel()
		pool, n := setup(t)
		var handled atomic.Int64
		start(t, n, applyEffect(pool, func(*bus.Message) error { handled.Add(1); return nil }))

		ev, err := bus.NewEvent("/t", "sync.v1.t1.e.x", "e", wrapperspb.String("x"))
		require.NoError(t, err)
		first, err := ev.Msg(context.Background())
		require.NoError(t, err)
		_, err = n.JS.PublishMsg(context.Background(), first)
		require.NoError(t, err)
		// The same event again, past the broker's duplicate window (a new
		// broker id, as after a republish hours later).
		again, err := ev.Msg(context.Background())
		require.NoError(t, err)
		again.Header.Set(nats.MsgIdHdr, ev.ID+"-later")
		_, err = n.JS.PublishMsg(context.Background(), again)
		require.NoError(t, err)

		require.Eventually(t, func() bool { return handled.Load() == 2 }, 10*time.Second, 10*time.Millisecond)
		require.Equal(t, map[string]int{ev.ID: 1}, effects(t, pool))
	})

	t.Run("RedeliveryAfterCrashBeforeAckHasOneEffect", func(t *testing.T) {
		t.Parallel()
		pool, n := setup(t)
		var deliveries atomic.Int64
		start(t, n, applyEffect(pool, func(m *bus.Message) error {
			deliveries.Add(1)
			if m.NumDelivered == 1 {
				// The effect committed; the process "dies" before the ack.
				return errors.New("crashed before ack")
			}
			return nil
		}))
		ev, err := bus.NewEvent("/t", "sync.v1.t1.e.x", "e", wrapperspb.String("x"))
		require.NoError(t, err)
		_, err = bus.NewPublisher(n.JS).Publish(context.Background(), ev)
		require.NoError(t, err)

		require.Eventually(t, func() bool { return deliveries.Load() == 2 }, 10*time.Second, 10*time.Millisecond)
		require.Equal(t, map[string]int{ev.ID: 1}, effects(t, pool))
	})

	t.Run("FailedEffectIsNotRecorded", func(t *testing.T) {
		t.Parallel()
		pool, _ := setup(t)
		ctx := context.Background()
		m := &bus.Message{ID: "evt-1"}
		err := inbox.Process(ctx, pool, "c", m, func(pgx.Tx) error { return errors.New("boom") })
		require.Error(t, err)
		var ran bool
		require.NoError(t, inbox.Process(ctx, pool, "c", m, func(pgx.Tx) error { ran = true; return nil }))
		require.True(t, ran, "a rolled-back attempt does not mark the event processed")
	})

	t.Run("ConsumersAreIndependent", func(t *testing.T) {
		t.Parallel()
		pool, _ := setup(t)
		ctx := context.Background()
		m := &bus.Message{ID: "evt-1"}
		runs := 0
		for _, c := range []string{"a", "b", "a"} {
			require.NoError(t, inbox.Process(ctx, pool, c, m, func(pgx.Tx) error { runs++; return nil }))
		}
		require.Equal(t, 2, runs)
	})

	t.Run("MessageWithoutIDIsPermanentFailure", func(t *testing.T) {
		t.Parallel()
		pool, _ := setup(t)
		err := inbox.Process(context.Background(), pool, "c", &bus.Message{}, func(pgx.Tx) error { return nil })
		require.True(t, bus.IsPermanent(err))
		require.ErrorIs(t, err, inbox.ErrNoEventID)
	})

	t.Run("PruneDropsOldIDs", func(t *testing.T) {
		t.Parallel()
		pool, _ := setup(t)
		ctx := context.Background()
		require.NoError(t, inbox.Process(ctx, pool, "c", &bus.Message{ID: "old"}, func(pgx.Tx) error { return nil }))
		require.NoError(t, inbox.Process(ctx, pool, "c", &bus.Message{ID: "new"}, func(pgx.Tx) error { return nil }))
		_, err := pool.Exec(ctx, `UPDATE rollcall_inbox SET processed_at = now() - interval '40 days' WHERE event_id = 'old'`)
		require.NoError(t, err)
		n, err := inbox.Prune(ctx, pool, 30*24*time.Hour)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	})
}

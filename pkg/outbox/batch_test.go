package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
)

func rec(agg, text string) outbox.Record {
	return outbox.Record{Subject: "sync.v1.t1." + agg + ".changed", Aggregate: agg, Event: wrapperspb.String(text)}
}

func TestAppendBatch(t *testing.T) {
	t.Parallel()

	t.Run("NumbersEachAggregateAsAppendWouldOneByOne", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		var single outbox.Appended
		var got []outbox.Appended
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			single = appendEvent(ctx, t, tx, "agg-a", "a1")
			var err error
			got, err = outbox.AppendBatch(ctx, tx, "/rollcall/test", []outbox.Record{
				rec("agg-a", "a2"), rec("agg-b", "b1"), rec("agg-a", "a3"), rec("agg-c", "c1"), rec("agg-a", "a4"), rec("agg-b", "b2"),
			})
			return err
		}))
		require.EqualValues(t, 1, single.AggregateSeq)
		require.Len(t, got, 6)
		seqs := []int64{2, 1, 3, 1, 4, 2}
		for i, a := range got {
			require.Equal(t, seqs[i], a.AggregateSeq, "record %d", i)
			require.NotEmpty(t, a.EventID)
			require.Greater(t, a.OutboxID, single.OutboxID)
			if i > 0 {
				require.Greater(t, a.OutboxID, got[i-1].OutboxID, "ids follow the records' order")
			}
		}
		// And Append carries on after the batch.
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			require.EqualValues(t, 3, appendEvent(ctx, t, tx, "agg-b", "b3").AggregateSeq)
			return nil
		}))

		relayAll(t, outbox.NewRelay(b.pool, b.pub, nil, outbox.RelayConfig{Service: "test"}))
		per := map[string][]string{}
		for _, m := range streamed(t, b.nats.JS) {
			agg := bus.HeaderCarrier(m.Header).Get(bus.HeaderSubject)
			per[agg] = append(per[agg], body(t, m))
			require.Equal(t, "/rollcall/test", bus.HeaderCarrier(m.Header).Get(bus.HeaderSource))
			require.Equal(t, "google.protobuf.StringValue", bus.HeaderCarrier(m.Header).Get(bus.HeaderType))
		}
		require.Equal(t, map[string][]string{
			"agg-a": {"a1", "a2", "a3", "a4"}, "agg-b": {"b1", "b2", "b3"}, "agg-c": {"c1"},
		}, per)
	})

	t.Run("AnInvalidRecordWritesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		err := pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			_, err := outbox.AppendBatch(ctx, tx, "/t", []outbox.Record{rec("agg-a", "ok"), {Subject: "nowhere.v1.t.x", Aggregate: "a", Event: wrapperspb.String("x")}})
			return err
		})
		require.ErrorIs(t, err, outbox.ErrInvalid)
		n, err := outbox.Pending(ctx, b.pool)
		require.NoError(t, err)
		require.Zero(t, n)
		got, err := outbox.AppendBatch(ctx, nil, "/t", nil)
		require.NoError(t, err, "nothing to append is no statement at all")
		require.Empty(t, got)
	})

	t.Run("QueuedInAPipelinedBatchItCommitsWithTheStateChange", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		_, err := b.pool.Exec(ctx, `CREATE TABLE things (id int PRIMARY KEY)`)
		require.NoError(t, err)

		ok := &pgx.Batch{}
		ok.Queue(`INSERT INTO things VALUES (1)`)
		q, err := outbox.QueueAppendBatch(ctx, ok, "/t", []outbox.Record{rec("agg-a", "x1"), rec("agg-a", "x2")})
		require.NoError(t, err)
		require.Nil(t, q.Appended(), "not before the batch ran")
		require.NoError(t, b.pool.SendBatch(ctx, ok).Close())
		require.Len(t, q.Appended(), 2)
		require.EqualValues(t, 2, q.Appended()[1].AggregateSeq)

		// The state change fails after the append: the implicit
		// transaction takes the events with it.
		bad := &pgx.Batch{}
		_, err = outbox.QueueAppendBatch(ctx, bad, "/t", []outbox.Record{rec("agg-a", "lost")})
		require.NoError(t, err)
		bad.Queue(`INSERT INTO things VALUES (1)`) // duplicate key
		require.Error(t, b.pool.SendBatch(ctx, bad).Close())
		n, err := outbox.Pending(ctx, b.pool)
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
	})

	t.Run("ConcurrentBatchesPublishEveryEventOnceInCommitOrderPerAggregate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		relay := outbox.NewRelay(b.pool, b.pub, nil, outbox.RelayConfig{Service: "test", BatchSize: 7, PollInterval: 5 * time.Millisecond})
		require.NoError(t, relay.Start(ctx))
		defer relay.Stop()

		const writers, perWriter, aggregates = 6, 15, 5
		var commitMu sync.Mutex
		committed := map[string][]string{}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					// Each batch touches several aggregates, in an order of
					// its own, some twice.
					var recs []outbox.Record
					for k := range 4 {
						agg := fmt.Sprintf("agg-%d", (w*3+i+k*k)%aggregates)
						recs = append(recs, rec(agg, fmt.Sprintf("w%d-%d-%d", w, i, k)))
					}
					err := pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
						if _, err := outbox.AppendBatch(ctx, tx, "/rollcall/test", recs); err != nil {
							return err
						}
						time.Sleep(time.Duration((w*7+i*3)%4) * time.Millisecond)
						commitMu.Lock()
						defer commitMu.Unlock()
						if err := tx.Commit(ctx); err != nil {
							return err
						}
						for _, r := range recs {
							committed[r.Aggregate] = append(committed[r.Aggregate], r.Event.(*wrapperspb.StringValue).GetValue())
						}
						return nil
					})
					if err != nil && !errors.Is(err, pgx.ErrTxClosed) {
						t.Errorf("writer %d: %v", w, err)
					}
					relay.Kick()
				}
			})
		}
		wg.Wait()
		require.Eventually(t, func() bool {
			n, err := outbox.Pending(ctx, b.pool)
			return err == nil && n == 0
		}, 20*time.Second, 10*time.Millisecond)

		msgs := streamed(t, b.nats.JS)
		require.Len(t, msgs, writers*perWriter*4, "every event exactly once")
		got := map[string][]string{}
		for _, m := range msgs {
			agg := bus.HeaderCarrier(m.Header).Get(bus.HeaderSubject)
			got[agg] = append(got[agg], body(t, m))
		}
		require.Equal(t, committed, got, "per aggregate, stream order is commit order")
	})
}

package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/pkg/testkit"
)

type bundle struct {
	pool *pgxpool.Pool
	nats *testkit.NATS
	pub  *bus.Publisher
}

func setup(t *testing.T) bundle {
	t.Helper()
	n := testkit.NewNATS(t)
	return bundle{pool: testkit.NewDB(t, nil), nats: n, pub: bus.NewPublisher(n.JS)}
}

func appendEvent(ctx context.Context, t *testing.T, tx pgx.Tx, agg string, body string) outbox.Appended {
	t.Helper()
	a, err := outbox.Append(ctx, tx, "/rollcall/test", outbox.Record{
		Subject:   "sync.v1.t1." + agg + ".changed",
		Aggregate: agg,
		Event:     wrapperspb.String(body),
	})
	require.NoError(t, err)
	return a
}

// streamed reads every message of the SYNC stream in stream order.
func streamed(t *testing.T, js jetstream.JetStream) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, bus.StreamSync)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

func body(t *testing.T, m *jetstream.RawStreamMsg) string {
	t.Helper()
	var v wrapperspb.StringValue
	require.NoError(t, proto.Unmarshal(m.Data, &v))
	return v.Value
}

func relayAll(t *testing.T, r *outbox.Relay) {
	t.Helper()
	for {
		n, err := r.RelayOnce(context.Background())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
}

func TestOutbox(t *testing.T) {
	t.Parallel()

	t.Run("RowCommittedOutOfIDOrderIsNotSkipped", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		relay := outbox.NewRelay(b.pool, b.pub, nil, outbox.RelayConfig{Service: "test"})

		// tx1 takes the smaller id but commits last.
		tx1, err := b.pool.Begin(ctx)
		require.NoError(t, err)
		first := appendEvent(ctx, t, tx1, "agg-a", "a1")
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			second := appendEvent(ctx, t, tx, "agg-b", "b1")
			require.Greater(t, second.OutboxID, first.OutboxID)
			return nil
		}))
		relayAll(t, relay) // publishes b1; a1 is invisible still
		require.NoError(t, tx1.Commit(ctx))
		relayAll(t, relay)

		msgs := streamed(t, b.nats.JS)
		require.Len(t, msgs, 2)
		require.Equal(t, "b1", body(t, msgs[0]))
		require.Equal(t, "a1", body(t, msgs[1]), "the late committer is published, not skipped")
		pending, err := outbox.Pending(ctx, b.pool)
		require.NoError(t, err)
		require.Zero(t, pending)
	})

	t.Run("ConcurrentWritersPublishEveryEventOnceInCommitOrderPerAggregate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		relay := outbox.NewRelay(b.pool, b.pub, nil, outbox.RelayConfig{Service: "test", BatchSize: 7, PollInterval: 5 * time.Millisecond})
		require.NoError(t, relay.Start(ctx))
		defer relay.Stop()

		const writers, perWriter, aggregates = 8, 25, 4
		var commitMu sync.Mutex
		committed := map[string][]string{} // aggregate -> bodies in commit order
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					agg := fmt.Sprintf("agg-%d", (w+i)%aggregates)
					text := fmt.Sprintf("w%d-%d", w, i)
					err := pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
						_, err := outbox.Append(ctx, tx, "/rollcall/test", outbox.Record{
							Subject: "sync.v1.t1." + agg + ".changed", Aggregate: agg, Event: wrapperspb.String(text),
						})
						if err != nil {
							return err
						}
						// Hold the transaction a little, at random-ish lengths, so
						// commits interleave and land out of id order.
						time.Sleep(time.Duration((w*7+i*3)%5) * time.Millisecond)
						// Record commit order while still holding the aggregate lock.
						commitMu.Lock()
						defer commitMu.Unlock()
						if err := tx.Commit(ctx); err != nil {
							return err
						}
						committed[agg] = append(committed[agg], text)
						return nil
					})
					if err != nil && !errors.Is(err, pgx.ErrTxClosed) {
						t.Errorf("writer %d: %v", w, err)
					}
					relay.Kick()
				}
			}()
		}
		wg.Wait()

		require.Eventually(t, func() bool {
			n, err := outbox.Pending(ctx, b.pool)
			return err == nil && n == 0
		}, 20*time.Second, 10*time.Millisecond)

		msgs := streamed(t, b.nats.JS)
		require.Len(t, msgs, writers*perWriter, "every event exactly once")
		seen := map[string]bool{}
		got := map[string][]string{}
		for _, m := range msgs {
			id := m.Header.Get(bus.HeaderMsgID)
			require.False(t, seen[id], "duplicate %s", id)
			seen[id] = true
			agg := bus.HeaderCarrier(m.Header).Get(bus.HeaderSubject)
			got[agg] = append(got[agg], body(t, m))
		}
		require.Equal(t, committed, got, "per aggregate, stream order is commit order")
	})

	t.Run("RelayKilledMidBatchLosesNothingAndDuplicatesAreSuppressed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		const total = 40
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			for i := range total {
				appendEvent(ctx, t, tx, fmt.Sprintf("agg-%d", i%3), fmt.Sprintf("e%d", i))
			}
			return nil
		}))

		// The first relay publishes a batch and "dies" before it marks
		// anything: the broker has the messages, the table says unsent.
		// Batch of 15 over 3 aggregates = 5 waves; it dies in the last.
		crashing := outbox.NewRelay(b.pool, &crashingPublisher{inner: b.pub, after: 4}, nil, outbox.RelayConfig{Service: "test", BatchSize: 15})
		require.PanicsWithError(t, errCrash.Error(), func() { _, _ = crashing.RelayOnce(ctx) })
		pending, err := outbox.Pending(ctx, b.pool)
		require.NoError(t, err)
		require.EqualValues(t, total, pending, "nothing marked by the dead relay")
		require.Len(t, streamed(t, b.nats.JS), 15)

		// A new relay starts: republishes the 15 (broker drops them as
		// duplicates) and the other 25.
		relayAll(t, outbox.NewRelay(b.pool, b.pub, nil, outbox.RelayConfig{Service: "test", BatchSize: 15}))
		msgs := streamed(t, b.nats.JS)
		require.Len(t, msgs, total, "every event once in the stream")
		for i, m := range msgs {
			require.Equal(t, fmt.Sprintf("e%d", i), body(t, m))
		}
		pending, err = outbox.Pending(ctx, b.pool)
		require.NoError(t, err)
		require.Zero(t, pending)
	})

	t.Run("RelayStoppedMidFlightThenRestarted", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		slow := &slowPublisher{inner: b.pub, delay: 30 * time.Millisecond}
		relay := outbox.NewRelay(b.pool, slow, nil, outbox.RelayConfig{Service: "test", BatchSize: 5, PollInterval: time.Millisecond})
		require.NoError(t, relay.Start(ctx))
		for i := range 50 {
			require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
				appendEvent(ctx, t, tx, "agg", fmt.Sprintf("e%d", i))
				return nil
			}))
		}
		time.Sleep(60 * time.Millisecond)
		relay.Stop() // cancels whatever batch is in flight
		relay.Stop() // double stop is harmless

		restarted := outbox.NewRelay(b.pool, b.pub, nil, outbox.RelayConfig{Service: "test", BatchSize: 5})
		relayAll(t, restarted)
		msgs := streamed(t, b.nats.JS)
		require.Len(t, msgs, 50)
		for i, m := range msgs {
			require.Equal(t, fmt.Sprintf("e%d", i), body(t, m), "one aggregate stays in order across the restart")
		}
	})

	t.Run("BrokerFailingMidBatchKeepsEachAggregateInOrder", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		var failID string
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			for i := range 4 {
				a := appendEvent(ctx, t, tx, "agg-a", fmt.Sprintf("a%d", i))
				if i == 1 {
					failID = a.EventID // the broker drops a1 the first time
				}
				appendEvent(ctx, t, tx, "agg-b", fmt.Sprintf("b%d", i))
			}
			return nil
		}))
		flaky := &flakyBroker{inner: b.pub, fail: map[string]bool{failID: true}}
		relay := outbox.NewRelay(b.pool, flaky, nil, outbox.RelayConfig{Service: "test"})

		n, err := relay.RelayOnce(ctx)
		require.Error(t, err, "the failure is reported")
		require.Equal(t, 5, n, "a0 and all of agg-b went; a1 failed, so a2 and a3 waited")
		var bodies []string
		for _, m := range streamed(t, b.nats.JS) {
			bodies = append(bodies, body(t, m))
		}
		require.NotContains(t, bodies, "a2", "nothing of agg-a is stored past its failed event")
		require.NotContains(t, bodies, "a3")

		relayAll(t, relay)
		got := map[string][]string{}
		for _, m := range streamed(t, b.nats.JS) {
			agg := bus.HeaderCarrier(m.Header).Get(bus.HeaderSubject)
			got[agg] = append(got[agg], body(t, m))
		}
		require.Equal(t, []string{"a0", "a1", "a2", "a3"}, got["agg-a"])
		require.Equal(t, []string{"b0", "b1", "b2", "b3"}, got["agg-b"])
		var lastErr *string
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT last_error FROM rollcall_outbox WHERE event_id = $1`, failID).Scan(&lastErr))
		require.Nil(t, lastErr, "cleared once published")
	})

	t.Run("AStuckAggregateDoesNotStarveOthers", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		// 40 events of a stuck aggregate (more than a batch of 10), then one
		// of another aggregate.
		stuck := map[string]bool{}
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			for i := range 40 {
				stuck[appendEvent(ctx, t, tx, "stuck", fmt.Sprintf("s%d", i)).EventID] = true
			}
			appendEvent(ctx, t, tx, "healthy", "h0")
			return nil
		}))
		dead := &flakyBroker{inner: b.pub, fail: map[string]bool{}}
		relay := outbox.NewRelay(b.pool, alwaysFail{dead, stuck}, nil, outbox.RelayConfig{Service: "test", BatchSize: 10})
		n, err := relay.RelayOnce(ctx)
		require.Error(t, err)
		require.Equal(t, 1, n, "the healthy aggregate's event went out")
	})

	t.Run("StopDuringABatchKeepsTheMarksOfWhatWasPublished", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			appendEvent(ctx, t, tx, "agg", "first")  // wave 0
			appendEvent(ctx, t, tx, "agg", "second") // wave 1
			return nil
		}))
		// The relay is stopped (ctx cancelled) right after wave 0 was acked.
		stopper := &stopAfterFirstWave{inner: b.pub, stop: cancel}
		relay := outbox.NewRelay(b.pool, stopper, nil, outbox.RelayConfig{Service: "test"})
		n, err := relay.RelayOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "the acknowledged event is marked although the relay was stopping")
		pending, err := outbox.Pending(context.Background(), b.pool)
		require.NoError(t, err)
		require.EqualValues(t, 1, pending, "the second waits for the next relay")
	})

	t.Run("ABrokerThatNeverAnswersEndsTheBatchAtItsDeadline", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			appendEvent(ctx, t, tx, "agg", "x")
			return nil
		}))
		relay := outbox.NewRelay(b.pool, silentBroker{}, nil, outbox.RelayConfig{Service: "test", BatchTimeout: 300 * time.Millisecond})
		start := time.Now()
		n, err := relay.RelayOnce(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Zero(t, n)
		require.Less(t, time.Since(start), 5*time.Second)
		var lastErr string
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT last_error FROM rollcall_outbox`).Scan(&lastErr))
		require.Contains(t, lastErr, "deadline")
	})

	t.Run("CleanupAlsoPrunesTheInbox", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		_, err := b.pool.Exec(ctx, `INSERT INTO rollcall_inbox (consumer, event_id, processed_at) VALUES ('c', 'old', now() - interval '31 days'), ('c', 'new', now())`)
		require.NoError(t, err)
		relay := outbox.NewRelay(b.pool, b.pub, nil, outbox.RelayConfig{Service: "test"})
		outbox.Cleanup(ctx, relay)
		var ids []string
		rows, err := b.pool.Query(ctx, `SELECT event_id FROM rollcall_inbox`)
		require.NoError(t, err)
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Equal(t, []string{"new"}, ids)
	})

	t.Run("RolledBackEventsAreNeverPublished", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		err := pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			appendEvent(ctx, t, tx, "agg", "ghost")
			return errors.New("use case failed")
		})
		require.Error(t, err)
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			a := appendEvent(ctx, t, tx, "agg", "real")
			require.EqualValues(t, 1, a.AggregateSeq, "a rolled-back event leaves no gap")
			return nil
		}))
		relayAll(t, outbox.NewRelay(b.pool, b.pub, nil, outbox.RelayConfig{Service: "test"}))
		msgs := streamed(t, b.nats.JS)
		require.Len(t, msgs, 1)
		require.Equal(t, "real", body(t, msgs[0]))
	})

	t.Run("RejectsIncompleteRecords", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
			for _, rec := range []outbox.Record{
				{Aggregate: "a", Event: wrapperspb.String("x")},
				{Subject: "sync.v1.x", Event: wrapperspb.String("x")},
				{Subject: "sync.v1.x", Aggregate: "a"},
				{Subject: "sync.v1.*", Aggregate: "a", Event: wrapperspb.String("x")},
				{Subject: "sync.v1..x", Aggregate: "a", Event: wrapperspb.String("x")},
				{Subject: "nowhere.v1.t.x", Aggregate: "a", Event: wrapperspb.String("x")}, // no stream captures it
			} {
				_, err := outbox.Append(ctx, tx, "/t", rec)
				require.ErrorIs(t, err, outbox.ErrInvalid)
			}
			return nil
		}))
	})
}

var errCrash = errors.New("relay process died")

// crashingPublisher passes the first `after` waves through, then publishes
// the next one and panics, as a relay process dying between the broker's acks
// and its commit: the broker has the events, the table marks none of them.
type crashingPublisher struct {
	inner outbox.BatchPublisher
	after int
	calls int
}

func (c *crashingPublisher) PublishBatch(ctx context.Context, events []bus.Event, spanCtx func(int) context.Context) []error {
	errs := c.inner.PublishBatch(ctx, events, spanCtx)
	if c.calls++; c.calls > c.after {
		panic(errCrash)
	}
	return errs
}

type slowPublisher struct {
	inner outbox.BatchPublisher
	delay time.Duration
}

func (s *slowPublisher) PublishBatch(ctx context.Context, events []bus.Event, spanCtx func(int) context.Context) []error {
	errs := s.inner.PublishBatch(ctx, events, spanCtx)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		for i := range errs {
			errs[i] = ctx.Err()
		}
	}
	return errs
}

// flakyBroker refuses the events whose ids it is told to, once each, as a
// broker failing part-way through a batch would.
type flakyBroker struct {
	inner outbox.BatchPublisher
	mu    sync.Mutex
	fail  map[string]bool
}

func (f *flakyBroker) PublishBatch(ctx context.Context, events []bus.Event, spanCtx func(int) context.Context) []error {
	f.mu.Lock()
	var pass []bus.Event
	var passIdx []int
	errs := make([]error, len(events))
	for i, e := range events {
		if f.fail[e.ID] {
			delete(f.fail, e.ID)
			errs[i] = errors.New("nats: timeout")
			continue
		}
		pass = append(pass, e)
		passIdx = append(passIdx, i)
	}
	f.mu.Unlock()
	inner := f.inner.PublishBatch(ctx, pass, func(j int) context.Context { return spanCtx(passIdx[j]) })
	for j, i := range passIdx {
		errs[i] = inner[j]
	}
	return errs
}

// alwaysFail refuses every event whose id is in ids.
type alwaysFail struct {
	f   *flakyBroker
	ids map[string]bool
}

func (a alwaysFail) PublishBatch(ctx context.Context, events []bus.Event, spanCtx func(int) context.Context) []error {
	a.f.mu.Lock()
	for _, e := range events {
		if a.ids[e.ID] {
			a.f.fail[e.ID] = true
		}
	}
	a.f.mu.Unlock()
	return a.f.PublishBatch(ctx, events, spanCtx)
}

// stopAfterFirstWave cancels the relay's context once the first wave is
// acknowledged, as Stop arriving mid-batch would.
type stopAfterFirstWave struct {
	inner outbox.BatchPublisher
	stop  context.CancelFunc
	calls int
}

func (s *stopAfterFirstWave) PublishBatch(ctx context.Context, events []bus.Event, spanCtx func(int) context.Context) []error {
	errs := s.inner.PublishBatch(ctx, events, spanCtx)
	if s.calls++; s.calls == 1 {
		s.stop()
	}
	return errs
}

// silentBroker never acknowledges anything.
type silentBroker struct{}

func (silentBroker) PublishBatch(ctx context.Context, events []bus.Event, _ func(int) context.Context) []error {
	<-ctx.Done()
	errs := make([]error, len(events))
	for i := range errs {
		errs[i] = ctx.Err()
	}
	return errs
}

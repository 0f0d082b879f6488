package bus_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
)

func newEvent(t *testing.T, subject string) bus.Event {
	t.Helper()
	ev, err := bus.NewEvent("/rollcall/test", subject, "thing/1", timestamppb.New(time.Unix(1700000000, 0)))
	require.NoError(t, err)
	return ev
}

// collector records what a handler saw.
type collector struct {
	mu   sync.Mutex
	msgs []*bus.Message
	ch   chan *bus.Message
}

func newCollector() *collector { return &collector{ch: make(chan *bus.Message, 1024)} }

func (c *collector) add(m *bus.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	c.ch <- m
}

func (c *collector) wait(t *testing.T, n int) []*bus.Message {
	t.Helper()
	var out []*bus.Message
	deadline := time.After(15 * time.Second)
	for len(out) < n {
		select {
		case m := <-c.ch:
			out = append(out, m)
		case <-deadline:
			t.Fatalf("got %d messages, want %d", len(out), n)
		}
	}
	return out
}

func startRunner(t *testing.T, n *testkit.NATS, cfgs ...bus.ConsumerConfig) *bus.Runner {
	t.Helper()
	r, err := bus.NewRunner(n.Conn, n.JS, nil, cfgs...)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, r.Stop(ctx))
	})
	return r
}

func deadLetters(t *testing.T, n *testkit.NATS, want int) []bus.DeadLetter {
	t.Helper()
	var got []bus.DeadLetter
	require.Eventually(t, func() bool {
		var err error
		got, err = bus.ListDeadLetters(context.Background(), n.JS, 0, 100)
		require.NoError(t, err)
		return len(got) >= want
	}, 15*time.Second, 20*time.Millisecond, "dead letters")
	return got
}

func TestPublish(t *testing.T) {
	t.Parallel()

	t.Run("SetsCloudEventsHeadersAndDeduplicatesByEventID", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		pub := bus.NewPublisher(n.JS)
		ev := newEvent(t, "sync.v1.t1.employee.e1.synced")

		ack, err := pub.Publish(context.Background(), ev)
		require.NoError(t, err)
		require.False(t, ack.Duplicate)
		ack, err = pub.Publish(context.Background(), ev)
		require.NoError(t, err)
		require.True(t, ack.Duplicate, "same event id twice must be a broker duplicate")

		s, err := n.JS.Stream(context.Background(), bus.StreamSync)
		require.NoError(t, err)
		raw, err := s.GetMsg(context.Background(), ack.Sequence)
		require.NoError(t, err)
		h := bus.HeaderCarrier(raw.Header)
		require.Equal(t, ev.ID, h.Get(bus.HeaderID))
		require.Equal(t, ev.ID, raw.Header.Get(nats.MsgIdHdr))
		require.Equal(t, "google.protobuf.Timestamp", h.Get(bus.HeaderType))
		require.Equal(t, "/rollcall/test", h.Get(bus.HeaderSource))
		require.Equal(t, "thing/1", h.Get(bus.HeaderSubject))
		require.Equal(t, "1.0", h.Get(bus.HeaderSpecVersion))
		require.Equal(t, bus.ContentTypeProtobuf, h.Get(bus.HeaderContentType))
		_, err = time.Parse(time.RFC3339Nano, h.Get(bus.HeaderTime))
		require.NoError(t, err)
	})

	t.Run("RejectsBadEvents", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		pub := bus.NewPublisher(n.JS)
		for name, mutate := range map[string]func(*bus.Event){
			"NoID":         func(e *bus.Event) { e.ID = "" },
			"NoType":       func(e *bus.Event) { e.Type = "" },
			"WildcardSubj": func(e *bus.Event) { e.Subject = "hr.v1.*.x" },
			"EmptySubject": func(e *bus.Event) { e.Subject = "" },
		} {
			ev := newEvent(t, "hr.v1.t.employee.e.changed")
			mutate(&ev)
			_, err := pub.Publish(context.Background(), ev)
			require.ErrorIs(t, err, bus.ErrInvalidEvent, name)
		}
	})
}

func TestEnsureStreamsNeverChangesAnExistingStream(t *testing.T) {
	t.Parallel()
	n := testkit.NewNATS(t)
	ctx := context.Background()
	s, err := n.JS.Stream(ctx, bus.StreamHR)
	require.NoError(t, err)
	cfg := s.CachedInfo().Config
	cfg.MaxAge = time.Hour // an operator's choice
	_, err = n.JS.UpdateStream(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, n.JS.DeleteStream(ctx, bus.StreamSync))
	_, err = n.JS.CreateStream(ctx, jetstream.StreamConfig{Name: bus.StreamSync, Subjects: []string{"sync.v1.>"}, Storage: jetstream.MemoryStorage})

	require.NoError(t, err)
	drift, err := bus.EnsureStreams(ctx, n.JS, bus.StreamOptions{})
	require.NoError(t, err)
	require.Len(t, drift, 1)
	require.Contains(t, drift[0], "SYNC uses Memory storage")
	s, err = n.JS.Stream(ctx, bus.StreamHR)
	require.NoError(t, err)
	require.Equal(t, time.Hour, s.CachedInfo().Config.MaxAge, "left as the operator set it")
}

func TestHeaderCarrier(t *testing.T) {
	t.Parallel()
	h := nats.Header{}
	c := bus.HeaderCarrier(h)
	c.Set("Traceparent", "a")
	require.Equal(t, []string{"a"}, h["traceparent"], "written lowercase")
	h["TraceState"] = []string{"x=1"}
	require.Equal(t, "x=1", c.Get("tracestate"), "read case-insensitively")
	c.Set("tracestate", "y=2")
	require.Equal(t, "y=2", c.Get("TRACESTATE"))
	require.Len(t, h, 2, "setting replaces other spellings")
}

func TestRunner(t *testing.T) {
	t.Parallel()

	t.Run("PoisonMessageIsDeadLetteredAndTheRestFlow", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		got := newCollector()
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamHR, Durable: "poison",
			Handler: bus.Typed(func(_ context.Context, m *bus.Message, _ *timestamppb.Timestamp) error {
				got.add(m)
				return nil
			}),
		})
		pub := bus.NewPublisher(n.JS)
		ctx := context.Background()

		before := newEvent(t, "hr.v1.t1.employee.e1.changed")
		_, err := pub.Publish(ctx, before)
		require.NoError(t, err)
		poison := newEvent(t, "hr.v1.t1.employee.e2.changed")
		poison.Data = []byte{0xff, 0xff, 0xff} // not a protobuf message
		_, err = pub.Publish(ctx, poison)
		require.NoError(t, err)
		wrongType := newEvent(t, "hr.v1.t1.employee.e3.changed")
		wrongType.Type = "rollcall.hr.v1.Nonsense"
		_, err = pub.Publish(ctx, wrongType)
		require.NoError(t, err)
		after := newEvent(t, "hr.v1.t1.employee.e4.changed")
		_, err = pub.Publish(ctx, after)
		require.NoError(t, err)

		msgs := got.wait(t, 2)
		require.Equal(t, before.ID, msgs[0].ID)
		require.Equal(t, after.ID, msgs[1].ID)

		dls := deadLetters(t, n, 2)
		require.Len(t, dls, 2)
		byID := map[string]bus.DeadLetter{dls[0].EventID: dls[0], dls[1].EventID: dls[1]}
		require.Contains(t, byID[poison.ID].Reason, "undecodable")
		require.Equal(t, "hr.v1.t1.employee.e2.changed", byID[poison.ID].OriginalSubject)
		require.Equal(t, bus.StreamHR, byID[poison.ID].OriginalStream)
		require.Equal(t, "poison", byID[poison.ID].Consumer)
		require.Equal(t, poison.Data, byID[poison.ID].Data, "the original payload is kept")
		require.Contains(t, byID[wrongType.ID].Reason, "unexpected event type")
	})

	t.Run("FailingHandlerBacksOffThenDeadLetters", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		var attempts atomic.Int64
		var stamps sync.Map
		ok := newCollector()
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "flaky", MaxDeliver: 3,
			Backoff: []time.Duration{50 * time.Millisecond, 150 * time.Millisecond},
			Handler: func(_ context.Context, m *bus.Message) error {
				if strings.Contains(m.Subject, "bad") {
					stamps.Store(attempts.Add(1), time.Now())
					return errors.New("downstream says no")
				}
				ok.add(m)
				return nil
			},
		})
		pub := bus.NewPublisher(n.JS)
		_, err := pub.Publish(context.Background(), newEvent(t, "sync.v1.t1.employee.bad.synced"))
		require.NoError(t, err)
		_, err = pub.Publish(context.Background(), newEvent(t, "sync.v1.t1.employee.good.synced"))
		require.NoError(t, err)

		ok.wait(t, 1) // not blocked behind the failing one
		dls := deadLetters(t, n, 1)
		require.Contains(t, dls[0].Reason, "gave up after 3 deliveries: downstream says no")
		require.EqualValues(t, 3, dls[0].Deliveries)
		require.EqualValues(t, 3, attempts.Load())
		t1, _ := stamps.Load(int64(1))
		t2, _ := stamps.Load(int64(2))
		t3, _ := stamps.Load(int64(3))
		require.GreaterOrEqual(t, t2.(time.Time).Sub(t1.(time.Time)), 50*time.Millisecond, "first back-off")
		require.GreaterOrEqual(t, t3.(time.Time).Sub(t2.(time.Time)), 150*time.Millisecond, "second back-off")
	})

	t.Run("RetryAfterSetsTheMinimumDelay", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		var first time.Time
		done := make(chan time.Duration, 1)
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "ratelimited", Backoff: []time.Duration{10 * time.Millisecond},
			Handler: func(_ context.Context, m *bus.Message) error {
				if m.NumDelivered == 1 {
					first = time.Now()
					return bus.RetryAfter(errors.New("429"), 400*time.Millisecond)
				}
				done <- time.Since(first)
				return nil
			},
		})
		_, err := bus.NewPublisher(n.JS).Publish(context.Background(), newEvent(t, "sync.v1.t1.x.y"))
		require.NoError(t, err)
		select {
		case d := <-done:
			require.GreaterOrEqual(t, d, 400*time.Millisecond)
		case <-time.After(10 * time.Second):
			t.Fatal("no redelivery")
		}
	})

	t.Run("SlowHandlerIsKeptAliveWithInProgress", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		var calls atomic.Int64
		done := newCollector()
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "slow", AckWait: 600 * time.Millisecond, BatchSize: 1,
			Handler: func(_ context.Context, m *bus.Message) error {
				calls.Add(1)
				time.Sleep(2 * time.Second) // over three ack-wait periods
				done.add(m)
				return nil
			},
		})
		_, err := bus.NewPublisher(n.JS).Publish(context.Background(), newEvent(t, "sync.v1.t1.slow.x"))
		require.NoError(t, err)
		done.wait(t, 1)
		time.Sleep(700 * time.Millisecond)
		require.EqualValues(t, 1, calls.Load(), "no redelivery while the handler works")
	})

	t.Run("PanickingHandlerIsRetriedNotCrashed", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		ok := newCollector()
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "panicky", Backoff: []time.Duration{10 * time.Millisecond},
			Handler: func(_ context.Context, m *bus.Message) error {
				if m.NumDelivered == 1 {
					panic("boom")
				}
				ok.add(m)
				return nil
			},
		})
		_, err := bus.NewPublisher(n.JS).Publish(context.Background(), newEvent(t, "sync.v1.t1.p.x"))
		require.NoError(t, err)
		require.EqualValues(t, 2, ok.wait(t, 1)[0].NumDelivered)
	})

	t.Run("ReplayedDeadLetterIsDeliveredAgain", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		var healthy atomic.Bool
		ok := newCollector()
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "replay",
			Handler: func(_ context.Context, m *bus.Message) error {
				if !healthy.Load() {
					return bus.Permanentf("not yet")
				}
				ok.add(m)
				return nil
			},
		})
		ev := newEvent(t, "sync.v1.t1.r.x")
		_, err := bus.NewPublisher(n.JS).Publish(context.Background(), ev)
		require.NoError(t, err)
		dl := deadLetters(t, n, 1)[0]
		require.Equal(t, "not yet", strings.TrimPrefix(dl.Reason, bus.ErrPermanent.Error()+": "))

		healthy.Store(true)
		require.NoError(t, bus.Replay(context.Background(), n.JS, dl.Seq))
		m := ok.wait(t, 1)[0]
		require.Equal(t, ev.ID, m.ID, "the event keeps its id")
		left, err := bus.ListDeadLetters(context.Background(), n.JS, 0, 10)
		require.NoError(t, err)
		require.Empty(t, left, "a replayed dead letter leaves the dead-letter stream")
		require.ErrorIs(t, bus.Replay(context.Background(), n.JS, dl.Seq), bus.ErrDeadLetterNotFound)

		// Discarding: gone without being published again.
		healthy.Store(false)
		ev2 := newEvent(t, "sync.v1.t1.r.y")
		_, err = bus.NewPublisher(n.JS).Publish(context.Background(), ev2)
		require.NoError(t, err)
		dl2 := deadLetters(t, n, 1)[0]
		healthy.Store(true)
		got, err := bus.Discard(context.Background(), n.JS, dl2.Seq)
		require.NoError(t, err)
		require.Equal(t, ev2.ID, got.EventID)
		left, err = bus.ListDeadLetters(context.Background(), n.JS, 0, 10)
		require.NoError(t, err)
		require.Empty(t, left)
		_, err = bus.Discard(context.Background(), n.JS, dl2.Seq)
		require.ErrorIs(t, err, bus.ErrDeadLetterNotFound)
		time.Sleep(200 * time.Millisecond)
		ok.mu.Lock()
		require.Len(t, ok.msgs, 1, "the discarded event never reached the consumer")
		ok.mu.Unlock()
	})

	t.Run("ParkingThatFailsIsRetriedOnTheExtraDelivery", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		ctx := context.Background()
		// No dead-letter stream: parking fails until it is back.
		require.NoError(t, n.JS.DeleteStream(ctx, bus.StreamDeadLetter))
		var calls atomic.Int64
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "park", MaxDeliver: 2, Backoff: []time.Duration{2 * time.Second},
			Handler: func(context.Context, *bus.Message) error {
				calls.Add(1)
				return errors.New("always fails")
			},
		})
		_, err := bus.NewPublisher(n.JS).Publish(ctx, newEvent(t, "sync.v1.t1.park.x"))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return calls.Load() == 2 }, 10*time.Second, 5*time.Millisecond)
		// Parking the second failure hits "no responders" (the client
		// retries twice, 250ms apart, then gives up); the redelivery comes
		// 2s later. Restore the stream in between.
		time.Sleep(time.Second)
		_, err = bus.EnsureStreams(ctx, n.JS, bus.StreamOptions{}) // the operator restores it
		require.NoError(t, err)

		dls := deadLetters(t, n, 1)
		require.Contains(t, dls[0].Reason, "not acknowledged after 2 deliveries")
		require.EqualValues(t, 2, calls.Load(), "the extra delivery parks without calling the handler")
		require.Empty(t, dls[0].Header.Get("Nats-Sequence"), "broker headers are not copied")
	})

	t.Run("StopDrainsAndIsIdempotent", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		var handled atomic.Int64
		r, err := bus.NewRunner(n.Conn, n.JS, nil, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "drain",
			Handler: func(context.Context, *bus.Message) error {
				time.Sleep(20 * time.Millisecond)
				handled.Add(1)
				return nil
			},
		})
		require.NoError(t, err)
		require.NoError(t, r.Start(context.Background()))
		pub := bus.NewPublisher(n.JS)
		for range 10 {
			_, err := pub.Publish(context.Background(), newEvent(t, "sync.v1.t1.d.x"))
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool { return handled.Load() > 0 }, 5*time.Second, 5*time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, r.Stop(ctx))
		after := handled.Load()
		require.NoError(t, r.Stop(ctx), "second stop")
		time.Sleep(100 * time.Millisecond)
		require.Equal(t, after, handled.Load(), "nothing handled after Stop returns")

		cons, err := n.JS.Consumer(context.Background(), bus.StreamSync, "drain")
		require.NoError(t, err)
		info, err := cons.Info(context.Background())
		require.NoError(t, err)
		require.EqualValues(t, 10-after, info.NumPending+uint64(info.NumAckPending), "unhandled messages stay for the next run")
	})
}

package bus_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
)

// publishN publishes n events on subjects made by subject(i) and returns
// their ids in order.
func publishN(t *testing.T, n *testkit.NATS, count int, subject func(i int) string) []string {
	t.Helper()
	pub := bus.NewPublisher(n.JS)
	ids := make([]string, count)
	for i := range count {
		ev := newEvent(t, subject(i))
		_, err := pub.Publish(context.Background(), ev)
		require.NoError(t, err)
		ids[i] = ev.ID
	}
	return ids
}

func TestBatchRunner(t *testing.T) {
	t.Parallel()

	t.Run("MessagesArriveInBatchesAndEachIsSettledOnItsOwn", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		// Published before the runner starts, so they arrive together.
		publishN(t, n, 40, func(i int) string {
			switch i {
			case 7:
				return "hr.v1.t1.employee.permanent.changed"
			case 13:
				return "hr.v1.t1.employee.flaky.changed"
			}
			return "hr.v1.t1.employee.ok.changed"
		})
		pub := bus.NewPublisher(n.JS)
		poison := newEvent(t, "hr.v1.t1.employee.poison.changed")
		poison.Data = []byte{0xff, 0xff, 0xff}
		_, err := pub.Publish(context.Background(), poison)
		require.NoError(t, err)

		var (
			mu         sync.Mutex
			sizes      []int
			acked      = map[string]int{}
			flakies    atomic.Int64
			misaligned bool
		)
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamHR, Durable: "batched", BatchSize: 64, MaxBatch: 16,
			Backoff: []time.Duration{50 * time.Millisecond},
			BatchHandler: bus.TypedBatch(func(_ context.Context, ms []*bus.Message, evs []*timestamppb.Timestamp) []error {
				errs := make([]error, len(ms))
				mu.Lock()
				defer mu.Unlock()
				if len(evs) != len(ms) {
					misaligned = true
				}
				sizes = append(sizes, len(ms))
				for i, m := range ms {
					switch {
					case strings.Contains(m.Subject, "permanent"):
						errs[i] = bus.Permanentf("refused for good")
					case strings.Contains(m.Subject, "flaky") && flakies.Add(1) == 1:
						errs[i] = errors.New("try again")
					default:
						acked[m.ID]++
					}
				}
				return errs
			}),
		})
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(acked) == 39
		}, 15*time.Second, 10*time.Millisecond, "every good message, and the flaky one on its second delivery")

		dls := deadLetters(t, n, 2)
		reasons := map[string]string{}
		for _, d := range dls {
			reasons[d.OriginalSubject] = d.Reason
		}
		require.Len(t, reasons, 2)
		require.Contains(t, reasons["hr.v1.t1.employee.poison.changed"], "undecodable")
		require.Contains(t, reasons["hr.v1.t1.employee.permanent.changed"], "refused for good")

		mu.Lock()
		defer mu.Unlock()
		for id, k := range acked {
			require.Equal(t, 1, k, "handled once: %s", id)
		}
		require.EqualValues(t, 2, flakies.Load())
		require.False(t, misaligned, "an event for every message")
		largest := 0
		for _, s := range sizes {
			require.LessOrEqual(t, s, 16, "MaxBatch bounds a call")
			largest = max(largest, s)
		}
		require.Greater(t, largest, 1, "messages that arrived together were handled together: %v", sizes)

		cons, err := n.JS.Consumer(context.Background(), bus.StreamHR, "batched")
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			info, err := cons.Info(context.Background())
			return err == nil && info.NumAckPending == 0 && info.NumPending == 0
		}, 5*time.Second, 10*time.Millisecond, "everything acked or terminated")
	})

	t.Run("ABrokenBatchIsRetriedWhole", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		publishN(t, n, 5, func(int) string { return "sync.v1.t1.b.x" })
		var calls atomic.Int64
		// The messages of the two broken batches, and every message's
		// delivery count when a batch took it. (How the five arrive is up
		// to the server: the broken batches may hold any of them.)
		var broken, delivered sync.Map
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "broken", Backoff: []time.Duration{20 * time.Millisecond},
			BatchHandler: func(_ context.Context, ms []*bus.Message) []error {
				switch calls.Add(1) {
				case 1:
					for _, m := range ms {
						broken.Store(m.ID, true)
					}
					return nil // wrong number of answers
				case 2:
					for _, m := range ms {
						broken.Store(m.ID, true)
					}
					panic("boom")
				}
				for _, m := range ms {
					delivered.Store(m.ID, m.NumDelivered)
				}
				return make([]error, len(ms))
			},
		})
		require.Eventually(t, func() bool {
			k := 0
			delivered.Range(func(any, any) bool { k++; return true })
			return k == 5
		}, 15*time.Second, 10*time.Millisecond)
		seen := 0
		broken.Range(func(id, _ any) bool {
			seen++
			v, ok := delivered.Load(id)
			require.True(t, ok, "a message of a broken batch is handled again")
			require.GreaterOrEqual(t, v.(uint64), uint64(2), "redelivered, not lost")
			return true
		})
		require.Positive(t, seen, "the broken batches held messages")
		require.Empty(t, mustList(t, n), "nothing dead-lettered")
	})

	t.Run("ASlowBatchAndTheMessagesWaitingBehindItAreKeptAlive", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		publishN(t, n, 3, func(int) string { return "sync.v1.t1.slow.x" })
		var (
			mu        sync.Mutex
			delivered []uint64
		)
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "slowbatch", AckWait: 600 * time.Millisecond, MaxBatch: 1,
			BatchHandler: func(_ context.Context, ms []*bus.Message) []error {
				// Over an ack-wait period each; the next message waits
				// behind this one for as long.
				time.Sleep(time.Second)
				mu.Lock()
				for _, m := range ms {
					delivered = append(delivered, m.NumDelivered)
				}
				mu.Unlock()
				return make([]error, len(ms))
			},
		})
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(delivered) >= 3
		}, 15*time.Second, 10*time.Millisecond)
		time.Sleep(1500 * time.Millisecond) // a redelivered copy would be handled by now
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []uint64{1, 1, 1}, delivered, "no redelivery, neither of the running message nor of those waiting")
	})

	t.Run("BatchesRunConcurrentlyUpToTheLimit", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		var running, peak, handled atomic.Int64
		startRunner(t, n, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "concurrent", MaxBatch: 2, BatchConcurrency: 3,
			BatchHandler: func(_ context.Context, ms []*bus.Message) []error {
				now := running.Add(1)
				for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
				}
				time.Sleep(100 * time.Millisecond)
				running.Add(-1)
				handled.Add(int64(len(ms)))
				return make([]error, len(ms))
			},
		})
		publishN(t, n, 20, func(int) string { return "sync.v1.t1.c.x" })
		require.Eventually(t, func() bool { return handled.Load() == 20 }, 15*time.Second, 10*time.Millisecond)
		require.EqualValues(t, 3, peak.Load())
	})

	t.Run("StopHandlesWhatWasBufferedAndIsIdempotent", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		var handled atomic.Int64
		r, err := bus.NewRunner(n.Conn, n.JS, nil, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: "batchdrain", MaxBatch: 3,
			BatchHandler: func(_ context.Context, ms []*bus.Message) []error {
				time.Sleep(20 * time.Millisecond)
				handled.Add(int64(len(ms)))
				return make([]error, len(ms))
			},
		})
		require.NoError(t, err)
		require.NoError(t, r.Start(context.Background()))
		publishN(t, n, 30, func(int) string { return "sync.v1.t1.d.x" })
		require.Eventually(t, func() bool { return handled.Load() > 0 }, 5*time.Second, 5*time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, r.Stop(ctx))
		after := handled.Load()
		require.NoError(t, r.Stop(ctx), "second stop")
		time.Sleep(100 * time.Millisecond)
		require.Equal(t, after, handled.Load(), "nothing handled after Stop returns")

		cons, err := n.JS.Consumer(context.Background(), bus.StreamSync, "batchdrain")
		require.NoError(t, err)
		info, err := cons.Info(context.Background())
		require.NoError(t, err)
		require.EqualValues(t, 30-after, info.NumPending+uint64(info.NumAckPending), "unhandled messages stay for the next run")
	})

	t.Run("NeedsExactlyOneHandler", func(t *testing.T) {
		t.Parallel()
		n := testkit.NewNATS(t)
		h := func(context.Context, *bus.Message) error { return nil }
		bh := func(_ context.Context, ms []*bus.Message) []error { return make([]error, len(ms)) }
		_, err := bus.NewRunner(n.Conn, n.JS, nil, bus.ConsumerConfig{Stream: bus.StreamSync, Durable: "both", Handler: h, BatchHandler: bh})
		require.Error(t, err)
		_, err = bus.NewRunner(n.Conn, n.JS, nil, bus.ConsumerConfig{Stream: bus.StreamSync, Durable: "neither"})
		require.Error(t, err)
	})
}

func mustList(t *testing.T, n *testkit.NATS) []bus.DeadLetter {
	t.Helper()
	dls, err := bus.ListDeadLetters(context.Background(), n.JS, 0, 10)
	require.NoError(t, err)
	return dls
}

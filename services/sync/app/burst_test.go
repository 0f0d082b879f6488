package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The consumer's reports turn the propagator's hold on and off: a batch of
// BurstBacklog or more, or that many waiting behind it, starts (or renews)
// a burst; a batch with less behind it ends the burst when it is stored,
// and the end wakes the propagator. Without BurstHold nothing is held.
func TestBurstReportsHoldThePropagator(t *testing.T) {
	t.Parallel()
	p := &Propagator{BurstHold: 500 * time.Millisecond}
	p.defaults()
	s := &Service{Burst: p.Burst}
	held := func() bool { h, _ := p.hold(); return h > 0 }

	require.False(t, held(), "no burst yet")
	more := s.BatchStarting(10, 3)
	require.False(t, more)
	require.False(t, held(), "a small batch with nothing behind it is no burst")
	s.BatchDone(more)

	more = s.BatchStarting(10, BurstBacklog)
	require.True(t, more)
	require.True(t, held(), "many changes behind a batch: a burst")
	s.BatchDone(more)
	require.True(t, held(), "still many behind: the burst goes on until the next batch")

	more = s.BatchStarting(BurstBacklog, 0)
	require.False(t, more)
	require.True(t, held(), "the burst's last, large batch is held while it is stored")
	select {
	case <-p.wake:
	default:
	}
	s.BatchDone(more)
	require.False(t, held(), "nothing behind the stored batch: the burst is over")
	select {
	case <-p.wake:
	default:
		t.Fatal("the end of a burst wakes the propagator")
	}

	// A burst whose batches stop coming ends by itself.
	p.Burst(20 * time.Millisecond)
	require.True(t, held())
	require.Eventually(t, func() bool { return !held() }, time.Second, 5*time.Millisecond)

	off := &Propagator{}
	off.defaults()
	off.Burst(time.Minute)
	require.False(t, func() bool { h, _ := off.hold(); return h > 0 }(), "BurstHold 0: never held")
}

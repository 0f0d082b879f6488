package bus

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

// BatchHandler processes messages delivered together, typically in one
// database transaction, and returns one error per message, in order: the
// runner acts on each as on a Handler's answer (nil acks it; Permanent
// dead-letters that message alone; RetryAfter or any other error naks it
// with back-off, dead-lettering it after MaxDeliver). So one bad message
// never takes the others down with it, provided the handler keeps its
// failure to that message. Answering with the wrong number of errors, or
// panicking, retries the whole batch.
//
// Every message keeps a consumer span of its own in its producer's trace;
// ctx carries a batch span linked to them.
type BatchHandler func(ctx context.Context, ms []*Message) []error

// TypedBatch adapts a batch handler of one protobuf event type. Each message
// is decoded, type-checked and validated as Typed does; one that fails is
// dead-lettered with the reason and never reaches fn, which is given the
// rest (ms[i] carried evs[i]) and answers for each of them.
func TypedBatch[T any, PT interface {
	*T
	proto.Message
}](fn func(ctx context.Context, ms []*Message, evs []PT) []error) BatchHandler {
	return func(ctx context.Context, ms []*Message) []error {
		errs := make([]error, len(ms))
		good := make([]*Message, 0, len(ms))
		evs := make([]PT, 0, len(ms))
		idx := make([]int, 0, len(ms))
		for i, m := range ms {
			ev, err := decode[T, PT](m)
			if err != nil {
				errs[i] = err
				continue
			}
			good, evs, idx = append(good, m), append(evs, ev), append(idx, i)
		}
		if len(good) == 0 {
			return errs
		}
		got := fn(ctx, good, evs)
		if len(got) != len(good) {
			err := fmt.Errorf("bus: batch handler answered %d results for %d messages", len(got), len(good))
			for _, i := range idx {
				errs[i] = err
			}
			return errs
		}
		for j, i := range idx {
			errs[i] = got[j]
		}
		return errs
	}
}

// batcher hands the messages a consume context delivers to BatchHandler
// calls. Messages wait in a queue (bounded by MaxAckPending: the server
// delivers no more unacknowledged ones) and are kept alive there with
// InProgress, so a batch that runs long does not make the ones waiting
// behind it time out and come again.
type batcher struct {
	mu      sync.Mutex
	waiting []jetstream.Msg
	since   []time.Time   // when each waiting message arrived
	ready   chan struct{} // told when the queue becomes non-empty
	quit    chan struct{} // closed by Stop once the consume context is drained
	done    chan struct{} // closed when every batch has been handled
}

// batches starts the batcher of c and returns the consume callback that
// feeds it. The caller holds r.mu.
func (r *Runner) batches(bg context.Context, c *ConsumerConfig) jetstream.MessageHandler {
	b := &batcher{ready: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	r.batchers = append(r.batchers, b)
	go r.runBatches(bg, c, b)
	go b.keepAlive(c.AckWait)
	return func(msg jetstream.Msg) {
		b.mu.Lock()
		b.waiting, b.since = append(b.waiting, msg), append(b.since, time.Now())
		b.mu.Unlock()
		select {
		case b.ready <- struct{}{}:
		default:
		}
	}
}

// take removes up to n waiting messages, oldest first, and says how many
// are left waiting.
func (b *batcher) take(n int) ([]jetstream.Msg, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n = min(n, len(b.waiting))
	batch := slices.Clone(b.waiting[:n])
	b.waiting, b.since = slices.Delete(b.waiting, 0, n), slices.Delete(b.since, 0, n)
	return batch, len(b.waiting)
}

// keepAlive sends InProgress, every third of the ack wait, for the
// messages that have waited that long, until the batcher is done.
func (b *batcher) keepAlive(ackWait time.Duration) {
	t := time.NewTicker(ackWait / 3)
	defer t.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-t.C:
		}
		b.mu.Lock()
		var stale []jetstream.Msg
		for i, at := range b.since {
			if time.Since(at) >= ackWait/3 {
				stale = append(stale, b.waiting[i])
			}
		}
		b.mu.Unlock()
		for _, m := range stale {
			_ = m.InProgress()
		}
	}
}

// runBatches takes a free slot, then whatever messages have arrived (at
// least one, at most MaxBatch), and handles them in a goroutine; so batches
// grow while every slot is busy, as in a group commit. After quit it
// handles what is left and waits for the batches in flight.
func (r *Runner) runBatches(bg context.Context, c *ConsumerConfig, b *batcher) {
	defer close(b.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, c.BatchConcurrency)
	for {
		slots <- struct{}{}
		batch, queued := b.take(c.MaxBatch)
		for len(batch) == 0 {
			select {
			case <-b.ready:
			case <-b.quit:
				// The consume context is closed: nothing more arrives.
				if batch, queued = b.take(c.MaxBatch); len(batch) == 0 {
					return
				}
				continue
			}
			batch, queued = b.take(c.MaxBatch)
		}
		wg.Go(func() {
			defer func() { <-slots }()
			r.handleBatch(bg, c, batch, queued)
		})
	}
}

type batchItem struct {
	msg  jetstream.Msg
	m    *Message
	ctx  context.Context
	span trace.Span
}

// handleBatch runs the batch handler on msgs and settles each message by
// its own answer; queued messages were left waiting for later batches.
func (r *Runner) handleBatch(bg context.Context, c *ConsumerConfig, msgs []jetstream.Msg, queued int) {
	items := make([]batchItem, 0, len(msgs))
	links := make([]trace.Link, 0, len(msgs))
	for _, msg := range msgs {
		m := toMessage(msg)
		m.Queued = queued
		ctx, span := r.startSpan(bg, c, msg, m)
		if m.NumDelivered > uint64(c.MaxDeliver) {
			r.park(ctx, c, msg, m, fmt.Sprintf("not acknowledged after %d deliveries (handler timed out, its process stopped, or parking failed)", c.MaxDeliver))
			span.End()
			continue
		}
		items = append(items, batchItem{msg: msg, m: m, ctx: ctx, span: span})
		links = append(links, trace.Link{SpanContext: span.SpanContext()})
	}
	if len(items) == 0 {
		return
	}
	ctx, bspan := tracer().Start(bg, "process batch "+c.Durable,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.consumer.group.name", c.Durable),
			attribute.Int("messaging.batch.message_count", len(items)),
		))
	start := time.Now()
	errs := r.runBatchHandler(ctx, c, items)
	took := time.Since(start).Seconds()
	bspan.End()
	if len(errs) != len(items) {
		err := fmt.Errorf("bus: batch handler answered %d results for %d messages", len(errs), len(items))
		r.log.ErrorContext(ctx, "batch handler broke its contract; retrying the batch", "stream", c.Stream, "consumer", c.Durable, "error", err)
		errs = make([]error, len(items))
		for i := range errs {
			errs[i] = err
		}
	}
	hist := metricHandlerSeconds.WithLabelValues(c.Stream, c.Durable)
	for i, it := range items {
		hist.Observe(took)
		r.settle(it.ctx, c, it.msg, it.m, it.span, errs[i])
		it.span.End()
	}
}

// runBatchHandler calls the batch handler, keeping every message alive with
// InProgress while it runs and turning a panic into an error for each.
func (r *Runner) runBatchHandler(ctx context.Context, c *ConsumerConfig, items []batchItem) (errs []error) {
	msgs := make([]jetstream.Msg, len(items))
	for i, it := range items {
		msgs[i] = it.msg
	}
	defer keepAlive(c.AckWait/3, msgs...)()
	defer func() {
		if p := recover(); p != nil {
			r.log.ErrorContext(ctx, "batch handler panicked", "panic", p, "stack", string(debug.Stack()))
			err := fmt.Errorf("handler panicked: %v", p)
			errs = make([]error, len(items))
			for i := range errs {
				errs[i] = err
			}
		}
	}()
	ms := make([]*Message, len(items))
	for i, it := range items {
		ms[i] = it.m
	}
	return c.BatchHandler(ctx, ms)
}

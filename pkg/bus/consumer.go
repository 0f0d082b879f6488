package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"buf.build/go/protovalidate"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

// Message is a delivered event as a handler sees it.
type Message struct {
	Subject      string
	ID           string // ce-id (the event id)
	Type         string // ce-type
	Source       string // ce-source
	Topic        string // ce-subject
	Time         time.Time
	Data         []byte
	Header       nats.Header
	Stream       string
	StreamSeq    uint64
	NumDelivered uint64
	// NumPending is how many messages of the stream were still waiting
	// to be delivered to this consumer when this one was.
	NumPending uint64
	// Queued (batch handlers) is how many messages delivered to this
	// process were waiting for a later batch when this one was taken; with
	// NumPending, the consumer's backlog behind the batch.
	Queued int
	// SpanContext is this delivery's consumer span (a child of the
	// publisher's), for work that continues the message's trace later,
	// e.g. a batch handler storing it with what the message changed.
	SpanContext trace.SpanContext
}

// Handler processes one message. Return nil to ack, an error wrapped with
// Permanent to dead-letter at once, RetryAfter to set the redelivery delay,
// and any other error to retry with back-off until MaxDeliver, after which the
// message is dead-lettered.
type Handler func(ctx context.Context, m *Message) error

// Typed adapts a handler of one protobuf event type. It decodes the payload,
// checks that ce-type (when present: upstream publishers in other languages
// may leave it out, and then the consumer's subject filter is what selects the
// type) names the same message, and validates it
// with protovalidate; a message failing any of these is dead-lettered with
// the reason and never reaches fn.
func Typed[T any, PT interface {
	*T
	proto.Message
}](fn func(ctx context.Context, m *Message, ev PT) error) Handler {
	return func(ctx context.Context, m *Message) error {
		ev, err := decode[T, PT](m)
		if err != nil {
			return err
		}
		return fn(ctx, m, ev)
	}
}

// decode is Typed's check of one message: its type, its payload and the
// event's rules; a failure is permanent.
func decode[T any, PT interface {
	*T
	proto.Message
}](m *Message) (PT, error) {
	ev := PT(new(T))
	want := TypeOf(ev)
	if m.Type != "" && m.Type != want {
		return nil, Permanentf("unexpected event type %q, want %q", m.Type, want)
	}
	if err := proto.Unmarshal(m.Data, ev); err != nil {
		return nil, Permanentf("undecodable %s: %v", want, err)
	}
	if err := protovalidate.Validate(ev); err != nil {
		return nil, Permanentf("invalid %s: %v", want, err)
	}
	return ev, nil
}

// ConsumerConfig describes one durable pull consumer and its handler.
type ConsumerConfig struct {
	Stream         string
	Durable        string
	FilterSubjects []string
	// Handler handles one message at a time. Set it or BatchHandler.
	Handler Handler
	// BatchHandler, instead of Handler, is given the messages that have
	// arrived together (up to MaxBatch) and answers for each one: a
	// consumer that commits one transaction for many messages. See
	// BatchHandler for how its answers are acted on.
	BatchHandler BatchHandler

	// MaxDeliver bounds deliveries before dead-lettering (default 5).
	MaxDeliver int
	// AckWait is how long the server waits for an ack before redelivering
	// (default 30s). Slow handlers are kept alive with InProgress.
	AckWait time.Duration
	// Backoff gives the NakWithDelay delay after the n-th failed delivery
	// (the last entry repeats). Default 1s, 5s, 30s, 2m.
	Backoff []time.Duration
	// MaxAckPending bounds messages in flight (default 256).
	MaxAckPending int
	// BatchSize is how many messages the client buffers (default 16; keep it
	// small for slow handlers so buffered messages do not time out).
	BatchSize int
	// MaxBatch bounds the messages given to one BatchHandler call (default
	// BatchSize). A call takes whatever has arrived, so batches grow with
	// the load and a lone message is handled at once.
	MaxBatch int
	// BatchConcurrency is how many BatchHandler calls run at once (default
	// 1). While they all run, arriving messages gather into the next batch.
	BatchConcurrency int
}

func (c *ConsumerConfig) setDefaults() error {
	if c.Stream == "" || c.Durable == "" || (c.Handler == nil) == (c.BatchHandler == nil) {
		return errors.New("bus: consumer needs Stream, Durable and one of Handler or BatchHandler")
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 256
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 16
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = c.BatchSize
	}
	if c.BatchConcurrency <= 0 {
		c.BatchConcurrency = 1
	}
	return nil
}

func (c *ConsumerConfig) delay(delivered uint64) time.Duration {
	i := int(delivered) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(c.Backoff) {
		i = len(c.Backoff) - 1
	}
	return c.Backoff[i]
}

// Runner runs durable pull consumers until stopped. Start it once; Stop
// drains every consumer (messages already buffered are still handled) and
// waits, and may be called more than once.
type Runner struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
	dlq *deadLetterer

	mu      sync.Mutex
	started bool
	stopped bool
	// closing stops advisory callbacks from starting work once Stop waits.
	closingMu sync.Mutex
	closing   bool

	contexts []jetstream.ConsumeContext
	batchers []*batcher
	subs     []*nats.Subscription
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	configs  []ConsumerConfig
}

// NewRunner returns a Runner for the given consumers.
func NewRunner(nc *nats.Conn, js jetstream.JetStream, log *slog.Logger, consumers ...ConsumerConfig) (*Runner, error) {
	if log == nil {
		log = slog.Default()
	}
	for i := range consumers {
		if err := consumers[i].setDefaults(); err != nil {
			return nil, err
		}
	}
	return &Runner{nc: nc, js: js, log: log, dlq: &deadLetterer{js: js}, configs: consumers}, nil
}

// Start creates or updates each durable consumer and begins consuming.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("bus: runner already started")
	}
	r.started = true
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	for i := range r.configs {
		c := &r.configs[i]
		cons, err := r.js.CreateOrUpdateConsumer(ctx, c.Stream, jetstream.ConsumerConfig{
			Durable:        c.Durable,
			FilterSubjects: c.FilterSubjects,
			AckPolicy:      jetstream.AckExplicitPolicy,
			AckWait:        c.AckWait,
			// One delivery more than the handler gets: if parking the
			// message failed on its last attempt, or that attempt's ack
			// wait expired (process died), the server still delivers it
			// once more and the runner parks it without calling the
			// handler. The max-deliveries advisory is only a fallback.
			MaxDeliver:    c.MaxDeliver + 1,
			MaxAckPending: c.MaxAckPending,
			DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		if err != nil {
			_ = r.stopLocked(ctx)
			return fmt.Errorf("bus: consumer %s/%s: %w", c.Stream, c.Durable, err)
		}
		// The server only announces a message that ran out of deliveries
		// through ack-wait expiry (handler hung, process died); move it to
		// the dead-letter stream ourselves.
		sub, err := r.nc.Subscribe(maxDeliveriesAdvisory(c.Stream, c.Durable), r.onMaxDeliveries(bg, c))
		if err != nil {
			_ = r.stopLocked(ctx)
			return fmt.Errorf("bus: advisory subscription %s/%s: %w", c.Stream, c.Durable, err)
		}
		r.subs = append(r.subs, sub)
		var handler jetstream.MessageHandler
		if c.BatchHandler != nil {
			handler = r.batches(bg, c)
		} else {
			handler = r.handle(bg, c)
		}
		cc, err := cons.Consume(handler,
			jetstream.PullMaxMessages(c.BatchSize),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				if !errors.Is(err, jetstream.ErrNoHeartbeat) || r.nc.IsConnected() {
					r.log.WarnContext(bg, "consume error", "stream", c.Stream, "consumer", c.Durable, "error", err)
				}
			}))
		if err != nil {
			_ = r.stopLocked(ctx)
			return fmt.Errorf("bus: consume %s/%s: %w", c.Stream, c.Durable, err)
		}
		r.contexts = append(r.contexts, cc)
		r.wg.Add(1)
		go r.reportPending(bg, cons, c)
	}
	return nil
}

// Stop drains every consumer and waits until in-flight handlers finish or
// ctx ends. It is safe to call more than once and before Start.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopLocked(ctx)
}

func (r *Runner) stopLocked(ctx context.Context) error {
	if r.stopped {
		return nil
	}
	r.stopped = true
	for _, s := range r.subs {
		_ = s.Unsubscribe()
	}
	// Drain hands buffered messages to the handler; without a connection
	// nothing can be acked anyway, so stop at once and let them redeliver.
	drain := r.nc.IsConnected()
	for _, cc := range r.contexts {
		if drain {
			cc.Drain()
		} else {
			cc.Stop()
		}
	}
	var err error
	for _, cc := range r.contexts {
		select {
		case <-cc.Closed():
		case <-ctx.Done():
			err = fmt.Errorf("bus: drain consumers: %w", ctx.Err())
		}
	}
	// Every buffered message has reached its batcher by now: handle them
	// and wait for the batches in flight.
	for _, b := range r.batchers {
		close(b.quit)
	}
	for _, b := range r.batchers {
		select {
		case <-b.done:
		case <-ctx.Done():
			err = fmt.Errorf("bus: drain consumers: %w", ctx.Err())
		}
	}
	r.closingMu.Lock()
	r.closing = true
	r.closingMu.Unlock()
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	return err
}

func (r *Runner) reportPending(ctx context.Context, cons jetstream.Consumer, c *ConsumerConfig) {
	defer r.wg.Done()
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		if info, err := cons.Info(ctx); err == nil {
			metricConsumerPending.WithLabelValues(c.Stream, c.Durable).Set(float64(info.NumPending))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runner) handle(bg context.Context, c *ConsumerConfig) jetstream.MessageHandler {
	return func(msg jetstream.Msg) {
		m := toMessage(msg)
		ctx, span := r.startSpan(bg, c, msg, m)
		defer span.End()

		if m.NumDelivered > uint64(c.MaxDeliver) {
			r.park(ctx, c, msg, m, fmt.Sprintf("not acknowledged after %d deliveries (handler timed out, its process stopped, or parking failed)", c.MaxDeliver))
			return
		}
		start := time.Now()
		err := r.runHandler(ctx, c, msg, m)
		metricHandlerSeconds.WithLabelValues(c.Stream, c.Durable).Observe(time.Since(start).Seconds())
		r.settle(ctx, c, msg, m, span, err)
	}
}

// startSpan starts the consumer span of one message, continuing the trace
// its headers carry.
func (r *Runner) startSpan(bg context.Context, c *ConsumerConfig, msg jetstream.Msg, m *Message) (ctx context.Context, span trace.Span) {
	defer func() { m.SpanContext = span.SpanContext() }()
	ctx = otel.GetTextMapPropagator().Extract(bg, HeaderCarrier(msg.Headers()))
	return tracer().Start(ctx, "process "+orDefault(m.Type, m.Subject),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", m.Subject),
			attribute.String("messaging.consumer.group.name", c.Durable),
			attribute.String("messaging.message.id", m.ID),
			attribute.Int64("messaging.nats.delivered", int64(m.NumDelivered)),
		))
}

// settle acts on a handler's verdict on one message: nil acks it, a
// permanent error (or the last delivery's error) parks it in the
// dead-letter stream, anything else naks it with the back-off delay (or
// the RetryAfter asked for, when longer).
func (r *Runner) settle(ctx context.Context, c *ConsumerConfig, msg jetstream.Msg, m *Message, span trace.Span, err error) {
	if err == nil {
		if aerr := msg.Ack(); aerr != nil {
			r.log.WarnContext(ctx, "ack failed; the message will be redelivered", "stream", c.Stream, "consumer", c.Durable, "subject", m.Subject, "event_id", m.ID, "error", aerr)
		}
		metricConsumed.WithLabelValues(c.Stream, c.Durable, "ack").Inc()
		return
	}
	log := r.log.With("stream", c.Stream, "consumer", c.Durable, "subject", m.Subject, "event_id", m.ID, "delivered", m.NumDelivered)
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())

	if IsPermanent(err) || m.NumDelivered >= uint64(c.MaxDeliver) {
		reason := err.Error()
		if !IsPermanent(err) {
			reason = fmt.Sprintf("gave up after %d deliveries: %s", m.NumDelivered, reason)
		}
		r.park(ctx, c, msg, m, reason)
		return
	}
	delay := c.delay(m.NumDelivered)
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > delay {
		delay = ra.After
	}
	if nerr := msg.NakWithDelay(delay); nerr != nil {
		log.WarnContext(ctx, "nak failed; the message is redelivered after the ack wait", "error", nerr)
	}
	log.InfoContext(ctx, "handler failed; will retry", "error", err, "delay", delay)
	metricConsumed.WithLabelValues(c.Stream, c.Durable, "retry").Inc()
}

// park moves m to the dead-letter stream and terminates it. If the
// dead-letter publish fails the message is not terminated: it is redelivered
// (the consumer allows one delivery beyond MaxDeliver for this) and parked
// then.
func (r *Runner) park(ctx context.Context, c *ConsumerConfig, msg jetstream.Msg, m *Message, reason string) {
	log := r.log.With("stream", c.Stream, "consumer", c.Durable, "subject", m.Subject, "event_id", m.ID, "delivered", m.NumDelivered)
	if derr := r.dlq.send(ctx, c.Stream, c.Durable, m, reason); derr != nil {
		log.ErrorContext(ctx, "dead-letter publish failed; will retry", "error", derr, "reason", reason)
		if nerr := msg.NakWithDelay(c.delay(m.NumDelivered)); nerr != nil {
			log.WarnContext(ctx, "nak failed; the message is redelivered after the ack wait", "error", nerr)
		}
		metricConsumed.WithLabelValues(c.Stream, c.Durable, "retry").Inc()
		return
	}
	if terr := msg.TermWithReason(truncate(reason, 200)); terr != nil {
		// Parked already; a redelivery is parked again under the same
		// broker id, so the dead-letter stream keeps one copy.
		log.WarnContext(ctx, "term failed after parking", "error", terr)
	}
	log.WarnContext(ctx, "message dead-lettered", "reason", reason)
	metricConsumed.WithLabelValues(c.Stream, c.Durable, "deadletter").Inc()
}

// runHandler calls the handler, keeping the message alive with InProgress
// while it runs and turning a panic into an error.
func (r *Runner) runHandler(ctx context.Context, c *ConsumerConfig, msg jetstream.Msg, m *Message) (err error) {
	defer keepAlive(c.AckWait/3, msg)()
	defer func() {
		if p := recover(); p != nil {
			r.log.ErrorContext(ctx, "handler panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return c.Handler(ctx, m)
}

// keepAlive sends InProgress for msgs every interval until the returned
// stop is called, so the server does not redeliver them while a handler
// works on them.
func keepAlive(every time.Duration, msgs ...jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	return func() { close(done) }
}

func toMessage(msg jetstream.Msg) *Message {
	h := msg.Headers()
	m := &Message{
		Subject: msg.Subject(),
		Data:    msg.Data(),
		Header:  h,
		ID:      HeaderCarrier(h).Get(HeaderID),
		Type:    HeaderCarrier(h).Get(HeaderType),
		Source:  HeaderCarrier(h).Get(HeaderSource),
		Topic:   HeaderCarrier(h).Get(HeaderSubject),
	}
	if t, err := time.Parse(time.RFC3339Nano, HeaderCarrier(h).Get(HeaderTime)); err == nil {
		m.Time = t
	}
	if md, err := msg.Metadata(); err == nil {
		m.Stream = md.Stream
		m.StreamSeq = md.Sequence.Stream
		m.NumDelivered = md.NumDelivered
		m.NumPending = md.NumPending
	}
	if m.ID == "" {
		m.ID = HeaderCarrier(h).Get(HeaderMsgID)
	}
	return m
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

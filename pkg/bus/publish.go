package bus

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

const instrumentation = "rollcall.dev/pkg/bus"

// tracer is looked up at use time: a tracer taken at package start-up stays
// bound to whichever provider was global first, and spans would miss a
// provider installed later (telemetry.Setup in main, or a test's recorder).
func tracer() trace.Tracer { return otel.GetTracerProvider().Tracer(instrumentation) }

// Publisher publishes events to JetStream and waits for the stream's ack.
type Publisher struct {
	js jetstream.JetStream
}

// NewPublisher returns a Publisher on js.
func NewPublisher(js jetstream.JetStream) *Publisher { return &Publisher{js: js} }

// Publish sends e inside a producer span and returns the stream's ack. A
// duplicate (same event id within the stream's duplicate window) is not an
// error: the ack says Duplicate.
func (p *Publisher) Publish(ctx context.Context, e Event) (*jetstream.PubAck, error) {
	ctx, span := StartPublishSpan(ctx, e)
	defer span.End()
	msg, err := e.Msg(ctx)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	ack, err := p.js.PublishMsg(ctx, msg)
	if err != nil {
		metricPublished.WithLabelValues(streamOfSubject(e.Subject), "error").Inc()
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, fmt.Errorf("bus: publish %s: %w", e.Subject, err)
	}
	outcome := "ok"
	if ack.Duplicate {
		outcome = "duplicate"
	}
	metricPublished.WithLabelValues(ack.Stream, outcome).Inc()
	span.SetAttributes(attribute.Int64("messaging.nats.stream_sequence", int64(ack.Sequence)), attribute.Bool("messaging.nats.duplicate", ack.Duplicate))
	return ack, nil
}

// PublishBatch publishes events asynchronously and waits for every ack. It
// returns one error per event: nil when the stream acknowledged it (a
// duplicate counts as acknowledged). Events are sent in order, but a failure
// of one does not stop the others, so callers that need order between two
// events must not put both in one batch (the outbox relay sends at most one
// event per aggregate per batch). spanCtx, when not nil, gives the parent
// context of each event's publish span.
func (p *Publisher) PublishBatch(ctx context.Context, events []Event, spanCtx func(i int) context.Context) []error {
	errs := make([]error, len(events))
	futures := make([]jetstream.PubAckFuture, len(events))
	spans := make([]trace.Span, len(events))
	defer func() {
		for _, s := range spans {
			if s != nil {
				s.End()
			}
		}
	}()
	for i, e := range events {
		base := ctx
		if spanCtx != nil {
			base = spanCtx(i)
		}
		sctx, span := StartPublishSpan(base, e)
		spans[i] = span
		msg, err := e.Msg(sctx)
		if err != nil {
			errs[i] = err
			continue
		}
		if futures[i], err = p.js.PublishMsgAsync(msg); err != nil {
			errs[i] = fmt.Errorf("bus: publish %s: %w", e.Subject, err)
		}
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			outcome := "ok"
			if ack.Duplicate {
				outcome = "duplicate"
			}
			metricPublished.WithLabelValues(ack.Stream, outcome).Inc()
			spans[i].SetAttributes(attribute.Int64("messaging.nats.stream_sequence", int64(ack.Sequence)), attribute.Bool("messaging.nats.duplicate", ack.Duplicate))
		case err := <-f.Err():
			errs[i] = fmt.Errorf("bus: publish %s: %w", events[i].Subject, err)
		case <-ctx.Done():
			errs[i] = ctx.Err()
		}
	}
	for i, err := range errs {
		if err != nil {
			metricPublished.WithLabelValues(streamOfSubject(events[i].Subject), "error").Inc()
			spans[i].RecordError(err)
			spans[i].SetStatus(codes.Error, err.Error())
		}
	}
	return errs
}

// StartPublishSpan starts the producer span for publishing e.
func StartPublishSpan(ctx context.Context, e Event) (context.Context, trace.Span) {
	return tracer().Start(ctx, "publish "+e.Type,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "publish"),
			attribute.String("messaging.destination.name", e.Subject),
			attribute.String("messaging.message.id", e.ID),
			attribute.String("cloudevents.event_type", e.Type),
		))
}

// streamOfSubject maps a subject to its stream name for metric labels.
func streamOfSubject(subject string) string {
	for _, s := range Streams {
		for _, pat := range s.Subjects {
			if subjectMatches(pat, subject) {
				return s.Name
			}
		}
	}
	return "unknown"
}

func subjectMatches(pattern, subject string) bool {
	pt := strings.Split(pattern, ".")
	st := strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) || (p != "*" && p != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

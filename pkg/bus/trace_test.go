package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
)

// The only test here that installs global OpenTelemetry state; the others
// do not read it, so they can run in parallel with it.
func TestTraceContextSurvivesPublishAndConsume(t *testing.T) {
	tp, rec := testkit.Tracing(t)

	n := testkit.NewNATS(t)
	seen := make(chan trace.SpanContext, 2)
	startRunner(t, n, bus.ConsumerConfig{
		Stream: bus.StreamHR, Durable: "traced",
		Handler: func(ctx context.Context, _ *bus.Message) error {
			seen <- trace.SpanContextFromContext(ctx)
			return nil
		},
	})

	t.Run("FromOurPublisher", func(t *testing.T) {
		ctx, root := tp.Tracer("test").Start(context.Background(), "upstream")
		_, err := bus.NewPublisher(n.JS).Publish(ctx, newEvent(t, "hr.v1.t1.employee.e1.changed"))
		require.NoError(t, err)
		root.End()
		got := <-seen
		require.Equal(t, root.SpanContext().TraceID(), got.TraceID(), "consumer span is in the publisher's trace")

		var publish, process sdktrace.ReadOnlySpan
		require.Eventually(t, func() bool {
			for _, s := range rec.Ended() {
				if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
					continue
				}
				switch s.SpanKind() {
				case trace.SpanKindProducer:
					publish = s
				case trace.SpanKindConsumer:
					process = s
				}
			}
			return publish != nil && process != nil
		}, 5*time.Second, 10*time.Millisecond)
		require.Equal(t, publish.SpanContext().SpanID(), process.Parent().SpanID(), "process is a child of publish")
	})

	t.Run("FromAnotherLanguageWritingLowercaseHeaders", func(t *testing.T) {
		const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		msg := nats.NewMsg("hr.v1.t1.employee.e2.changed")
		msg.Header["traceparent"] = []string{traceparent} // raw map: no canonicalisation
		msg.Header["ce-id"] = []string{"external-1"}
		msg.Data = []byte{}
		_, err := n.JS.PublishMsg(context.Background(), msg)
		require.NoError(t, err)
		got := <-seen
		require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", got.TraceID().String())
	})
}

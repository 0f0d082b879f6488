package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/pkg/testkit"
)

// A request's trace continues through the outbox row, the relay's publish and
// the consumer, although the relay runs later on another goroutine.
func TestTraceContinuesThroughTheOutbox(t *testing.T) {
	tp, rec := testkit.Tracing(t)

	b := setup(t)
	seen := make(chan trace.SpanContext, 1)
	r, err := bus.NewRunner(b.nats.Conn, b.nats.JS, nil, bus.ConsumerConfig{
		Stream: bus.StreamSync, Durable: "traced",
		Handler: func(ctx context.Context, _ *bus.Message) error {
			seen <- trace.SpanContextFromContext(ctx)
			return nil
		},
	})
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() { _ = r.Stop(context.Background()) })

	ctx, request := tp.Tracer("test").Start(context.Background(), "CreateInvitation")
	require.NoError(t, pgdb.InTx(ctx, b.pool, func(tx pgx.Tx) error {
		appendEvent(ctx, t, tx, "agg", "traced")
		return nil
	}))
	request.End()

	// The relay runs with a context that carries no trace at all.
	relayAll(t, outbox.NewRelay(b.pool, b.pub, nil, outbox.RelayConfig{Service: "test"}))
	select {
	case got := <-seen:
		require.Equal(t, request.SpanContext().TraceID(), got.TraceID())
	case <-time.After(10 * time.Second):
		t.Fatal("not consumed")
	}
	var publish sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindProducer {
			publish = s
		}
	}
	require.NotNil(t, publish)
	require.Equal(t, request.SpanContext().SpanID(), publish.Parent().SpanID(), "the relay's publish is a child of the request")
}

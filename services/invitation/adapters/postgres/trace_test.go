package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"rollcall.dev/services/invitation/domain"
)

// Every later change of an invitation links its span to the trace of the
// request that created it, so one invitation is one flow in Jaeger.
func TestChangesLinkToTheCreatingTrace(t *testing.T) {
	t.Parallel()
	store, _ := setup(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tr := tp.Tracer("test")
	tenant := id()
	m := newInvitation(t, tenant)

	ctx, create := tr.Start(context.Background(), "CreateInvitation")
	require.NoError(t, store.Create(ctx, m.inv, nil))
	create.End()

	ctx, revoke := tr.Start(context.Background(), "RevokeInvitation")
	_, err := store.Update(ctx, tenant, m.inv.ID, func(inv *domain.Invitation) error {
		require.Equal(t, create.SpanContext().TraceID().String(), inv.TraceParent[3:35])
		return nil
	}, nil)
	require.NoError(t, err)
	revoke.End()

	ended := rec.Ended()
	require.Len(t, ended, 2)
	links := ended[1].Links()
	require.Len(t, links, 1)
	require.Equal(t, create.SpanContext().TraceID(), links[0].SpanContext.TraceID())
	require.Equal(t, create.SpanContext().SpanID(), links[0].SpanContext.SpanID())

	// Outside a trace nothing is kept and nothing is linked.
	plain := newInvitation(t, tenant)
	require.NoError(t, store.Create(context.Background(), plain.inv, nil))
	_, err = store.Update(context.Background(), tenant, plain.inv.ID, func(inv *domain.Invitation) error {
		require.Empty(t, inv.TraceParent)
		return nil
	}, nil)
	require.NoError(t, err)
}

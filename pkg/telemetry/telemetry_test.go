package telemetry_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"

	"rollcall.dev/pkg/telemetry"
)

// These tests change process-wide globals, so they do not run in parallel.

func TestSetup(t *testing.T) {
	t.Run("SpansHaveIDsWithoutExporter", func(t *testing.T) {
		var buf bytes.Buffer
		tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "test", ServiceVersion: "v0", LogWriter: &buf})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })

		ctx, span := otel.Tracer("test").Start(context.Background(), "op")
		defer span.End()
		require.True(t, span.SpanContext().IsValid())
		require.True(t, span.SpanContext().IsSampled())

		tel.Logger().InfoContext(ctx, "inside")
		require.Contains(t, buf.String(), `"trace_id":"`+span.SpanContext().TraceID().String()+`"`)
		require.Contains(t, buf.String(), `"service":"test"`)

		// The propagator is TraceContext + Baggage.
		carrier := propagation.HeaderCarrier{}
		otel.GetTextMapPropagator().Inject(ctx, carrier)
		require.Contains(t, carrier.Get("traceparent"), span.SpanContext().TraceID().String())
		require.ElementsMatch(t, []string{"traceparent", "tracestate", "baggage"}, otel.GetTextMapPropagator().Fields())
	})

	t.Run("TwiceDoesNotPanicAndMetricsServe", func(t *testing.T) {
		ctx := context.Background()
		for _, name := range []string{"first", "second"} {
			tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: name, LogWriter: io.Discard})
			require.NoError(t, err)
			t.Cleanup(func() { _ = tel.Shutdown(ctx) })

			c, err := otel.Meter("rollcall.test").Int64Counter("rollcall_test_calls")
			require.NoError(t, err)
			c.Add(ctx, 1, metric.WithAttributes())
		}

		rec := httptest.NewRecorder()
		telemetry.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), "rollcall_test_calls_total")
		require.Contains(t, rec.Body.String(), `service_name="second"`)
		require.NotContains(t, rec.Body.String(), `service_name="first"`)
	})

	t.Run("ShutdownIdempotent", func(t *testing.T) {
		tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "x", LogWriter: io.Discard})
		require.NoError(t, err)
		require.NoError(t, tel.Shutdown(context.Background()))
		require.NoError(t, tel.Shutdown(context.Background()))
	})

	t.Run("OTLPEndpointForms", func(t *testing.T) {
		ctx := context.Background()
		// The exporter dials lazily, so nothing needs to listen here.
		for _, ep := range []string{"127.0.0.1:4317", "http://127.0.0.1:4317", "https://collector.example:4317"} {
			tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "x", OTLPEndpoint: ep, OTLPInsecure: true, LogWriter: io.Discard})
			require.NoError(t, err, ep)
			sctx, cancel := context.WithTimeout(ctx, 0)
			_ = tel.Shutdown(sctx) // nothing listens; only check it returns
			cancel()
		}
		_, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "x", OTLPEndpoint: "ftp://x:1", LogWriter: io.Discard})
		require.Error(t, err)
	})

	t.Run("RequiresServiceName", func(t *testing.T) {
		_, err := telemetry.Setup(context.Background(), telemetry.Config{LogLevel: slog.LevelInfo})
		require.Error(t, err)
	})
}

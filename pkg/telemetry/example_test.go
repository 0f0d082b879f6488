package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"rollcall.dev/pkg/telemetry"
)

func ExampleNewLogger() {
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, slog.LevelInfo, slog.String("service", "invitation"))

	// In a service the span comes from otelconnect or otel.Tracer(...).Start.
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))

	log.InfoContext(ctx, "connecting",
		slog.String("dsn", "postgres://rollcall:hunter2@db:5432/rollcall"),
		slog.String("password", "hunter2"),
		slog.Any("code", telemetry.Secret("123456")),
	)

	// Drop the timestamp so the output is stable.
	var rec map[string]any
	_ = json.Unmarshal(buf.Bytes(), &rec)
	delete(rec, "time")
	out, _ := json.Marshal(rec)
	fmt.Println(string(out))
	// Output:
	// {"code":"[REDACTED]","dsn":"postgres://rollcall:xxxxx@db:5432/rollcall","level":"INFO","msg":"connecting","password":"[REDACTED]","service":"invitation","span_id":"00f067aa0ba902b7","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
}

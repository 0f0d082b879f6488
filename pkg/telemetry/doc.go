// Package telemetry sets up what every Rollcall process needs to be observed:
// OpenTelemetry tracing (exported over OTLP gRPC when an endpoint is
// configured), W3C trace-context propagation, OpenTelemetry metrics exposed in
// Prometheus format, and a JSON slog logger that stamps trace and span ids on
// records and redacts secrets.
//
// Call [Setup] once from main, before building interceptors, database pools or
// NATS clients (they capture the global providers when they are created), and
// defer [Telemetry.Shutdown] so buffered spans are flushed on exit.
//
// It is not a metrics or tracing API: code creates spans and instruments with
// the OpenTelemetry API (otel.Tracer, otel.Meter) as usual, and it is not a
// configuration reader: the caller's Config decides the endpoint and level.
package telemetry

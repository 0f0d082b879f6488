// Package server is the HTTP front of every Rollcall service: one port that
// speaks Connect, gRPC and gRPC-Web over HTTP/1.1 and cleartext HTTP/2 (h2c),
// and also answers the operational endpoints an orchestrator needs:
//
//   - /healthz: liveness, 200 while the process runs;
//   - /readyz: readiness, runs the service's checks (database, NATS, ...);
//   - grpc.health.v1.Health: the same checks for gRPC-aware probes;
//   - gRPC server reflection (v1 and v1alpha) for grpcurl and buf curl;
//   - /metrics: Prometheus, including OpenTelemetry RPC metrics.
//
// [HandlerOptions] (or [Interceptors]) gives the interceptors every generated
// Connect handler must be built with: OpenTelemetry tracing and metrics that
// continue the caller's trace, then protovalidate request validation.
//
// It is not a router or a middleware kit: services mount only generated
// Connect handlers, and cross-cutting behaviour belongs in interceptors. TLS is
// expected to end at the ingress or mesh, which is why HTTP/2 is cleartext.
package server

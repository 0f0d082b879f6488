package server

import (
	"fmt"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"connectrpc.com/validate"
)

// Interceptors returns the interceptors every Rollcall Connect handler uses,
// outermost first:
//
//   - otelconnect, trusting the caller's trace context (WithTrustRemote):
//     without it every request would start a new root trace and cross-service
//     traces would break apart at each hop. It uses the global tracer, meter
//     and propagator, so call telemetry.Setup first.
//   - protovalidate: a request that breaks its message's buf.validate rules
//     fails with CodeInvalidArgument before the handler runs, with a
//     buf.validate.Violations error detail naming each field and rule. Being
//     inside otelconnect, those rejections still appear in traces and metrics.
func Interceptors() ([]connect.Interceptor, error) {
	otel, err := otelconnect.NewInterceptor(otelconnect.WithTrustRemote())
	if err != nil {
		return nil, fmt.Errorf("server: otelconnect interceptor: %w", err)
	}
	return []connect.Interceptor{otel, validate.NewInterceptor()}, nil
}

// HandlerOptions wraps Interceptors for the generated constructors:
//
//	opts, err := server.HandlerOptions()
//	path, h := invitationv1connect.NewInvitationServiceHandler(svc, opts...)
func HandlerOptions() ([]connect.HandlerOption, error) {
	ics, err := Interceptors()
	if err != nil {
		return nil, err
	}
	return []connect.HandlerOption{connect.WithInterceptors(ics...)}, nil
}

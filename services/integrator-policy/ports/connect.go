// Package ports translates between the outside world and the integrator-policy service's
// use cases: Connect handlers and event consumers. It holds no rules.
package ports

import "rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"

// Connect serves rollcall.integrator.v1.IntegratorPolicyService. Requests are validated by the
// platform's protovalidate interceptor before they reach it; methods without
// a use case yet answer CodeUnimplemented (from the embedded type).
type Connect struct {
	integratorv1connect.UnimplementedIntegratorPolicyServiceHandler
}

var _ integratorv1connect.IntegratorPolicyServiceHandler = (*Connect)(nil)

// NewConnect returns the handler.
func NewConnect() *Connect { return &Connect{} }

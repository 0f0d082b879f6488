// Package ports translates between the outside world and the identity service's
// use cases: Connect handlers and event consumers. It holds no rules.
package ports

import "rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"

// Connect serves rollcall.identity.v1.IdentityService. Requests are validated by the
// platform's protovalidate interceptor before they reach it; methods without
// a use case yet answer CodeUnimplemented (from the embedded type).
type Connect struct {
	identityv1connect.UnimplementedIdentityServiceHandler
}

var _ identityv1connect.IdentityServiceHandler = (*Connect)(nil)

// NewConnect returns the handler.
func NewConnect() *Connect { return &Connect{} }

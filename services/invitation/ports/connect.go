// Package ports translates between the outside world and the invitation service's
// use cases: Connect handlers and event consumers. It holds no rules.
package ports

import "rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"

// Connect serves rollcall.invitation.v1.InvitationService. Requests are validated by the
// platform's protovalidate interceptor before they reach it; methods without
// a use case yet answer CodeUnimplemented (from the embedded type).
type Connect struct {
	invitationv1connect.UnimplementedInvitationServiceHandler
}

var _ invitationv1connect.InvitationServiceHandler = (*Connect)(nil)

// NewConnect returns the handler.
func NewConnect() *Connect { return &Connect{} }

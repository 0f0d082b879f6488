// Package policy asks the integrator-policy service whether an integrator
// may carry out a guarded action (seed 003: he may not create
// administrators or dismiss employees). It is the app.Policy port over
// IntegratorPolicyService.CheckAction, called with identity's service token.
package policy

import (
	"context"

	"connectrpc.com/connect"

	"rollcall.dev/pkg/svcauth"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// Client is the integrator-policy client.
type Client struct {
	c integratorv1connect.IntegratorPolicyServiceClient
}

var _ app.Policy = (*Client)(nil)

// New returns a Client over a svcauth client.
func New(sc svcauth.Client) *Client {
	return &Client{c: integratorv1connect.NewIntegratorPolicyServiceClient(sc.HTTP, sc.BaseURL, sc.Options...)}
}

// Check asks CheckAction. A refusal is a domain.ErrForbidden field error
// carrying the policy's sentence; a failure to answer is app.ErrUnavailable
// (the action is not carried out: fail closed).
func (p *Client) Check(ctx context.Context, tenantID, actorUserID string, action app.PolicyAction, resource string) error {
	res, err := p.c.CheckAction(ctx, connect.NewRequest(&integratorv1.CheckActionRequest{
		TenantId: tenantID, ActorUserId: actorUserID, Action: integratorv1.Action(action), Resource: resource,
	}))
	if err != nil {
		return app.Unavailable("integrator-policy", err)
	}
	if !res.Msg.GetAllowed() {
		msg := res.Msg.GetMessage()
		if msg == "" {
			msg = "the integrator may not do this (" + res.Msg.GetReason().String() + ")"
		}
		return domain.Forbidden("actor", "%s", msg)
	}
	return nil
}

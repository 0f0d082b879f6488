// Package partners is the invitation service's client of the partner
// registry (the integrator-policy service's CheckPartner), asked while the
// admin waits on the "invite integrator" form.
package partners

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"rollcall.dev/pkg/svcauth"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
)

// Client implements app.Partners and app.Policy.
type Client struct {
	c integratorv1connect.IntegratorPolicyServiceClient
}

var (
	_ app.Partners = (*Client)(nil)
	_ app.Policy   = (*Client)(nil)
)

// New returns a client of the integrator-policy service at c.BaseURL.
func New(c svcauth.Client) *Client {
	return &Client{c: integratorv1connect.NewIntegratorPolicyServiceClient(c.HTTP, c.BaseURL, c.Options...)}
}

// CheckPartner returns the partner the email belongs to, or "" when none.
// Any failure to get an answer wraps app.ErrUnavailable: the admin is told to
// try again, never that the email is not a partner's.
func (p *Client) CheckPartner(ctx context.Context, email string) (string, error) {
	res, err := p.c.CheckPartner(ctx, connect.NewRequest(&integratorv1.CheckPartnerRequest{Email: email}))
	if err != nil {
		return "", app.Unavailable("integrator-policy", fmt.Errorf("checking the partner: %w", err))
	}
	if !res.Msg.GetRegistered() {
		return "", nil
	}
	if res.Msg.GetPartnerId() == "" {
		return "", app.Unavailable("integrator-policy", errors.New("answered registered without a partner id"))
	}
	return res.Msg.GetPartnerId(), nil
}

// MayCreateAdministrator asks CheckAction(ACTION_CREATE_ADMINISTRATOR) for
// the actor; integrator-policy records a refusal. A refusal is a
// domain.ErrForbidden field error with the policy's sentence; no answer is
// app.ErrUnavailable (the caller refuses anyway: fail closed).
func (p *Client) MayCreateAdministrator(ctx context.Context, tenantID, actorUserID string) error {
	res, err := p.c.CheckAction(ctx, connect.NewRequest(&integratorv1.CheckActionRequest{
		TenantId: tenantID, ActorUserId: actorUserID,
		Action: integratorv1.Action_ACTION_CREATE_ADMINISTRATOR, Resource: "invitations/new",
	}))
	if err != nil {
		return app.Unavailable("integrator-policy", fmt.Errorf("checking the action: %w", err))
	}
	if !res.Msg.GetAllowed() {
		msg := res.Msg.GetMessage()
		if msg == "" {
			msg = "an integrator cannot create administrators"
		}
		return domain.Forbidden("grants.permission_level", "%s", msg)
	}
	return nil
}

// Package ports translates between the outside world and the
// integrator-policy use cases: the Connect handler (operators, other
// services, administrators) and the event consumers. It holds no rules;
// errors are mapped to Connect codes in one place (errors.go).
package ports

import (
	"context"
	"log/slog"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/svcauth"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/services/integrator-policy/adapters/postgres"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/domain"
)

// Connect serves rollcall.integrator.v1.IntegratorPolicyService. Requests
// are validated by the platform's protovalidate interceptor, and the
// operator and service procedures' tokens by RequireTokens, before they get
// here.
type Connect struct {
	App       *app.Service
	Auth      Authenticator
	Tokens    svcauth.Tokens // the service tokens, for GetActiveIntegrator
	Operators svcauth.Tokens // the operator tokens, refused on the other RPCs
	Log       *slog.Logger
}

var _ integratorv1connect.IntegratorPolicyServiceHandler = (*Connect)(nil)

// PartnerToProto maps a partner.
func PartnerToProto(p domain.Partner) *integratorv1.Partner {
	out := &integratorv1.Partner{
		PartnerId: p.ID, Name: p.Name, Emails: p.Emails, Domains: p.Domains, RegisteredAt: timestamppb.New(p.RegisteredAt),
	}
	if p.Revoked() {
		out.RevokedAt = timestamppb.New(p.RevokedAt)
	}
	return out
}

// RegisterPartner adds a certified partner.
func (c *Connect) RegisterPartner(ctx context.Context, req *connect.Request[integratorv1.RegisterPartnerRequest]) (*connect.Response[integratorv1.RegisterPartnerResponse], error) {
	p, err := c.App.RegisterPartner(ctx, req.Msg.GetName(), req.Msg.GetEmails(), req.Msg.GetDomains())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&integratorv1.RegisterPartnerResponse{Partner: PartnerToProto(p)}), nil
}

// RevokePartner withdraws a partner's certification.
func (c *Connect) RevokePartner(ctx context.Context, req *connect.Request[integratorv1.RevokePartnerRequest]) (*connect.Response[integratorv1.RevokePartnerResponse], error) {
	p, n, err := c.App.RevokePartner(ctx, req.Msg.GetPartnerId(), req.Msg.GetNote())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&integratorv1.RevokePartnerResponse{Partner: PartnerToProto(p), DismissedIntegrators: uint32(n)}), nil //nolint:gosec // n counts rows
}

// ListPartners lists the registry.
func (c *Connect) ListPartners(ctx context.Context, req *connect.Request[integratorv1.ListPartnersRequest]) (*connect.Response[integratorv1.ListPartnersResponse], error) {
	ps, err := c.App.ListPartners(ctx, req.Msg.GetIncludeRevoked())
	if err != nil {
		return nil, toConnect(err)
	}
	out := &integratorv1.ListPartnersResponse{}
	for _, p := range ps {
		out.Partners = append(out.Partners, PartnerToProto(p))
	}
	return connect.NewResponse(out), nil
}

// CheckPartner says whether an email belongs to a registered partner.
func (c *Connect) CheckPartner(ctx context.Context, req *connect.Request[integratorv1.CheckPartnerRequest]) (*connect.Response[integratorv1.CheckPartnerResponse], error) {
	p, m, ok, err := c.App.CheckPartner(ctx, req.Msg.GetEmail())
	if err != nil {
		return nil, toConnect(err)
	}
	out := &integratorv1.CheckPartnerResponse{Registered: ok}
	if ok {
		out.PartnerId, out.PartnerName, out.MatchedBy = &p.ID, &p.Name, integratorv1.PartnerMatch(m)
	}
	return connect.NewResponse(out), nil
}

// PolicyToProto maps a policy.
func PolicyToProto(tenantID string, p domain.Policy) *integratorv1.Policy {
	out := &integratorv1.Policy{
		TenantId: tenantID, MaxActiveIntegrators: uint32(p.MaxActive), //nolint:gosec // 1..10
		OverflowMode: integratorv1.OverflowMode(p.Overflow),
	}
	if !p.UpdatedAt.IsZero() {
		out.UpdatedAt = timestamppb.New(p.UpdatedAt)
		if p.UpdatedBy != "" {
			out.UpdatedByUserId = &p.UpdatedBy
		}
	}
	return out
}

// GetPolicy returns the tenant's policy.
func (c *Connect) GetPolicy(ctx context.Context, req *connect.Request[integratorv1.GetPolicyRequest]) (*connect.Response[integratorv1.GetPolicyResponse], error) {
	by, err := c.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	p, err := c.App.Policy(ctx, by, req.Msg.GetTenantId())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&integratorv1.GetPolicyResponse{Policy: PolicyToProto(req.Msg.GetTenantId(), p)}), nil
}

// SetPolicy changes the tenant's policy.
func (c *Connect) SetPolicy(ctx context.Context, req *connect.Request[integratorv1.SetPolicyRequest]) (*connect.Response[integratorv1.SetPolicyResponse], error) {
	by, err := c.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	p, promoted, err := c.App.SetPolicy(ctx, by, m.GetTenantId(), int(m.GetMaxActiveIntegrators()), domain.OverflowMode(m.GetOverflowMode()))
	if err != nil {
		return nil, toConnect(err)
	}
	out := &integratorv1.SetPolicyResponse{Policy: PolicyToProto(m.GetTenantId(), p)}
	for _, in := range promoted {
		out.Assigned = append(out.Assigned, postgres.Ref(*in))
	}
	return connect.NewResponse(out), nil
}

// GetActiveIntegrator returns the tenant's integrators; a service token or
// an administrator of the tenant.
func (c *Connect) GetActiveIntegrator(ctx context.Context, req *connect.Request[integratorv1.GetActiveIntegratorRequest]) (*connect.Response[integratorv1.GetActiveIntegratorResponse], error) {
	by, err := c.caller(ctx, req.Header(), true)
	if err != nil {
		return nil, err
	}
	t, err := c.App.Integrators(ctx, by, req.Msg.GetTenantId())
	if err != nil {
		return nil, toConnect(err)
	}
	out := &integratorv1.GetActiveIntegratorResponse{Policy: PolicyToProto(t.ID, t.Policy)}
	for _, in := range t.Integrators {
		a := &integratorv1.Assignment{
			Integrator: postgres.Ref(*in), InvitationId: in.InvitationID, Since: timestamppb.New(in.Since),
			State: integratorv1.IntegratorState_INTEGRATOR_STATE_WAITING,
		}
		if in.State == domain.Active {
			a.State = integratorv1.IntegratorState_INTEGRATOR_STATE_ACTIVE
			if out.Integrator == nil { // the longest-serving one
				out.Integrator, out.AssignedAt = postgres.Ref(*in), timestamppb.New(in.Since)
			}
		}
		out.Assignments = append(out.Assignments, a)
	}
	return connect.NewResponse(out), nil
}

// DismissIntegrator ends an integrator's access.
func (c *Connect) DismissIntegrator(ctx context.Context, req *connect.Request[integratorv1.DismissIntegratorRequest]) (*connect.Response[integratorv1.DismissIntegratorResponse], error) {
	by, err := c.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	in, err := c.App.Dismiss(ctx, by, m.GetTenantId(), m.GetIntegratorUserId(), m.GetNote())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&integratorv1.DismissIntegratorResponse{Integrator: postgres.Ref(*in)}), nil
}

// CheckAction decides a guarded action (identity, with a service token).
func (c *Connect) CheckAction(ctx context.Context, req *connect.Request[integratorv1.CheckActionRequest]) (*connect.Response[integratorv1.CheckActionResponse], error) {
	m := req.Msg
	d, err := c.App.CheckAction(ctx, m.GetTenantId(), m.GetActorUserId(), domain.Action(m.GetAction()), m.GetResource())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&integratorv1.CheckActionResponse{
		Allowed: d.Denial == domain.Allowed, Reason: integratorv1.DenialReason(d.Denial), Message: d.Message,
	}), nil
}

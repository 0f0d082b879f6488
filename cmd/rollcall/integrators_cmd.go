package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"connectrpc.com/connect"

	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
)

// integratorsCmd is seed 003 from the administrator's side: the tenant's
// integrator, dismissing him, and the policy of how many may be active.
// Inviting one is `rollcall invite create --kind integrator`.
type integratorsCmd struct {
	List    integratorsListCmd    `cmd:"" default:"withargs" help:"Show the tenant's integrator (active and waiting ones) and its policy."`
	Dismiss integratorsDismissCmd `cmd:"" help:"Dismiss the active integrator; his access closes."`
	Policy  integratorsPolicyCmd  `cmd:"" help:"Show or change how many integrators may be active and what inviting another does."`
}

type integratorsListCmd struct {
	apiFlags `embed:""`
}

func (c *integratorsListCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	res, err := c.integrators().GetActiveIntegrator(ctx, connect.NewRequest(&integratorv1.GetActiveIntegratorRequest{TenantId: c.Tenant}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	return printIntegrators(c.w(), res.Msg)
}

func printIntegrators(w io.Writer, res *integratorv1.GetActiveIntegratorResponse) error {
	if len(res.GetAssignments()) == 0 {
		fmt.Fprintln(w, "No integrator.")
	} else {
		t := newTable(w, "INTEGRATOR", "EMAIL", "PARTNER", "STATE", "SINCE", "INVITATION")
		for _, a := range res.GetAssignments() {
			t.row(a.GetIntegrator().GetUserId(), a.GetIntegrator().GetEmail(), a.GetIntegrator().GetPartnerId(), enumWord(a.GetState()),
				when(a.GetSince()), a.GetInvitationId())
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, "Policy:", policyText(res.GetPolicy()))
	return err
}

func policyText(p *integratorv1.Policy) string {
	mode := "inviting another dismisses the current one"
	if p.GetOverflowMode() == integratorv1.OverflowMode_OVERFLOW_MODE_ADMIN_CHOOSES {
		mode = "an integrator invited over the limit waits until an administrator chooses"
	}
	s := fmt.Sprintf("at most %d active; %s", p.GetMaxActiveIntegrators(), mode)
	if p.GetUpdatedAt() != nil {
		s += fmt.Sprintf(" (set %s by %s)", when(p.GetUpdatedAt()), p.GetUpdatedByUserId())
	} else {
		s += " (the default)"
	}
	return s
}

type integratorsDismissCmd struct {
	apiFlags   `embed:""`
	Integrator string `arg:"" name:"integrator" help:"The integrator: his user id or email (rollcall integrators list)."`
	Note       string `name:"note" help:"Why, for the audit trail."`
}

func (c *integratorsDismissCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	client := c.integrators()
	id := c.Integrator
	if !uuidRE.MatchString(id) {
		res, err := client.GetActiveIntegrator(ctx, connect.NewRequest(&integratorv1.GetActiveIntegratorRequest{TenantId: c.Tenant}))
		if err != nil {
			return apiError(c.Server, err)
		}
		id = ""
		for _, a := range res.Msg.GetAssignments() {
			if strings.EqualFold(a.GetIntegrator().GetEmail(), c.Integrator) {
				id = a.GetIntegrator().GetUserId()
			}
		}
		if id == "" {
			return fmt.Errorf("%s is not an active or waiting integrator of the tenant (rollcall integrators list)", c.Integrator)
		}
	}
	res, err := client.DismissIntegrator(ctx, connect.NewRequest(&integratorv1.DismissIntegratorRequest{TenantId: c.Tenant, IntegratorUserId: id, Note: c.Note}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	i := res.Msg.GetIntegrator()
	fmt.Fprintf(c.w(), "Dismissed the integrator %s (%s, partner %s); his access is closed.\n", i.GetEmail(), i.GetUserId(), i.GetPartnerId())
	return nil
}

type integratorsPolicyCmd struct {
	Get integratorsPolicyGetCmd `cmd:"" default:"withargs" help:"Show the tenant's integrator policy."`
	Set integratorsPolicySetCmd `cmd:"" help:"Change the tenant's integrator policy (main administrators)."`
}

type integratorsPolicyGetCmd struct {
	apiFlags `embed:""`
}

func (c *integratorsPolicyGetCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	res, err := c.integrators().GetPolicy(ctx, connect.NewRequest(&integratorv1.GetPolicyRequest{TenantId: c.Tenant}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	_, err = fmt.Fprintln(c.w(), "Policy:", policyText(res.Msg.GetPolicy()))
	return err
}

type integratorsPolicySetCmd struct {
	apiFlags `embed:""`
	Max      uint32 `name:"max" default:"1" help:"How many integrators may be active at once, 1 to 10 (seed 003: one)."`
	Mode     string `name:"mode" enum:"replace,admin-chooses" default:"replace" help:"Over the limit: replace (inviting another dismisses the current one, seed 003) or admin-chooses (the newcomer waits until an administrator chooses)."`
}

func (c *integratorsPolicySetCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	mode := integratorv1.OverflowMode_OVERFLOW_MODE_REPLACE_CURRENT
	if c.Mode == "admin-chooses" {
		mode = integratorv1.OverflowMode_OVERFLOW_MODE_ADMIN_CHOOSES
	}
	res, err := c.integrators().SetPolicy(ctx, connect.NewRequest(&integratorv1.SetPolicyRequest{TenantId: c.Tenant, MaxActiveIntegrators: c.Max, OverflowMode: mode}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	w := c.w()
	fmt.Fprintln(w, "Policy:", policyText(res.Msg.GetPolicy()))
	for _, a := range res.Msg.GetAssigned() {
		fmt.Fprintf(w, "Now active (was waiting): %s (%s)\n", a.GetEmail(), a.GetUserId())
	}
	return nil
}

// partnersCmd is the operator's registry of certified partners (seed 003:
// "the system checks the email belongs to a registered partner"). It takes
// the operator token, not an administrator's.
type partnersCmd struct {
	Register partnersRegisterCmd `cmd:"" help:"Register a certified partner with its integrators' emails and/or verified domains."`
	List     partnersListCmd     `cmd:"" default:"withargs" help:"List the registered partners."`
	Revoke   partnersRevokeCmd   `cmd:"" help:"Withdraw a partner's certification; its active integrators are dismissed in every tenant."`
}

// operatorFlags default the token to the dev stack's operator token.
type operatorFlags struct {
	serverFlags `embed:""`
}

func (o *operatorFlags) setup() error { return o.setupToken(devOperatorTokenFile) }

type partnersRegisterCmd struct {
	operatorFlags `embed:""`
	Name          string   `name:"name" required:"" help:"The partner's company name."`
	Emails        []string `name:"email" help:"A verified email of one of its integrators; repeatable."`
	Domains       []string `name:"domain" help:"A verified email domain: every address there belongs to the partner; repeatable."`
}

func (c *partnersRegisterCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	res, err := c.integrators().RegisterPartner(ctx, connect.NewRequest(&integratorv1.RegisterPartnerRequest{Name: c.Name, Emails: c.Emails, Domains: c.Domains}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	p := res.Msg.GetPartner()
	fmt.Fprintf(c.w(), "Registered %s (%s): emails %s; domains %s.\n", p.GetName(), p.GetPartnerId(), listOrNone(p.GetEmails()), listOrNone(p.GetDomains()))
	return nil
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

type partnersListCmd struct {
	operatorFlags `embed:""`
	All           bool `name:"all" help:"Include revoked partners."`
}

func (c *partnersListCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	res, err := c.integrators().ListPartners(ctx, connect.NewRequest(&integratorv1.ListPartnersRequest{IncludeRevoked: c.All}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	return printPartners(c.w(), res.Msg.GetPartners())
}

func printPartners(w io.Writer, ps []*integratorv1.Partner) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "No partners.")
		return err
	}
	t := newTable(w, "PARTNER", "NAME", "EMAILS", "DOMAINS", "REGISTERED", "REVOKED")
	for _, p := range ps {
		t.row(p.GetPartnerId(), p.GetName(), strings.Join(p.GetEmails(), ", "), strings.Join(p.GetDomains(), ", "), when(p.GetRegisteredAt()), when(p.GetRevokedAt()))
	}
	return t.flush()
}

type partnersRevokeCmd struct {
	operatorFlags `embed:""`
	PartnerID     string `arg:"" name:"partner" help:"The partner's id (rollcall partners list)."`
	Note          string `name:"note" help:"Why, for the audit trail."`
}

func (c *partnersRevokeCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	res, err := c.integrators().RevokePartner(ctx, connect.NewRequest(&integratorv1.RevokePartnerRequest{PartnerId: c.PartnerID, Note: c.Note}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	fmt.Fprintf(c.w(), "Revoked %s; %d active or waiting integrators were dismissed.\n", res.Msg.GetPartner().GetName(), res.Msg.GetDismissedIntegrators())
	return nil
}

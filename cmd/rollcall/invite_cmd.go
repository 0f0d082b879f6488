package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
)

// inviteCmd is the administrator's invitation work from a terminal (seeds
// 000, 001 and 003): invite a person, an integration user or an
// integrator, follow, resend and revoke invitations.
type inviteCmd struct {
	Create  inviteCreateCmd  `cmd:"" help:"Invite a person (member), a neutral integration user or a partner's integrator."`
	List    inviteListCmd    `cmd:"" help:"List the tenant's invitations, newest first."`
	Show    inviteShowCmd    `cmd:"" help:"Show one invitation."`
	Resend  inviteResendCmd  `cmd:"" help:"Send a pending or locked invitation again: a new link and code (the old ones stop working) and a new lifetime."`
	NewCode inviteNewCodeCmd `cmd:"" name:"new-code" help:"Send a new one-time code (unlocks an invitation locked by wrong codes)."`
	Revoke  inviteRevokeCmd  `cmd:"" help:"Withdraw a pending or locked invitation."`
}

var (
	inviteKinds = map[string]invitationv1.InvitationKind{
		"member":      invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
		"integration": invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION,
		"integrator":  invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR,
	}
	inviteStatuses = map[string]invitationv1.InvitationStatus{
		"pending": invitationv1.InvitationStatus_INVITATION_STATUS_PENDING, "accepted": invitationv1.InvitationStatus_INVITATION_STATUS_ACCEPTED,
		"expired": invitationv1.InvitationStatus_INVITATION_STATUS_EXPIRED, "revoked": invitationv1.InvitationStatus_INVITATION_STATUS_REVOKED,
		"locked": invitationv1.InvitationStatus_INVITATION_STATUS_LOCKED,
	}
	codeDeliveries = map[string]invitationv1.CodeDelivery{
		"sms": invitationv1.CodeDelivery_CODE_DELIVERY_SMS, "me": invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER,
		"none": invitationv1.CodeDelivery_CODE_DELIVERY_NONE,
	}
)

type inviteCreateCmd struct {
	apiFlags          `embed:""`
	Kind              string        `name:"kind" enum:"member,integration,integrator" default:"member" help:"member: a person (seed 001); integration: a neutral user for a third-party integration, with the integration-user package and every additional package (seed 000); integrator: a registered partner's integrator, a main administrator with carve-outs (seed 003)."`
	Email             string        `name:"email" required:"" help:"The invitee's email; the link goes there (a dedicated, neutral address for an integration user)."`
	FirstName         string        `name:"first-name" help:"First name (optional for integrators)."`
	LastName          string        `name:"last-name" help:"Last name (optional for integrators)."`
	Mobile            string        `name:"mobile" help:"Mobile number in E.164 form (+4791234567); the one-time code goes there by SMS."`
	CodeTo            string        `name:"code-to" enum:",sms,me,none" default:"" help:"Where the one-time code goes: sms (the invitee's --mobile), me (you, when the invitee has no SMS: 'send the one-time code to me'), none. Default: sms for a member with --mobile; none for integration users and integrators."`
	From              string        `name:"from" enum:"user-admin,client-admin" default:"user-admin" help:"Where the invitation is made: user administration, or client administration for the client --tenant names (seed 000)."`
	Level             string        `name:"level" enum:",main,custom" default:"" help:"Permission level: main (main administrator, everything) or custom (the --area list and scope). Default: custom; main for integrators."`
	Areas             []string      `name:"area" help:"Permission area key of a custom level, e.g. support, invoices; repeatable."`
	Organisations     []string      `name:"organisation" help:"Organisation the user may act on: a name, an id, or all; repeatable. Absent: none."`
	Customers         []string      `name:"customer" help:"Customer the user may act on: a name, an id, or all; repeatable."`
	CostCentres       []string      `name:"cost-centre" help:"Cost centre the user may act on: a name, an id, or all; repeatable."`
	ProductCategories []string      `name:"product-category" help:"Product category: a name, an id, or all; repeatable."`
	AppLinks          []string      `name:"app-link" help:"Application linked for the user: a name or an id; repeatable. (The application's own access process still applies.)"`
	Packages          []string      `name:"package" help:"Additional access package key of a custom level, e.g. payroll; repeatable."`
	AllPackages       bool          `name:"all-packages" help:"Every additional access package, including later ones."`
	Lifetime          time.Duration `name:"lifetime" help:"How long the link works, 1h to 720h (default: the tenant's, 7 days unless changed)."`
}

// request builds the CreateInvitationRequest from the flags; names of
// structure items are resolved through st.
func (c *inviteCreateCmd) request(ctx context.Context, st *structure) (*invitationv1.CreateInvitationRequest, error) {
	kind := inviteKinds[c.Kind]
	req := &invitationv1.CreateInvitationRequest{
		TenantId: c.Tenant, Kind: kind, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
		Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
	}
	if c.From == "client-admin" {
		req.Origin = commonv1.CreationOrigin_CREATION_ORIGIN_CLIENT_ADMINISTRATION
	}
	if c.Mobile != "" {
		req.Mobile = &c.Mobile
	}
	switch {
	case c.CodeTo != "":
		req.CodeDelivery = codeDeliveries[c.CodeTo]
	case kind != invitationv1.InvitationKind_INVITATION_KIND_MEMBER:
		req.CodeDelivery = invitationv1.CodeDelivery_CODE_DELIVERY_NONE
	case c.Mobile != "":
		req.CodeDelivery = invitationv1.CodeDelivery_CODE_DELIVERY_SMS
	default:
		return nil, errors.New("a member's one-time code goes by SMS or to you: give --mobile, or --code-to me when the invitee has no SMS")
	}
	if c.Lifetime != 0 {
		req.Lifetime = durationpb.New(c.Lifetime)
	}

	g := &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM}
	level := c.Level
	if level == "" && kind == invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR {
		level = "main"
	}
	if level == "main" {
		g.PermissionLevel = commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR
	}
	g.PermissionAreas = c.Areas
	scope := &commonv1.AccessScope{}
	var err error
	for _, s := range []struct {
		dst  **commonv1.Selection
		kind identityv1.StructureKind
		flag string
		vals []string
	}{
		{&scope.Organisations, identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION, "organisation", c.Organisations},
		{&scope.Customers, identityv1.StructureKind_STRUCTURE_KIND_CUSTOMER, "customer", c.Customers},
		{&scope.CostCentres, identityv1.StructureKind_STRUCTURE_KIND_COST_CENTRE, "cost-centre", c.CostCentres},
		{&scope.ProductCategories, identityv1.StructureKind_STRUCTURE_KIND_PRODUCT_CATEGORY, "product-category", c.ProductCategories},
	} {
		if *s.dst, err = st.selection(ctx, s.kind, s.flag, s.vals); err != nil {
			return nil, err
		}
	}
	if scope.ApplicationLinkIds, err = st.ids(ctx, identityv1.StructureKind_STRUCTURE_KIND_APPLICATION, "app-link", c.AppLinks); err != nil {
		return nil, err
	}
	if scope.Organisations != nil || scope.Customers != nil || scope.CostCentres != nil || scope.ProductCategories != nil || len(scope.ApplicationLinkIds) > 0 {
		g.Scope = scope
	}
	if kind == invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION {
		// Seed 000: the "integration user" package, and every box ticked
		// under additional packages.
		if len(c.Packages) > 0 {
			return nil, errors.New("--package: an integration user gets every additional package (seed 000); leave --package out")
		}
		g.AccessPackages = &commonv1.AccessPackages{IntegrationUser: true, AllAdditionalPackages: true}
	} else if len(c.Packages) > 0 || c.AllPackages {
		g.AccessPackages = &commonv1.AccessPackages{AdditionalPackages: c.Packages, AllAdditionalPackages: c.AllPackages}
	}
	req.Grants = g
	return req, nil
}

func (c *inviteCreateCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	req, err := c.request(ctx, newStructure(&c.apiFlags))
	if err != nil {
		return err
	}
	res, err := c.invitations().CreateInvitation(ctx, connect.NewRequest(req))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	inv := res.Msg.GetInvitation()
	w := c.w()
	fmt.Fprintf(w, "Invited %s as %s.\n", invitee(inv), kindPhrase(inv.GetKind()))
	printInvitation(w, inv)
	fmt.Fprintf(w, "Next: rollcall invite show %s    (or resend, revoke)\n", inv.GetInvitationId())
	return nil
}

func invitee(inv *invitationv1.Invitation) string {
	name := strings.TrimSpace(inv.GetFirstName() + " " + inv.GetLastName())
	if name == "" {
		return "<" + inv.GetEmail() + ">"
	}
	return name + " <" + inv.GetEmail() + ">"
}

func kindPhrase(k invitationv1.InvitationKind) string {
	switch k {
	case invitationv1.InvitationKind_INVITATION_KIND_MEMBER:
		return "a member"
	case invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION:
		return "an integration user"
	case invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR:
		return "the integrator"
	}
	return enumWord(k)
}

func codePhrase(inv *invitationv1.Invitation) string {
	switch inv.GetCodeDelivery() {
	case invitationv1.CodeDelivery_CODE_DELIVERY_SMS:
		return "by SMS to " + inv.GetMobile()
	case invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER:
		return "to the inviter, " + inv.GetInviter().GetEmail() + ", who hands it on"
	case invitationv1.CodeDelivery_CODE_DELIVERY_NONE:
		return "none"
	}
	return enumWord(inv.GetCodeDelivery())
}

// printInvitation prints an invitation's details, one per line.
func printInvitation(w io.Writer, inv *invitationv1.Invitation) {
	t := newTable(w)
	t.row("  invitation", inv.GetInvitationId())
	t.row("  kind", enumWord(inv.GetKind()))
	t.row("  invitee", invitee(inv))
	status := enumWord(inv.GetStatus())
	switch inv.GetStatus() {
	case invitationv1.InvitationStatus_INVITATION_STATUS_PENDING, invitationv1.InvitationStatus_INVITATION_STATUS_LOCKED:
		status += ", link valid until " + when(inv.GetExpiresAt())
	case invitationv1.InvitationStatus_INVITATION_STATUS_ACCEPTED:
		status += " " + when(inv.GetAcceptedAt())
	}
	t.row("  status", status)
	if inv.GetMobile() != "" {
		t.row("  mobile", inv.GetMobile())
	}
	t.row("  one-time code", codePhrase(inv))
	t.row("  grants", grantsText(inv.GetGrants()))
	t.row("  made in", enumWord(inv.GetOrigin()))
	if inv.GetPartnerId() != "" {
		t.row("  partner", inv.GetPartnerId())
	}
	t.row("  invited by", fmt.Sprintf("%s <%s> %s", inv.GetInviter().GetName(), inv.GetInviter().GetEmail(), when(inv.GetCreatedAt())))
	_ = t.flush()
}

type inviteListCmd struct {
	apiFlags `embed:""`
	Status   []string `name:"status" enum:"pending,accepted,expired,revoked,locked" help:"Only these statuses (pending, accepted, expired, revoked, locked); repeatable."`
	Kind     []string `name:"kind" enum:"member,integration,integrator" help:"Only these kinds (member, integration, integrator); repeatable."`
	Limit    int      `name:"limit" default:"100" help:"At most this many invitations (0: all)."`
}

func (c *inviteListCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	req := &invitationv1.ListInvitationsRequest{TenantId: c.Tenant}
	for _, s := range c.Status {
		req.Statuses = append(req.Statuses, inviteStatuses[s])
	}
	for _, k := range c.Kind {
		req.Kinds = append(req.Kinds, inviteKinds[k])
	}
	all := &invitationv1.ListInvitationsResponse{}
	client := c.invitations()
	for {
		req.PageSize = pageSize(c.Limit, len(all.GetInvitations()))
		res, err := client.ListInvitations(ctx, connect.NewRequest(req))
		if err != nil {
			return apiError(c.Server, err)
		}
		all.Invitations = append(all.Invitations, res.Msg.GetInvitations()...)
		all.NextPageToken = res.Msg.GetNextPageToken()
		if all.NextPageToken == "" || (c.Limit > 0 && len(all.Invitations) >= c.Limit) {
			break
		}
		req.PageToken = all.NextPageToken
	}
	if c.JSON {
		return c.printJSON(all)
	}
	return printInvitationTable(c.w(), all)
}

// pageSize asks for what is left of limit, at most 500 (the API's maximum).
func pageSize(limit, have int) int32 {
	n := 500
	if limit > 0 && limit-have < n {
		n = limit - have
	}
	return int32(n)
}

func printInvitationTable(w io.Writer, res *invitationv1.ListInvitationsResponse) error {
	if len(res.GetInvitations()) == 0 {
		_, err := fmt.Fprintln(w, "No invitations.")
		return err
	}
	t := newTable(w, "INVITATION", "KIND", "STATUS", "INVITEE", "GRANTS", "CREATED", "EXPIRES")
	for _, inv := range res.GetInvitations() {
		t.row(inv.GetInvitationId(), enumWord(inv.GetKind()), enumWord(inv.GetStatus()), invitee(inv), grantsText(inv.GetGrants()),
			when(inv.GetCreatedAt()), when(inv.GetExpiresAt()))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if res.GetNextPageToken() != "" {
		_, err := fmt.Fprintln(w, "(more: --limit 0 lists them all)")
		return err
	}
	return nil
}

type inviteShowCmd struct {
	apiFlags     `embed:""`
	InvitationID string `arg:"" name:"invitation" help:"The invitation's id."`
}

func (c *inviteShowCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	res, err := c.invitations().GetInvitation(ctx, connect.NewRequest(&invitationv1.GetInvitationRequest{TenantId: c.Tenant, InvitationId: c.InvitationID}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	printInvitation(c.w(), res.Msg.GetInvitation())
	return nil
}

type inviteResendCmd struct {
	apiFlags     `embed:""`
	InvitationID string `arg:"" name:"invitation" help:"The invitation's id."`
	CodeTo       string `name:"code-to" enum:",sms,me" default:"" help:"Send the code elsewhere this time: sms or me (e.g. when the SMS does not arrive). Default: as before."`
}

func (c *inviteResendCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	req := &invitationv1.ResendInvitationRequest{TenantId: c.Tenant, InvitationId: c.InvitationID}
	if c.CodeTo != "" {
		d := codeDeliveries[c.CodeTo]
		req.CodeDelivery = &d
	}
	res, err := c.invitations().ResendInvitation(ctx, connect.NewRequest(req))
	if err != nil {
		return apiError(c.Server, err)
	}
	inv := res.Msg.GetInvitation()
	if c.JSON {
		if err := c.printJSON(res.Msg); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.w(), "Sent again to %s: a new link (the old one no longer works), valid until %s; one-time code: %s.\n",
			invitee(inv), when(inv.GetExpiresAt()), codePhrase(inv))
	}
	if req.CodeDelivery != nil && inv.GetCodeDelivery() != *req.CodeDelivery {
		// The API documents code_delivery on ResendInvitation; say so
		// when the service did not apply it rather than pretend.
		return fmt.Errorf("the invitation was sent again, but its one-time code still goes %s: the invitation service did not apply --code-to %s", codePhrase(inv), c.CodeTo)
	}
	return nil
}

type inviteNewCodeCmd struct {
	apiFlags     `embed:""`
	InvitationID string `arg:"" name:"invitation" help:"The invitation's id."`
}

func (c *inviteNewCodeCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	res, err := c.invitations().IssueNewCode(ctx, connect.NewRequest(&invitationv1.IssueNewCodeRequest{TenantId: c.Tenant, InvitationId: c.InvitationID}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	inv := res.Msg.GetInvitation()
	fmt.Fprintf(c.w(), "A new one-time code for %s went %s; the invitation is %s.\n", invitee(inv), codePhrase(inv), enumWord(inv.GetStatus()))
	return nil
}

type inviteRevokeCmd struct {
	apiFlags     `embed:""`
	InvitationID string `arg:"" name:"invitation" help:"The invitation's id."`
	Note         string `name:"note" help:"Why, for the audit trail."`
}

func (c *inviteRevokeCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	res, err := c.invitations().RevokeInvitation(ctx, connect.NewRequest(&invitationv1.RevokeInvitationRequest{TenantId: c.Tenant, InvitationId: c.InvitationID, Note: c.Note}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	fmt.Fprintf(c.w(), "Revoked the invitation of %s; its link no longer works.\n", invitee(res.Msg.GetInvitation()))
	return nil
}

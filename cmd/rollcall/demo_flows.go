package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
)

var (
	demoLinkToken = regexp.MustCompile(`#token=([A-Za-z0-9_-]{43})`)
	demoCode      = regexp.MustCompile(`\b(\d{6})\b`)
)

// invitationLink waits for the invitation email to addr and returns the
// link's token, as the invitee clicking it would.
func (d *demo) invitationLink(ctx context.Context, addr string) (string, demoMail, error) {
	m, err := d.mail(ctx, addr, func(m demoMail) bool { return m.Kind == "email" && demoLinkToken.MatchString(m.Text) })
	if err != nil {
		return "", m, err
	}
	return demoLinkToken.FindStringSubmatch(m.Text)[1], m, nil
}

// user waits until identity has created the user (from InviteAccepted).
func (d *demo) user(ctx context.Context, id string, ok func(*identityv1.User) bool) (*identityv1.User, error) {
	var u *identityv1.User
	err := d.eventually(ctx, "identity to create user "+id+" (if it could not, the event is parked: rollcall dlq list)", func() (bool, error) {
		res, err := d.idn.GetUser(ctx, connect.NewRequest(&identityv1.GetUserRequest{TenantId: d.tenant, UserId: id}))
		if err != nil {
			return false, apiError(d.base, err)
		}
		u = res.Msg.GetUser()
		return ok == nil || ok(u), nil
	})
	return u, err
}

// Seed 000: a neutral integration user, invited from client
// administration with the integration-user package and every additional
// package; he sets a password through the link, and the integration signs
// in with it.
func (d *demo) integrationUser(ctx context.Context) error {
	email := "klarna-" + d.run + "@selskapepost.example"
	created, err := d.inv.CreateInvitation(ctx, connect.NewRequest(&invitationv1.CreateInvitationRequest{
		TenantId: d.tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION,
		Origin:    commonv1.CreationOrigin_CREATION_ORIGIN_CLIENT_ADMINISTRATION,
		FirstName: "Klarna", LastName: "Integrasjon", Email: email, CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_NONE,
		Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM,
			AccessPackages: &commonv1.AccessPackages{IntegrationUser: true, AllAdditionalPackages: true}},
	}))
	if err != nil {
		return apiError(d.base, err)
	}
	inv := created.Msg.GetInvitation()
	d.adminName, d.adminEmail = inv.GetInviter().GetName(), inv.GetInviter().GetEmail()
	d.say("%s opens client administration for %s and invites a neutral integration user, not tied to any employee:\n"+
		"Klarna Integrasjon <%s>, no phone, package \"integration user\" and every additional package.\n"+
		"Invitation %s, pending until %s.", d.adminName, d.tenantName, email, inv.GetInvitationId(), when(inv.GetExpiresAt()))

	tok, m, err := d.invitationLink(ctx, email)
	if err != nil {
		return err
	}
	d.say("The invitation email reached the integration's mailbox: %q (the tenant's language).", m.Subject)

	opened, err := d.anonInv.OpenInvitation(ctx, connect.NewRequest(&invitationv1.OpenInvitationRequest{Token: tok}))
	if err != nil {
		return apiError(d.base, err)
	}
	password := "Demo-" + secret(15)
	accepted, err := d.anonInv.AcceptInvitation(ctx, connect.NewRequest(&invitationv1.AcceptInvitationRequest{
		Token: tok, LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_PASSWORD, Password: &password,
	}))
	if err != nil {
		return apiError(d.base, err)
	}
	d.say("Following the link (to %s, from %s), the invitee sets a password; the link is spent.", opened.Msg.GetTenantName(), opened.Msg.GetInviterName())

	u, err := d.user(ctx, accepted.Msg.GetUserId(), nil)
	if err != nil {
		return err
	}
	d.say("Identity created user %s: kind %s, %s, role %s, grants %s, takes a seat: %t.",
		u.GetUserId(), enumWord(u.GetKind()), enumWord(u.GetStatus()), enumWord(u.GetRole()), grantsText(u.GetProfile().GetGrants()),
		u.GetProfile().GetCountsTowardSeatLimit())
	if u.GetKind() != identityv1.UserKind_USER_KIND_INTEGRATION {
		return fmt.Errorf("user %s is of kind %s, want integration", u.GetUserId(), enumWord(u.GetKind()))
	}
	if u.GetSponsorUserId() != "" {
		d.detail("Its sponsor (the person who answers for it) is %s; if he leaves, it keeps working and is flagged for a new sponsor.", u.GetSponsorUserId())
	}

	signed, err := d.anonIdn.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: d.companyCode, Email: email, Password: password}))
	if err != nil {
		return apiError(d.base, err)
	}
	d.say("The third-party system signs in with that email and password (company code %s): a bearer token until %s.",
		d.companyCode, when(signed.Msg.GetExpiresAt()))
	return nil
}

// Seed 001: an administrator invites a person with a role, a scope,
// product categories and an application link; the one-time code goes by
// SMS; the invitee opens the link, enters the code and, being new,
// chooses BankID. Then the "send the one-time code to me" variant.
func (d *demo) inviteUser(ctx context.Context) error {
	first := func(kind identityv1.StructureKind) (*identityv1.StructureItem, error) {
		xs, err := d.st.items(ctx, kind)
		if err != nil {
			return nil, err
		}
		if len(xs) == 0 {
			return nil, fmt.Errorf("the tenant has no %s to choose", enumWord(kind))
		}
		return xs[0], nil
	}
	org, err := first(identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION)
	if err != nil {
		return err
	}
	cust, err := first(identityv1.StructureKind_STRUCTURE_KIND_CUSTOMER)
	if err != nil {
		return err
	}
	cat, err := first(identityv1.StructureKind_STRUCTURE_KIND_PRODUCT_CATEGORY)
	if err != nil {
		return err
	}
	app, err := first(identityv1.StructureKind_STRUCTURE_KIND_APPLICATION)
	if err != nil {
		return err
	}
	// Per takes a seat: say so now rather than wait for identity to park
	// his acceptance.
	tn, err := d.idn.GetTenant(ctx, connect.NewRequest(&identityv1.GetTenantRequest{TenantId: d.tenant}))
	if err != nil {
		return apiError(d.base, err)
	}
	if lim := tn.Msg.GetTenant().GetSeatLimit(); lim > 0 && tn.Msg.GetSeatsTaken() >= lim {
		return fmt.Errorf("the tenant's plan has no free seat (%d of %d taken) for the person this flow invites: raise the plan's limit (IdentityService/UpdateTenant) or deactivate someone", tn.Msg.GetSeatsTaken(), lim)
	}
	email, mobile := "per.hansen-"+d.run+"@example.no", d.mobile()
	grants := &commonv1.Grants{
		PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support", "invoices"},
		Scope: &commonv1.AccessScope{
			Organisations: &commonv1.Selection{Ids: []string{org.GetId()}}, Customers: &commonv1.Selection{Ids: []string{cust.GetId()}},
			CostCentres: &commonv1.Selection{All: true}, ProductCategories: &commonv1.Selection{Ids: []string{cat.GetId()}},
			ApplicationLinkIds: []string{app.GetId()},
		},
	}
	created, err := d.inv.CreateInvitation(ctx, connect.NewRequest(&invitationv1.CreateInvitationRequest{
		TenantId: d.tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		FirstName: "Per", LastName: "Hansen", Email: email, Mobile: &mobile, CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_SMS, Grants: grants,
	}))
	if err != nil {
		return apiError(d.base, err)
	}
	inv := created.Msg.GetInvitation()
	d.adminName, d.adminEmail = inv.GetInviter().GetName(), inv.GetInviter().GetEmail()
	d.say("%s invites Per Hansen <%s>, mobile %s, one-time code by SMS.\n"+
		"Permission level custom: Support and Invoices. Access: organisation %q, customer %q, every cost centre;\n"+
		"product category %q; application link %q. Invitation %s.",
		d.adminName, email, mobile, org.GetName(), cust.GetName(), cat.GetName(), app.GetName(), inv.GetInvitationId())

	tok, m, err := d.invitationLink(ctx, email)
	if err != nil {
		return err
	}
	sms, err := d.mail(ctx, mobile, func(m demoMail) bool { return m.Kind == "sms" && demoCode.MatchString(m.Text) })
	if err != nil {
		return err
	}
	code := demoCode.FindStringSubmatch(sms.Text)[1]
	d.say("The email %q reached Per, and an SMS with a six-digit code reached %s.", m.Subject, mobile)

	opened, err := d.anonInv.OpenInvitation(ctx, connect.NewRequest(&invitationv1.OpenInvitationRequest{Token: tok}))
	if err != nil {
		return apiError(d.base, err)
	}
	verified, err := d.anonInv.VerifyCode(ctx, connect.NewRequest(&invitationv1.VerifyCodeRequest{Token: tok, Code: code}))
	if err != nil {
		return apiError(d.base, err)
	}
	var methods []string
	for _, lm := range verified.Msg.GetLoginMethods() {
		methods = append(methods, enumWord(lm))
	}
	d.say("Per clicks \"To the invitation\" (%s invites him to %s) and enters the code: accepted. No existing profile,\nso he picks a login method: %s.",
		opened.Msg.GetInviterName(), opened.Msg.GetTenantName(), joinOr(methods))

	nid := norwegianID(d.rnd)
	assertion, err := d.mint(ctx, "bankid", map[string]string{"country": "no", "national_id": nid, "audience": inv.GetInvitationId()})
	if err != nil {
		return err
	}
	accepted, err := d.anonInv.AcceptInvitation(ctx, connect.NewRequest(&invitationv1.AcceptInvitationRequest{
		Token: tok, Code: code, LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_BANKID,
		LoginAssertion: &invitationv1.LoginAssertion{Provider: "bankid", Assertion: assertion},
	}))
	if err != nil {
		return apiError(d.base, err)
	}
	d.say("He signs in with BankID (the development stand-in, a Norwegian national identity number %s…) and the invitation is accepted.", nid[:6])

	u, err := d.user(ctx, accepted.Msg.GetUserId(), nil)
	if err != nil {
		return err
	}
	if !proto.Equal(u.GetProfile().GetGrants(), grants) {
		return fmt.Errorf("identity holds other grants for Per than the invited ones: %s", grantsText(u.GetProfile().GetGrants()))
	}
	d.employeeID, d.employeeName = u.GetUserId(), userName(u)
	t, err := d.idn.GetTenant(ctx, connect.NewRequest(&identityv1.GetTenantRequest{TenantId: d.tenant}))
	if err != nil {
		return apiError(d.base, err)
	}
	d.say("Identity created Per (user %s) with exactly the invited grants: %s.\nHe takes a seat: %d of %d taken.",
		u.GetUserId(), grantsText(u.GetProfile().GetGrants()), t.Msg.GetSeatsTaken(), t.Msg.GetTenant().GetSeatLimit())

	// "Send the one-time code to me": for an invitee without SMS.
	siri := "siri.dahl-" + d.run + "@example.se"
	sent := time.Now().Add(-2 * time.Second)
	created, err = d.inv.CreateInvitation(ctx, connect.NewRequest(&invitationv1.CreateInvitationRequest{
		TenantId: d.tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		FirstName: "Siri", LastName: "Dahl", Email: siri, CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER,
		Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support"}},
	}))
	if err != nil {
		return apiError(d.base, err)
	}
	siriInv := created.Msg.GetInvitation()
	toMe, err := d.mail(ctx, d.adminEmail, func(m demoMail) bool {
		return m.ReceivedAt.After(sent) && strings.Contains(m.Subject+m.Text, "Siri Dahl") && demoCode.MatchString(m.Text)
	})
	if err != nil {
		return err
	}
	d.say("Siri Dahl has no SMS, so %s ticks \"send the one-time code to me\": the code reached %s (%q), to hand to Siri.",
		d.adminName, d.adminEmail, toMe.Subject)
	if _, err := d.inv.RevokeInvitation(ctx, connect.NewRequest(&invitationv1.RevokeInvitationRequest{
		TenantId: d.tenant, InvitationId: siriInv.GetInvitationId(), Note: "rollcall demo: shown, not needed",
	})); err != nil {
		return apiError(d.base, err)
	}
	d.say("The demo does not need Siri: %s revokes her invitation %s (rollcall invite revoke); its link no longer works.", d.adminName, siriInv.GetInvitationId())
	return nil
}

// Seed 002: the application manager creates an API-only service user and
// prints its letter; the vendor's application gets an API token with it;
// the same credentials never sign in interactively; a reset gives a new,
// permanent password.
func (d *demo) serviceUser(ctx context.Context) error {
	apps := &structure{client: d.apps, tenant: d.tenant, server: d.base}
	appID, err := apps.id(ctx, identityv1.StructureKind_STRUCTURE_KIND_APPLICATION, "application", "Lønn (payroll)")
	if err != nil {
		xs, lerr := apps.items(ctx, identityv1.StructureKind_STRUCTURE_KIND_APPLICATION)
		if lerr != nil || len(xs) == 0 {
			return err
		}
		appID = xs[0].GetId()
	}
	code := "PAIE" + strings.ToUpper(d.run)
	created, err := d.apps.CreateServiceUser(ctx, connect.NewRequest(&identityv1.CreateServiceUserRequest{
		TenantId: d.tenant, UserCode: code, ApplicationId: appID, Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE,
		Language: "fr-CA", AllCompanies: true, AllStructure: true,
	}))
	if err != nil {
		return apiError(d.base, err)
	}
	u, letter := created.Msg.GetUser(), created.Msg.GetLetter()
	d.say("The application manager creates service user %s (%s): usage type service user, application %q, status %s,\nlanguage %s, every company and the whole administrative structure.",
		code, u.GetUserId(), apps.name(ctx, identityv1.StructureKind_STRUCTURE_KIND_APPLICATION, appID), enumWord(u.GetServiceUser().GetStatus()), u.GetServiceUser().GetLanguage())
	d.say("\"Print letter\": the letter for the vendor, returned this once (also as a %d-byte PDF):", len(letter.GetPdf()))
	for _, line := range strings.Split(strings.TrimRight(letter.GetText(), "\n"), "\n") {
		d.detail("| %s", line)
	}

	tok, err := d.anonIdn.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{
		CompanyCode: letter.GetCompanyCode(), UserCode: letter.GetUserCode(), Password: letter.GetPassword()}))
	if err != nil {
		return apiError(d.base, err)
	}
	d.say("The vendor's application calls the API token endpoint with company code, user code and password: an API token until %s.", when(tok.Msg.GetExpiresAt()))

	_, err = d.anonIdn.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: letter.GetCompanyCode(), Email: letter.GetUserCode(), Password: letter.GetPassword()}))
	refusal, rerr := expectRefused(err, connect.CodePermissionDenied, "a service user signing in to the web application")
	if rerr != nil {
		return rerr
	}
	d.say("The same credentials on the web sign-in are refused: %s", refusal)

	reset, err := d.apps.ResetServiceUserPassword(ctx, connect.NewRequest(&identityv1.ResetServiceUserPasswordRequest{TenantId: d.tenant, UserId: u.GetUserId()}))
	if err != nil {
		return apiError(d.base, err)
	}
	_, err = d.anonIdn.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{
		CompanyCode: letter.GetCompanyCode(), UserCode: letter.GetUserCode(), Password: letter.GetPassword()}))
	if _, rerr := expectRefused(err, connect.CodeUnauthenticated, "the old password after a reset"); rerr != nil {
		return rerr
	}
	if _, err := d.anonIdn.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{
		CompanyCode: letter.GetCompanyCode(), UserCode: letter.GetUserCode(), Password: reset.Msg.GetLetter().GetPassword()})); err != nil {
		return apiError(d.base, err)
	}
	d.say("The letter was lost: the application manager resets the password (rollcall service-user reset %s) and prints a new letter.\nThe old password is refused now, the new one gets a token, and it is permanent.", code)
	return nil
}

// activeIntegrator is the tenant's active integrator's user id ("" when none).
func (d *demo) activeIntegrator(ctx context.Context) (*integratorv1.GetActiveIntegratorResponse, error) {
	res, err := d.pol.GetActiveIntegrator(ctx, connect.NewRequest(&integratorv1.GetActiveIntegratorRequest{TenantId: d.tenant}))
	if err != nil {
		return nil, apiError(d.base, err)
	}
	return res.Msg, nil
}

// acceptAsIntegrator follows the integrator's invitation email and accepts
// with a provider profile (the telia stand-in), as a user of his own.
func (d *demo) acceptAsIntegrator(ctx context.Context, email, firstName, lastName string) (string, error) {
	tok, _, err := d.invitationLink(ctx, email)
	if err != nil {
		return "", err
	}
	opened, err := d.anonInv.OpenInvitation(ctx, connect.NewRequest(&invitationv1.OpenInvitationRequest{Token: tok}))
	if err != nil {
		return "", apiError(d.base, err)
	}
	a, err := d.mint(ctx, "telia", map[string]string{"user_id": email, "audience": opened.Msg.GetInvitationId()})
	if err != nil {
		return "", err
	}
	res, err := d.anonInv.AcceptInvitation(ctx, connect.NewRequest(&invitationv1.AcceptInvitationRequest{
		Token: tok, LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_PROVIDER_PROFILE, FirstName: &firstName, LastName: &lastName,
		LoginAssertion: &invitationv1.LoginAssertion{Provider: "telia", Assertion: a},
	}))
	if err != nil {
		return "", apiError(d.base, err)
	}
	return res.Msg.GetUserId(), nil
}

func (d *demo) inviteIntegrator(ctx context.Context, email string) (*invitationv1.Invitation, error) {
	res, err := d.inv.CreateInvitation(ctx, connect.NewRequest(&invitationv1.CreateInvitationRequest{
		TenantId: d.tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		Email: email, CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_NONE,
		Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR},
	}))
	if err != nil {
		return nil, err // the caller words it: a refusal may be the point
	}
	return res.Msg.GetInvitation(), nil
}

// Seed 003: the portal admin invites a certified partner's integrator
// (the email is checked against the partner registry), then another one,
// which dismisses the first automatically; the integrator is refused what
// an integrator may not do; the admin dismisses him.
func (d *demo) integrator(ctx context.Context) error {
	stranger := "someone-" + d.run + "@gmail.example"
	_, err := d.inviteIntegrator(ctx, stranger)
	refusal, rerr := expectRefused(err, connect.CodeInvalidArgument, "inviting a stranger as integrator")
	if rerr != nil {
		return rerr
	}
	d.say("%s types %s on the \"invite integrator\" tab: not a registered partner's address, refused:\n%s", d.adminName, stranger, refusal)

	ivanEmail := "ivan.petrov-" + d.run + "@integra.example"
	ivanInv, err := d.inviteIntegrator(ctx, ivanEmail)
	if err != nil {
		return apiError(d.base, err)
	}
	d.say("%s invites %s: it belongs to a registered partner (%s). Invitation %s.", d.adminName, ivanEmail, ivanInv.GetPartnerId(), ivanInv.GetInvitationId())
	ivan, err := d.acceptAsIntegrator(ctx, ivanEmail, "Ivan", "Petrov")
	if err != nil {
		return err
	}
	var active *integratorv1.GetActiveIntegratorResponse
	if err := d.eventually(ctx, "Ivan to become the active integrator", func() (bool, error) {
		var err error
		active, err = d.activeIntegrator(ctx)
		return err == nil && active.GetIntegrator().GetUserId() == ivan, err
	}); err != nil {
		return err
	}
	iu, err := d.user(ctx, ivan, func(u *identityv1.User) bool { return u.GetStatus() == identityv1.UserStatus_USER_STATUS_ACTIVE })
	if err != nil {
		return err
	}
	d.say("Ivan Petrov follows the link and signs in with a provider profile, as a user of his own (%s).\nHe is the active integrator: role %s, integrator marker %t, takes a seat %t. Policy: %s.",
		ivan, enumWord(iu.GetRole()), iu.GetProfile().GetIntegratorMarker(), iu.GetProfile().GetCountsTowardSeatLimit(), policyText(active.GetPolicy()))

	nilsEmail := "nils.berg-" + d.run + "@nordicsetup.example"
	nilsInv, err := d.inviteIntegrator(ctx, nilsEmail)
	if err != nil {
		return apiError(d.base, err)
	}
	if err := d.eventually(ctx, "Ivan to be dismissed when another integrator is invited", func() (bool, error) {
		a, err := d.activeIntegrator(ctx)
		if err != nil {
			return false, err
		}
		for _, x := range a.GetAssignments() {
			if x.GetIntegrator().GetUserId() == ivan {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	if _, err := d.user(ctx, ivan, func(u *identityv1.User) bool { return u.GetStatus() == identityv1.UserStatus_USER_STATUS_DEACTIVATED }); err != nil {
		return err
	}
	d.say("%s invites another integrator, %s (invitation %s):\nIvan is dismissed at once, before Nils has even accepted (IntegratorReplaced); identity deactivated his user.",
		d.adminName, nilsEmail, nilsInv.GetInvitationId())

	nils, err := d.acceptAsIntegrator(ctx, nilsEmail, "Nils", "Berg")
	if err != nil {
		return err
	}
	if err := d.eventually(ctx, "Nils to become the active integrator", func() (bool, error) {
		a, err := d.activeIntegrator(ctx)
		return err == nil && a.GetIntegrator().GetUserId() == nils, err
	}); err != nil {
		return err
	}
	if _, err := d.user(ctx, nils, func(u *identityv1.User) bool { return u.GetStatus() == identityv1.UserStatus_USER_STATUS_ACTIVE }); err != nil {
		return err
	}
	d.say("Nils Berg accepts: he is now the one active integrator (%s).", nils)

	a, err := d.mint(ctx, "telia", map[string]string{"user_id": nilsEmail, "audience": d.tenant})
	if err != nil {
		return err
	}
	signed, err := d.anonIdn.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: d.companyCode, Provider: "telia", Assertion: a}))
	if err != nil {
		return apiError(d.base, err)
	}
	as := &serverFlags{Server: d.base, Token: signed.Msg.GetToken()}
	_, err = as.invitations().CreateInvitation(ctx, connect.NewRequest(&invitationv1.CreateInvitationRequest{
		TenantId: d.tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		FirstName: "Olga", LastName: "Admin", Email: "olga-" + d.run + "@integra.example", CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER,
		Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR},
	}))
	refusal, rerr = expectRefused(err, connect.CodePermissionDenied, "the integrator inviting an administrator")
	if rerr != nil {
		return rerr
	}
	d.say("Nils signs in (provider profile) and tries to invite a main administrator: refused, and recorded (ActionDenied):\n%s", refusal)
	if d.employeeID != "" {
		_, err = as.identity().DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
			TenantId: d.tenant, UserId: d.employeeID, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_DISMISSED}))
		refusal, rerr = expectRefused(err, connect.CodePermissionDenied, "the integrator dismissing an employee")
		if rerr != nil {
			return rerr
		}
		d.say("He tries to dismiss the employee %s: refused, and recorded:\n%s", d.employeeName, refusal)
	}

	if _, err := d.pol.DismissIntegrator(ctx, connect.NewRequest(&integratorv1.DismissIntegratorRequest{
		TenantId: d.tenant, IntegratorUserId: nils, Note: "rollcall demo: setup finished"})); err != nil {
		return apiError(d.base, err)
	}
	if _, err := d.user(ctx, nils, func(u *identityv1.User) bool { return u.GetStatus() == identityv1.UserStatus_USER_STATUS_DEACTIVATED }); err != nil {
		return err
	}
	_, err = as.identity().GetTenant(ctx, connect.NewRequest(&identityv1.GetTenantRequest{TenantId: d.tenant}))
	if _, rerr := expectRefused(err, connect.CodeUnauthenticated, "the dismissed integrator's token"); rerr != nil {
		return rerr
	}
	d.say("The work is done: %s dismisses Nils (rollcall integrators dismiss); his access is closed, his token refused.", d.adminName)
	return nil
}

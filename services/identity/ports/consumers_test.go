package ports_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/identity/adapters/login"
	"rollcall.dev/services/identity/domain"
	"rollcall.dev/services/identity/ports"
)

func inviter(tn tenant) *commonv1.Actor {
	return &commonv1.Actor{UserId: tn.adminID, Name: "Kari Admin", Email: "admin@example.com"}
}

// member is an accepted invitation of a person who signed in with BankID.
func member(tn tenant, email, subject string) *invitationv1.InviteAccepted {
	now := timestamppb.Now()
	return &invitationv1.InviteAccepted{
		InvitationId: uuid.NewString(), TenantId: tn.id, OccurredAt: now, AcceptedAt: now,
		Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		UserId: uuid.NewString(), LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_BANKID, ExternalSubject: proto.String(subject),
		FirstName: "Ola", LastName: "Member", Email: email, Mobile: proto.String("+4791234567"),
		Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"invoices"},
			Scope: &commonv1.AccessScope{Organisations: &commonv1.Selection{Ids: tn.orgs[:1]}, ProductCategories: &commonv1.Selection{All: true}}},
		Inviter: inviter(tn),
	}
}

func integration(tn tenant, email string) *invitationv1.InviteAccepted {
	now := timestamppb.Now()
	return &invitationv1.InviteAccepted{
		InvitationId: uuid.NewString(), TenantId: tn.id, OccurredAt: now, AcceptedAt: now,
		Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_CLIENT_ADMINISTRATION,
		UserId: uuid.NewString(), LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_PASSWORD,
		FirstName: "Klarna", LastName: "Integration", Email: email,
		Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM,
			AccessPackages: &commonv1.AccessPackages{IntegrationUser: true, AllAdditionalPackages: true}},
		Inviter: inviter(tn),
	}
}

func integratorAccepted(tn tenant, email string) *invitationv1.InviteAccepted {
	now := timestamppb.Now()
	return &invitationv1.InviteAccepted{
		InvitationId: uuid.NewString(), TenantId: tn.id, OccurredAt: now, AcceptedAt: now,
		Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		UserId: uuid.NewString(), LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_PROVIDER_PROFILE, ExternalSubject: proto.String("telia:" + email),
		FirstName: "Ivan", LastName: "Integrator", Email: email, PartnerId: proto.String(uuid.NewString()),
		Grants:  &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR},
		Inviter: inviter(tn),
	}
}

// assigned is integrator-policy making the accepted integrator ev the
// tenant's active one.
func assigned(ev *invitationv1.InviteAccepted) *integratorv1.IntegratorAssigned {
	return &integratorv1.IntegratorAssigned{TenantId: ev.GetTenantId(), OccurredAt: timestamppb.Now(), InvitationId: ev.GetInvitationId(),
		Integrator: &integratorv1.IntegratorRef{UserId: ev.GetUserId(), PartnerId: ev.GetPartnerId(), Email: ev.GetEmail()}}
}

// deliver hands ev to the consumer's handler as the runner would, with
// event id id (the same id twice is a redelivery).
func deliver(t *testing.T, c bus.ConsumerConfig, id string, ev proto.Message) error {
	t.Helper()
	data, err := proto.Marshal(ev)
	require.NoError(t, err)
	return c.Handler(context.Background(), &bus.Message{ID: id, Type: bus.TypeOf(ev), Data: data})
}

func (e *env) user(t *testing.T, tenantID, userID string) *identityv1.User {
	t.Helper()
	var out *identityv1.User
	require.NoError(t, e.svc.Store.Do(context.Background(), func(tx appTx) error {
		u, err := tx.User(tenantID, userID, false)
		if err == nil {
			out = ports.UserOf(u)
		}
		return err
	}))
	return out
}

func TestInviteAcceptedIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tn := e.tenant(t, "IDEM", 0)
	c := ports.InviteAccepted(e.svc)
	ev := member(tn, "ola@example.com", "bankid:no:abc")
	id := uuid.NewString()
	before := len(e.outboxTypes(t, tn.id))
	require.NoError(t, deliver(t, c, id, ev))
	require.NoError(t, deliver(t, c, id, ev), "redelivery")
	require.NoError(t, deliver(t, c, uuid.NewString(), ev), "the same acceptance under another event id")
	types := e.outboxTypes(t, tn.id)
	require.Equal(t, []string{"rollcall.identity.v1.UserCreated"}, types[before:], "one user, one UserCreated")

	u := e.user(t, tn.id, ev.GetUserId())
	require.True(t, proto.Equal(ev.GetGrants(), u.GetProfile().GetGrants()), "exactly the invited grants")
	require.Equal(t, identityv1.Role_ROLE_USER, u.GetRole())
	require.True(t, u.GetProfile().GetCountsTowardSeatLimit())
	require.Equal(t, commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION, u.GetOrigin())

	// A different invitation claiming the same user id is dead-lettered.
	clash := member(tn, "someone@example.com", "bankid:no:def")
	clash.UserId = ev.GetUserId()
	err := deliver(t, c, uuid.NewString(), clash)
	require.True(t, bus.IsPermanent(err), "%v", err)
}

func TestSeatRule(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "SEATS", 2) // the main administrator takes one
	c := ports.InviteAccepted(e.svc)

	first := member(tn, "first@example.com", "bankid:no:1")
	require.NoError(t, deliver(t, c, uuid.NewString(), first))
	over := member(tn, "over@example.com", "bankid:no:2")
	err := deliver(t, c, uuid.NewString(), over)
	require.True(t, bus.IsPermanent(err), "dead-lettered, not retried: %v", err)
	require.ErrorIs(t, err, domain.ErrSeatLimit)
	require.Contains(t, err.Error(), "2 of 2 seats are taken")

	// Integrators and integration users take no seat (service users: TestServiceUsers).
	require.NoError(t, deliver(t, c, uuid.NewString(), integratorAccepted(tn, "ivan@partner.example")))
	require.NoError(t, deliver(t, c, uuid.NewString(), integration(tn, "klarna@tenant.example")))
	res, err := e.as(t, tn.adminToken).GetTenant(ctx, connect.NewRequest(&identityv1.GetTenantRequest{TenantId: tn.id}))
	require.NoError(t, err)
	require.Equal(t, uint32(2), res.Msg.GetSeatsTaken(), "the admin and the first member")

	// Freeing a seat and replaying the dead-lettered event creates the user.
	_, err = e.as(t, tn.adminToken).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
		TenantId: tn.id, UserId: first.GetUserId(), Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_LEFT}))
	require.NoError(t, err)
	require.NoError(t, deliver(t, c, uuid.NewString(), over))
	require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, e.user(t, tn.id, over.GetUserId()).GetStatus())

	// A plan change below the seats taken is refused with the field.
	_, err = e.as(t, tn.adminToken).UpdateTenant(ctx, connect.NewRequest(&identityv1.UpdateTenantRequest{TenantId: tn.id, SeatLimit: proto.Uint32(1)}))
	ce := requireCode(t, err, connect.CodeInvalidArgument)
	require.Contains(t, ce.Message(), "seat_limit")
}

func TestIntegrationUserAndSponsor(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "KLARNA", 0)
	sponsorID := e.person(t, tn, "sponsor@example.com", domain.RoleSuperuser)
	sponsorTok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, sponsorID, "", 0)
	require.NoError(t, err)

	ev := integration(tn, "klarna@tenant.example")
	ev.Inviter = &commonv1.Actor{UserId: sponsorID, Name: "Per Sponsor", Email: "sponsor@example.com"}
	// The invitation service stores the chosen password before it records
	// the acceptance; identity keeps it pending until the user exists.
	_, err = e.ops.SetInitialPassword(ctx, connect.NewRequest(&identityv1.SetInitialPasswordRequest{
		TenantId: tn.id, UserId: ev.GetUserId(), InvitationId: ev.GetInvitationId(), Password: "correct horse battery"}))
	require.NoError(t, err)
	require.NoError(t, deliver(t, ports.InviteAccepted(e.svc), uuid.NewString(), ev))

	u := e.user(t, tn.id, ev.GetUserId())
	require.Equal(t, identityv1.UserKind_USER_KIND_INTEGRATION, u.GetKind())
	require.Equal(t, sponsorID, u.GetSponsorUserId())
	require.False(t, u.GetNeedsNewSponsor())
	require.False(t, u.GetProfile().GetCountsTowardSeatLimit())
	require.True(t, u.GetProfile().GetGrants().GetAccessPackages().GetIntegrationUser())

	signIn := func() (string, error) {
		res, err := e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "KLARNA", Email: "Klarna@Tenant.example", Password: "correct horse battery"}))
		if err != nil {
			return "", err
		}
		return res.Msg.GetToken(), nil
	}
	tok, err := signIn()
	require.NoError(t, err, "the password chosen through the invitation works")
	_, err = e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "KLARNA", Email: "klarna@tenant.example", Password: "wrong horse battery"}))
	requireCode(t, err, connect.CodeUnauthenticated)

	// The sponsor leaves: the integration user keeps working, flagged.
	_, err = e.as(t, tn.adminToken).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
		TenantId: tn.id, UserId: sponsorID, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_LEFT}))
	require.NoError(t, err)
	_, err = e.svc.Authenticate(ctx, sponsorTok.Token)
	require.ErrorIs(t, err, domain.ErrUnauthenticated)
	u = e.user(t, tn.id, ev.GetUserId())
	require.True(t, u.GetNeedsNewSponsor())
	require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, u.GetStatus())
	_, err = e.svc.Authenticate(ctx, tok)
	require.NoError(t, err, "existing tokens still work")
	_, err = signIn()
	require.NoError(t, err, "and it still signs in")

	// A new sponsor clears the flag; a deactivated or non-person sponsor is refused.
	adm := e.as(t, tn.adminToken)
	_, err = adm.AssignSponsor(ctx, connect.NewRequest(&identityv1.AssignSponsorRequest{TenantId: tn.id, UserId: ev.GetUserId(), SponsorUserId: sponsorID}))
	ce := requireCode(t, err, connect.CodeInvalidArgument)
	require.Contains(t, ce.Message(), "sponsor_user_id")
	res, err := adm.AssignSponsor(ctx, connect.NewRequest(&identityv1.AssignSponsorRequest{TenantId: tn.id, UserId: ev.GetUserId(), SponsorUserId: tn.adminID}))
	require.NoError(t, err)
	require.False(t, res.Msg.GetUser().GetNeedsNewSponsor())
	require.Equal(t, tn.adminID, res.Msg.GetUser().GetSponsorUserId())
}

func TestExistingProfileJoinsAnotherTenant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	a, b := e.tenant(t, "HOME", 0), e.tenant(t, "AWAY", 0)
	// Kari (admin of A) accepts an invitation to B with her existing profile.
	ev := member(b, "unused", "x")
	ja, err := e.as(t, a.adminToken).IssueJoinAssertion(ctx, connect.NewRequest(&identityv1.IssueJoinAssertionRequest{Audience: ev.GetInvitationId()}))
	require.NoError(t, err)
	v, err := e.internal.VerifyLogin(ctx, connect.NewRequest(&identityv1.VerifyLoginRequest{
		TenantId: b.id, Provider: "rollcall", Assertion: ja.Msg.GetAssertion(), Audience: ev.GetInvitationId()}))
	require.NoError(t, err)
	ev.Email = v.Msg.GetExistingUserEmail()
	ev.UserId, ev.ExistingProfile, ev.LoginMethod, ev.ExternalSubject = v.Msg.GetExistingUserId(), true, invitationv1.LoginMethod_LOGIN_METHOD_EXISTING, nil
	c := ports.InviteAccepted(e.svc)
	require.NoError(t, deliver(t, c, uuid.NewString(), ev))
	inB := e.user(t, b.id, a.adminID)
	require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, inB.GetStatus())
	require.Equal(t, identityv1.Role_ROLE_USER, inB.GetRole(), "B's grants, not A's")
	require.Equal(t, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, e.user(t, a.id, a.adminID).GetRole(), "A is untouched")

	// Deactivated in B, then invited again: reactivated with the new grants.
	_, err = e.as(t, b.adminToken).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
		TenantId: b.id, UserId: a.adminID, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_LEFT}))
	require.NoError(t, err)
	again := proto.CloneOf(ev)
	again.InvitationId = uuid.NewString()
	again.Grants.PermissionAreas = []string{"support"}
	require.NoError(t, deliver(t, c, uuid.NewString(), again))
	inB = e.user(t, b.id, a.adminID)
	require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, inB.GetStatus())
	require.Equal(t, []string{"support"}, inB.GetProfile().GetGrants().GetPermissionAreas())
	types := e.outboxTypes(t, b.id)
	require.Equal(t, "rollcall.identity.v1.UserUpdated", types[len(types)-1])
}

// TestExistingProfileSignsInToEveryTenant: a person who accepted in tenant
// A with BankID and then accepted an invitation to tenant B with his
// existing profile signs in to B with the same BankID login (seed 001: an
// existing profile signs in with the login method he has).
func TestExistingProfileSignsInToEveryTenant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	a, b := e.tenant(t, "HOMEA", 0), e.tenant(t, "AWAYB", 0)
	nin := noID(t, "020285123")
	mint := func(audience string) string {
		s, err := e.sim.Mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin, Audience: audience})
		require.NoError(t, err)
		return s
	}
	signIn := func(code, audience string) (*identityv1.SignInResponse, error) {
		res, err := e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: code, Provider: "bankid", Assertion: mint(audience)}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	c := ports.InviteAccepted(e.svc)

	// Tenant A: a new profile, BankID.
	v, err := e.internal.VerifyLogin(ctx, connect.NewRequest(&identityv1.VerifyLoginRequest{TenantId: a.id, Provider: "bankid", Assertion: mint("inv-a"), Audience: "inv-a"}))
	require.NoError(t, err)
	inA := member(a, "ola@example.com", v.Msg.GetSubject())
	require.NoError(t, deliver(t, c, uuid.NewString(), inA))
	home, err := signIn("HOMEA", a.id)
	require.NoError(t, err)

	// Tenant B: the existing profile accepts, with a join assertion his
	// session in A asks for.
	inB := member(b, "unused", "unused")
	ja, err := e.as(t, home.GetToken()).IssueJoinAssertion(ctx, connect.NewRequest(&identityv1.IssueJoinAssertionRequest{Audience: inB.GetInvitationId()}))
	require.NoError(t, err)
	v, err = e.internal.VerifyLogin(ctx, connect.NewRequest(&identityv1.VerifyLoginRequest{
		TenantId: b.id, Provider: "rollcall", Assertion: ja.Msg.GetAssertion(), Audience: inB.GetInvitationId()}))
	require.NoError(t, err)
	require.Equal(t, inA.GetUserId(), v.Msg.GetExistingUserId())
	inB.Email = v.Msg.GetExistingUserEmail()
	inB.UserId, inB.ExistingProfile, inB.LoginMethod, inB.ExternalSubject = v.Msg.GetExistingUserId(), true, invitationv1.LoginMethod_LOGIN_METHOD_EXISTING, nil
	inB.Grants.PermissionAreas = []string{"support"}
	require.NoError(t, deliver(t, c, uuid.NewString(), inB))

	away, err := signIn("AWAYB", b.id)
	require.NoError(t, err, "the same BankID login signs in to B")
	require.Equal(t, inA.GetUserId(), away.GetUser().GetUserId())
	require.Equal(t, b.id, away.GetUser().GetTenantId())
	p, err := e.internal.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: away.GetToken()}))
	require.NoError(t, err)
	require.Equal(t, b.id, p.Msg.GetPrincipal().GetTenantId(), "a session of B, with B's grants")
	require.Equal(t, []string{"support"}, p.Msg.GetPrincipal().GetGrants().GetPermissionAreas())

	// Memberships stay separate: leaving A does not close B.
	_, err = e.as(t, a.adminToken).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
		TenantId: a.id, UserId: inA.GetUserId(), Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_LEFT}))
	require.NoError(t, err)
	_, err = signIn("HOMEA", a.id)
	requireCode(t, err, connect.CodeUnauthenticated)
	_, err = signIn("AWAYB", b.id)
	require.NoError(t, err)
}

func TestSignInWithBankID(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "BANK", 0)
	nin := noID(t, "010190100")
	mint := func(audience string) string {
		a, err := e.sim.Mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin, Audience: audience})
		require.NoError(t, err)
		return a
	}
	// The invitee's login gives the subject the acceptance carries.
	_, err := e.internal.VerifyLogin(ctx, connect.NewRequest(&identityv1.VerifyLoginRequest{TenantId: tn.id, Provider: "bankid", Assertion: mint("inv")}))
	require.Error(t, err, "bound to its audience")
	v, err := e.internal.VerifyLogin(ctx, connect.NewRequest(&identityv1.VerifyLoginRequest{TenantId: tn.id, Provider: "bankid", Assertion: mint("inv"), Audience: "inv"}))
	require.NoError(t, err)
	ev := member(tn, "ola@example.com", v.Msg.GetSubject())
	require.NoError(t, deliver(t, ports.InviteAccepted(e.svc), uuid.NewString(), ev))

	res, err := e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "BANK", Provider: "bankid", Assertion: mint(tn.id)}))
	require.NoError(t, err)
	require.Equal(t, ev.GetUserId(), res.Msg.GetUser().GetUserId())
	p, err := e.svc.Authenticate(ctx, res.Msg.GetToken())
	require.NoError(t, err)
	require.Equal(t, ev.GetUserId(), p.ID)
	// Another person's BankID finds nobody.
	other, err := e.sim.Mint(login.Claims{Provider: "bankid", Country: "se", NationalID: "811218-9876", Audience: tn.id})
	require.NoError(t, err)
	_, err = e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "BANK", Provider: "bankid", Assertion: other}))
	requireCode(t, err, connect.CodeUnauthenticated)
	// Neither half of a method is refused with the field.
	_, err = e.anon.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "BANK", Email: "ola@example.com"}))
	requireCode(t, err, connect.CodeInvalidArgument)
}

func TestIntegratorsLeave(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "BITRIX", 0)
	c := ports.InviteAccepted(e.svc)
	old := integratorAccepted(tn, "old@partner.example")
	require.NoError(t, deliver(t, c, uuid.NewString(), old))
	require.NoError(t, deliver(t, ports.IntegratorAssigned(e.svc), uuid.NewString(), assigned(old)))
	u := e.user(t, tn.id, old.GetUserId())
	require.True(t, u.GetProfile().GetIntegratorMarker())
	require.False(t, u.GetProfile().GetCountsTowardSeatLimit())
	require.Equal(t, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, u.GetRole())
	tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, old.GetUserId(), "", 0)
	require.NoError(t, err)
	p, err := e.internal.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: tok.Token}))
	require.NoError(t, err)
	require.True(t, p.Msg.GetPrincipal().GetIntegrator())

	ref := &integratorv1.IntegratorRef{UserId: old.GetUserId(), PartnerId: old.GetPartnerId(), Email: "old@partner.example"}
	replaced := &integratorv1.IntegratorReplaced{TenantId: tn.id, OccurredAt: timestamppb.Now(), PreviousIntegrator: ref,
		NewIntegrator: &integratorv1.IncomingIntegrator{InvitationId: uuid.NewString(), PartnerId: uuid.NewString(), Email: "new@partner.example"}}
	rc := ports.IntegratorReplaced(e.svc)
	id := uuid.NewString()
	require.NoError(t, deliver(t, rc, id, replaced))
	require.NoError(t, deliver(t, rc, id, replaced), "redelivery")
	require.Equal(t, identityv1.UserStatus_USER_STATUS_DEACTIVATED, e.user(t, tn.id, old.GetUserId()).GetStatus())
	_, err = e.internal.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: tok.Token}))
	requireCode(t, err, connect.CodeUnauthenticated)

	// Dismissal of the next one, by an administrator.
	next := integratorAccepted(tn, "next@partner.example")
	require.NoError(t, deliver(t, c, uuid.NewString(), next))
	require.NoError(t, deliver(t, ports.IntegratorAssigned(e.svc), uuid.NewString(), assigned(next)))
	dismissed := &integratorv1.IntegratorDismissed{TenantId: tn.id, OccurredAt: timestamppb.Now(),
		Integrator:        &integratorv1.IntegratorRef{UserId: next.GetUserId(), PartnerId: next.GetPartnerId(), Email: "next@partner.example"},
		DismissedByUserId: proto.String(tn.adminID), Reason: integratorv1.DismissalReason_DISMISSAL_REASON_ADMIN}
	require.NoError(t, deliver(t, ports.IntegratorDismissed(e.svc), uuid.NewString(), dismissed))
	require.Equal(t, identityv1.UserStatus_USER_STATUS_DEACTIVATED, e.user(t, tn.id, next.GetUserId()).GetStatus())

	// Not an integrator: dead-lettered. Unknown tenant: dead-lettered.
	notIntegrator := proto.CloneOf(dismissed)
	notIntegrator.Integrator.UserId = tn.adminID
	err = deliver(t, ports.IntegratorDismissed(e.svc), uuid.NewString(), notIntegrator)
	require.True(t, bus.IsPermanent(err), "%v", err)
	otherTenant := proto.CloneOf(dismissed)
	otherTenant.TenantId, otherTenant.Integrator.UserId = uuid.NewString(), uuid.NewString()
	err = deliver(t, ports.IntegratorDismissed(e.svc), uuid.NewString(), otherTenant)
	require.True(t, bus.IsPermanent(err), "%v", err)

	// A subject naming another tenant than the payload: dead-lettered,
	// nothing changes.
	wrong := proto.CloneOf(dismissed)
	wrong.Integrator.UserId = old.GetUserId()
	data, err := proto.Marshal(wrong)
	require.NoError(t, err)
	err = ports.IntegratorEvents(e.svc).Handler(ctx, &bus.Message{ID: uuid.NewString(), Type: bus.TypeOf(wrong), Data: data,
		Subject: "integrator.v1." + uuid.NewString() + ".integrator." + old.GetUserId() + ".dismissed"})
	require.True(t, bus.IsPermanent(err), "%v", err)

	// Not known yet (his acceptance has not reached identity): the ending
	// is kept, and his acceptance and assignment arriving after it never
	// open his access.
	for name, gone := range map[string]bus.ConsumerConfig{"Replaced": ports.IntegratorReplaced(e.svc), "Dismissed": ports.IntegratorDismissed(e.svc)} {
		late := integratorAccepted(tn, name+"@partner.example")
		ref := &integratorv1.IntegratorRef{UserId: late.GetUserId(), PartnerId: late.GetPartnerId(), Email: late.GetEmail()}
		var ev proto.Message = &integratorv1.IntegratorDismissed{TenantId: tn.id, OccurredAt: timestamppb.Now(), Integrator: ref,
			Reason: integratorv1.DismissalReason_DISMISSAL_REASON_ADMIN, DismissedByUserId: proto.String(tn.adminID)}
		if name == "Replaced" {
			ev = &integratorv1.IntegratorReplaced{TenantId: tn.id, OccurredAt: timestamppb.Now(), PreviousIntegrator: ref,
				NewIntegrator: &integratorv1.IncomingIntegrator{InvitationId: uuid.NewString(), PartnerId: uuid.NewString(), Email: "n@partner.example"}}
		}
		require.NoError(t, deliver(t, gone, uuid.NewString(), ev), name)
		require.NoError(t, deliver(t, c, uuid.NewString(), late), name)
		require.NoError(t, deliver(t, ports.IntegratorAssigned(e.svc), uuid.NewString(), assigned(late)), name)
		require.Equal(t, identityv1.UserStatus_USER_STATUS_DEACTIVATED, e.user(t, tn.id, late.GetUserId()).GetStatus(), name)
	}
}

// TestIntegratorEventsKeepTheirOrder: identity applies integrator-policy's
// events in the order they were published, also when one of them has to be
// retried, so a newcomer's access never opens before the integrator he
// replaces has lost his.
func TestIntegratorEventsKeepTheirOrder(t *testing.T) {
	t.Parallel()
	e := setup(t)
	n := testkit.NewNATS(t)
	tn := e.tenant(t, "ORDER", 0)
	ctx := context.Background()
	c := ports.InviteAccepted(e.svc)
	old := integratorAccepted(tn, "old@partner.example")
	require.NoError(t, deliver(t, c, uuid.NewString(), old))
	require.NoError(t, deliver(t, ports.IntegratorAssigned(e.svc), uuid.NewString(), assigned(old)))

	r, err := bus.NewRunner(n.Conn, n.JS, nil, ports.IntegratorEvents(e.svc))
	require.NoError(t, err)
	require.NoError(t, r.Start(ctx))
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	pub := bus.NewPublisher(n.JS)
	publish := func(verb, userID string, ev proto.Message) {
		e2, err := bus.NewEvent("/rollcall/test", "integrator.v1."+tn.id+".integrator."+userID+"."+verb, "integrators/"+tn.id, ev)
		require.NoError(t, err)
		_, err = pub.Publish(ctx, e2)
		require.NoError(t, err)
	}
	status := func(userID string) identityv1.UserStatus { return e.user(t, tn.id, userID).GetStatus() }

	// first is assigned before his acceptance reached identity (retried);
	// the old integrator's dismissal, published after it, waits behind it.
	first := integratorAccepted(tn, "first@partner.example")
	publish("assigned", first.GetUserId(), assigned(first))
	publish("dismissed", old.GetUserId(), &integratorv1.IntegratorDismissed{TenantId: tn.id, OccurredAt: timestamppb.Now(),
		Integrator: &integratorv1.IntegratorRef{UserId: old.GetUserId(), PartnerId: old.GetPartnerId(), Email: old.GetEmail()},
		Reason:     integratorv1.DismissalReason_DISMISSAL_REASON_ADMIN, DismissedByUserId: proto.String(tn.adminID)})
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, status(old.GetUserId()), "nothing behind the retried assignment is applied before it")
	require.NoError(t, deliver(t, c, uuid.NewString(), first))
	require.Eventually(t, func() bool {
		return status(old.GetUserId()) == identityv1.UserStatus_USER_STATUS_DEACTIVATED
	}, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, status(first.GetUserId()))

	// A replacement and the assignment that follows it: at no point are
	// both integrators active.
	next := integratorAccepted(tn, "next@partner.example")
	require.NoError(t, deliver(t, c, uuid.NewString(), next))
	publish("replaced", first.GetUserId(), &integratorv1.IntegratorReplaced{TenantId: tn.id, OccurredAt: timestamppb.Now(),
		PreviousIntegrator: &integratorv1.IntegratorRef{UserId: first.GetUserId(), PartnerId: first.GetPartnerId(), Email: first.GetEmail()},
		NewIntegrator: &integratorv1.IncomingIntegrator{InvitationId: next.GetInvitationId(), PartnerId: next.GetPartnerId(),
			Email: next.GetEmail(), UserId: proto.String(next.GetUserId())}})
	publish("assigned", next.GetUserId(), assigned(next))
	deadline := time.Now().Add(15 * time.Second)
	for {
		var active int
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE tenant_id = $1 AND integrator AND status = 'active'`, tn.id).Scan(&active))
		require.LessOrEqual(t, active, 1, "two active integrators")
		if status(next.GetUserId()) == identityv1.UserStatus_USER_STATUS_ACTIVE {
			break
		}
		require.True(t, time.Now().Before(deadline), "the assignment was not applied")
		time.Sleep(2 * time.Millisecond)
	}
	require.Equal(t, identityv1.UserStatus_USER_STATUS_DEACTIVATED, status(first.GetUserId()))
}

// TestConsumersOverJetStream runs the consumers as the platform does and
// publishes real events.
func TestConsumersOverJetStream(t *testing.T) {
	t.Parallel()
	e := setup(t)
	n := testkit.NewNATS(t)
	tn := e.tenant(t, "STREAM", 0)
	r, err := bus.NewRunner(n.Conn, n.JS, nil, ports.InviteAccepted(e.svc), ports.IntegratorEvents(e.svc))
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	pub := bus.NewPublisher(n.JS)
	publish := func(subject, aggregate string, ev proto.Message) {
		e2, err := bus.NewEvent("/rollcall/test", subject, aggregate, ev)
		require.NoError(t, err)
		_, err = pub.Publish(context.Background(), e2)
		require.NoError(t, err)
	}

	integ := integratorAccepted(tn, "ivan@partner.example")
	// The assignment may well arrive first (another stream): it is retried
	// until the acceptance is applied.
	publish("integrator.v1."+tn.id+".integrator."+integ.GetUserId()+".assigned", "integrator/"+integ.GetUserId(), assigned(integ))
	publish("invitation.v1."+tn.id+".invitation."+integ.GetInvitationId()+".accepted", "invitation/"+integ.GetInvitationId(), integ)
	require.Eventually(t, func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE tenant_id = $1 AND id = $2 AND status = 'active'`, tn.id, integ.GetUserId()).Scan(&n)
		return n == 1
	}, 10*time.Second, 20*time.Millisecond)

	dismissed := &integratorv1.IntegratorDismissed{TenantId: tn.id, OccurredAt: timestamppb.Now(),
		Integrator: &integratorv1.IntegratorRef{UserId: integ.GetUserId(), PartnerId: integ.GetPartnerId(), Email: "ivan@partner.example"},
		Reason:     integratorv1.DismissalReason_DISMISSAL_REASON_PARTNER_UNREGISTERED}
	publish("integrator.v1."+tn.id+".integrator."+integ.GetUserId()+".dismissed", "integrator/"+integ.GetUserId(), dismissed)
	require.Eventually(t, func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE tenant_id = $1 AND id = $2 AND status = 'deactivated'`, tn.id, integ.GetUserId()).Scan(&n)
		return n == 1
	}, 10*time.Second, 20*time.Millisecond)
}

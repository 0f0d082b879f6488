package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
)

// parse runs the command line through the real command tree, without
// running it.
func parse(t *testing.T, args ...string) (*cli, *kong.Context, error) {
	t.Helper()
	var c cli
	p, err := kong.New(&c, kong.Name("rollcall"), kong.Exit(func(int) { t.Fatal("kong wanted to exit") }))
	require.NoError(t, err)
	kctx, err := p.Parse(args)
	return &c, kctx, err
}

// fakeIdentity answers ListStructureItems from a fixed list; anything else
// panics (the interface is embedded nil), which the tests would show.
type fakeIdentity struct {
	identityv1connect.IdentityServiceClient
	items map[identityv1.StructureKind][]*identityv1.StructureItem
	calls int
}

func (f *fakeIdentity) ListStructureItems(_ context.Context, req *connect.Request[identityv1.ListStructureItemsRequest]) (*connect.Response[identityv1.ListStructureItemsResponse], error) {
	f.calls++
	return connect.NewResponse(&identityv1.ListStructureItemsResponse{Items: f.items[req.Msg.GetKind()]}), nil
}

const (
	orgOslo   = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a11"
	orgStholm = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a12"
	appLonn   = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a13"
	someID    = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a14"
)

func demoStructure() *fakeIdentity {
	return &fakeIdentity{items: map[identityv1.StructureKind][]*identityv1.StructureItem{
		identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION: {{Id: orgOslo, Name: "Demo AS Oslo"}, {Id: orgStholm, Name: "Demo AB Stockholm"}},
		identityv1.StructureKind_STRUCTURE_KIND_APPLICATION:  {{Id: appLonn, Name: "Lønn (payroll)"}},
	}}
}

func TestInviteCreateFlags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	build := func(t *testing.T, args ...string) (*invitationv1.CreateInvitationRequest, error) {
		t.Helper()
		c, kctx, err := parse(t, append([]string{"invite", "create", "--tenant", someID, "--token", "t"}, args...)...)
		require.NoError(t, err)
		require.Equal(t, "invite create", kctx.Command())
		return c.Invite.Create.request(ctx, &structure{client: demoStructure(), tenant: someID})
	}

	t.Run("AMemberWithAnSMSCodeAndCustomGrants", func(t *testing.T) {
		t.Parallel()
		req, err := build(t, "--email", "per@example.no", "--first-name", "Per", "--last-name", "Hansen", "--mobile", "+4791234567",
			"--area", "support", "--area", "invoices", "--organisation", "demo as oslo", "--cost-centre", "all", "--customer", someID,
			"--app-link", "Lønn (payroll)", "--lifetime", "72h")
		require.NoError(t, err)
		want := &invitationv1.CreateInvitationRequest{
			TenantId: someID, Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
			FirstName: "Per", LastName: "Hansen", Email: "per@example.no", Mobile: proto.String("+4791234567"),
			CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_SMS,
			Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support", "invoices"},
				Scope: &commonv1.AccessScope{
					Organisations: &commonv1.Selection{Ids: []string{orgOslo}}, Customers: &commonv1.Selection{Ids: []string{someID}},
					CostCentres: &commonv1.Selection{All: true}, ApplicationLinkIds: []string{appLonn},
				}},
		}
		want.Lifetime = req.GetLifetime()
		require.Equal(t, 72*time.Hour, req.GetLifetime().AsDuration())
		require.True(t, proto.Equal(want, req), "got %v", req)
	})
	t.Run("TheCodeToTheInviterWhenThereIsNoSMS", func(t *testing.T) {
		t.Parallel()
		_, err := build(t, "--email", "siri@example.se", "--first-name", "Siri", "--last-name", "Dahl", "--area", "support")
		require.EqualError(t, err, "a member's one-time code goes by SMS or to you: give --mobile, or --code-to me when the invitee has no SMS")
		req, err := build(t, "--email", "siri@example.se", "--first-name", "Siri", "--last-name", "Dahl", "--area", "support", "--code-to", "me")
		require.NoError(t, err)
		require.Equal(t, invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER, req.GetCodeDelivery())
		require.Nil(t, req.GetGrants().GetScope(), "no scope flag, no scope")
	})
	t.Run("AnIntegrationUserGetsTheSeedsPackages", func(t *testing.T) {
		t.Parallel()
		req, err := build(t, "--kind", "integration", "--from", "client-admin", "--email", "klarna@selskapepost.example", "--first-name", "Klarna", "--last-name", "Integrasjon")
		require.NoError(t, err)
		require.Equal(t, commonv1.CreationOrigin_CREATION_ORIGIN_CLIENT_ADMINISTRATION, req.GetOrigin())
		require.Equal(t, invitationv1.CodeDelivery_CODE_DELIVERY_NONE, req.GetCodeDelivery())
		require.True(t, proto.Equal(&commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM,
			AccessPackages: &commonv1.AccessPackages{IntegrationUser: true, AllAdditionalPackages: true}}, req.GetGrants()))
		_, err = build(t, "--kind", "integration", "--email", "k@s.example", "--first-name", "K", "--last-name", "I", "--package", "payroll")
		require.ErrorContains(t, err, "an integration user gets every additional package")
	})
	t.Run("AnIntegratorIsAMainAdministratorWithoutCode", func(t *testing.T) {
		t.Parallel()
		req, err := build(t, "--kind", "integrator", "--email", "integrator@integra.example")
		require.NoError(t, err)
		require.Equal(t, commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR, req.GetGrants().GetPermissionLevel())
		require.Equal(t, invitationv1.CodeDelivery_CODE_DELIVERY_NONE, req.GetCodeDelivery())
	})
	t.Run("UnknownNamesListWhatTheTenantHas", func(t *testing.T) {
		t.Parallel()
		_, err := build(t, "--email", "a@b.example", "--first-name", "A", "--last-name", "B", "--mobile", "+4791234567", "--area", "support", "--organisation", "Bergen")
		require.EqualError(t, err, `--organisation "Bergen": no organisation of that name; the tenant has "Demo AS Oslo" or "Demo AB Stockholm" (or give an id)`)
		_, err = build(t, "--email", "a@b.example", "--first-name", "A", "--last-name", "B", "--mobile", "+4791234567", "--area", "support", "--organisation", "all", "--organisation", orgOslo)
		require.EqualError(t, err, "--organisation all: give it alone, not with other values")
	})
	t.Run("BadEnumsAreRefusedByTheParser", func(t *testing.T) {
		t.Parallel()
		_, _, err := parse(t, "invite", "create", "--email", "a@b.example", "--kind", "boss")
		require.ErrorContains(t, err, "--kind")
		_, _, err = parse(t, "invite", "create")
		require.ErrorContains(t, err, "--email")
	})
}

func TestCommandTreeDefaultsAndAliases(t *testing.T) {
	t.Parallel()
	c, kctx, err := parse(t, "users")
	require.NoError(t, err)
	require.Equal(t, "users list", kctx.Command(), "rollcall users lists")
	require.Equal(t, "http://localhost:8080", c.Users.List.Server, "the dev stack by default, like rollcall sync")
	require.Equal(t, ".rollcall", c.Users.List.DataDir)

	c, kctx, err = parse(t, "invite", "list", "--url", "http://rollcall.internal:8080", "--status", "pending", "--status", "locked", "--json")
	require.NoError(t, err)
	require.Equal(t, "invite list", kctx.Command())
	require.Equal(t, "http://rollcall.internal:8080", c.Invite.List.Server, "--url is an alias of --server, as rollcall sync spells it")
	require.Equal(t, []string{"pending", "locked"}, c.Invite.List.Status)
	require.True(t, c.Invite.List.JSON)

	c, kctx, err = parse(t, "dlq", "--nats-url", "nats://n:4222")
	require.NoError(t, err)
	require.Equal(t, "dlq list", kctx.Command())
	require.Equal(t, "nats://n:4222", c.DLQ.List.NATS, "--nats-url is an alias of --nats, as rollcall events spells it")

	c, kctx, err = parse(t, "dlq", "replay", "3", "7")
	require.NoError(t, err)
	require.Equal(t, "dlq replay <seq>", kctx.Command())
	require.Equal(t, []uint64{3, 7}, c.DLQ.Replay.Seqs)

	c, kctx, err = parse(t, "service-user", "status", "PAIE2026", "inactive")
	require.NoError(t, err)
	require.Equal(t, "service-user status <user> <status>", kctx.Command())
	require.Equal(t, "inactive", c.ServiceUser.Status.Set)
	_, _, err = parse(t, "service-user", "status", "PAIE2026", "asleep")
	require.Error(t, err)

	c, _, err = parse(t, "integrators", "policy", "set", "--max", "2", "--mode", "admin-chooses")
	require.NoError(t, err)
	require.Equal(t, uint32(2), c.Integrators.Policy.Set.Max)

}

func TestDefaultsComeFromTheDevStacksDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := apiFlags{serverFlags: serverFlags{DataDir: dir}}
	require.EqualError(t, a.setup(devAdminTokenFile), "no --token, and "+filepath.Join(dir, "identity", "bootstrap-admin.token")+
		" cannot be read (is 'rollcall dev' running with --data-dir "+dir+"?)")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "identity"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "identity", "bootstrap-admin.token"), []byte("rc_admin\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "identity", "bootstrap-app-manager.token"), []byte("rc_apps\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "identity", "bootstrap-tenant.id"), []byte(someID+"\n"), 0o600))
	require.NoError(t, a.setup(devAdminTokenFile))
	require.Equal(t, "rc_admin", a.Token)
	require.Equal(t, someID, a.Tenant)

	apps := apiFlags{serverFlags: serverFlags{DataDir: dir}}
	require.NoError(t, apps.setup(devAppManagerTokenFile), "service-user acts as the application manager")
	require.Equal(t, "rc_apps", apps.Token)
	given := apiFlags{serverFlags: serverFlags{DataDir: dir, Token: "rc_mine"}, Tenant: orgOslo}
	require.NoError(t, given.setup(devAdminTokenFile))
	require.Equal(t, "rc_mine", given.Token, "flags win")
	require.Equal(t, orgOslo, given.Tenant)

	n := natsFlags{DataDir: dir}
	_, err := n.url()
	require.ErrorContains(t, err, "is 'rollcall dev' running")
}

func connectErr(t *testing.T, code connect.Code, msg string, details ...proto.Message) *connect.Error {
	t.Helper()
	ce := connect.NewError(code, errors.New(msg))
	for _, d := range details {
		ed, err := connect.NewErrorDetail(d)
		require.NoError(t, err)
		ce.AddDetail(ed)
	}
	return ce
}

func TestAPIErrorsAreWordedForATerminal(t *testing.T) {
	t.Parallel()
	field := func(name string) *validate.FieldPath {
		return &validate.FieldPath{Elements: []*validate.FieldPathElement{{FieldName: proto.String(name)}}}
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"OneFieldViolationIsTheMessage", connectErr(t, connect.CodeInvalidArgument, "email: does not belong to a registered partner",
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "email", Description: "does not belong to a registered partner"}}}),
			"invalid_argument: email: does not belong to a registered partner"},
		{"ProtovalidateViolationsOnePerLine", connectErr(t, connect.CodeInvalidArgument, "validation errors:\n - first_name and last_name are required\n - mobile: does not match",
			&validate.Violations{Violations: []*validate.Violation{{Message: proto.String("first_name and last_name are required")},
				{Field: field("mobile"), Message: proto.String("does not match")}}}),
			"invalid_argument: the request is not valid:\n  - first_name and last_name are required\n  - mobile: does not match"},
		{"OneProtovalidateViolation", connectErr(t, connect.CodeInvalidArgument, "validation error: email: must be a valid email address",
			&validate.Violations{Violations: []*validate.Violation{{Field: field("email"), Message: proto.String("must be a valid email address")}}}),
			"invalid_argument: email: must be a valid email address"},
		{"AMessageAndItsViolations", connectErr(t, connect.CodeAlreadyExists, "the partner overlaps another",
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "domains[0]", Description: "integra.example is taken"}}}),
			"already_exists: the partner overlaps another\n  - domains[0]: integra.example is taken"},
		{"TheReasonOfAnErrorInfo", connectErr(t, connect.CodePermissionDenied, "a service user can only use the API token endpoint",
			&errdetails.ErrorInfo{Reason: "SERVICE_USER_API_ONLY", Domain: "identity.rollcall.dev"}),
			"permission_denied (SERVICE_USER_API_ONLY): a service user can only use the API token endpoint"},
		{"NoDetails", connectErr(t, connect.CodeFailedPrecondition, "invitation is no longer pending"), "failed_precondition: invitation is no longer pending"},
		{"NotAnAPIError", errors.New("--organisation: bad"), "--organisation: bad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.EqualError(t, apiError("http://localhost:8080", tc.err), tc.want)
		})
	}

	t.Run("ServerNotRunning", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := "http://" + ln.Addr().String()
		require.NoError(t, ln.Close())
		a := &serverFlags{Server: addr, Token: "t"}
		_, err = a.invitations().ListInvitations(context.Background(), connect.NewRequest(&invitationv1.ListInvitationsRequest{}))
		err = apiError(addr, err)
		require.ErrorContains(t, err, "unavailable: cannot reach Rollcall at "+addr+" (is 'rollcall dev' running? --server names another)")
	})
}

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

func TestTables(t *testing.T) {
	t.Parallel()
	t.Run("Invitations", func(t *testing.T) {
		t.Parallel()
		var b bytes.Buffer
		require.NoError(t, printInvitationTable(&b, &invitationv1.ListInvitationsResponse{Invitations: []*invitationv1.Invitation{
			{InvitationId: orgOslo, Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER, Status: invitationv1.InvitationStatus_INVITATION_STATUS_PENDING,
				FirstName: "Per", LastName: "Hansen", Email: "per@example.no", CreatedAt: ts("2026-11-23T10:00:00Z"), ExpiresAt: ts("2026-11-30T10:00:00Z"),
				Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support"},
					Scope: &commonv1.AccessScope{CostCentres: &commonv1.Selection{All: true}}}},
			{InvitationId: orgStholm, Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR, Status: invitationv1.InvitationStatus_INVITATION_STATUS_REVOKED,
				Email: "integrator@integra.example", CreatedAt: ts("2026-11-22T09:30:00Z"), ExpiresAt: ts("2026-11-29T09:30:00Z"),
				Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR}},
		}, NextPageToken: "x"}))
		require.Equal(t, ""+
			"INVITATION                            KIND        STATUS   INVITEE                       GRANTS                                   CREATED            EXPIRES\n"+
			"0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a11  member      pending  Per Hansen <per@example.no>   custom: areas support; cost centres all  2026-11-23 10:00Z  2026-11-30 10:00Z\n"+
			"0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a12  integrator  revoked  <integrator@integra.example>  main administrator                       2026-11-22 09:30Z  2026-11-29 09:30Z\n"+
			"(more: --limit 0 lists them all)\n", b.String())
		b.Reset()
		require.NoError(t, printInvitationTable(&b, &invitationv1.ListInvitationsResponse{}))
		require.Equal(t, "No invitations.\n", b.String())
	})
	t.Run("Users", func(t *testing.T) {
		t.Parallel()
		var b bytes.Buffer
		require.NoError(t, printUserTable(&b, &identityv1.ListUsersResponse{Users: []*identityv1.User{
			{UserId: orgOslo, Kind: identityv1.UserKind_USER_KIND_INTEGRATOR, Status: identityv1.UserStatus_USER_STATUS_ACTIVE, Role: identityv1.Role_ROLE_MAIN_ADMINISTRATOR,
				Profile: &identityv1.UserProfile{FirstName: "Ivan", LastName: "Petrov", Email: "ivan@integra.example", IntegratorMarker: true}},
			{UserId: orgStholm, Kind: identityv1.UserKind_USER_KIND_SERVICE, Status: identityv1.UserStatus_USER_STATUS_ACTIVE, Role: identityv1.Role_ROLE_USER,
				ServiceUser: &identityv1.ServiceUser{UserCode: "PAIE2026", Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE}},
		}}))
		require.Equal(t, ""+
			"USER                                  KIND        STATUS  ROLE                NAME         EMAIL                 NOTES\n"+
			"0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a11  integrator  active  main administrator  Ivan Petrov  ivan@integra.example  integrator, no seat\n"+
			"0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a12  service     active  user                PAIE2026     -                     API only, inactive\n", b.String())
	})
	t.Run("IntegratorsAndPolicy", func(t *testing.T) {
		t.Parallel()
		var b bytes.Buffer
		require.NoError(t, printIntegrators(&b, &integratorv1.GetActiveIntegratorResponse{
			Assignments: []*integratorv1.Assignment{{Integrator: &integratorv1.IntegratorRef{UserId: orgOslo, PartnerId: appLonn, Email: "nils@nordicsetup.example"},
				State: integratorv1.IntegratorState_INTEGRATOR_STATE_ACTIVE, InvitationId: someID, Since: ts("2026-11-23T10:00:00Z")}},
			Policy: &integratorv1.Policy{MaxActiveIntegrators: 1, OverflowMode: integratorv1.OverflowMode_OVERFLOW_MODE_REPLACE_CURRENT},
		}))
		require.Equal(t, ""+
			"INTEGRATOR                            EMAIL                     PARTNER                               STATE   SINCE              INVITATION\n"+
			"0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a11  nils@nordicsetup.example  0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a13  active  2026-11-23 10:00Z  0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a14\n"+
			"Policy: at most 1 active; inviting another dismisses the current one (the default)\n", b.String())
		require.Equal(t, "at most 2 active; an integrator invited over the limit waits until an administrator chooses (set 2026-11-23 10:00Z by "+orgOslo+")",
			policyText(&integratorv1.Policy{MaxActiveIntegrators: 2, OverflowMode: integratorv1.OverflowMode_OVERFLOW_MODE_ADMIN_CHOOSES,
				UpdatedAt: ts("2026-11-23T10:00:00Z"), UpdatedByUserId: proto.String(orgOslo)}))
	})
	t.Run("DeadLetters", func(t *testing.T) {
		t.Parallel()
		var b bytes.Buffer
		require.NoError(t, printDeadLetters(&b, nil))
		require.Equal(t, "No dead letters.\n", b.String())
		b.Reset()
		require.NoError(t, printDeadLetters(&b, []bus.DeadLetter{{
			Seq: 4, Reason: "permanent failure: the tenant's plan has no free seat:\n 25 of 25 seats are taken", OriginalStream: "INVITATION", OriginalSeq: 17,
			Consumer: "identity-invite-accepted", Deliveries: 1, EventType: "rollcall.invitation.v1.InviteAccepted",
			ParkedAt: time.Date(2026, 11, 23, 10, 0, 5, 0, time.UTC),
		}}))
		require.Equal(t, ""+
			"SEQ  PARKED                FROM            CONSUMER                  TYPE                                   DELIVERIES  REASON\n"+
			"4    2026-11-23 10:00:05Z  INVITATION #17  identity-invite-accepted  rollcall.invitation.v1.InviteAccepted  1           permanent failure: the tenant's plan has no free seat: 25 of 25 seats are taken\n"+
			"Next: rollcall dlq inspect <seq>; fix the cause, then rollcall dlq replay <seq>\n", b.String())
	})
	t.Run("EnumWords", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "main administrator", enumWord(identityv1.Role_ROLE_MAIN_ADMINISTRATOR))
		require.Equal(t, "pending first sync", enumWord(syncv1.ConnectionStatus_CONNECTION_STATUS_PENDING_FIRST_SYNC))
		require.Equal(t, "", enumWord(invitationv1.InvitationStatus_INVITATION_STATUS_UNSPECIFIED))
		require.Equal(t, "provider profile", enumWord(invitationv1.LoginMethod_LOGIN_METHOD_PROVIDER_PROFILE))
	})
}

func TestServiceUserLetterPDF(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	path := filepath.Join(dir, "letter.pdf")
	require.NoError(t, writeLetterPDF(&out, path, &identityv1.ServiceUserLetter{Pdf: []byte("%PDF-1.3 ...")}))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "it holds the password")
	require.Contains(t, out.String(), "The letter as a PDF: "+path)

	out.Reset()
	none := filepath.Join(dir, "none.pdf")
	require.NoError(t, writeLetterPDF(&out, none, &identityv1.ServiceUserLetter{Text: "only text"}))
	require.NoFileExists(t, none)
	require.Contains(t, out.String(), "The API returned no PDF")

	var letter bytes.Buffer
	printLetter(&letter, &identityv1.ServiceUserLetter{Text: "Code d'utilisateur: PAIE2026\n"})
	require.Contains(t, letter.String(), "shown this once")
	require.Contains(t, letter.String(), "Code d'utilisateur: PAIE2026\n---")
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/testkit"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
)

var (
	bootstrapTenant = regexp.MustCompile(`tenant id\s+([0-9a-f-]{36})`)
	bootstrapAdmin  = regexp.MustCompile(`main administrator\s+\S+\s+\S+\n\s+bearer token\s+(\S+)`)
	linkToken       = regexp.MustCompile(`#token=([A-Za-z0-9_-]{43})`)
	sixDigits       = regexp.MustCompile(`\b(\d{6})\b`)
)

type sinkMessage struct {
	Kind    string   `json:"kind"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
}

// waitMessage polls the dev mail sink for a message to addr.
func waitMessage(t *testing.T, base, addr string) sinkMessage {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		code, body := get(t, base+"/dev/mail/api/messages?to="+url.QueryEscape(addr))
		require.Equal(t, http.StatusOK, code)
		var msgs []sinkMessage
		require.NoError(t, json.Unmarshal([]byte(body), &msgs))
		if len(msgs) > 0 {
			return msgs[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no message to %s", addr)
	return sinkMessage{}
}

func bearer[T any](tok string, m *T) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Bearer "+tok)
	return r
}

// TestReadmeWalkthrough is the README's invitation walkthrough against the
// real `rollcall dev` binary: the bootstrap admin invites a person (code by
// SMS, BankID stand-in) and an integration user (password), the messages
// arrive in the mail sink, acceptance creates the users in identity, and a
// non-partner integrator is refused.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	testkit.RequirePostgres(t)
	prefix := randomPrefix()
	t.Cleanup(func() { dropDatabases(t, testkit.DatabaseURL(), prefix) })
	p := startDev(t, testkit.DatabaseURL(), prefix)
	base := p.waitReady(t)
	out := p.out()
	tm, am := bootstrapTenant.FindStringSubmatch(out), bootstrapAdmin.FindStringSubmatch(out)
	require.NotNil(t, tm, out)
	require.NotNil(t, am, out)
	tenant, admin := tm[1], am[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inv := invitationv1connect.NewInvitationServiceClient(http.DefaultClient, base, connect.WithProtoJSON())
	ids := identityv1connect.NewIdentityServiceClient(http.DefaultClient, base, connect.WithProtoJSON())

	t.Run("PersonWithSMSCodeAndBankID", func(t *testing.T) {
		created, err := inv.CreateInvitation(ctx, bearer(admin, &invitationv1.CreateInvitationRequest{
			TenantId: tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
			Origin:    commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
			FirstName: "Per", LastName: "Hansen", Email: "per@example.no", Mobile: ptr("+4791234567"),
			CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_SMS,
			Grants:       &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support"}},
		}))
		require.NoError(t, err)
		invID := created.Msg.GetInvitation().GetInvitationId()

		email := waitMessage(t, base, "per@example.no")
		require.Equal(t, "email", email.Kind)
		require.Contains(t, email.Subject, "Demo AS", "in the tenant's language and name")
		tok := linkToken.FindStringSubmatch(email.Text)
		require.NotNil(t, tok, email.Text)
		require.Contains(t, email.Text, base+"/invite#token=")
		sms := waitMessage(t, base, "+4791234567")
		code := sixDigits.FindStringSubmatch(sms.Text)
		require.NotNil(t, code, sms.Text)

		opened, err := inv.OpenInvitation(ctx, connect.NewRequest(&invitationv1.OpenInvitationRequest{Token: tok[1]}))
		require.NoError(t, err)
		require.Equal(t, "Demo AS", opened.Msg.GetTenantName())
		require.True(t, opened.Msg.GetCodeRequired())

		res, err := http.Post(base+"/dev/login/bankid", "application/json",
			bytes.NewBufferString(fmt.Sprintf(`{"country":"no","national_id":"01019010046","audience":%q}`, invID)))
		require.NoError(t, err)
		var minted struct{ Assertion string }
		require.NoError(t, json.NewDecoder(res.Body).Decode(&minted))
		_ = res.Body.Close()
		require.NotEmpty(t, minted.Assertion)

		accept := &invitationv1.AcceptInvitationRequest{
			Token: tok[1], Code: code[1], LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_BANKID,
			LoginAssertion: &invitationv1.LoginAssertion{Provider: "bankid", Assertion: minted.Assertion},
		}
		accepted, err := inv.AcceptInvitation(ctx, connect.NewRequest(accept))
		require.NoError(t, err)
		_, err = inv.AcceptInvitation(ctx, connect.NewRequest(accept))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err), "a used link is dead")

		// Identity consumed InviteAccepted and created the user with the
		// invited grants.
		require.Eventually(t, func() bool {
			u, err := ids.GetUser(ctx, bearer(admin, &identityv1.GetUserRequest{TenantId: tenant, UserId: accepted.Msg.GetUserId()}))
			return err == nil && u.Msg.GetUser().GetProfile().GetEmail() == "per@example.no" &&
				len(u.Msg.GetUser().GetProfile().GetGrants().GetPermissionAreas()) == 1
		}, 30*time.Second, 100*time.Millisecond)
	})

	t.Run("IntegrationUserSetsAPassword", func(t *testing.T) {
		devStack{base: base, tenant: tenant, admin: admin}.inviteIntegration(ctx, t, inv, "Lønn", "integration@demo.example", "correct horse battery staple")
		require.Eventually(t, func() bool {
			_, err := ids.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{
				CompanyCode: "DEMO", Email: "integration@demo.example", Password: "correct horse battery staple",
			}))
			return err == nil
		}, 30*time.Second, 100*time.Millisecond, "the integration user signs in with the password set through the link")
	})

	t.Run("NonPartnerIntegratorIsRefused", func(t *testing.T) {
		_, err := inv.CreateInvitation(ctx, bearer(admin, &invitationv1.CreateInvitationRequest{
			TenantId: tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR,
			Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION, Email: "someone@elsewhere.example",
			CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_NONE,
			Grants:       &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR},
		}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.ErrorContains(t, err, "registered partner")
		_, err = inv.CreateInvitation(ctx, bearer("rc_not-a-token", &invitationv1.CreateInvitationRequest{}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "validation comes first")
	})
}

func ptr[T any](v T) *T { return &v }

// devStack is a running `rollcall dev` and what its bootstrap printed.
type devStack struct {
	p                         *devProcess
	base, dataDir             string
	tenant, admin, appManager string
}

// startDevStack starts `rollcall dev` on a fresh set of databases (dropped
// at the end) and reads the demo tenant and its two administrators' tokens
// from the banner; env adds to the environment.
func startDevStack(t *testing.T, env ...string) devStack {
	t.Helper()
	testkit.RequirePostgres(t)
	prefix := randomPrefix()
	t.Cleanup(func() { dropDatabases(t, testkit.DatabaseURL(), prefix) })
	dataDir := filepath.Join(t.TempDir(), ".rollcall")
	p := startDevIn(t, testkit.DatabaseURL(), prefix, dataDir, env...)
	base := p.waitReady(t)
	out := p.out()
	tm, am, mm := bootstrapTenant.FindStringSubmatch(out), bootstrapAdmin.FindStringSubmatch(out), bootstrapAppManager.FindStringSubmatch(out)
	require.NotNil(t, tm, out)
	require.NotNil(t, am, out)
	require.NotNil(t, mm, out)
	return devStack{p: p, base: base, dataDir: dataDir, tenant: tm[1], admin: am[1], appManager: mm[1]}
}

// inviteIntegration invites an integration user (seed 000) as the demo
// tenant's administrator, reads the link from the mail sink and accepts it
// with password; it returns the link token and the new user's id.
func (s devStack) inviteIntegration(ctx context.Context, t *testing.T, inv invitationv1connect.InvitationServiceClient, firstName, email, password string) (token, userID string) {
	t.Helper()
	_, err := inv.CreateInvitation(ctx, bearer(s.admin, &invitationv1.CreateInvitationRequest{
		TenantId: s.tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION,
		Origin:    commonv1.CreationOrigin_CREATION_ORIGIN_CLIENT_ADMINISTRATION,
		FirstName: firstName, LastName: "Integrasjon", Email: email,
		CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_NONE,
		Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM,
			AccessPackages: &commonv1.AccessPackages{IntegrationUser: true, AllAdditionalPackages: true}},
	}))
	require.NoError(t, err)
	tok := linkToken.FindStringSubmatch(waitMessage(t, s.base, email).Text)
	require.NotNil(t, tok)
	accepted, err := inv.AcceptInvitation(ctx, connect.NewRequest(&invitationv1.AcceptInvitationRequest{
		Token: tok[1], LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_PASSWORD, Password: &password,
	}))
	require.NoError(t, err)
	return tok[1], accepted.Msg.GetUserId()
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/bus"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"
)

var bootstrapAppManager = regexp.MustCompile(`application manager\s+\S+\s+\S+\n\s+bearer token\s+(\S+)`)

// TestSecretsStayOutOfLogsAndEvents runs whole flows against the real dev
// binary at debug level — an invitation with its link token, one-time code
// (a wrong one too) and BankID assertion, an integration user's password
// (and a wrong one at sign-in), a service user's password and its reset,
// its API token, and an ERP API key (a refused one too) — then searches
// every log line and every event in every stream for each secret it used.
func TestSecretsStayOutOfLogsAndEvents(t *testing.T) {
	t.Parallel()
	s := startDevStack(t, "LOG_LEVEL=debug")
	p, base, dataDir, tenant, admin, appManager := s.p, s.base, s.dataDir, s.tenant, s.admin, s.appManager
	secrets := map[string]string{"admin bearer token": admin, "application manager bearer token": appManager}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	inv := invitationv1connect.NewInvitationServiceClient(http.DefaultClient, base)
	ids := identityv1connect.NewIdentityServiceClient(http.DefaultClient, base)
	syncs := syncv1connect.NewSyncServiceClient(http.DefaultClient, base)

	// A person: link token, a wrong and the right one-time code, BankID.
	created, err := inv.CreateInvitation(ctx, bearer(admin, &invitationv1.CreateInvitationRequest{
		TenantId: tenant, Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
		Origin:    commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		FirstName: "Hemmelig", LastName: "Person", Email: "secret.person@example.no", Mobile: ptr("+4791234599"),
		CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_SMS,
		Grants:       &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support"}},
	}))
	require.NoError(t, err)
	tok := linkToken.FindStringSubmatch(waitMessage(t, base, "secret.person@example.no").Text)
	require.NotNil(t, tok)
	code := sixDigits.FindStringSubmatch(waitMessage(t, base, "+4791234599").Text)
	require.NotNil(t, code)
	n, err := strconv.Atoi(code[1])
	require.NoError(t, err)
	wrong := fmt.Sprintf("%06d", (n+1)%1_000_000)
	secrets["invitation link token"], secrets["one-time code"], secrets["wrong one-time code"] = tok[1], code[1], wrong
	res, err := http.Post(base+"/dev/login/bankid", "application/json", bytes.NewBufferString(
		fmt.Sprintf(`{"country":"no","national_id":"01019010046","audience":%q}`, created.Msg.GetInvitation().GetInvitationId())))
	require.NoError(t, err)
	var minted struct{ Assertion string }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&minted))
	_ = res.Body.Close()
	secrets["BankID assertion"] = minted.Assertion
	accept := &invitationv1.AcceptInvitationRequest{Token: tok[1], Code: wrong, LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_BANKID,
		LoginAssertion: &invitationv1.LoginAssertion{Provider: "bankid", Assertion: minted.Assertion}}
	_, err = inv.AcceptInvitation(ctx, connect.NewRequest(accept))
	require.Error(t, err, "a wrong code is refused")
	accept.Code = code[1]
	_, err = inv.AcceptInvitation(ctx, connect.NewRequest(accept))
	require.NoError(t, err)

	// An integration user: his password, and a wrong one at sign-in.
	password, wrongPassword := "leak-test correct horse battery", "leak-test wrong horse battery"
	secrets["integration user password"], secrets["wrong password"] = password, wrongPassword
	itok, _ := s.inviteIntegration(ctx, t, inv, "Hemmelig", "secret.integration@demo.example", password)
	secrets["integration invitation link token"] = itok
	require.Eventually(t, func() bool {
		_, err := ids.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "DEMO", Email: "secret.integration@demo.example", Password: password}))
		return err == nil
	}, 30*time.Second, 100*time.Millisecond)
	_, err = ids.SignIn(ctx, connect.NewRequest(&identityv1.SignInRequest{CompanyCode: "DEMO", Email: "secret.integration@demo.example", Password: wrongPassword}))
	require.Error(t, err)

	// A service user: its password, the reset's new one, an API token.
	apps, err := ids.ListStructureItems(ctx, bearer(appManager, &identityv1.ListStructureItemsRequest{TenantId: tenant, Kind: identityv1.StructureKind_STRUCTURE_KIND_APPLICATION}))
	require.NoError(t, err)
	require.NotEmpty(t, apps.Msg.GetItems())
	su, err := ids.CreateServiceUser(ctx, bearer(appManager, &identityv1.CreateServiceUserRequest{
		TenantId: tenant, UserCode: "LEAK2026", ApplicationId: apps.Msg.GetItems()[0].GetId(),
		Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, Language: "nb", AllCompanies: true, AllStructure: true,
	}))
	require.NoError(t, err)
	secrets["service user password"] = su.Msg.GetLetter().GetPassword()
	reset, err := ids.ResetServiceUserPassword(ctx, bearer(appManager, &identityv1.ResetServiceUserPasswordRequest{TenantId: tenant, UserId: su.Msg.GetUser().GetUserId()}))
	require.NoError(t, err)
	secrets["service user's new password"] = reset.Msg.GetLetter().GetPassword()
	api, err := ids.IssueServiceToken(ctx, connect.NewRequest(&identityv1.IssueServiceTokenRequest{CompanyCode: "DEMO", UserCode: "LEAK2026", Password: reset.Msg.GetLetter().GetPassword()}))
	require.NoError(t, err)
	secrets["service user API token"] = api.Msg.GetToken()

	// An ERP connection: a refused key, then the real one.
	var key struct {
		APIKey string `json:"api_key"`
	}
	post(t, base+"/dev/erp/_admin/api-keys", "", &key)
	refusedKey := "leak-test-refused-api-key-0123"
	secrets["ERP API key"], secrets["refused ERP API key"] = key.APIKey, refusedKey
	_, err = syncs.CreateConnection(ctx, bearer(admin, &syncv1.CreateConnectionRequest{TenantId: tenant,
		ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: refusedKey, AuthorityConfirmed: true}))
	require.Error(t, err)
	_, err = syncs.CreateConnection(ctx, bearer(admin, &syncv1.CreateConnectionRequest{TenantId: tenant,
		ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: key.APIKey, AuthorityConfirmed: true}))
	require.NoError(t, err)

	for what, s := range secrets {
		require.GreaterOrEqual(t, len(s), 6, "%s is a real secret", what)
	}

	// Every event in every stream, payload and headers.
	urlBytes, err := os.ReadFile(filepath.Join(dataDir, "nats.url"))
	require.NoError(t, err)
	nc, err := nats.Connect(strings.TrimSpace(string(urlBytes)))
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	time.Sleep(time.Second) // let the relays publish what the last calls wrote
	var events [][]byte
	for _, s := range bus.Streams {
		st, err := js.Stream(ctx, s.Name)
		require.NoError(t, err)
		info, err := st.Info(ctx)
		require.NoError(t, err)
		for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
			m, err := st.GetMsg(ctx, seq)
			if err != nil {
				continue // deleted
			}
			raw := append([]byte(m.Subject+"\n"), m.Data...)
			for k, vs := range m.Header {
				raw = append(raw, []byte("\n"+k+": "+strings.Join(vs, ","))...)
			}
			events = append(events, raw)
		}
	}
	require.Greater(t, len(events), 5, "the flows published events")
	require.True(t, slices.ContainsFunc(events, func(e []byte) bool { return bytes.Contains(e, []byte("secret.integration@demo.example")) }),
		"the events searched are the flows' (InviteAccepted names the invitee)")

	// Every log line the services wrote (JSON); the banner prints the dev
	// bootstrap tokens on purpose and is not a log.
	logFile, err := os.ReadFile(filepath.Join(dataDir, "rollcall.log"))
	require.NoError(t, err)
	var logs []string
	for _, line := range strings.Split(p.out()+"\n"+string(logFile), "\n") {
		if strings.HasPrefix(line, "{") {
			logs = append(logs, line)
		}
	}
	require.Greater(t, len(logs), 20, "debug logs were written")
	for what, s := range secrets {
		for _, l := range logs {
			require.NotContains(t, l, s, "the %s is in a log line", what)
		}
		for _, e := range events {
			require.False(t, bytes.Contains(e, []byte(s)), "the %s is in an event: %q", what, e)
		}
	}
	t.Logf("searched %d log lines and %d events for %d secrets", len(logs), len(events), len(secrets))
}

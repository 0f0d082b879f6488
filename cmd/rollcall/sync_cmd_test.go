package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/notify/mailsink"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/pkg/testkit"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	syncsvc "rollcall.dev/services/sync"
	"rollcall.dev/services/sync/migrations"
)

const (
	syncTestServiceToken = "sync-cli-test-service-token-0123456789abcdef"
	syncTestAdminToken   = "rc_sync_cli_test_admin_token"
	syncTestTenant       = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a10"
)

// syncIdentity answers InternalService.Authenticate for the one admin.
type syncIdentity struct {
	identityv1connect.UnimplementedInternalServiceHandler
}

func (syncIdentity) Authenticate(_ context.Context, req *connect.Request[identityv1.AuthenticateRequest]) (*connect.Response[identityv1.AuthenticateResponse], error) {
	if req.Msg.GetToken() != syncTestAdminToken {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("the token is not valid"))
	}
	return connect.NewResponse(&identityv1.AuthenticateResponse{Principal: &identityv1.Principal{
		TenantId: syncTestTenant, UserId: "3e3bea1a-0000-4000-8000-000000000001", Name: "Kari Nordmann",
		Email: "kari.nordmann@demo.example", Role: identityv1.Role_ROLE_MAIN_ADMINISTRATOR, Kind: identityv1.UserKind_USER_KIND_PERSON,
	}}), nil
}

// syncStack runs the sync module as `rollcall dev` wires it (stand-in ERP
// and HR, the mail sink) with identity's stand-in on the same port, and a
// data dir holding the dev stack's bootstrap files.
func syncStack(t *testing.T) (base, dataDir string, sink *mailsink.Sink) {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base = "http://" + ln.Addr().String()
	sink, err = mailsink.Start(ctx, mailsink.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	host, port := sink.SMTPHostPort()
	dataDir = t.TempDir()
	cfg, err := syncsvc.DevConfig(platform.DevEnv{BaseURL: base, DataDir: dataDir, ServiceToken: syncTestServiceToken, SMTPHost: host, SMTPPort: port})
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := testkit.NewDB(t, migrations.FS)
	n := testkit.NewNATS(t)
	relay := outbox.NewRelay(pool, bus.NewPublisher(n.JS), log, outbox.RelayConfig{Service: "sync", PollInterval: 20 * time.Millisecond})
	comp, err := syncsvc.Module(cfg).Build(ctx, platform.Deps{Name: "sync", Source: "/rollcall/sync", Pool: pool, NC: n.Conn, JS: n.JS, Log: log, Relay: relay})
	require.NoError(t, err)
	mux := http.NewServeMux()
	for _, h := range comp.Handlers {
		mux.Handle(h.Path, h.Handler)
	}
	tokens, err := svcauth.ParseTokens(syncTestServiceToken)
	require.NoError(t, err)
	ipath, ih := identityv1connect.NewInternalServiceHandler(syncIdentity{}, connect.WithInterceptors(svcauth.Require(tokens)))
	mux.Handle(ipath, ih)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	require.NoError(t, relay.Start(ctx))
	require.NoError(t, comp.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = comp.Stop(sctx)
		relay.Stop()
		_ = srv.Shutdown(sctx)
	})
	require.NoError(t, os.MkdirAll(filepath.Join(dataDir, "identity"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dataDir, "identity", "bootstrap-admin.token"), []byte(syncTestAdminToken+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dataDir, "identity", "bootstrap-tenant.id"), []byte(syncTestTenant+"\n"), 0o600))
	return base, dataDir, sink
}

func post(t *testing.T, url, body string, out any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
}

// The README's walkthrough of connecting and the first synchronisation,
// run with the CLI's commands against the module: a key the ERP refuses,
// connecting, the preview, the run waiting at the threshold, confirming it
// and following it to the end, the report, and a manual sync of a change
// made in the ERP.
func TestSyncCommandsWalkThroughTheFirstSynchronisation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, dataDir, sink := syncStack(t)
	api := func() (syncAPI, *bytes.Buffer) {
		out := &bytes.Buffer{}
		return syncAPI{URL: base, DataDir: dataDir, out: out}, out
	}

	// Step 1 (in the ERP): an API key, and the data on both sides.
	var minted struct {
		APIKey  string `json:"api_key"`
		Account string `json:"account"`
	}
	post(t, base+"/dev/erp/_admin/api-keys", "", &minted)
	post(t, base+"/dev/erp/_admin/employees?account="+minted.Account,
		`[{"email":"ola@example.com","firstname":"Ola","lastname":"Nordmann-Berg","city":"Bergen"},
		  {"email":"siri@example.com","firstname":"Siri","lastname":"Dahl","telefon":"+4791000009"}]`, nil)
	post(t, base+"/dev/hr/_admin/tenants/"+syncTestTenant+"/users",
		`[{"id":"emp-7","email":"ola@example.com","givenName":"Ola","familyName":"Nordmann","phone":"+4791000002"},
		  {"id":"emp-8","email":"nina@example.com","givenName":"Nina","familyName":"Berg"}]`, nil)

	// Step 2: connect.
	a, _ := api()
	err := (&syncConnectCmd{syncAPI: a, APIKey: "not-the-right-key-0123", ConfirmAuthority: true}).Run(ctx)
	require.ErrorContains(t, err, "the ERP refused this API key")
	a, _ = api()
	err = (&syncConnectCmd{syncAPI: a, APIKey: minted.APIKey}).Run(ctx)
	require.ErrorContains(t, err, "authority_confirmed")
	a, out := api()
	require.NoError(t, (&syncConnectCmd{syncAPI: a, APIKey: minted.APIKey, ConfirmAuthority: true}).Run(ctx))
	require.Contains(t, out.String(), "(whole tenant): pending first sync")
	require.NotContains(t, out.String(), minted.APIKey)

	// Step 3: preview...
	a, out = api()
	require.NoError(t, (&syncPreviewCmd{syncAPI: a, MaxItems: 50}).Run(ctx))
	text := out.String()
	require.Contains(t, text, "HR has 2 employees, 24SevenOffice 2: 1 on both sides (0 equal, 1 with conflicts), 1 only in HR, 1 only in 24SevenOffice.")
	require.Regexp(t, `ola@example.com \(HR emp-7, ERP \d+\)\s+family-name\s+HR "Nordmann"\s+ERP "Nordmann-Berg"`, text)
	require.Regexp(t, `ola@example.com \(HR emp-7, ERP \d+\)\s+phone\s+missing in ERP`, text)
	previewID := regexp.MustCompile(`Preview ([0-9a-f-]{36}) of the first synchronisation`).FindStringSubmatch(text)[1]
	require.Contains(t, text, "Next: rollcall sync apply --preview "+previewID)

	// ...decide and synchronise: over the threshold, it waits.
	a, out = api()
	require.NoError(t, (&syncApplyCmd{syncAPI: a, Preview: previewID, Winner: "hr", Missing: "fill", AddToERP: true, AddToHR: true, Interval: 20 * time.Millisecond}).Run(ctx))
	require.Contains(t, out.String(), "waits for your confirmation: it would overwrite or clear values of 1 of 3 employees, more than the 20% threshold. Nothing was written.")
	runID := regexp.MustCompile(`rollcall sync confirm ([0-9a-f-]{36})`).FindStringSubmatch(out.String())[1]
	a, out = api()
	require.NoError(t, (&syncConfirmCmd{syncAPI: a, RunID: runID}).Run(ctx))
	require.Contains(t, out.String(), "Run "+runID+": succeeded (3 of 3 employees done)")
	require.Contains(t, out.String(), "created in 24SevenOffice 1, created in HR 1, updated in 24SevenOffice 1, updated in HR 1")
	require.Contains(t, out.String(), "the report was emailed to kari.nordmann@demo.example")
	m, err := sink.Wait(ctx, func(m mailsink.Message) bool { return m.SentTo("kari.nordmann@demo.example") })
	require.NoError(t, err)
	require.Contains(t, m.Text, "Created in HR: 1")

	a, out = api()
	a.JSON = true
	require.NoError(t, (&syncStatusCmd{syncAPI: a, RunID: runID}).Run(ctx))
	var status struct {
		Run struct{ Status string } `json:"run"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &status))
	require.Equal(t, "SYNC_RUN_STATUS_SUCCEEDED", status.Run.Status)

	a, out = api()
	require.NoError(t, (&syncConnectionsCmd{syncAPI: a}).Run(ctx))
	require.Contains(t, out.String(), "(whole tenant): active")

	// How to sync users: Siri's phone changed in the ERP reaches HR.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	post(t, base+"/dev/erp/auth", `{"apiKey":"`+minted.APIKey+`"}`, &tok)
	var view struct {
		Employees []struct{ ID, Email string }
	}
	resp, err := http.Get(base + "/dev/erp/_admin/employees?account=" + minted.Account)
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&view))
	resp.Body.Close()
	for _, e := range view.Employees {
		if e.Email == "siri@example.com" {
			req, _ := http.NewRequest(http.MethodPatch, base+"/dev/erp/employee/v2/"+e.ID, strings.NewReader(`{"telefon":"+4798765432"}`))
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
		}
	}
	a, out = api()
	require.NoError(t, (&syncPreviewCmd{syncAPI: a, Manual: true, MaxItems: 50}).Run(ctx))
	require.Regexp(t, `siri@example.com \(HR hr-\d+, ERP \d+\)\s+phone\s+HR "\+4791000009"\s+ERP "\+4798765432"`, out.String())
	manual := regexp.MustCompile(`Preview ([0-9a-f-]{36}) of the synchronize users`).FindStringSubmatch(out.String())[1]
	a, out = api()
	require.NoError(t, (&syncApplyCmd{syncAPI: a, Manual: true, Preview: manual, Winner: "erp", Missing: "fill", Confirm: true, Interval: 20 * time.Millisecond}).Run(ctx))
	require.Contains(t, out.String(), ": succeeded")
	require.Contains(t, out.String(), "updated in HR 1")
}

func TestSyncCommandHelpers(t *testing.T) {
	t.Parallel()
	t.Run("Resolutions", func(t *testing.T) {
		t.Parallel()
		got, err := syncParseResolutions([]string{"emp-7:family-name=erp", "emp-8:phone=hr"})
		require.NoError(t, err)
		require.Equal(t, "emp-7", got[0].GetEmployeeId())
		require.Equal(t, hrv1.EmployeeField_EMPLOYEE_FIELD_FAMILY_NAME, got[0].GetField())
		require.Equal(t, syncv1.SyncSide_SYNC_SIDE_ERP, got[0].GetWinner())
		require.Equal(t, syncv1.SyncSide_SYNC_SIDE_HR, got[1].GetWinner())
		for _, bad := range []string{"emp-7", "emp-7:family-name", "emp-7:surname=hr", "emp-7:phone=both", ":phone=hr"} {
			_, err := syncParseResolutions([]string{bad})
			require.ErrorContains(t, err, "want EMPLOYEE:FIELD=hr|erp", bad)
		}
	})
	t.Run("TheProgressBarRedrawsOneLine", func(t *testing.T) {
		t.Parallel()
		var b bytes.Buffer
		p := newSyncProgress(&b, true)
		p.show(&syncv1.SyncRun{Total: 120, Done: 45, Counts: &syncv1.SyncCounts{CreatedInErp: 3, UpdatedInHr: 10, Failed: 1}})
		p.show(&syncv1.SyncRun{Total: 120, Done: 120, Counts: &syncv1.SyncCounts{CreatedInErp: 3, UpdatedInHr: 10, Failed: 1}})
		p.done()
		require.Equal(t, "\r[===========>                  ] 45/120 employees  created 3  updated 10  failed 1 "+
			"\r[==============================] 120/120 employees  created 3  updated 10  failed 1 \n", b.String())
		var quiet bytes.Buffer
		q := newSyncProgress(&quiet, false)
		q.show(&syncv1.SyncRun{Total: 1})
		q.done()
		require.Empty(t, quiet.String(), "no bar when not on a terminal")
		require.False(t, syncIsTerminal(&quiet))
	})
	t.Run("DefaultsComeFromTheDevStacksDataDir", func(t *testing.T) {
		t.Parallel()
		a := syncAPI{DataDir: t.TempDir()}
		require.ErrorContains(t, a.setup(), "no --token")
	})
}

// `rollcall sync hrsim` serves the stand-in HR system until interrupted.
func TestSyncHrsimCommandServesTheStandIn(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&syncHrsimCmd{Addr: addr, Tokens: []string{"t1"}}).Run(ctx) }()
	var resp *http.Response
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/tenants/"+syncTestTenant+"/users", nil)
		req.Header.Set("Authorization", "Bearer t1")
		resp, err = http.DefaultClient.Do(req)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("X-Development-Tool"), "not a real one")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("hrsim did not stop")
	}
}

package syncsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

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
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/hr"
	"rollcall.dev/services/sync/internal/synctest"
	"rollcall.dev/services/sync/migrations"
)

// The README's walkthrough, against the module wired as `rollcall dev`
// wires it (DevConfig: the stand-in ERP and HR mounted at /dev/erp/ and
// /dev/hr/, identity on the same port — here its stand-in —, the mail sink
// for reports, the webhook on), over the JSON API the CLI calls: an API key
// made in the ERP connects the tenant (a wrong one is refused, nothing
// saved); the first synchronisation is previewed, applied and reported by
// email; then a change published by HR reaches the ERP; the same through
// the signed webhook (signature made with the README's openssl line),
// refused when replayed; a rate-limited ERP is retried after its
// Retry-After; a change made in the ERP reaches HR by "synchronize users".
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	sink, err := mailsink.Start(ctx, mailsink.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	smtpHost, smtpPort := sink.SMTPHostPort()
	cfg, err := DevConfig(platform.DevEnv{BaseURL: base, DataDir: t.TempDir(), ServiceToken: synctest.ServiceToken, SMTPHost: smtpHost, SMTPPort: smtpPort})
	require.NoError(t, err)
	cfg.RetryBase = 100 * time.Millisecond

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := testkit.NewDB(t, migrations.FS)
	n := testkit.NewNATS(t)
	relay := outbox.NewRelay(pool, bus.NewPublisher(n.JS), log, outbox.RelayConfig{Service: Name, PollInterval: 20 * time.Millisecond})
	comp, err := Module(cfg).Build(ctx, platform.Deps{Name: Name, Source: "/rollcall/sync", Pool: pool, NC: n.Conn, JS: n.JS, Log: log, Relay: relay})
	require.NoError(t, err)
	mux := http.NewServeMux()
	for _, h := range comp.Handlers {
		mux.Handle(h.Path, h.Handler)
	}
	// identity answers on the same port in `rollcall dev`.
	idn := synctest.NewIdentityStandIn()
	tokens, err := svcauth.ParseTokens(synctest.ServiceToken)
	require.NoError(t, err)
	ipath, ih := identityv1connect.NewInternalServiceHandler(idn, connect.WithInterceptors(svcauth.Require(tokens)))
	mux.Handle(ipath, ih)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	runner, err := bus.NewRunner(n.Conn, n.JS, log, comp.Consumers...)
	require.NoError(t, err)
	require.NoError(t, relay.Start(ctx))
	require.NoError(t, comp.Start(ctx))
	require.NoError(t, runner.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = runner.Stop(sctx)
		_ = comp.Stop(sctx)
		relay.Stop()
		_ = srv.Shutdown(sctx)
	})

	tn := "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a10"
	admin := idn.Token(tn, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, "kari.admin@demo.example")
	call := func(method, path, token, body string, out any) int {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		if out != nil && len(data) > 0 {
			require.NoError(t, json.Unmarshal(data, out), string(data))
		}
		return resp.StatusCode
	}
	rpc := func(method, body string, out any) int {
		return call(http.MethodPost, "/rollcall.sync.v1.SyncService/"+method, admin, body, out)
	}

	// Step 1: an API key made in the ERP, and the data both sides hold.
	var minted struct{ APIKey, Account string }
	require.Equal(t, http.StatusCreated, call(http.MethodPost, "/dev/erp/_admin/api-keys", "", "", &struct {
		APIKey  *string `json:"api_key"`
		Account *string `json:"account"`
	}{&minted.APIKey, &minted.Account}))
	require.Equal(t, http.StatusCreated, call(http.MethodPost, "/dev/erp/_admin/employees?account="+minted.Account, "",
		`[{"email":"ola@example.com","firstname":"Ola","lastname":"Nordmann-Berg","city":"Bergen"},
		  {"email":"siri@example.com","firstname":"Siri","lastname":"Dahl","telefon":"+4791000009"}]`, nil))
	require.Equal(t, http.StatusCreated, call(http.MethodPost, "/dev/hr/_admin/tenants/"+tn+"/users", "",
		`[{"id":"emp-7","email":"ola@example.com","givenName":"Ola","familyName":"Nordmann","phone":"+4791000002"},
		  {"id":"emp-8","email":"nina@example.com","givenName":"Nina","familyName":"Berg"}]`, nil))

	// Step 2: connect; a key the ERP refuses is a field error and nothing is saved.
	var bad struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	require.Equal(t, http.StatusBadRequest, rpc("CreateConnection",
		`{"tenant_id":"`+tn+`","erp_system":"ERP_SYSTEM_24SEVENOFFICE","api_key":"not-the-right-key-0123","authority_confirmed":true}`, &bad))
	require.Equal(t, "invalid_argument", bad.Code)
	require.Contains(t, bad.Message, "api_key: the ERP refused this API key")
	var created struct {
		Connection struct {
			ConnectionID string `json:"connectionId"`
			Status       string `json:"status"`
		} `json:"connection"`
	}
	require.Equal(t, http.StatusOK, rpc("CreateConnection",
		`{"tenant_id":"`+tn+`","erp_system":"ERP_SYSTEM_24SEVENOFFICE","api_key":"`+minted.APIKey+`","authority_confirmed":true}`, &created))
	connID := created.Connection.ConnectionID
	require.Equal(t, "CONNECTION_STATUS_PENDING_FIRST_SYNC", created.Connection.Status)

	// Step 3: preview, decide, synchronise, and the report by email.
	var preview struct {
		PreviewID string `json:"previewId"`
		Conflicts []struct {
			Field    string `json:"field"`
			HRValue  string `json:"hrValue"`
			ERPValue string `json:"erpValue"`
		} `json:"conflicts"`
		Totals map[string]int `json:"totals"`
	}
	require.Equal(t, http.StatusOK, rpc("PreviewFirstSync", `{"tenant_id":"`+tn+`","connection_id":"`+connID+`"}`, &preview))
	require.Equal(t, map[string]int{"hrEmployees": 2, "erpEmployees": 2, "matched": 1, "conflicts": 1, "employeesWithConflicts": 1,
		"missingValues": 2, "missingInErp": 1, "missingInHr": 1}, preview.Totals)
	require.Equal(t, "EMPLOYEE_FIELD_FAMILY_NAME", preview.Conflicts[0].Field)
	var applied struct {
		Run struct {
			RunID string `json:"runId"`
		} `json:"run"`
	}
	require.Equal(t, http.StatusOK, rpc("ApplyFirstSync", `{"tenant_id":"`+tn+`","connection_id":"`+connID+`","preview_id":"`+preview.PreviewID+
		`","default_winner":"SYNC_SIDE_HR","add_missing_to_erp":true,"add_missing_to_hr":true}`, &applied))
	var run struct {
		Run struct {
			Status    string         `json:"status"`
			Counts    map[string]int `json:"counts"`
			Threshold map[string]any `json:"threshold"`
		} `json:"run"`
	}
	// Ola's family name would be overwritten: 1 of 3 employees is over the
	// 20% threshold, so the run waits for the admin.
	rpc("GetSyncRun", `{"tenant_id":"`+tn+`","run_id":"`+applied.Run.RunID+`"}`, &run)
	require.Equal(t, "SYNC_RUN_STATUS_AWAITING_CONFIRMATION", run.Run.Status)
	require.EqualValues(t, 1, run.Run.Threshold["affectedEmployees"])
	require.EqualValues(t, 3, run.Run.Threshold["totalEmployees"])
	require.Equal(t, http.StatusOK, rpc("ConfirmSyncRun", `{"tenant_id":"`+tn+`","run_id":"`+applied.Run.RunID+`"}`, nil))
	require.Eventually(t, func() bool {
		rpc("GetSyncRun", `{"tenant_id":"`+tn+`","run_id":"`+applied.Run.RunID+`"}`, &run)
		return run.Run.Status == "SYNC_RUN_STATUS_SUCCEEDED"
	}, 15*time.Second, 20*time.Millisecond, "%+v", &run)
	require.Equal(t, map[string]int{"createdInErp": 1, "createdInHr": 1, "updatedInErp": 1, "updatedInHr": 1, "conflicts": 1}, run.Run.Counts)
	report, err := sink.Wait(ctx, func(m mailsink.Message) bool { return m.SentTo("kari.admin@demo.example") })
	require.NoError(t, err)
	require.Contains(t, report.Text, "Created in 24SevenOffice: 1")

	erpEmployee := func(cond func(e erp.Employee) bool) erp.Employee {
		t.Helper()
		var found erp.Employee
		require.Eventually(t, func() bool {
			resp, err := http.Get(base + "/dev/erp/_admin/employees?account=" + minted.Account)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var view struct {
				Employees []erp.Employee `json:"employees"`
			}
			if json.NewDecoder(resp.Body).Decode(&view) != nil {
				return false
			}
			for _, e := range view.Employees {
				if e.Email == "kari@example.com" && cond(e) {
					found = e
					return true
				}
			}
			return false
		}, 15*time.Second, 20*time.Millisecond)
		return found
	}

	// 1. A change published by HR (as examples/publish does)...
	str := func(s string) *string { return &s }
	at := timestamppb.Now()
	ev := &hrv1.FieldChanged{
		TenantId: tn, OccurredAt: at, EmployeeId: "emp-42", HrVersion: 1, ChangedAt: at,
		Operation: hrv1.EmployeeOperation_EMPLOYEE_OPERATION_CREATED,
		Email:     &hrv1.EmailChange{NewValue: str("kari@example.com")}, GivenName: &hrv1.NameChange{NewValue: str("Kari")},
		FamilyName: &hrv1.NameChange{NewValue: str("Nordmann")},
		Address:    &hrv1.AddressChange{NewValue: &hrv1.Address{City: str("Oslo"), CountryCode: str("NO")}},
		Identifications: &hrv1.IdentificationsChange{NewValue: &hrv1.Identifications{Items: []*hrv1.Identification{
			{Id: "01019012345", CountryCode: "NO", Type: "national_id"}}}},
	}
	e, err := bus.NewEvent("/example/hr", "hr.v1."+tn+".employee.emp-42.changed", "employee/emp-42", ev)
	require.NoError(t, err)
	_, err = bus.NewPublisher(n.JS).Publish(ctx, e)
	require.NoError(t, err)
	// ...is in the ERP.
	got := erpEmployee(func(e erp.Employee) bool { return e.City == "Oslo" })
	require.Equal(t, "01019012345", got.InternationalID.ID)

	// 2. The same through the webhook, signed with the README's command.
	body := `{"topic":"users-update","data":{"users":[{"id":"emp-42","version":2,"address":{"street":"Kongens gate 2","postalCode":"7011","city":"Trondheim","countryCode":"NO"},"changedFields":["address"]}]}}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	cmd := exec.Command("sh", "-c", `printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //'`)
	cmd.Env = []string{"TS=" + ts, "BODY=" + body, "SECRET=" + cfg.WebhookSecret, "PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	require.NoError(t, err, "openssl")
	sig := "sha256=" + strings.TrimSpace(string(out))
	post := func() (int, string) {
		req, err := http.NewRequest(http.MethodPost, base+"/webhooks/hr/"+tn, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Webhook-Timestamp", ts)
		req.Header.Set("X-Webhook-Id", "delivery-0001")
		req.Header.Set("X-Webhook-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	code, msg := post()
	require.Equal(t, http.StatusAccepted, code, msg)
	require.Equal(t, `{"events":1}`, msg)
	got = erpEmployee(func(e erp.Employee) bool { return e.City == "Trondheim" })
	require.Equal(t, "7011", got.Zipcode)
	require.Equal(t, "Kongens gate 2", got.Postaddress)
	code, msg = post()
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, msg, "(replay)")

	// 3. A rate-limited ERP: SyncFailed(ERP_RATE_LIMITED, 429), then
	// EmployeeSynced once Retry-After has passed.
	req, err := http.NewRequest(http.MethodPut, base+"/dev/erp/_admin/faults", bytes.NewReader([]byte(`{"rate_limit":1,"retry_after":"1s"}`)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	u := &hrv1.FieldChanged{TenantId: tn, OccurredAt: at, EmployeeId: "emp-42", HrVersion: 3, ChangedAt: timestamppb.Now(),
		Operation: hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED, Phone: &hrv1.PhoneChange{NewValue: str("+4799999999")}}
	e, err = bus.NewEvent("/example/hr", "hr.v1."+tn+".employee.emp-42.changed", "employee/emp-42", u)
	require.NoError(t, err)
	start := time.Now()
	_, err = bus.NewPublisher(n.JS).Publish(ctx, e)
	require.NoError(t, err)
	erpEmployee(func(e erp.Employee) bool { return e.Telefon == "+4799999999" })
	require.GreaterOrEqual(t, time.Since(start), time.Second, "not before Retry-After")
	stream, err := n.JS.Stream(ctx, bus.StreamSync)
	require.NoError(t, err)
	var failed syncv1.SyncFailed
	require.Eventually(t, func() bool {
		raw, err := stream.GetLastMsgForSubject(ctx, "sync.v1."+tn+".employee.emp-42.failed")
		return err == nil && proto.Unmarshal(raw.Data, &failed) == nil
	}, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, syncv1.SyncFailureReason_SYNC_FAILURE_REASON_ERP_RATE_LIMITED, failed.GetReason())
	require.EqualValues(t, 429, failed.GetErpError().GetHttpStatus())
	var synced syncv1.EmployeeSynced
	require.Eventually(t, func() bool {
		raw, err := stream.GetLastMsgForSubject(ctx, "sync.v1."+tn+".employee.emp-42.synced")
		return err == nil && proto.Unmarshal(raw.Data, &synced) == nil && synced.GetHrVersion() == 3
	}, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, syncv1.EmployeeSyncAction_EMPLOYEE_SYNC_ACTION_UPDATED, synced.GetAction())

	// 4. A change made in the ERP reaches HR only by "synchronize users".
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.Equal(t, http.StatusOK, call(http.MethodPost, "/dev/erp/auth", "", `{"apiKey":"`+minted.APIKey+`"}`, &tok))
	siri := struct{ ID string }{}
	var view struct{ Employees []erp.Employee }
	call(http.MethodGet, "/dev/erp/_admin/employees?account="+minted.Account, "", "", &view)
	for _, e := range view.Employees {
		if e.Email == "siri@example.com" {
			siri.ID = e.ID
		}
	}
	require.Equal(t, http.StatusOK, call(http.MethodPatch, "/dev/erp/employee/v2/"+siri.ID, tok.AccessToken, `{"telefon":"+4798765432"}`, nil))
	require.Equal(t, http.StatusOK, rpc("PreviewSynchronizeUsers", `{"tenant_id":"`+tn+`","connection_id":"`+connID+`"}`, &preview))
	require.Equal(t, "EMPLOYEE_FIELD_PHONE", preview.Conflicts[0].Field)
	require.Equal(t, "+4798765432", preview.Conflicts[0].ERPValue)
	require.Equal(t, http.StatusOK, rpc("SynchronizeUsers", `{"tenant_id":"`+tn+`","connection_id":"`+connID+`","preview_id":"`+preview.PreviewID+
		`","default_winner":"SYNC_SIDE_ERP"}`, &applied))
	// Siri's phone, 1 of 4 employees (Kari, created by the real-time steps
	// above, is only in the ERP: HR's stand-in never heard of her), is over
	// the threshold again.
	rpc("GetSyncRun", `{"tenant_id":"`+tn+`","run_id":"`+applied.Run.RunID+`"}`, &run)
	require.Equal(t, "SYNC_RUN_STATUS_AWAITING_CONFIRMATION", run.Run.Status)
	require.Equal(t, http.StatusOK, rpc("ConfirmSyncRun", `{"tenant_id":"`+tn+`","run_id":"`+applied.Run.RunID+`"}`, nil))
	require.Eventually(t, func() bool {
		rpc("GetSyncRun", `{"tenant_id":"`+tn+`","run_id":"`+applied.Run.RunID+`"}`, &run)
		return run.Run.Status == "SYNC_RUN_STATUS_SUCCEEDED"
	}, 15*time.Second, 20*time.Millisecond)
	var users struct{ Users []hr.User }
	call(http.MethodGet, "/dev/hr/_admin/tenants/"+tn+"/users", "", "", &users)
	found := false
	for _, u := range users.Users {
		if u.Email == "siri@example.com" {
			found = true
			require.Equal(t, "+4798765432", u.Phone)
		}
	}
	require.True(t, found)
}

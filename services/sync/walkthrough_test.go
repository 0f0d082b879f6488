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

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/testkit"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/migrations"
)

// The README's walkthrough, against the module wired as `rollcall dev`
// wires it (DevConfig: the stand-in mounted at /dev/erp/, the webhook on):
// a change published by HR reaches the ERP; the same through the signed
// webhook (signature made with the README's openssl line), refused when
// replayed; a rate-limited ERP is retried after its Retry-After.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	cfg, err := DevConfig(platform.DevEnv{BaseURL: base, DataDir: t.TempDir()})
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
	erpEmployee := func(cond func(e erp.Employee) bool) erp.Employee {
		t.Helper()
		var found erp.Employee
		require.Eventually(t, func() bool {
			resp, err := http.Get(base + "/dev/erp/_admin/employees")
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
}

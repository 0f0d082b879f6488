package syncsvc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/internal/synctest"
	"rollcall.dev/services/sync/ports"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestWebhook(t *testing.T) {
	t.Parallel()
	s := synctest.New(t, synctest.Options{})
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/hr/{tenant}", &ports.Webhook{
		Secret:   func(_ context.Context, _ string) ([]byte, error) { return secret, nil },
		Resolver: s.Resolver, Deliveries: s.Store, Publisher: s.Publisher, Source: "/rollcall/sync",
		Tolerance: time.Minute,
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tn := tenant()

	post := func(t *testing.T, delivery string, ts time.Time, body []byte, sig string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/hr/"+tn, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set(ports.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set(ports.HeaderDelivery, delivery)
		if sig == "" {
			sig = ports.Sign(secret, ts, body)
		}
		req.Header.Set(ports.HeaderSignature, sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out bytes.Buffer
		_, _ = out.ReadFrom(resp.Body)
		return resp.StatusCode, out.String()
	}
	user := func(email string, version int) []byte {
		b, _ := json.Marshal(map[string]any{"topic": "users-create", "data": map[string]any{"users": []any{map[string]any{
			"id": "hook-" + email[:6], "version": version, "email": email, "givenName": "Web", "familyName": "Hook",
			"address": map[string]any{"street": "Kongens gate 2", "postalCode": "7011", "city": "Trondheim", "countryCode": "NO"},
		}}}})
		return b
	}

	t.Run("ASignedDeliveryReachesTheERP", func(t *testing.T) {
		email := "hook1" + synctest.Unique() + "@example.com"
		code, body := post(t, "d-"+synctest.Unique(), time.Now(), user(email, 1), "")
		require.Equal(t, http.StatusAccepted, code, body)
		got := erpByEmail(t, s, email, nil)
		require.Equal(t, "Trondheim", got.City)
		require.Equal(t, "7011", got.Zipcode)
	})
	t.Run("ABadSignatureIsRefused", func(t *testing.T) {
		email := "hook2" + synctest.Unique() + "@example.com"
		body := user(email, 1)
		code, msg := post(t, "d-"+synctest.Unique(), time.Now(), body, ports.Sign([]byte("another-secret-another-secret-xx"), time.Now(), body))
		require.Equal(t, http.StatusUnauthorized, code)
		require.Contains(t, msg, ports.HeaderSignature)
		// A body changed after signing is refused too.
		ts := time.Now()
		sig := ports.Sign(secret, ts, body)
		code, _ = post(t, "d-"+synctest.Unique(), ts, user("x"+email, 1), sig)
		require.Equal(t, http.StatusUnauthorized, code)
		time.Sleep(200 * time.Millisecond)
		_, ok := s.Sim.EmployeeByEmail(email)
		require.False(t, ok)
	})
	t.Run("ReplaysAreRefused", func(t *testing.T) {
		email := "hook3" + synctest.Unique() + "@example.com"
		body, delivery, ts := user(email, 1), "d-"+synctest.Unique(), time.Now()
		code, _ := post(t, delivery, ts, body, "")
		require.Equal(t, http.StatusAccepted, code)
		code, msg := post(t, delivery, ts, body, "")
		require.Equal(t, http.StatusConflict, code, "same delivery id")
		require.Contains(t, msg, "replay")
		old := time.Now().Add(-2 * time.Minute)
		code, msg = post(t, "d-"+synctest.Unique(), old, body, "")
		require.Equal(t, http.StatusUnauthorized, code, "outside the window")
		require.Contains(t, msg, ports.HeaderTimestamp)
	})
	t.Run("BadInputIsRefusedWithTheFieldAndNothingPublished", func(t *testing.T) {
		body := []byte(`{"topic":"users-create","data":{"users":[{"id":"ok","version":1,"email":"ok@example.com","givenName":"A","familyName":"B"},{"id":"bad","version":1,"givenName":"A","familyName":"B"}]}}`)
		code, msg := post(t, "d-"+synctest.Unique(), time.Now(), body, "")
		require.Equal(t, http.StatusBadRequest, code)
		require.Contains(t, msg, "data.users[1]")
		time.Sleep(200 * time.Millisecond)
		_, published := s.Sim.EmployeeByEmail("ok@example.com")
		require.False(t, published, "the valid user of a refused delivery is not published either")
	})
	t.Run("UpdateExportAndDeleteReachTheERP", func(t *testing.T) {
		email := "hook4" + synctest.Unique() + "@example.com"
		id := "hook-" + synctest.Unique()
		send := func(topic string, u map[string]any) {
			t.Helper()
			u["id"] = id
			body, err := json.Marshal(map[string]any{"topic": topic, "data": map[string]any{"users": []any{u}}})
			require.NoError(t, err)
			code, msg := post(t, "d-"+synctest.Unique(), time.Now(), body, "")
			require.Equal(t, http.StatusAccepted, code, msg)
		}
		send("users-create", map[string]any{"version": 1, "email": email, "givenName": "Web", "familyName": "Hook", "phone": "+4791234567",
			"address": map[string]any{"street": "Kongens gate 2", "postalCode": "7011", "city": "Trondheim", "countryCode": "NO"}})
		erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Telefon == "+4791234567" && e.City == "Trondheim" })

		send("users-update", map[string]any{"version": 2, "phone": nil, "familyName": "Updated", "changedFields": []string{"phone", "familyName"}})
		got := erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Lastname == "Updated" })
		require.Empty(t, got.Telefon, "null in an update clears the field")
		require.Equal(t, "Trondheim", got.City, "fields not in changedFields are left")

		// A snapshot states every field: the address it lacks is gone.
		send("users-export", map[string]any{"version": 3, "email": email, "givenName": "Web", "familyName": "Updated"})
		got = erpByEmail(t, s, email, func(e erp.Employee) bool { return e.City == "" })
		require.Empty(t, got.Postaddress+got.Zipcode+got.CountryCode)

		send("users-delete", map[string]any{"version": 4})
		got = erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Enddate != "" })
		require.Equal(t, time.Now().UTC().Format(time.DateOnly), got.Enddate)
	})
	t.Run("UnknownTenantIsNotFound", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/hr/NOT-A-TENANT", bytes.NewReader([]byte(`{}`)))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

package ports_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"github.com/stretchr/testify/require"

	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/ports"
)

const tenantID = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a10"

var now = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func TestParseWebhook(t *testing.T) {
	t.Parallel()
	t.Run("CreateCarriesEveryFieldWithAValue", func(t *testing.T) {
		t.Parallel()
		evs, err := ports.ParseWebhook([]byte(`{"topic":"users-create","data":{"users":[{"id":"u1","version":3,
			"email":"kari@example.com","givenName":"Kari","familyName":"Nordmann","phone":"+4791234567",
			"employmentStartDate":"2024-01-15","address":{"street":"Storgata 1","postalCode":"0155","city":"Oslo","countryCode":"NO"},
			"identifications":[{"id":"X1","countryCode":"NO","type":"passport"}]}]}}`), tenantID, now)
		require.NoError(t, err)
		require.Len(t, evs, 1)
		ev := evs[0]
		require.Equal(t, hrv1.EmployeeOperation_EMPLOYEE_OPERATION_CREATED, ev.GetOperation())
		require.EqualValues(t, 3, ev.GetHrVersion())
		require.Equal(t, "Oslo", ev.GetAddress().GetNewValue().GetCity())
		require.EqualValues(t, 2024, ev.GetEmploymentStartDate().GetNewValue().GetYear())
		require.Nil(t, ev.GetEmploymentEndDate(), "no value, not a change")
		require.Len(t, ev.GetIdentifications().GetNewValue().GetItems(), 1)
	})
	t.Run("UpdateCarriesOnlyChangedFieldsAndNullClears", func(t *testing.T) {
		t.Parallel()
		evs, err := ports.ParseWebhook([]byte(`{"topic":"users-update","data":{"users":[{"id":"u1","updatedAt":"2026-03-02T09:00:00Z",
			"email":"kari@example.com","phone":null,"changedFields":["phone","identifications"]}]}}`), tenantID, now)
		require.NoError(t, err)
		ev := evs[0]
		require.Nil(t, ev.GetEmail())
		require.NotNil(t, ev.GetPhone())
		require.Nil(t, ev.GetPhone().NewValue, "cleared")
		require.Empty(t, ev.GetIdentifications().GetNewValue().GetItems(), "unset")
		require.EqualValues(t, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixMicro(), ev.GetHrVersion(), "version from updatedAt")
	})
	t.Run("DeleteAndExport", func(t *testing.T) {
		t.Parallel()
		evs, err := ports.ParseWebhook([]byte(`{"topic":"users-delete","data":{"users":[{"id":"u1","version":9}]}}`), tenantID, now)
		require.NoError(t, err)
		require.Equal(t, hrv1.EmployeeOperation_EMPLOYEE_OPERATION_DELETED, evs[0].GetOperation())
		evs, err = ports.ParseWebhook([]byte(`{"topic":"users-export","data":{"users":[
			{"id":"u1","version":9,"email":"a@example.com","givenName":"A","familyName":"B"},
			{"id":"u2","version":4,"email":"c@example.com","givenName":"C","familyName":"D"}]}}`), tenantID, now)
		require.NoError(t, err)
		require.Len(t, evs, 2)
		require.Equal(t, hrv1.EmployeeOperation_EMPLOYEE_OPERATION_SNAPSHOT, evs[1].GetOperation())
	})
	t.Run("BadInputNamesTheField", func(t *testing.T) {
		t.Parallel()
		for body, want := range map[string]string{
			`{"topic":"users-merge","data":{"users":[{"id":"u1","version":1}]}}`:                                                                             "topic",
			`{"topic":"users-create","data":{"users":[]}}`:                                                                                                   "data.users",
			`{"topic":"users-create","data":{"users":[{"id":"u1","email":"a@example.com","givenName":"A","familyName":"B"}]}}`:                               "version or updatedAt",
			`{"topic":"users-create","data":{"users":[{"id":"u1","version":1,"givenName":"A","familyName":"B"}]}}`:                                           "email",
			`{"topic":"users-update","data":{"users":[{"id":"u1","version":2,"email":"a@example.com"}]}}`:                                                    "changedFields",
			`{"topic":"users-update","data":{"users":[{"id":"u1","version":2,"changedFields":["salary"]}]}}`:                                                 "salary",
			`{"topic":"users-update","data":{"users":[{"id":"u1","version":2,"employmentStartDate":"15.01.2024","changedFields":["employmentStartDate"]}]}}`: "employmentStartDate",
			`{"topic":"users-update","data":{"users":[{"id":"u 1","version":2,"phone":"+4791234567","changedFields":["phone"]}]}}`:                           "employee_id",
			`{"topic":"users-create","data":{"users":[]},"extra":1}`:                                                                                         "extra",
			`not json`: "bad webhook payload",
		} {
			_, err := ports.ParseWebhook([]byte(body), tenantID, now)
			require.ErrorIs(t, err, ports.ErrBadWebhook, body)
			require.ErrorContains(t, err, want, body)
		}
	})
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"topic":"users-create","data":{"users":[{"id":"u1","version":3,"email":"kari@example.com","givenName":"Kari","familyName":"N"}]}}`))
	f.Add([]byte(`{"topic":"users-update","data":{"users":[{"id":"u1","version":3,"phone":null,"address":{"city":"Oslo"},"changedFields":["phone","address"]}]}}`))
	f.Add([]byte(`{"topic":"users-delete","data":{"users":[{"id":"u1","updatedAt":"2026-01-01T00:00:00Z"}]}}`))
	f.Add([]byte(`{"topic":"users-export","data":{"users":[{"id":"u1","version":1,"email":"a@b.co","givenName":"A","familyName":"B","identifications":[{"id":"1","countryCode":"NO","type":"t"}]}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ports.ParseWebhook(body, tenantID, now)
		if err != nil {
			require.ErrorIs(t, err, ports.ErrBadWebhook)
			require.Nil(t, evs)
			return
		}
		require.NotEmpty(t, evs)
		for _, ev := range evs {
			require.NoError(t, protovalidate.Validate(ev), "every event returned is valid")
			require.Equal(t, tenantID, ev.GetTenantId())
		}
		require.True(t, json.Valid(body))
	})
}

var fuzzSecret = []byte("0123456789abcdef0123456789abcdef")

// FuzzVerifyDelivery feeds arbitrary bodies and header values through the
// webhook's signature and timestamp check and, when they pass, through the
// body's parsing: nothing panics, only the exact signature of the exact
// timestamp and body inside the window passes, and what passes parses into
// valid events or a field-level ErrBadWebhook.
func FuzzVerifyDelivery(f *testing.F) {
	ts := strconv.FormatInt(now.Unix(), 10)
	for _, body := range []string{
		`{"topic":"users-create","data":{"users":[{"id":"u1","version":3,"email":"kari@example.com","givenName":"Kari","familyName":"N"}]}}`,
		`{"topic":"users-update","data":{"users":[{"id":"u1","version":4,"phone":null,"changedFields":["phone"]}]}}`,
		`{"topic":"users-delete","data":{"users":[{"id":"u1","version":5}]}}`,
		`{"topic":"users-export","data":{"users":[{"id":"u1","version":6,"email":"a@b.co","givenName":"A","familyName":"B"}]}}`,
	} {
		f.Add([]byte(body), ts, ports.Sign(fuzzSecret, now, []byte(body)))
	}
	f.Add([]byte(`{}`), "not-a-number", "sha256=00")
	f.Add([]byte(`{}`), strconv.FormatInt(now.Add(-time.Hour).Unix(), 10), ports.Sign(fuzzSecret, now.Add(-time.Hour), []byte(`{}`)))
	f.Fuzz(func(t *testing.T, body []byte, timestamp, signature string) {
		err := ports.VerifyDelivery(fuzzSecret, timestamp, signature, body, now, 5*time.Minute)
		if err != nil {
			require.True(t, errors.Is(err, ports.ErrBadTimestamp) || errors.Is(err, ports.ErrBadSignature) || errors.Is(err, ports.ErrStaleDelivery), "%v", err)
		} else {
			sec, perr := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
			require.NoError(t, perr)
			at := time.Unix(sec, 0)
			require.Equal(t, ports.Sign(fuzzSecret, at, body), strings.TrimSpace(signature), "only the exact signature passes")
			require.LessOrEqual(t, now.Sub(at).Abs(), 5*time.Minute)
		}
		// Whatever the sender's headers, the body signed properly passes
		// and then parses or is refused field by field.
		require.NoError(t, ports.VerifyDelivery(fuzzSecret, strconv.FormatInt(now.Unix(), 10), ports.Sign(fuzzSecret, now, body), body, now, 5*time.Minute))
		require.ErrorIs(t, ports.VerifyDelivery([]byte("another-secret-another-secret-xx"), strconv.FormatInt(now.Unix(), 10), ports.Sign(fuzzSecret, now, body), body, now, 5*time.Minute), ports.ErrBadSignature)
		evs, perr := ports.ParseWebhook(body, tenantID, now)
		if perr != nil {
			require.ErrorIs(t, perr, ports.ErrBadWebhook)
			return
		}
		for _, ev := range evs {
			require.NoError(t, protovalidate.Validate(ev))
		}
	})
}

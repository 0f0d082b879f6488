package hrsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/hr"
	"rollcall.dev/services/sync/hrsim"
)

const tenant = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a10"

func do(t *testing.T, method, url, token, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(data, out), string(data))
	}
	return resp.StatusCode
}

// The stand-in says what it is, and its admin switches work over HTTP.
func TestStandInHR(t *testing.T) {
	t.Parallel()
	var wrote []hr.User
	sim := hrsim.New(hrsim.Options{Tokens: []string{"tok"}, OnWrite: func(tn string, u hr.User) {
		require.Equal(t, tenant, tn)
		wrote = append(wrote, u)
	}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, resp.Header.Get("X-Development-Tool"), "not a real one")
	require.Contains(t, string(body), "NOT a real HR system")

	var seeded []hr.User
	code := do(t, http.MethodPost, srv.URL+"/_admin/tenants/"+tenant+"/users", "",
		`[{"email":"a@example.com","givenName":"A","familyName":"B","phone":"+4790000001"},
		  {"email":"c@example.com","givenName":"C","familyName":"D","phone":"+4790000001"}]`, &seeded)
	require.Equal(t, http.StatusCreated, code)
	require.Len(t, seeded, 2, "a shared phone is kept when seeding")
	code = do(t, http.MethodPost, srv.URL+"/_admin/tenants/"+tenant+"/users", "", `[{"email":"x"}]`, nil)
	require.Equal(t, http.StatusUnprocessableEntity, code, "formats are still checked")

	var p struct{ Code string }
	code = do(t, http.MethodGet, srv.URL+"/tenants/"+tenant+"/users", "", "", &p)
	require.Equal(t, http.StatusUnauthorized, code)

	code = do(t, http.MethodPatch, srv.URL+"/tenants/"+tenant+"/users/"+seeded[0].ID, "tok", `{"phone":"+4790000002"}`, nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, wrote, 1)
	require.Equal(t, "+4790000002", wrote[0].Phone)
	require.EqualValues(t, 2, wrote[0].Version)
	code = do(t, http.MethodPatch, srv.URL+"/tenants/"+tenant+"/users/"+seeded[0].ID, "tok", `{"phone":"+4790000001"}`, &p)
	require.Equal(t, http.StatusConflict, code)
	require.Equal(t, "duplicate_phone", p.Code)
	code = do(t, http.MethodPatch, srv.URL+"/tenants/"+tenant+"/users/"+seeded[1].ID, "tok", `{"givenName":"Cecilie"}`, nil)
	require.Equal(t, http.StatusOK, code, "an untouched duplicate does not block other writes")

	code = do(t, http.MethodPut, srv.URL+"/_admin/faults", "", `{"unavailable":1}`, nil)
	require.Equal(t, http.StatusOK, code)
	code = do(t, http.MethodGet, srv.URL+"/tenants/"+tenant+"/users", "tok", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, code)
	var view struct{ Users []hr.User }
	code = do(t, http.MethodGet, srv.URL+"/_admin/tenants/"+tenant+"/users", "", "", &view)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, view.Users, 2)
	require.Equal(t, "Cecilie", view.Users[1].GivenName)
	var st hrsim.Stats
	do(t, http.MethodGet, srv.URL+"/_admin/stats", "", "", &st)
	require.Equal(t, 2, st.Updates)
	require.Equal(t, 1, st.Faulted)
	require.Equal(t, http.StatusNoContent, do(t, http.MethodPost, srv.URL+"/_admin/reset", "", "", nil))
	require.Empty(t, sim.Users(tenant))
}

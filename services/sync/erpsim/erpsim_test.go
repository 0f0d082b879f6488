package erpsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erpsim"
)

// client talks to the stand-in over real HTTP, as the connector and an
// operator's curl do.
type client struct {
	t     *testing.T
	url   string
	token string
}

func setup(t *testing.T) (*erpsim.Server, *client) {
	t.Helper()
	sim := erpsim.New(erpsim.Options{APIKeys: []string{"key-1"}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := &client{t: t, url: srv.URL}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	resp := c.do(http.MethodPost, "/auth", `{"apiKey":"key-1"}`, &tok)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, tok.AccessToken)
	require.Equal(t, 3600, tok.ExpiresIn)
	c.token = tok.AccessToken
	return sim, c
}

func (c *client) do(method, path, body string, out any) *http.Response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	require.NoError(c.t, err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	if out != nil && len(data) > 0 {
		require.NoError(c.t, json.Unmarshal(data, out), string(data))
	}
	return resp
}

type problem struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

const kari = `{"email":"kari@example.com","firstname":"Kari","lastname":"Nordmann","telefon":"+4791234567",
	"startdate":"2024-01-15","postaddress":"Storgata 1","zipcode":"0155","city":"Oslo","countryCode":"NO",
	"internationalID":{"ID":"01019012345","countryCode":"NO","type":"national_id"}}`

func TestStandIn(t *testing.T) {
	t.Parallel()

	t.Run("SaysItIsADevelopmentTool", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t)
		resp, err := http.Get(c.url + "/")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		require.Contains(t, string(body), "NOT a real ERP")
		require.Contains(t, resp.Header.Get("X-Development-Tool"), "not a real one")
	})

	t.Run("JSONViewOfEmployees", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t)
		var created erp.Employee
		require.Equal(t, http.StatusCreated, c.do(http.MethodPost, "/employee/v2", kari, &created).StatusCode)
		var view struct {
			Note      string         `json:"note"`
			Employees []erp.Employee `json:"employees"`
		}
		require.Equal(t, http.StatusOK, c.do(http.MethodGet, "/_admin/employees", "", &view).StatusCode)
		require.Contains(t, view.Note, "not a real one")
		require.Equal(t, []erp.Employee{created}, view.Employees)
		var found []erp.Employee
		c.do(http.MethodGet, "/employee/v2?email=KARI@example.com", "", &found)
		require.Equal(t, []erp.Employee{created}, found, "find by email ignores case")
	})

	t.Run("TheERPsRules", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t)
		var created erp.Employee
		c.do(http.MethodPost, "/employee/v2", kari, &created)
		for name, tc := range map[string]struct {
			method, path, body string
			status             int
			msg                string
		}{
			"DuplicateEmail":       {http.MethodPost, "/employee/v2", strings.Replace(kari, "kari@", "KARI@", 1), 409, "already used"},
			"NoEmail":              {http.MethodPost, "/employee/v2", `{"firstname":"A","lastname":"B"}`, 422, "email: required"},
			"EnddateOnCreate":      {http.MethodPost, "/employee/v2", `{"email":"x@example.com","firstname":"A","lastname":"B","enddate":"2026-01-01"}`, 422, "enddate"},
			"UnknownField":         {http.MethodPatch, "/employee/v2/" + created.ID, `{"salary":"1"}`, 422, "unknown field"},
			"InternationalIDUnset": {http.MethodPatch, "/employee/v2/" + created.ID, `{"internationalID":null}`, 422, "cannot be unset"},
			"EndDateNeedsAReason":  {http.MethodPut, "/employment/v2/" + created.ID, `{"enddate":"2026-06-30"}`, 422, "reason"},
			"EndBeforeStart":       {http.MethodPut, "/employment/v2/" + created.ID, `{"enddate":"2020-01-01","reason":"x"}`, 422, "before startdate"},
			"UnknownEmployee":      {http.MethodGet, "/employee/v2/999999", "", 404, "no employee"},
		} {
			var p problem
			resp := c.do(tc.method, tc.path, tc.body, &p)
			require.Equal(t, tc.status, resp.StatusCode, name)
			require.Contains(t, p.Message, tc.msg, name)
		}
		st := sim.Stats()
		require.Equal(t, 1, st.Conflicts)
		require.Equal(t, 7, st.Rejected)
	})

	t.Run("SwitchesOverTheAdminAPI", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t)
		var created erp.Employee
		c.do(http.MethodPost, "/employee/v2", kari, &created)
		get := "/employee/v2/" + created.ID
		put := func(faults string) {
			t.Helper()
			var shown map[string]any
			require.Equal(t, http.StatusOK, c.do(http.MethodPut, "/_admin/faults", faults, &shown).StatusCode)
		}

		put(`{"latency":"300ms"}`)
		start := time.Now()
		require.Equal(t, http.StatusOK, c.do(http.MethodGet, get, "", nil).StatusCode)
		require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "latency")

		put(`{"rate_limit":1,"retry_after":"3s"}`)
		resp := c.do(http.MethodGet, get, "", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "3", resp.Header.Get("Retry-After"))
		require.Equal(t, http.StatusOK, c.do(http.MethodGet, get, "", nil).StatusCode, "only the next one")

		put(`{"unavailable":1}`)
		require.Equal(t, http.StatusServiceUnavailable, c.do(http.MethodGet, get, "", nil).StatusCode)

		put(`{"error_rate":1}`)
		require.Equal(t, http.StatusInternalServerError, c.do(http.MethodGet, get, "", nil).StatusCode)
		put(`{"error_rate":0}`)
		require.Equal(t, http.StatusOK, c.do(http.MethodGet, get, "", nil).StatusCode)

		put(`{"timeout":1}`)
		short := &http.Client{Timeout: 200 * time.Millisecond}
		req, _ := http.NewRequest(http.MethodGet, c.url+get, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		_, err := short.Do(req) //nolint:bodyclose // it never answers
		require.Error(t, err, "hangs until the client gives up")

		var faults map[string]any
		c.do(http.MethodGet, "/_admin/faults", "", &faults)
		require.EqualValues(t, 0, faults["timeout"], "counters count down")
		require.Equal(t, http.StatusBadRequest, c.do(http.MethodPut, "/_admin/faults", `{"error_rate":2}`, nil).StatusCode)
		require.Equal(t, http.StatusBadRequest, c.do(http.MethodPut, "/_admin/faults", `{"latency":"soon"}`, nil).StatusCode)
		require.GreaterOrEqual(t, sim.Stats().Faulted, 4)
	})

	t.Run("TokensExpire", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t)
		c.do(http.MethodPut, "/_admin/faults", `{"token_ttl":"1s"}`, nil)
		var tok struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		c.do(http.MethodPost, "/auth", `{"apiKey":"key-1"}`, &tok)
		require.Equal(t, 1, tok.ExpiresIn)
		c.token = tok.AccessToken
		require.Equal(t, http.StatusOK, c.do(http.MethodGet, "/employee/v2", "", nil).StatusCode)
		time.Sleep(1100 * time.Millisecond)
		var p problem
		require.Equal(t, http.StatusUnauthorized, c.do(http.MethodGet, "/employee/v2", "", &p).StatusCode)
		require.Equal(t, "token_expired", p.Code)

		c.do(http.MethodPost, "/auth", `{"apiKey":"key-1"}`, &tok)
		c.token = tok.AccessToken
		require.Equal(t, http.StatusNoContent, c.do(http.MethodPost, "/_admin/expire-tokens", "", nil).StatusCode)
		require.Equal(t, http.StatusUnauthorized, c.do(http.MethodGet, "/employee/v2", "", nil).StatusCode)

		c.token = ""
		require.Equal(t, http.StatusUnauthorized, c.do(http.MethodPost, "/auth", `{"apiKey":"wrong"}`, nil).StatusCode)
	})

	t.Run("Reset", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t)
		c.do(http.MethodPost, "/employee/v2", kari, nil)
		require.Equal(t, http.StatusNoContent, c.do(http.MethodPost, "/_admin/reset", "", nil).StatusCode)
		require.Empty(t, sim.Employees())
		var st erpsim.Stats
		c.do(http.MethodGet, "/_admin/stats", "", &st)
		require.Equal(t, erpsim.Stats{}, st)
	})
}

// An API key belongs to one account: a minted key sees only its own
// employees, a revoked key and its tokens are refused, and seeding over
// /_admin/employees is all or nothing.
func TestAccountsAndKeys(t *testing.T) {
	t.Parallel()
	sim, dflt := setup(t)
	resp := dflt.do(http.MethodPost, "/employee/v2", kari, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	var minted struct {
		APIKey  string `json:"api_key"`
		Account string `json:"account"`
	}
	admin := &client{t: t, url: dflt.url}
	resp = admin.do(http.MethodPost, "/_admin/api-keys", "", &minted)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.NotEmpty(t, minted.APIKey)
	require.NotEqual(t, erpsim.DefaultAccount, minted.Account)

	other := &client{t: t, url: dflt.url}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	resp = other.do(http.MethodPost, "/auth", `{"apiKey":"`+minted.APIKey+`"}`, &tok)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	other.token = tok.AccessToken

	var list []erp.Employee
	other.do(http.MethodGet, "/employee/v2?pageSize=1000", "", &list)
	require.Empty(t, list, "the new account does not see the default account's employees")
	resp = other.do(http.MethodPost, "/employee/v2", kari, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "the same email is free in another account")
	require.Equal(t, 1, sim.Account(minted.Account).Len())
	require.Len(t, sim.Employees(), 1)

	t.Run("PagesFollowCreationOrder", func(t *testing.T) {
		acc := sim.Account("paged")
		var ids []string
		for i := range 25 {
			e, err := acc.Put(erp.Employee{Email: "p" + strings.Repeat("x", i) + "@example.com", Firstname: "P", Lastname: "Q"})
			require.NoError(t, err)
			ids = append(ids, e.ID)
		}
		key := sim.NewAPIKey("paged")
		c := &client{t: t, url: dflt.url}
		c.do(http.MethodPost, "/auth", `{"apiKey":"`+key+`"}`, &tok)
		c.token = tok.AccessToken
		var got []string
		for p := 0; ; p++ {
			var page []erp.Employee
			c.do(http.MethodGet, "/employee/v2?page="+strconv.Itoa(p)+"&pageSize=10", "", &page)
			for _, e := range page {
				got = append(got, e.ID)
			}
			if len(page) < 10 {
				break
			}
		}
		require.Equal(t, ids, got)
	})

	t.Run("SeedingIsAllOrNothing", func(t *testing.T) {
		var p problem
		resp := admin.do(http.MethodPost, "/_admin/employees?account=seeded",
			`[{"email":"a@example.com","firstname":"A","lastname":"B"},{"email":"A@example.com","firstname":"C","lastname":"D"}]`, &p)
		require.Equal(t, http.StatusConflict, resp.StatusCode)
		require.Contains(t, p.Message, "[1]")
		require.Equal(t, 0, sim.Account("seeded").Len())
		var stored []erp.Employee
		resp = admin.do(http.MethodPost, "/_admin/employees?account=seeded",
			`[{"email":"a@example.com","firstname":"A","lastname":"B"},{"email":"b@example.com","firstname":"C","lastname":"D"}]`, &stored)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Len(t, stored, 2)
		require.NotEmpty(t, stored[0].ID)
		var view struct {
			Employees []erp.Employee `json:"employees"`
		}
		admin.do(http.MethodGet, "/_admin/employees?account=seeded", "", &view)
		require.Equal(t, stored, view.Employees)
	})

	t.Run("ARevokedKeyAndItsTokensAreRefused", func(t *testing.T) {
		resp := admin.do(http.MethodDelete, "/_admin/api-keys/"+minted.APIKey, "", nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		var p problem
		resp = other.do(http.MethodGet, "/employee/v2", "", &p)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		c := &client{t: t, url: dflt.url}
		resp = c.do(http.MethodPost, "/auth", `{"apiKey":"`+minted.APIKey+`"}`, &p)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, "invalid_api_key", p.Code)
		resp = dflt.do(http.MethodGet, "/employee/v2", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "other keys keep working")
	})
}

// Edit changes an employee as typed into the ERP: the rules apply.
func TestEditAsTypedIntoTheERP(t *testing.T) {
	t.Parallel()
	sim := erpsim.New(erpsim.Options{})
	acc := sim.Account("a")
	e, err := acc.Put(erp.Employee{Email: "a@example.com", Firstname: "A", Lastname: "B"})
	require.NoError(t, err)
	_, err = acc.Put(erp.Employee{Email: "c@example.com", Firstname: "C", Lastname: "D"})
	require.NoError(t, err)
	got, err := acc.Edit(e.ID, func(e *erp.Employee) { e.Lastname = "Changed" })
	require.NoError(t, err)
	require.Equal(t, "Changed", got.Lastname)
	_, err = acc.Edit(e.ID, func(e *erp.Employee) { e.Email = "C@example.com" })
	require.ErrorContains(t, err, "already used")
	_, err = acc.Edit(e.ID, func(e *erp.Employee) { e.Firstname = "" })
	require.ErrorContains(t, err, "firstname")
	_, err = acc.Edit("404", func(*erp.Employee) {})
	require.Error(t, err)
	again, _ := acc.Employee(e.ID)
	require.Equal(t, got, again, "a refused edit changes nothing")
}

package tso_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erp/erptest"
	"rollcall.dev/services/sync/erp/tso"
	"rollcall.dev/services/sync/erpsim"
)

const callTimeout = 500 * time.Millisecond

// The 24SevenOffice connector meets the connector contract against the
// stand-in ERP over real HTTP.
func TestContractAgainstStandIn(t *testing.T) {
	t.Parallel()
	erptest.TestConnector(t, erptest.Features{CallTimeout: callTimeout, ListPageSize: 4}, func(t *testing.T) erptest.Harness {
		sim := erpsim.New(erpsim.Options{APIKeys: []string{"key-1"}})
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		c, err := tso.New(tso.Config{BaseURL: srv.URL, APIKey: "key-1", Timeout: callTimeout, ListPageSize: 4, ListParallel: 3})
		require.NoError(t, err)
		set := func(mut func(f *erpsim.Faults)) {
			f := sim.Faults()
			mut(&f)
			sim.SetFaults(f)
		}
		return erptest.Harness{
			Connector: erp.Instrument(c, "24sevenoffice"),
			Seed: func(e erp.Employee) erp.Employee {
				out, err := sim.Put(e)
				require.NoError(t, err)
				return out
			},
			RateLimitNext: func(n int, ra time.Duration) {
				set(func(f *erpsim.Faults) { f.RateLimit, f.RetryAfter = n, ra })
			},
			UnavailableNext: func(n int) { set(func(f *erpsim.Faults) { f.Unavailable = n }) },
			TimeoutNext:     func(n int) { set(func(f *erpsim.Faults) { f.Timeout = n }) },
			ExpireTokens:    sim.ExpireTokens,
		}
	})
}

func TestBadAPIKeyIsUnauthorized(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(erpsim.New(erpsim.Options{APIKeys: []string{"right"}}))
	t.Cleanup(srv.Close)
	c, err := tso.New(tso.Config{BaseURL: srv.URL, APIKey: "wrong"})
	require.NoError(t, err)
	err = c.Authenticate(t.Context())
	require.ErrorIs(t, err, erp.ErrUnauthorized)
	require.NotContains(t, err.Error(), "wrong", "the key is never in an error")
}

func TestConfigIsChecked(t *testing.T) {
	t.Parallel()
	_, err := tso.New(tso.Config{BaseURL: "ftp://x", APIKey: "k"})
	require.Error(t, err)
	_, err = tso.New(tso.Config{BaseURL: "http://x"})
	require.Error(t, err)
}

package syncsvc

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/platform"
)

func validConfig() Config {
	return Config{
		ERPBaseURL: "https://api.24sevenoffice.com", ERPAPIKey: "key-1234", ERPConnectionID: "5c0e0d1e-0000-4000-8000-000000000001",
		ERPTenants: "*", ERPTimeout: 10 * time.Second, WebhookTolerance: 5 * time.Minute, Coalesce: 10 * time.Millisecond,
		Concurrency: 16, Consumers: 64, RetryBase: time.Second, RetryMax: 5 * time.Minute,
	}
}

func TestConfigNamesTheVariable(t *testing.T) {
	t.Parallel()
	require.NoError(t, validConfig().Validate())
	noERP := validConfig()
	noERP.ERPBaseURL, noERP.ERPAPIKey = "", ""
	require.NoError(t, noERP.Validate(), "without an ERP nothing is consumed")
	for variable, mut := range map[string]func(c *Config){
		"SYNC_ERP_BASE_URL":      func(c *Config) { c.ERPBaseURL = "ftp://x" },
		"SYNC_ERP_API_KEY":       func(c *Config) { c.ERPAPIKey = "" },
		"SYNC_ERP_CONNECTION_ID": func(c *Config) { c.ERPConnectionID = "NOT-A-UUID" },
		"SYNC_ERP_TENANTS":       func(c *Config) { c.ERPTenants = "acme" },
		"SYNC_WEBHOOK_SECRET":    func(c *Config) { c.WebhookSecret = "short" },
		"SYNC_COALESCE_WINDOW":   func(c *Config) { c.Coalesce = time.Hour },
		"SYNC_CONCURRENCY":       func(c *Config) { c.Concurrency = 0 },
		"SYNC_CONSUMERS":         func(c *Config) { c.Consumers = 1000 },
		"SYNC_RETRY_BASE":        func(c *Config) { c.RetryMax = time.Millisecond },
	} {
		c := validConfig()
		mut(&c)
		require.ErrorContains(t, c.Validate(), variable)
	}
}

func TestConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.WebhookSecret = "0123456789abcdef0123456789abcdef-secret"
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%#v", c)} {
		require.NotContains(t, s, "key-1234")
		require.NotContains(t, s, "-secret")
	}
}

func TestDevConfigIsValidAndStable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	env := platform.DevEnv{BaseURL: "http://localhost:8080", DataDir: t.TempDir(), Out: &out}
	c, err := DevConfig(env)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.True(t, c.DevERPSim)
	require.Equal(t, "http://localhost:8080/dev/erp", c.ERPBaseURL)
	require.Contains(t, out.String(), "development tool")
	again, err := DevConfig(env)
	require.NoError(t, err)
	require.Equal(t, c.ERPAPIKey, again.ERPAPIKey, "kept under the data dir")
	require.Equal(t, c.WebhookSecret, again.WebhookSecret)
}

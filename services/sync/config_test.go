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
		Concurrency: 16, RetryBase: time.Second, RetryMax: 5 * time.Minute,
	}
}

// apiConfig switches the connection API on.
func apiConfig() Config {
	c := validConfig()
	c.ERPAPIKey = ""
	c.IdentityURL, c.ServiceToken, c.CallTimeout = "http://identity:8080", "service-token-0123456789abcdef0123456789", 5*time.Second
	c.ConnectionKeys = "2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	c.HRBaseURL, c.HRToken, c.HRTimeout = "https://hr.example/api", "hr-token-secret", 30*time.Second
	c.SMTPHost, c.SMTPTLS, c.MailFrom, c.SMTPPassword = "smtp.example", "starttls", "Rollcall <no-reply@example.com>", "smtp-secret"
	c.SMTPUsername = "rollcall"
	c.RunThreshold, c.RunLease, c.RunConcurrency, c.PreviewTTL = 20, 30*time.Second, 8, 24*time.Hour
	return c
}

func TestConfigNamesTheVariable(t *testing.T) {
	t.Parallel()
	require.NoError(t, validConfig().Validate())
	require.NoError(t, apiConfig().Validate(), "connections over the API need no account of the deployment's own")
	for variable, mut := range map[string]func(c *Config){
		"IDENTITY_URL":         func(c *Config) { c.IdentityURL = "identity" },
		"SERVICE_TOKEN":        func(c *Config) { c.ServiceToken = "short" },
		"SYNC_CONNECTION_KEYS": func(c *Config) { c.ConnectionKeys = "1:not-32-bytes" },
		"SYNC_HR_BASE_URL":     func(c *Config) { c.HRBaseURL = "" },
		"SYNC_HR_TOKEN":        func(c *Config) { c.HRToken = "" },
		"SMTP_*/MAIL_FROM":     func(c *Config) { c.MailFrom = "" },
		"SYNC_RUN_THRESHOLD":   func(c *Config) { c.RunThreshold = 101 },
		"SYNC_RUN_LEASE":       func(c *Config) { c.RunLease = time.Second },
		"SYNC_RUN_CONCURRENCY": func(c *Config) { c.RunConcurrency = 0 },
		"SYNC_PREVIEW_TTL":     func(c *Config) { c.PreviewTTL = time.Second },
		"SYNC_ERP_BASE_URL":    func(c *Config) { c.ERPBaseURL = "" },
	} {
		c := apiConfig()
		mut(&c)
		require.ErrorContains(t, c.Validate(), variable)
	}
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
		"SYNC_RETRY_BASE":        func(c *Config) { c.RetryMax = time.Millisecond },
	} {
		c := validConfig()
		mut(&c)
		require.ErrorContains(t, c.Validate(), variable)
	}
}

func TestConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	c := apiConfig()
	c.ERPAPIKey = "key-1234"
	c.WebhookSecret = "0123456789abcdef0123456789abcdef-secret"
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%#v", c)} {
		for _, secret := range []string{"key-1234", "-secret", "service-token-", "MDEyMzQ1", "hr-token", "smtp-secret"} {
			require.NotContains(t, s, secret)
		}
	}
}

func TestDevConfigIsValidAndStable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	env := platform.DevEnv{BaseURL: "http://localhost:8080", DataDir: t.TempDir(), Out: &out,
		ServiceToken: "dev-service-token-0123456789abcdef0123456789", SMTPHost: "127.0.0.1", SMTPPort: 2525}
	c, err := DevConfig(env)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.True(t, c.DevERPSim)
	require.True(t, c.DevHRSim)
	require.Equal(t, "http://localhost:8080/dev/erp", c.ERPBaseURL)
	require.Equal(t, "http://localhost:8080/dev/hr", c.HRBaseURL)
	require.Empty(t, c.ERPAPIKey, "tenants connect over the API")
	require.Contains(t, out.String(), "development tool")
	again, err := DevConfig(env)
	require.NoError(t, err)
	require.Equal(t, c.DevERPKey, again.DevERPKey, "kept under the data dir")
	require.Equal(t, c.WebhookSecret, again.WebhookSecret)
	require.Equal(t, c.ConnectionKeys, again.ConnectionKeys)
	require.Equal(t, c.HRToken, again.HRToken)
}

package integratorpolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/platform"
)

func validConfig() Config {
	tok := strings.Repeat("t", 32)
	return Config{InternalTokens: tok, IdentityURL: "http://identity:8080", ServiceToken: tok, IdentityTimeout: 5e9}
}

func TestConfigValidateNamesTheVariable(t *testing.T) {
	t.Parallel()
	require.NoError(t, validConfig().Validate())
	withOperators := validConfig()
	withOperators.OperatorTokens = strings.Repeat("o", 32) + ", " + strings.Repeat("p", 40)
	require.NoError(t, withOperators.Validate(), "operator tokens are optional, several for rotation")
	dir := t.TempDir()
	badFile := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badFile, []byte(`[{"name":"X","emails":["nope"]}]`), 0o600))
	unknownField := filepath.Join(dir, "unknown.json")
	require.NoError(t, os.WriteFile(unknownField, []byte(`[{"name":"X","email":"a@b.example"}]`), 0o600))
	for want, change := range map[string]func(*Config){
		"INTERNAL_TOKENS":                         func(c *Config) { c.InternalTokens = "short" },
		"OPERATOR_TOKENS: token 1: want at least": func(c *Config) { c.OperatorTokens = "short" },
		"OPERATOR_TOKENS: token 2 is also one of INTERNAL_TOKENS": func(c *Config) {
			c.OperatorTokens = strings.Repeat("o", 32) + "," + c.InternalTokens
		},
		"IDENTITY_URL":     func(c *Config) { c.IdentityURL = "identity:8080" },
		"SERVICE_TOKEN":    func(c *Config) { c.ServiceToken = "" },
		"IDENTITY_TIMEOUT": func(c *Config) { c.IdentityTimeout = 0 },
		"PARTNERS_FILE":    func(c *Config) { c.PartnersFile = filepath.Join(dir, "missing.json") },
		"emails[0]":        func(c *Config) { c.PartnersFile = badFile },
		"unknown field":    func(c *Config) { c.PartnersFile = unknownField },
	} {
		c := validConfig()
		change(&c)
		require.ErrorContains(t, c.Validate(), want)
	}
}

func TestPartnersFileAndDevConfig(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "partners.json")
	require.NoError(t, os.WriteFile(f, []byte(`[{"name":"Baltic Apps OÜ","domains":["balticapps.example"]}]`), 0o600))
	dataDir := t.TempDir()
	var out strings.Builder
	env := platform.DevEnv{BaseURL: "http://localhost:8080", ServiceToken: strings.Repeat("d", 43), DataDir: dataDir, Out: &out}
	c, err := DevConfig(env)
	require.NoError(t, err)
	require.NoError(t, c.Validate())

	// `rollcall dev` has an operator token of its own, kept under the data
	// dir (the same one after a restart), and says where.
	path := filepath.Join(dataDir, "integrator-policy", "operator.token")
	kept, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, c.OperatorTokens, strings.TrimSpace(string(kept)))
	require.NotEqual(t, env.ServiceToken, c.OperatorTokens)
	require.Contains(t, out.String(), path)
	again, err := DevConfig(env)
	require.NoError(t, err)
	require.Equal(t, c.OperatorTokens, again.OperatorTokens)
	_, err = DevConfig(platform.DevEnv{BaseURL: env.BaseURL, ServiceToken: env.ServiceToken})
	require.ErrorContains(t, err, "data dir")

	c.PartnersFile = f
	seeds, err := c.seeds()
	require.NoError(t, err)
	require.Len(t, seeds, 3)
	require.Equal(t, "Baltic Apps OÜ", seeds[0].Name)
	require.Equal(t, "Integra Partner AS", seeds[1].Name)
	require.Equal(t, []string{"integra.example"}, seeds[1].Domains)
	require.Equal(t, "Nordic Setup AB", seeds[2].Name)
}

package identity

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/testkit"
	"rollcall.dev/services/identity/adapters/postgres"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
	"rollcall.dev/services/identity/migrations"
)

var tokenLine = regexp.MustCompile(`bearer token\s+(rc_\S+)`)

// The dev bootstrap prints the demo tenant and two working tokens, and a
// restart prints the same ones (kept 0600 under the data dir) until one is
// revoked, when a new one replaces it.
func TestDevBootstrap(t *testing.T) {
	t.Parallel()
	pool := testkit.NewDB(t, migrations.FS)
	svc := &app.Service{Store: postgres.New(pool, "/rollcall/identity")}
	dir := t.TempDir()
	ctx := context.Background()
	run := func() (string, []string) {
		var out bytes.Buffer
		require.NoError(t, bootstrap(ctx, svc, &devOptions{out: &out, dataDir: dir}))
		m := tokenLine.FindAllStringSubmatch(out.String(), -1)
		require.Len(t, m, 2, out.String())
		return out.String(), []string{m[0][1], m[1][1]}
	}
	out, first := run()
	tenantID, err := os.ReadFile(filepath.Join(dir, "identity", "bootstrap-tenant.id"))
	require.NoError(t, err)
	require.Contains(t, out, strings.TrimSpace(string(tenantID)))
	require.Contains(t, out, `"Demo AS"`)
	admin, err := svc.Authenticate(ctx, first[0])
	require.NoError(t, err)
	require.Equal(t, "kari.nordmann@demo.example", admin.Email)
	am, err := svc.Authenticate(ctx, first[1])
	require.NoError(t, err)
	require.Equal(t, "ola.nordmann@demo.example", am.Email)
	st, err := os.Stat(filepath.Join(dir, "identity", "bootstrap-admin.token"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	_, again := run()
	require.Equal(t, first, again, "a restart prints the same tokens")

	tok, err := pool.Exec(ctx, `UPDATE access_tokens SET revoked_at = now() WHERE hash = $1`, domainHash(first[0]))
	require.NoError(t, err)
	require.Equal(t, int64(1), tok.RowsAffected())
	_, third := run()
	require.NotEqual(t, first[0], third[0], "a revoked token is replaced")
	require.Equal(t, first[1], third[1])
	var tenants int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM tenants`).Scan(&tenants))
	require.Equal(t, 1, tenants)
}

func TestDevConfigKeepsItsLoginKey(t *testing.T) {
	t.Parallel()
	env := platform.DevEnv{BaseURL: "http://127.0.0.1:1", ServiceToken: strings.Repeat("s", 40), DataDir: t.TempDir()}
	a, err := DevConfig(env)
	require.NoError(t, err)
	require.NoError(t, a.Validate())
	b, err := DevConfig(env)
	require.NoError(t, err)
	require.Equal(t, a.LoginSimKey, b.LoginSimKey)
	require.NotNil(t, a.dev)
}

func TestConfigNamesTheVariable(t *testing.T) {
	t.Parallel()
	ok := Config{InternalTokens: strings.Repeat("t", 32), IntegratorPolicyURL: "http://policy", ServiceToken: strings.Repeat("s", 32),
		LoginProfileProviders: "telia", AdminTokenTTL: 720 * 3600e9, APITokenTTL: 3600e9, SignInMaxFailures: 5, SignInLockout: 15 * 60e9}
	require.NoError(t, ok.Validate())
	for want, mutate := range map[string]func(*Config){
		"INTERNAL_TOKENS":         func(c *Config) { c.InternalTokens = "short" },
		"INTEGRATOR_POLICY_URL":   func(c *Config) { c.IntegratorPolicyURL = "policy:8080" },
		"SERVICE_TOKEN":           func(c *Config) { c.ServiceToken = "x" },
		"LOGIN_SIM_KEY":           func(c *Config) { c.LoginSimKey = "short" },
		"LOGIN_PROFILE_PROVIDERS": func(c *Config) { c.LoginProfileProviders = "telia,bankid" },
		"ADMIN_TOKEN_TTL":         func(c *Config) { c.AdminTokenTTL = 0 },
		"API_TOKEN_TTL":           func(c *Config) { c.APITokenTTL = 48 * 3600e9 },
		"SIGNIN_MAX_FAILURES":     func(c *Config) { c.SignInMaxFailures = 0 },
		"SIGNIN_LOCKOUT":          func(c *Config) { c.SignInLockout = 10e9 },
	} {
		c := ok
		mutate(&c)
		err := c.Validate()
		require.Error(t, err, want)
		require.Contains(t, err.Error(), want)
	}
}

func domainHash(tok string) []byte { return domain.HashToken(tok) }

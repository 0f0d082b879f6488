package identity

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/services/identity/adapters/login"
	"rollcall.dev/services/identity/domain"
)

// Config is the service's own configuration, read from the environment by
// its binary (platform.LoadEnv) beside platform.Config.
type Config struct {
	// InternalTokens are the service tokens identity accepts on
	// InternalService and on its operator/service RPCs (comma list).
	InternalTokens string `env:"INTERNAL_TOKENS, required"`
	// IntegratorPolicyURL is the integrator-policy service's base URL, asked
	// before an integrator's guarded actions.
	IntegratorPolicyURL string `env:"INTEGRATOR_POLICY_URL, required"`
	// ServiceToken is what identity presents to integrator-policy.
	ServiceToken string `env:"SERVICE_TOKEN, required"`
	// LoginSimKey signs the development login stand-ins' assertions
	// (at least 32 bytes). Empty: the stand-ins are off and only the
	// "rollcall" provider (an existing profile) verifies logins.
	LoginSimKey string `env:"LOGIN_SIM_KEY"`
	// LoginProfileProviders are the provider-profile stand-ins (comma list).
	LoginProfileProviders string `env:"LOGIN_PROFILE_PROVIDERS, default=telia"`
	// AdminTokenTTL is an administrator token's default lifetime.
	AdminTokenTTL time.Duration `env:"ADMIN_TOKEN_TTL, default=720h"`
	// APITokenTTL is a service user's API token lifetime.
	APITokenTTL time.Duration `env:"API_TOKEN_TTL, default=1h"`
	// SignInMaxFailures failed password attempts on one login of a tenant
	// (SignIn by email, IssueServiceToken by user code) within
	// SignInLockout lock it for SignInLockout.
	SignInMaxFailures int           `env:"SIGNIN_MAX_FAILURES, default=5"`
	SignInLockout     time.Duration `env:"SIGNIN_LOCKOUT, default=15m"`

	// dev is set only by DevConfig: the dev login endpoint and the
	// bootstrap tenant printed at start.
	dev *devOptions
}

type devOptions struct {
	out     io.Writer
	dataDir string
}

// Validate reports the first invalid setting, naming its variable.
func (c Config) Validate() error {
	if _, err := svcauth.ParseTokens(c.InternalTokens); err != nil {
		return fmt.Errorf("INTERNAL_TOKENS: %w", err)
	}
	if !strings.HasPrefix(c.IntegratorPolicyURL, "http://") && !strings.HasPrefix(c.IntegratorPolicyURL, "https://") {
		return errors.New("INTEGRATOR_POLICY_URL: want an http:// or https:// URL")
	}
	if len(c.ServiceToken) < svcauth.MinTokenLen {
		return fmt.Errorf("SERVICE_TOKEN: want at least %d characters", svcauth.MinTokenLen)
	}
	if c.LoginSimKey != "" && len(c.LoginSimKey) < login.MinKeyLen {
		return fmt.Errorf("LOGIN_SIM_KEY: want at least %d bytes, got %d", login.MinKeyLen, len(c.LoginSimKey))
	}
	for _, p := range c.profileProviders() {
		if p == "bankid" || p == "rollcall" || !providerName.MatchString(p) {
			return fmt.Errorf("LOGIN_PROFILE_PROVIDERS: %q is not a usable provider name", p)
		}
	}
	if c.AdminTokenTTL < time.Minute || c.AdminTokenTTL > 90*24*time.Hour {
		return errors.New("ADMIN_TOKEN_TTL: want 1m to 2160h")
	}
	if c.APITokenTTL < time.Minute || c.APITokenTTL > 24*time.Hour {
		return errors.New("API_TOKEN_TTL: want 1m to 24h")
	}
	if c.SignInMaxFailures < 1 || c.SignInMaxFailures > 100 {
		return errors.New("SIGNIN_MAX_FAILURES: want 1 to 100")
	}
	if c.SignInLockout < time.Minute || c.SignInLockout > 24*time.Hour {
		return errors.New("SIGNIN_LOCKOUT: want 1m to 24h")
	}
	return nil
}

func (c Config) profileProviders() []string {
	var out []string
	for _, p := range strings.Split(c.LoginProfileProviders, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// DevConfig is the configuration `rollcall dev` runs the service with: the
// dev stack's service token both ways, integrator-policy on the same port, a
// login key generated once and kept under the data dir, the dev login
// endpoint, and the demo tenant whose administrators' tokens are printed at
// start.
func DevConfig(env platform.DevEnv) (Config, error) {
	key, err := platform.DevSecret(filepath.Join(env.DataDir, "identity", "login-sim.key"))
	if err != nil {
		return Config{}, fmt.Errorf("identity: login key: %w", err)
	}
	out := env.Out
	if out == nil {
		out = io.Discard
	}
	return Config{
		InternalTokens: env.ServiceToken, IntegratorPolicyURL: env.BaseURL, ServiceToken: env.ServiceToken,
		LoginSimKey: key, LoginProfileProviders: "telia", AdminTokenTTL: 30 * 24 * time.Hour, APITokenTTL: time.Hour,
		SignInMaxFailures: domain.DefaultMaxFailures, SignInLockout: domain.DefaultLockout,
		dev: &devOptions{out: out, dataDir: env.DataDir},
	}, nil
}

var providerName = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,31}$`)

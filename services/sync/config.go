package syncsvc

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"rollcall.dev/pkg/platform"
)

// Config is the service's own configuration, read from the environment by
// its binary (platform.LoadEnv) beside platform.Config. Its String hides the
// secrets (SYNC_ERP_API_KEY, SYNC_WEBHOOK_SECRET).
//
// Until connections are created over the API (issue 7), one ERP account —
// SYNC_ERP_BASE_URL with SYNC_ERP_API_KEY — serves every tenant listed in
// SYNC_ERP_TENANTS ("*": all of them). Without SYNC_ERP_BASE_URL the service
// does not consume HR changes at all: they wait in the HR stream until an ERP
// is configured.
type Config struct {
	// ERPBaseURL is the 24SevenOffice API root (or the stand-in's).
	ERPBaseURL string `env:"SYNC_ERP_BASE_URL"`
	// ERPAPIKey is the API key made in the ERP (Settings > Misc).
	ERPAPIKey string `env:"SYNC_ERP_API_KEY"`
	// ERPConnectionID names that ERP account in events (a lowercase UUID).
	ERPConnectionID string `env:"SYNC_ERP_CONNECTION_ID, default=5c0e0d1e-0000-4000-8000-000000000001"`
	// ERPTenants are the tenants (comma-separated UUIDs) whose HR changes go
	// to that ERP; "*" is every tenant. Changes of other tenants are
	// dead-lettered (unknown tenant).
	ERPTenants string `env:"SYNC_ERP_TENANTS, default=*"`
	// ERPTimeout bounds one ERP request.
	ERPTimeout time.Duration `env:"SYNC_ERP_TIMEOUT, default=10s"`

	// WebhookSecret keys the HR webhook's HMAC-SHA256 signatures (at least
	// 32 characters); empty disables the webhook.
	WebhookSecret string `env:"SYNC_WEBHOOK_SECRET"`
	// WebhookTolerance is the accepted clock skew of a delivery's timestamp.
	WebhookTolerance time.Duration `env:"SYNC_WEBHOOK_TOLERANCE, default=5m"`

	// Coalesce is how long a change waits for more changes of the same
	// employee before the ERP write.
	Coalesce time.Duration `env:"SYNC_COALESCE_WINDOW, default=10ms"`
	// Concurrency is how many employees are written to the ERP at once.
	Concurrency int `env:"SYNC_CONCURRENCY, default=16"`
	// Consumers is how many FieldChanged messages are taken in at once (pull
	// subscriptions on the one durable consumer); changes arriving together
	// commit in one transaction.
	Consumers int `env:"SYNC_CONSUMERS, default=64"`
	// RetryBase and RetryMax shape the exponential back-off of ERP retries.
	RetryBase time.Duration `env:"SYNC_RETRY_BASE, default=1s"`
	RetryMax  time.Duration `env:"SYNC_RETRY_MAX, default=5m"`

	// DevERPSim mounts the stand-in ERP (a development tool) at /dev/erp/
	// on the service's port, accepting ERPAPIKey. Never in production.
	DevERPSim bool `env:"SYNC_DEV_ERPSIM, default=false"`
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Validate reports every invalid setting, naming its variable.
func (c Config) Validate() error {
	var errs []error
	if c.ERPBaseURL != "" {
		if p, err := url.Parse(c.ERPBaseURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, errors.New("SYNC_ERP_BASE_URL: want an absolute http(s) URL"))
		}
		if strings.TrimSpace(c.ERPAPIKey) == "" {
			errs = append(errs, errors.New("SYNC_ERP_API_KEY: required with SYNC_ERP_BASE_URL"))
		}
	} else if c.ERPAPIKey != "" {
		errs = append(errs, errors.New("SYNC_ERP_BASE_URL: required with SYNC_ERP_API_KEY"))
	}
	if c.DevERPSim && c.ERPAPIKey == "" {
		errs = append(errs, errors.New("SYNC_DEV_ERPSIM: needs SYNC_ERP_API_KEY (the key the stand-in accepts)"))
	}
	if !uuidRE.MatchString(c.ERPConnectionID) {
		errs = append(errs, errors.New("SYNC_ERP_CONNECTION_ID: want a lowercase UUID"))
	}
	if _, _, err := c.tenants(); err != nil {
		errs = append(errs, err)
	}
	if c.ERPTimeout <= 0 {
		errs = append(errs, errors.New("SYNC_ERP_TIMEOUT: must be positive"))
	}
	if c.WebhookSecret != "" && len(c.WebhookSecret) < 32 {
		errs = append(errs, errors.New("SYNC_WEBHOOK_SECRET: want at least 32 characters (e.g. openssl rand -hex 32)"))
	}
	if c.WebhookTolerance < time.Second || c.WebhookTolerance > time.Hour {
		errs = append(errs, errors.New("SYNC_WEBHOOK_TOLERANCE: want 1s to 1h"))
	}
	if c.Coalesce < 0 || c.Coalesce > time.Minute {
		errs = append(errs, errors.New("SYNC_COALESCE_WINDOW: want 0 to 1m"))
	}
	if c.Concurrency < 1 || c.Concurrency > 256 {
		errs = append(errs, fmt.Errorf("SYNC_CONCURRENCY: want 1 to 256, got %d", c.Concurrency))
	}
	if c.Consumers < 1 || c.Consumers > 256 {
		errs = append(errs, fmt.Errorf("SYNC_CONSUMERS: want 1 to 256, got %d", c.Consumers))
	}
	if c.RetryBase <= 0 || c.RetryMax < c.RetryBase {
		errs = append(errs, errors.New("SYNC_RETRY_BASE, SYNC_RETRY_MAX: want 0 < base <= max"))
	}
	return errors.Join(errs...)
}

func (c Config) tenants() (all bool, set map[string]bool, err error) {
	s := strings.TrimSpace(c.ERPTenants)
	if s == "*" {
		return true, nil, nil
	}
	set = map[string]bool{}
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if !uuidRE.MatchString(t) {
			return false, nil, fmt.Errorf("SYNC_ERP_TENANTS: %q is not a lowercase UUID (or use *)", t)
		}
		set[t] = true
	}
	return false, set, nil
}

// String hides the secrets, so the Config can be logged.
func (c Config) String() string {
	hide := func(s string) string {
		if s == "" {
			return ""
		}
		return "[redacted]"
	}
	return fmt.Sprintf("sync.Config{ERPBaseURL:%q ERPAPIKey:%s ERPConnectionID:%s ERPTenants:%q WebhookSecret:%s DevERPSim:%v}",
		c.ERPBaseURL, hide(c.ERPAPIKey), c.ERPConnectionID, c.ERPTenants, hide(c.WebhookSecret), c.DevERPSim)
}

// GoString is String, so %#v hides the secrets too.
func (c Config) GoString() string { return c.String() }

// DevConfig is the configuration `rollcall dev` runs the service with: the
// stand-in ERP mounted at BaseURL/dev/erp/ on the same port, serving every
// tenant, with an API key and a webhook secret generated once under the data
// dir.
func DevConfig(env platform.DevEnv) (Config, error) {
	key, err := platform.DevSecret(filepath.Join(env.DataDir, "erpsim-api-key"))
	if err != nil {
		return Config{}, fmt.Errorf("stand-in ERP key: %w", err)
	}
	secretPath := filepath.Join(env.DataDir, "sync-webhook-secret")
	secret, err := platform.DevSecret(secretPath)
	if err != nil {
		return Config{}, fmt.Errorf("webhook secret: %w", err)
	}
	if env.Out != nil {
		fmt.Fprintf(env.Out, "sync: stand-in ERP (development tool) at %s/dev/erp/ ; HR webhook at %s/webhooks/hr/<tenant>, secret in %s\n",
			env.BaseURL, env.BaseURL, secretPath)
	}
	return Config{
		ERPBaseURL: env.BaseURL + "/dev/erp", ERPAPIKey: key, ERPConnectionID: "5c0e0d1e-0000-4000-8000-000000000001",
		ERPTenants: "*", ERPTimeout: 10 * time.Second, WebhookSecret: secret, WebhookTolerance: 5 * time.Minute,
		Coalesce: 10 * time.Millisecond, Concurrency: 16, Consumers: 64, RetryBase: time.Second, RetryMax: time.Minute, DevERPSim: true,
	}, nil
}

package syncsvc

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/services/sync/keyring"
)

// Config is the service's own configuration, read from the environment by
// its binary (platform.LoadEnv) beside platform.Config. Its String hides the
// secrets (SYNC_ERP_API_KEY, SYNC_WEBHOOK_SECRET, SERVICE_TOKEN,
// SYNC_CONNECTION_KEYS, SYNC_HR_TOKEN, SMTP_PASSWORD).
//
// Admins connect tenants over the API (connections with their own API keys,
// sealed with SYNC_CONNECTION_KEYS) when IDENTITY_URL is set; that API then
// needs the identity service, the HR API, SMTP and the keyring. Besides, or
// instead, one ERP account — SYNC_ERP_API_KEY — can serve every tenant
// listed in SYNC_ERP_TENANTS that has no connection of its own. Without
// SYNC_ERP_BASE_URL the service does not consume HR changes at all: they
// wait in the HR stream until an ERP is configured.
type Config struct {
	// ERPBaseURL is the 24SevenOffice API root (or the stand-in's), for
	// every connection.
	ERPBaseURL string `env:"SYNC_ERP_BASE_URL"`
	// ERPAPIKey is the API key of the deployment's own ERP account
	// (Settings > Misc), serving ERPTenants; empty: only connections.
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
	// BurstHold: while HR's changes arrive in a burst (256 or more waiting
	// behind a batch), an employee is written only once it has been due
	// for this long, or when the burst is over, so the rest of its burst
	// joins the write (0: off).
	BurstHold time.Duration `env:"SYNC_BURST_HOLD, default=1s"`
	// Concurrency is how many employees are written to the ERP at once.
	Concurrency int `env:"SYNC_CONCURRENCY, default=16"`
	// RetryBase and RetryMax shape the exponential back-off of ERP retries.
	RetryBase time.Duration `env:"SYNC_RETRY_BASE, default=1s"`
	RetryMax  time.Duration `env:"SYNC_RETRY_MAX, default=5m"`

	// DevERPSim mounts the stand-in ERP (a development tool) at /dev/erp/
	// on the service's port, accepting ERPAPIKey and DevERPKey (and the
	// keys minted at /dev/erp/_admin/api-keys). Never in production.
	DevERPSim bool `env:"SYNC_DEV_ERPSIM, default=false"`
	// DevERPKey is one more key the stand-in accepts (its default account).
	DevERPKey string `env:"SYNC_DEV_ERPSIM_KEY"`

	// IdentityURL is the identity service's base URL (admins' tokens);
	// set, it switches the connection API on.
	IdentityURL string `env:"IDENTITY_URL"`
	// ServiceToken is presented to identity (one of its INTERNAL_TOKENS).
	ServiceToken string `env:"SERVICE_TOKEN"`
	// CallTimeout bounds one call to identity.
	CallTimeout time.Duration `env:"CALL_TIMEOUT, default=5s"`
	// ConnectionKeys seal the connections' API keys (AES-256-GCM):
	// "VERSION:BASE64KEY,..."; the first seals, all open; keys sealed under
	// an older version are resealed at start-up.
	ConnectionKeys string `env:"SYNC_CONNECTION_KEYS"`
	// HRBaseURL and HRToken reach the HR system's API (hr/hrapi), for the
	// first and manual synchronisations.
	HRBaseURL string `env:"SYNC_HR_BASE_URL"`
	HRToken   string `env:"SYNC_HR_TOKEN"`
	// HRTimeout bounds one HR request.
	HRTimeout time.Duration `env:"SYNC_HR_TIMEOUT, default=30s"`
	// DevHRSim mounts the stand-in HR system (a development tool) at
	// /dev/hr/, accepting HRToken. Never in production.
	DevHRSim bool `env:"SYNC_DEV_HRSIM, default=false"`

	// SMTP sends the runs' reports.
	SMTPHost     string `env:"SMTP_HOST"`
	SMTPPort     int    `env:"SMTP_PORT"`
	SMTPUsername string `env:"SMTP_USERNAME"`
	SMTPPassword string `env:"SMTP_PASSWORD"`
	SMTPTLS      string `env:"SMTP_TLS, default=starttls"`
	MailFrom     string `env:"MAIL_FROM"`

	// RunThreshold stops a run that would overwrite or clear values of
	// more than this percentage of the employees, until an admin confirms.
	RunThreshold int `env:"SYNC_RUN_THRESHOLD, default=20"`
	// RunLease is how long a run stays with an executor that stopped
	// renewing it (a crashed one) before another resumes it.
	RunLease time.Duration `env:"SYNC_RUN_LEASE, default=30s"`
	// RunConcurrency is how many employees a run writes at once.
	RunConcurrency int `env:"SYNC_RUN_CONCURRENCY, default=8"`
	// PreviewTTL is how long a preview can be applied.
	PreviewTTL time.Duration `env:"SYNC_PREVIEW_TTL, default=24h"`
}

// connectionsAPI reports whether admins connect tenants over the API.
func (c Config) connectionsAPI() bool { return c.IdentityURL != "" }

func (c Config) smtp() notify.SMTPConfig {
	return notify.SMTPConfig{Host: c.SMTPHost, Port: c.SMTPPort, Username: c.SMTPUsername, Password: c.SMTPPassword,
		TLS: strings.ToLower(c.SMTPTLS), From: c.MailFrom}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Validate reports every invalid setting, naming its variable.
func (c Config) Validate() error {
	var errs []error
	if c.ERPBaseURL != "" {
		if !httpURL(c.ERPBaseURL) {
			errs = append(errs, errors.New("SYNC_ERP_BASE_URL: want an absolute http(s) URL"))
		}
		if strings.TrimSpace(c.ERPAPIKey) == "" && !c.connectionsAPI() {
			errs = append(errs, errors.New("SYNC_ERP_API_KEY: required with SYNC_ERP_BASE_URL unless admins connect over the API (IDENTITY_URL)"))
		}
	} else if c.ERPAPIKey != "" {
		errs = append(errs, errors.New("SYNC_ERP_BASE_URL: required with SYNC_ERP_API_KEY"))
	}
	if c.connectionsAPI() {
		errs = append(errs, c.validateAPI()...)
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
	if c.BurstHold < 0 || c.BurstHold > time.Minute {
		errs = append(errs, errors.New("SYNC_BURST_HOLD: want 0 to 1m"))
	}
	if c.Concurrency < 1 || c.Concurrency > 256 {
		errs = append(errs, fmt.Errorf("SYNC_CONCURRENCY: want 1 to 256, got %d", c.Concurrency))
	}
	if c.RetryBase <= 0 || c.RetryMax < c.RetryBase {
		errs = append(errs, errors.New("SYNC_RETRY_BASE, SYNC_RETRY_MAX: want 0 < base <= max"))
	}
	if c.DevHRSim && c.HRToken == "" {
		errs = append(errs, errors.New("SYNC_DEV_HRSIM: needs SYNC_HR_TOKEN (the token the stand-in accepts)"))
	}
	return errors.Join(errs...)
}

func httpURL(s string) bool {
	p, err := url.Parse(s)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// validateAPI checks what the connection API needs.
func (c Config) validateAPI() []error {
	var errs []error
	if !httpURL(c.IdentityURL) {
		errs = append(errs, errors.New("IDENTITY_URL: want an absolute http(s) URL"))
	}
	if len(c.ServiceToken) < svcauth.MinTokenLen {
		errs = append(errs, fmt.Errorf("SERVICE_TOKEN: want at least %d characters (with IDENTITY_URL)", svcauth.MinTokenLen))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, errors.New("CALL_TIMEOUT: must be positive"))
	}
	if c.ERPBaseURL == "" {
		errs = append(errs, errors.New("SYNC_ERP_BASE_URL: required with IDENTITY_URL (connections reach the ERP there)"))
	}
	if _, err := keyring.Parse(c.ConnectionKeys); err != nil {
		errs = append(errs, fmt.Errorf("SYNC_CONNECTION_KEYS: %w", err))
	}
	if !httpURL(c.HRBaseURL) {
		errs = append(errs, errors.New("SYNC_HR_BASE_URL: want an absolute http(s) URL (with IDENTITY_URL)"))
	}
	if strings.TrimSpace(c.HRToken) == "" {
		errs = append(errs, errors.New("SYNC_HR_TOKEN: required with IDENTITY_URL"))
	}
	if c.HRTimeout <= 0 {
		errs = append(errs, errors.New("SYNC_HR_TIMEOUT: must be positive"))
	}
	if err := c.smtp().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("SMTP_*/MAIL_FROM: %w", err))
	}
	if c.RunThreshold < 0 || c.RunThreshold > 100 {
		errs = append(errs, errors.New("SYNC_RUN_THRESHOLD: want a percentage, 0 to 100"))
	}
	if c.RunLease < 3*time.Second || c.RunLease > time.Hour {
		errs = append(errs, errors.New("SYNC_RUN_LEASE: want 3s to 1h"))
	}
	if c.RunConcurrency < 1 || c.RunConcurrency > 256 {
		errs = append(errs, errors.New("SYNC_RUN_CONCURRENCY: want 1 to 256"))
	}
	if c.PreviewTTL < time.Minute {
		errs = append(errs, errors.New("SYNC_PREVIEW_TTL: want at least 1m"))
	}
	return errs
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
	return fmt.Sprintf("sync.Config{ERPBaseURL:%q ERPAPIKey:%s ERPConnectionID:%s ERPTenants:%q WebhookSecret:%s DevERPSim:%v DevERPKey:%s "+
		"IdentityURL:%q ServiceToken:%s ConnectionKeys:%s HRBaseURL:%q HRToken:%s DevHRSim:%v SMTP:%s RunThreshold:%d}",
		c.ERPBaseURL, hide(c.ERPAPIKey), c.ERPConnectionID, c.ERPTenants, hide(c.WebhookSecret), c.DevERPSim, hide(c.DevERPKey),
		c.IdentityURL, hide(c.ServiceToken), hide(c.ConnectionKeys), c.HRBaseURL, hide(c.HRToken), c.DevHRSim, c.smtp(), c.RunThreshold)
}

// GoString is String, so %#v hides the secrets too.
func (c Config) GoString() string { return c.String() }

// DevConfig is the configuration `rollcall dev` runs the service with: the
// stand-in ERP and the stand-in HR system mounted at BaseURL/dev/erp/ and
// BaseURL/dev/hr/ on the same port, identity on the same port, the mail
// sink for the reports, and the keys, tokens and webhook secret generated
// once under the data dir. No ERP account serves tenants by default: an
// admin connects one (the README's walkthrough).
func DevConfig(env platform.DevEnv) (Config, error) {
	secret := func(name string) (string, error) { return platform.DevSecret(filepath.Join(env.DataDir, name)) }
	erpKey, err := secret("erpsim-api-key")
	if err != nil {
		return Config{}, fmt.Errorf("stand-in ERP key: %w", err)
	}
	webhook, err := secret("sync-webhook-secret")
	if err != nil {
		return Config{}, fmt.Errorf("webhook secret: %w", err)
	}
	hrToken, err := secret("hrsim-token")
	if err != nil {
		return Config{}, fmt.Errorf("stand-in HR token: %w", err)
	}
	seal, err := secret("sync-connection-key")
	if err != nil {
		return Config{}, fmt.Errorf("connection key: %w", err)
	}
	raw, err := hex.DecodeString(seal)
	if err != nil || len(raw) < 32 {
		return Config{}, fmt.Errorf("connection key in %s: want 64 hex digits", filepath.Join(env.DataDir, "sync-connection-key"))
	}
	if env.Out != nil {
		fmt.Fprintf(env.Out, "sync: stand-in ERP (development tool) at %s/dev/erp/ ; stand-in HR at %s/dev/hr/ ; HR webhook at %s/webhooks/hr/<tenant>, secret in %s\n",
			env.BaseURL, env.BaseURL, env.BaseURL, filepath.Join(env.DataDir, "sync-webhook-secret"))
	}
	return Config{
		ERPBaseURL: env.BaseURL + "/dev/erp", ERPConnectionID: "5c0e0d1e-0000-4000-8000-000000000001",
		ERPTenants: "*", ERPTimeout: 10 * time.Second, WebhookSecret: webhook, WebhookTolerance: 5 * time.Minute,
		Coalesce: 10 * time.Millisecond, BurstHold: time.Second, Concurrency: 16, RetryBase: time.Second, RetryMax: time.Minute,
		DevERPSim: true, DevERPKey: erpKey,
		IdentityURL: env.BaseURL, ServiceToken: env.ServiceToken, CallTimeout: 5 * time.Second,
		ConnectionKeys: "1:" + base64.StdEncoding.EncodeToString(raw[:32]),
		HRBaseURL:      env.BaseURL + "/dev/hr", HRToken: hrToken, HRTimeout: 30 * time.Second, DevHRSim: true,
		SMTPHost: env.SMTPHost, SMTPPort: env.SMTPPort, SMTPTLS: notify.TLSNone, MailFrom: "Rollcall <no-reply@rollcall.localhost>",
		RunThreshold: 20, RunLease: 30 * time.Second, RunConcurrency: 8, PreviewTTL: 24 * time.Hour,
	}, nil
}

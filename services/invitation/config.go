package invitation

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/svcauth"
)

// Config is the service's own configuration, read from the environment by
// its binary (platform.LoadEnv) beside platform.Config. Its String hides the
// secrets (SERVICE_TOKEN, INVITATION_CODE_KEY, SMTP_PASSWORD,
// SMS_GATEWAY_TOKEN).
type Config struct {
	// IdentityURL is the identity service's base URL: admins' tokens, the
	// tenants' structure, login assertions, integration users' passwords.
	IdentityURL string `env:"IDENTITY_URL, required"`
	// IntegratorPolicyURL is the partner registry (CheckPartner).
	IntegratorPolicyURL string `env:"INTEGRATOR_POLICY_URL, required"`
	// ServiceToken is presented to identity and integrator-policy (one of
	// their INTERNAL_TOKENS).
	ServiceToken string `env:"SERVICE_TOKEN, required"`
	// CallTimeout bounds one call to another service.
	CallTimeout time.Duration `env:"CALL_TIMEOUT, default=5s"`

	// CodeKey keys the HMAC of one-time codes (at least 32 characters).
	// Changing it invalidates the codes of the last 10 minutes; the inviter
	// can issue new ones.
	CodeKey string `env:"INVITATION_CODE_KEY, required"`
	// AcceptURL is the invitee's page; the link is AcceptURL#token=<token>.
	AcceptURL string `env:"ACCEPT_URL, required"`
	// SweepInterval is how often expired invitations are swept.
	SweepInterval time.Duration `env:"SWEEP_INTERVAL, default=1m"`

	SMTPHost     string `env:"SMTP_HOST, required"`
	SMTPPort     int    `env:"SMTP_PORT"` // default by SMTP_TLS: 25, 587 or 465
	SMTPUsername string `env:"SMTP_USERNAME"`
	SMTPPassword string `env:"SMTP_PASSWORD"`
	SMTPTLS      string `env:"SMTP_TLS, default=starttls"` // none, starttls or tls
	MailFrom     string `env:"MAIL_FROM, required"`

	// SMSGatewayURL receives one POST per SMS (notify.HTTPSMS).
	SMSGatewayURL   string `env:"SMS_GATEWAY_URL, required"`
	SMSGatewayToken string `env:"SMS_GATEWAY_TOKEN"`
}

// Validate reports every invalid setting, naming its variable.
func (c Config) Validate() error {
	var errs []error
	for name, u := range map[string]string{"IDENTITY_URL": c.IdentityURL, "INTEGRATOR_POLICY_URL": c.IntegratorPolicyURL, "ACCEPT_URL": c.AcceptURL} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s: want an absolute http(s) URL", name))
		}
	}
	if p, err := url.Parse(c.AcceptURL); err == nil && p.Fragment != "" {
		errs = append(errs, errors.New("ACCEPT_URL: must not have a fragment (the token goes there)"))
	}
	if len(c.ServiceToken) < svcauth.MinTokenLen {
		errs = append(errs, fmt.Errorf("SERVICE_TOKEN: want at least %d characters", svcauth.MinTokenLen))
	}
	if len(c.CodeKey) < 32 {
		errs = append(errs, errors.New("INVITATION_CODE_KEY: want at least 32 characters (e.g. openssl rand -hex 32)"))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, errors.New("CALL_TIMEOUT: must be positive"))
	}
	if c.SweepInterval < time.Second {
		errs = append(errs, errors.New("SWEEP_INTERVAL: want at least 1s"))
	}
	if err := c.smtp().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("SMTP_*/MAIL_FROM: %w", err))
	}
	if _, err := notify.NewHTTPSMS(c.SMSGatewayURL, c.SMSGatewayToken, 0); err != nil {
		errs = append(errs, fmt.Errorf("SMS_GATEWAY_URL: %w", err))
	}
	return errors.Join(errs...)
}

func (c Config) smtp() notify.SMTPConfig {
	return notify.SMTPConfig{Host: c.SMTPHost, Port: c.SMTPPort, Username: c.SMTPUsername, Password: c.SMTPPassword, TLS: strings.ToLower(c.SMTPTLS), From: c.MailFrom}
}

// String hides the secrets, so the Config can be logged.
func (c Config) String() string {
	hide := func(s string) string {
		if s == "" {
			return ""
		}
		return "[redacted]"
	}
	return fmt.Sprintf("invitation.Config{IdentityURL:%q IntegratorPolicyURL:%q ServiceToken:%s CodeKey:%s AcceptURL:%q SMTP:%s SMSGatewayURL:%q SMSGatewayToken:%s}",
		c.IdentityURL, c.IntegratorPolicyURL, hide(c.ServiceToken), hide(c.CodeKey), c.AcceptURL, c.smtp(), c.SMSGatewayURL, hide(c.SMSGatewayToken))
}

// GoString is String, so %#v hides the secrets too.
func (c Config) GoString() string { return c.String() }

// DevConfig is the configuration `rollcall dev` runs the service with: the
// other services on the same port, the mail and SMS sink (SMTP, and its HTTP
// SMS gateway), and a code key
// generated once and kept under the data dir (so codes survive a restart).
func DevConfig(env platform.DevEnv) (Config, error) {
	key, err := platform.DevSecret(filepath.Join(env.DataDir, "invitation-code-key"))
	if err != nil {
		return Config{}, fmt.Errorf("code key: %w", err)
	}
	return Config{
		IdentityURL: env.BaseURL, IntegratorPolicyURL: env.BaseURL, ServiceToken: env.ServiceToken,
		CallTimeout: 5 * time.Second, CodeKey: key, AcceptURL: env.BaseURL + "/invite",
		SweepInterval: time.Minute, SMTPHost: env.SMTPHost, SMTPPort: env.SMTPPort, SMTPTLS: notify.TLSNone,
		MailFrom:      "Rollcall <no-reply@rollcall.localhost>",
		SMSGatewayURL: env.BaseURL + "/dev/mail/api/sms", // the sink, over HTTP like a real gateway
	}, nil
}

package integratorpolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/services/integrator-policy/app"
)

// Config is the service's own configuration, read from the environment by
// its binary (platform.LoadEnv) beside platform.Config.
type Config struct {
	// InternalTokens are the service tokens other Rollcall services present
	// (CheckPartner, CheckAction, GetActiveIntegrator), comma-separated, at
	// least 32 characters each.
	InternalTokens string `env:"INTERNAL_TOKENS, required"`
	// OperatorTokens are the operators' tokens for the partner registry
	// (RegisterPartner, RevokePartner, ListPartners), comma-separated, at
	// least 32 characters each, none of them a service token: a service's
	// token must not be able to register a partner. Unset, those RPCs refuse
	// everyone and partners come from PARTNERS_FILE only.
	OperatorTokens string `env:"OPERATOR_TOKENS"`
	// IdentityURL is the identity service's base URL, for resolving
	// administrators' bearer tokens.
	IdentityURL string `env:"IDENTITY_URL, required"`
	// ServiceToken is this service's token for calling identity.
	ServiceToken string `env:"SERVICE_TOKEN, required"`
	// IdentityTimeout bounds each call to identity.
	IdentityTimeout time.Duration `env:"IDENTITY_TIMEOUT, default=5s"`
	// PartnersFile is an optional JSON file of partners to register at
	// start-up (idempotent): [{"name": ..., "emails": [...], "domains": [...]}].
	PartnersFile string `env:"PARTNERS_FILE"`

	// Partners are seeded at start-up too (set by DevConfig, not the
	// environment).
	Partners []app.PartnerSeed
}

// Validate reports the first invalid setting, naming its variable.
func (c Config) Validate() error {
	if _, err := svcauth.ParseTokens(c.InternalTokens); err != nil {
		return fmt.Errorf("INTERNAL_TOKENS: %w", err)
	}
	if _, err := c.operatorTokens(); err != nil {
		return err
	}
	if !strings.HasPrefix(c.IdentityURL, "http://") && !strings.HasPrefix(c.IdentityURL, "https://") {
		return fmt.Errorf("IDENTITY_URL: want an http:// or https:// URL, got %q", c.IdentityURL)
	}
	if len(c.ServiceToken) < svcauth.MinTokenLen {
		return fmt.Errorf("SERVICE_TOKEN: want at least %d characters", svcauth.MinTokenLen)
	}
	if c.IdentityTimeout <= 0 {
		return errors.New("IDENTITY_TIMEOUT: must be positive")
	}
	if c.PartnersFile != "" {
		if _, err := readPartners(c.PartnersFile); err != nil {
			return fmt.Errorf("PARTNERS_FILE: %w", err)
		}
	}
	for i, p := range c.Partners {
		if _, err := p.Partner(time.Now()); err != nil {
			return fmt.Errorf("partner %d (%q): %w", i+1, p.Name, err)
		}
	}
	return nil
}

// operatorTokens parses OPERATOR_TOKENS: none when unset (the registry's
// RPCs then refuse everyone). A token that is also a service token is
// refused, or that service could manage the registry.
func (c Config) operatorTokens() (svcauth.Tokens, error) {
	if strings.TrimSpace(c.OperatorTokens) == "" {
		return svcauth.Tokens{}, nil
	}
	ops, err := svcauth.ParseTokens(c.OperatorTokens)
	if err != nil {
		return svcauth.Tokens{}, fmt.Errorf("OPERATOR_TOKENS: %w", err)
	}
	services, err := svcauth.ParseTokens(c.InternalTokens)
	if err != nil {
		return svcauth.Tokens{}, fmt.Errorf("INTERNAL_TOKENS: %w", err)
	}
	for i, tok := range strings.Split(c.OperatorTokens, ",") {
		if tok = strings.TrimSpace(tok); tok != "" && services.Check(tok) == nil {
			return svcauth.Tokens{}, fmt.Errorf("OPERATOR_TOKENS: token %d is also one of INTERNAL_TOKENS; give operators their own", i+1)
		}
	}
	return ops, nil
}

// seeds is every partner to seed: the file's, then the configured ones.
func (c Config) seeds() ([]app.PartnerSeed, error) {
	var out []app.PartnerSeed
	if c.PartnersFile != "" {
		ps, err := readPartners(c.PartnersFile)
		if err != nil {
			return nil, fmt.Errorf("PARTNERS_FILE: %w", err)
		}
		out = append(out, ps...)
	}
	return append(out, c.Partners...), nil
}

func readPartners(path string) ([]app.PartnerSeed, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the file
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var ps []app.PartnerSeed
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("want a JSON array of {id?, name, emails, domains}: %w", err)
	}
	for i, p := range ps {
		if _, err := p.Partner(time.Now()); err != nil {
			return nil, fmt.Errorf("partner %d (%q): %w", i+1, p.Name, err)
		}
	}
	return ps, nil
}

// DevPartners are the demo partners of `rollcall dev`: two, so the README
// can invite an integrator of one and then replace him with the other's.
var DevPartners = []app.PartnerSeed{
	{Name: "Integra Partner AS", Emails: []string{"integrator@integra.example"}, Domains: []string{"integra.example"}},
	{Name: "Nordic Setup AB", Emails: []string{"konsult@nordicsetup.example"}, Domains: []string{"nordicsetup.example"}},
}

// DevOperatorTokenFile is where `rollcall dev` keeps the operator token,
// under its data dir.
var DevOperatorTokenFile = filepath.Join("integrator-policy", "operator.token")

// DevConfig is the configuration `rollcall dev` runs the service with: the
// stack's one service token both ways, identity on the same port, the demo
// partners, and an operator token of its own for the partner registry,
// generated once and kept under the data dir (DevOperatorTokenFile), whose
// place is printed at start.
func DevConfig(env platform.DevEnv) (Config, error) {
	if env.DataDir == "" {
		return Config{}, errors.New("integrator-policy: the dev data dir is not set (the operator token is kept there)")
	}
	path := filepath.Join(env.DataDir, DevOperatorTokenFile)
	op, err := platform.DevSecret(path)
	if err != nil {
		return Config{}, fmt.Errorf("integrator-policy: operator token: %w", err)
	}
	if env.Out != nil {
		fmt.Fprintf(env.Out, "integrator-policy: operator token (RegisterPartner, RevokePartner, ListPartners) kept in %s\n", path)
	}
	return Config{
		InternalTokens:  env.ServiceToken,
		OperatorTokens:  op,
		IdentityURL:     env.BaseURL,
		ServiceToken:    env.ServiceToken,
		IdentityTimeout: 5 * time.Second,
		Partners:        DevPartners,
	}, nil
}

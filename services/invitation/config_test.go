package invitation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/platform"
	invitation "rollcall.dev/services/invitation"
)

func goodEnv() map[string]string {
	return map[string]string{
		"IDENTITY_URL": "http://identity:8080", "INTEGRATOR_POLICY_URL": "http://integrator-policy:8080",
		"SERVICE_TOKEN": strings.Repeat("s", 40), "INVITATION_CODE_KEY": strings.Repeat("k", 64),
		"ACCEPT_URL": "https://app.example.com/invite", "SMTP_HOST": "mailpit", "SMTP_PORT": "1025", "SMTP_TLS": "none",
		"MAIL_FROM": "Rollcall <no-reply@example.com>", "SMS_GATEWAY_URL": "http://sms-gateway/api/sms", "SMS_GATEWAY_TOKEN": "gw-secret-token",
	}
}

func load(env map[string]string) (invitation.Config, error) {
	var c invitation.Config
	if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: &c, Lookuper: envconfig.MapLookuper(env)}); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestConfig(t *testing.T) {
	t.Parallel()
	c, err := load(goodEnv())
	require.NoError(t, err)
	require.Equal(t, "mailpit", c.SMTPHost)
	s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c)
	for _, secret := range []string{strings.Repeat("s", 40), strings.Repeat("k", 64), "gw-secret-token"} {
		require.NotContains(t, s, secret)
	}

	for name, bad := range map[string]string{
		"IDENTITY_URL": "identity:8080", "INTEGRATOR_POLICY_URL": "", "SERVICE_TOKEN": "short",
		"INVITATION_CODE_KEY": "short", "ACCEPT_URL": "https://app.example.com/invite#x",
		"SMS_GATEWAY_URL": "sms-gateway", "SWEEP_INTERVAL": "10ms", "CALL_TIMEOUT": "0s",
	} {
		env := goodEnv()
		env[name] = bad
		_, err := load(env)
		require.Error(t, err, name)
		require.Contains(t, err.Error(), name)
	}
	env := goodEnv()
	env["SMTP_TLS"] = "sometimes"
	_, err = load(env)
	require.ErrorContains(t, err, "SMTP")
}

func TestDevConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := platform.DevEnv{BaseURL: "http://127.0.0.1:8080", ServiceToken: strings.Repeat("t", 64), DataDir: dir, SMTPHost: "127.0.0.1", SMTPPort: 2525}
	a, err := invitation.DevConfig(env)
	require.NoError(t, err)
	require.NoError(t, a.Validate(), "a dev config without an SMS sink still needs a gateway")
	b, err := invitation.DevConfig(env)
	require.NoError(t, err)
	require.Equal(t, a.CodeKey, b.CodeKey, "the generated code key is kept across restarts")
	require.Equal(t, "http://127.0.0.1:8080/invite", a.AcceptURL)
}

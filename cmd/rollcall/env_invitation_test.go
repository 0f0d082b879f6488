package main

import "strings"

func init() {
	// The invitation binary starts without reaching these: identity,
	// integrator-policy, SMTP and the SMS gateway are called per request.
	serviceEnv["invitation"] = []string{
		"IDENTITY_URL=http://127.0.0.1:9", "INTEGRATOR_POLICY_URL=http://127.0.0.1:9",
		"SERVICE_TOKEN=" + strings.Repeat("s", 40), "INVITATION_CODE_KEY=" + strings.Repeat("k", 64),
		"ACCEPT_URL=https://app.example.com/invite", "SMTP_HOST=127.0.0.1", "SMTP_PORT=9", "SMTP_TLS=none",
		"MAIL_FROM=no-reply@example.com", "SMS_GATEWAY_URL=http://127.0.0.1:9/sms",
	}
}

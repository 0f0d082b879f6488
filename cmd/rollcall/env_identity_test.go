package main

func init() {
	serviceEnv["identity"] = []string{
		"INTERNAL_TOKENS=" + "identity-test-internal-token-0123456789abcdef",
		"SERVICE_TOKEN=" + "identity-test-service-token-0123456789abcdef",
		"INTEGRATOR_POLICY_URL=http://127.0.0.1:9",
		"LOGIN_SIM_KEY=" + "identity-test-login-sim-key-0123456789abcdef",
	}
}

package main

import "strings"

// The integrator-policy binary needs its service tokens and the identity
// service's address (not called at start-up).
func init() {
	tok := strings.Repeat("t", 40)
	serviceEnv["integrator-policy"] = []string{
		"INTERNAL_TOKENS=" + tok,
		"SERVICE_TOKEN=" + tok,
		"IDENTITY_URL=http://127.0.0.1:9",
	}
}

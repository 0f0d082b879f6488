package main

func init() {
	// The sync binary starts without reaching the ERP: it is called when an
	// HR change arrives.
	serviceEnv["sync"] = []string{
		"SYNC_ERP_BASE_URL=http://127.0.0.1:9", "SYNC_ERP_API_KEY=test-api-key",
		"SYNC_WEBHOOK_SECRET=" + "0123456789abcdef0123456789abcdef",
	}
}

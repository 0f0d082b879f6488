package main

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/platform"
	syncsvc "rollcall.dev/services/sync"
)

func init() {
	// The sync binary starts without reaching any of these: the ERP is
	// called when an HR change arrives; identity, HR and SMTP when an admin
	// calls the connection API (switched on by IDENTITY_URL, which then
	// needs the keyring, HR and SMTP too, or the binary refuses to start).
	serviceEnv["sync"] = []string{
		"SYNC_ERP_BASE_URL=http://127.0.0.1:9", "SYNC_ERP_API_KEY=test-api-key",
		"SYNC_WEBHOOK_SECRET=" + "0123456789abcdef0123456789abcdef",
		"IDENTITY_URL=http://127.0.0.1:9", "SERVICE_TOKEN=" + strings.Repeat("s", 40),
		"SYNC_CONNECTION_KEYS=1:" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
		"SYNC_HR_BASE_URL=http://127.0.0.1:9", "SYNC_HR_TOKEN=test-hr-token",
		"SMTP_HOST=127.0.0.1", "SMTP_PORT=9", "SMTP_TLS=none", "MAIL_FROM=no-reply@example.com",
	}
}

// configEnvNames are the variables a Config struct reads: the names of its
// `env` tags (go-envconfig's `env:"NAME, default=..."`).
func configEnvNames(t *testing.T, cfg any) []string {
	t.Helper()
	typ := reflect.TypeOf(cfg)
	var names []string
	for i := range typ.NumField() {
		if tag, ok := typ.Field(i).Tag.Lookup("env"); ok {
			name, _, _ := strings.Cut(tag, ",")
			names = append(names, strings.TrimSpace(name))
		}
	}
	require.NotEmpty(t, names, "%s reads no environment variables", typ)
	return names
}

var readmeVarName = regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")

// syncReadmeVariables are the variables the first column of the
// configuration table in services/sync/README.md names.
func syncReadmeVariables(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "services", "sync", "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	require.True(t, ok, "services/sync/README.md has a Configuration section")
	section, _, _ = strings.Cut(section, "\n## ")
	var names []string
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(line, "|") {
			continue
		}
		for _, m := range readmeVarName.FindAllStringSubmatch(cells[1], -1) {
			names = append(names, m[1])
		}
	}
	require.NotEmpty(t, names, "the Configuration section of services/sync/README.md has a table of variables")
	return names
}

// The variables the sync binary is started with here, and the ones its
// README documents, are the ones its Config reads: a misspelt name would
// be ignored silently (the binary would start without the connection API,
// or an operator would set a variable nothing reads).
func TestSyncEnvNamesAreConfigKeys(t *testing.T) {
	t.Parallel()
	own := configEnvNames(t, syncsvc.Config{})
	platformKeys := configEnvNames(t, platform.Config{})
	for _, kv := range serviceEnv["sync"] {
		name, _, _ := strings.Cut(kv, "=")
		require.True(t, slices.Contains(own, name) || slices.Contains(platformKeys, name),
			"serviceEnv[sync] sets %s, which neither syncsvc.Config nor platform.Config reads", name)
	}
	// What the connection API needs, by the names the brief and the README
	// use for them.
	for _, name := range []string{"IDENTITY_URL", "SERVICE_TOKEN", "SYNC_CONNECTION_KEYS", "SYNC_HR_BASE_URL", "SYNC_HR_TOKEN", "SMTP_HOST", "MAIL_FROM"} {
		require.Contains(t, own, name, "syncsvc.Config reads %s", name)
		require.True(t, slices.ContainsFunc(serviceEnv["sync"], func(kv string) bool { return strings.HasPrefix(kv, name+"=") }),
			"the sync binary is started with %s, so it serves the connection API", name)
	}
	documented := syncReadmeVariables(t)
	for _, name := range documented {
		require.Contains(t, own, name, "services/sync/README.md documents %s, which syncsvc.Config does not read", name)
	}
	for _, name := range own {
		require.Contains(t, documented, name, "syncsvc.Config reads %s, which the configuration table of services/sync/README.md does not document", name)
	}
}

// `rollcall erpsim` serves the stand-in ERP until interrupted.
func TestErpsimCommandServesTheStandIn(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&erpsimCmd{Addr: addr, APIKeys: []string{"k1"}, TokenTTL: time.Hour, RetryAfter: time.Second}).Run(ctx)
	}()
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = http.Post("http://"+addr+"/auth", "application/json", strings.NewReader(`{"apiKey":"k1"}`))
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Get("http://" + addr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Contains(t, resp.Header.Get("X-Development-Tool"), "not a real one")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("erpsim did not stop")
	}
}

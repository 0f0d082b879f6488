package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func init() {
	// The sync binary starts without reaching the ERP: it is called when an
	// HR change arrives.
	serviceEnv["sync"] = []string{
		"SYNC_ERP_BASE_URL=http://127.0.0.1:9", "SYNC_ERP_API_KEY=test-api-key",
		"SYNC_WEBHOOK_SECRET=" + "0123456789abcdef0123456789abcdef",
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

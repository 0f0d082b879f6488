package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"nats":"not connected"}`))
	}))
	t.Cleanup(srv.Close)

	// A port nothing listens on: bind one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/readyz"
	require.NoError(t, ln.Close())

	for _, tc := range []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"Ready", []string{srv.URL + "/readyz"}, 0, ""},
		{"NotReadyShowsTheFailingCheck", []string{srv.URL + "/other"}, 1, "not connected"},
		{"NothingListening", []string{"-timeout", "1s", closed}, 1, "no answer"},
		{"NoURL", nil, 2, "usage"},
		{"NotHTTP", []string{"ftp://x/"}, 2, "not an http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			require.Equal(t, tc.code, run(tc.args, &stderr), stderr.String())
			require.Contains(t, stderr.String(), tc.say)
		})
	}
}

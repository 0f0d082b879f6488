package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"

	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/telemetry"
)

func TestMain(m *testing.M) {
	// Install the global tracer, propagator and meter the interceptors use.
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "server-test", LogWriter: io.Discard})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	_ = tel.Shutdown(context.Background())
	os.Exit(code)
}

type testBundle struct {
	srv     *server.Server
	baseURL string
	// postgresErr is what the "postgres" ready check returns.
	postgresErr atomic.Pointer[error]
	// serveDone receives Serve's result after cancel is called.
	cancel    context.CancelFunc
	serveDone chan error
}

func (b *testBundle) failPostgres(err error) { b.postgresErr.Store(&err) }

type setupOpts struct {
	cfg      server.Config
	handlers []server.Handler
	services []string
}

func setup(t *testing.T, opts setupOpts) *testBundle {
	t.Helper()
	b := &testBundle{}
	ready := []server.Check{
		{Name: "postgres", Fn: func(context.Context) error {
			if p := b.postgresErr.Load(); p != nil {
				return *p
			}
			return nil
		}},
		{Name: "nats", Fn: func(context.Context) error { return nil }},
	}
	if opts.cfg.Addr == "" {
		opts.cfg.Addr = "127.0.0.1:0"
	}
	log := telemetry.NewLogger(io.Discard, slog.LevelDebug)
	srv, err := server.New(opts.cfg, log, opts.handlers, opts.services, ready)
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	require.NotContains(t, srv.Addr(), ":0")
	b.srv = srv
	b.baseURL = "http://" + srv.Addr()

	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.serveDone = make(chan error, 1)
	go func() { b.serveDone <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.serveDone:
		case <-time.After(15 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return b
}

// h2cClient speaks cleartext HTTP/2 with prior knowledge, as gRPC clients do.
// Its connections are closed before the server shuts down: otherwise the
// server waits a second after its GOAWAY for the client to hang up.
func h2cClient(t *testing.T) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body)
}

func TestServer(t *testing.T) {
	t.Parallel()

	t.Run("Healthz", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.failPostgres(errors.New("down")) // liveness ignores readiness
		code, body := get(t, b.baseURL+"/healthz")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "ok", body)
	})

	t.Run("ReadyzReady", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		code, body := get(t, b.baseURL+"/readyz")
		require.Equal(t, http.StatusOK, code)
		require.JSONEq(t, `{"status":"ready","checks":{"postgres":"ok","nats":"ok"}}`, body)
	})

	t.Run("ReadyzNotReady", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.failPostgres(errors.New("dial postgres://app:hunter2@db:5432/x: connection refused"))
		code, body := get(t, b.baseURL+"/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
		var got struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		require.Equal(t, "not ready", got.Status)
		require.Equal(t, "ok", got.Checks["nats"])
		require.Contains(t, got.Checks["postgres"], "connection refused")
		require.NotContains(t, body, "hunter2")
	})

	t.Run("ReadyzCheckTimeout", func(t *testing.T) {
		t.Parallel()
		log := telemetry.NewLogger(io.Discard, slog.LevelInfo)
		srv, err := server.New(server.Config{Addr: "127.0.0.1:0", ReadyTimeout: 50 * time.Millisecond}, log, nil, nil,
			[]server.Check{{Name: "stuck", Fn: func(context.Context) error { select {} }}})
		require.NoError(t, err)
		require.NoError(t, srv.Listen())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx) }()
		defer func() { cancel(); require.NoError(t, <-done) }()

		code, body := get(t, "http://"+srv.Addr()+"/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Contains(t, body, "timed out")
	})

	t.Run("GRPCHealth", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{services: []string{"rollcall.test.v1.TestService"}})
		client := grpchealth.NewClient(h2cClient(t), b.baseURL, connect.WithGRPC())
		ctx := context.Background()

		for _, svc := range []string{"", "rollcall.test.v1.TestService"} {
			res, err := client.Check(ctx, &grpchealth.CheckRequest{Service: svc})
			require.NoError(t, err, svc)
			require.Equal(t, grpchealth.StatusServing, res.Status, svc)
		}

		_, err := client.Check(ctx, &grpchealth.CheckRequest{Service: "rollcall.nope.v1.Nope"})
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))

		b.failPostgres(errors.New("down"))
		for _, svc := range []string{"", "rollcall.test.v1.TestService"} {
			res, err := client.Check(ctx, &grpchealth.CheckRequest{Service: svc})
			require.NoError(t, err, svc)
			require.Equal(t, grpchealth.StatusNotServing, res.Status, svc)
		}
	})

	t.Run("GRPCReflection", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		client := grpcreflect.NewClient(h2cClient(t), b.baseURL)
		stream := client.NewStream(context.Background())
		defer stream.Close()
		names, err := stream.ListServices()
		require.NoError(t, err)
		require.Contains(t, names, protoreflect.FullName(grpchealth.HealthV1ServiceName))
		files, err := stream.FileContainingSymbol(grpchealth.HealthV1ServiceName)
		require.NoError(t, err)
		require.NotEmpty(t, files)
	})

	t.Run("Metrics", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		code, body := get(t, b.baseURL+"/metrics")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "go_goroutines")
		require.Contains(t, body, `service_name="server-test"`) // OpenTelemetry target_info
	})

	t.Run("GracefulShutdownWaitsForInFlight", func(t *testing.T) {
		t.Parallel()
		started, release := make(chan struct{}), make(chan struct{})
		b := setup(t, setupOpts{handlers: []server.Handler{{Path: "/slow", Handler: http.HandlerFunc(
			func(w http.ResponseWriter, _ *http.Request) {
				close(started)
				<-release
				_, _ = w.Write([]byte("done"))
			})}}})

		type result struct {
			body string
			err  error
		}
		got := make(chan result, 1)
		go func() {
			res, err := http.Get(b.baseURL + "/slow")
			if err != nil {
				got <- result{err: err}
				return
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			got <- result{string(body), err}
		}()

		<-started
		b.cancel()
		select {
		case err := <-b.serveDone:
			t.Fatalf("Serve returned %v while a request was in flight", err)
		case <-time.After(200 * time.Millisecond):
		}
		// New connections are refused while draining.
		_, err := http.Get(b.baseURL + "/healthz")
		require.Error(t, err)

		close(release)
		r := <-got
		require.NoError(t, r.err)
		require.Equal(t, "done", r.body)
		require.NoError(t, <-b.serveDone)
		b.serveDone <- nil // for the cleanup
	})

	t.Run("ShutdownTimeoutCutsStragglers", func(t *testing.T) {
		t.Parallel()
		started, release := make(chan struct{}), make(chan struct{})
		defer close(release)
		b := setup(t, setupOpts{
			cfg: server.Config{ShutdownTimeout: 100 * time.Millisecond},
			handlers: []server.Handler{{Path: "/stuck", Handler: http.HandlerFunc(
				func(http.ResponseWriter, *http.Request) { close(started); <-release })}},
		})
		go func() {
			if res, err := http.Get(b.baseURL + "/stuck"); err == nil {
				res.Body.Close()
			}
		}()
		<-started
		b.cancel()
		err := <-b.serveDone
		require.ErrorIs(t, err, context.DeadlineExceeded)
		b.serveDone <- nil
	})

	t.Run("ShutdownIdempotentAndBeforeServe", func(t *testing.T) {
		t.Parallel()
		log := telemetry.NewLogger(io.Discard, slog.LevelInfo)
		srv, err := server.New(server.Config{Addr: "127.0.0.1:0"}, log, nil, nil, nil)
		require.NoError(t, err)
		require.NoError(t, srv.Listen())
		require.NoError(t, srv.Shutdown(context.Background()))
		require.NoError(t, srv.Shutdown(context.Background()))
		require.NoError(t, srv.Serve(context.Background()))
	})

	t.Run("RejectsConflictingRoutes", func(t *testing.T) {
		t.Parallel()
		log := telemetry.NewLogger(io.Discard, slog.LevelInfo)
		h := http.NotFoundHandler()
		_, err := server.New(server.Config{}, log, []server.Handler{{"/a.v1.A/", h}, {"/a.v1.A/", h}}, nil, nil)
		require.Error(t, err)
		require.True(t, strings.Contains(err.Error(), "/a.v1.A/"))
	})
}

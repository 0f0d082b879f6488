package deploy

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/testkit"
)

// Every service runs as its NATS user from deploy/nats/nats.conf, with the
// environment docker-compose.yml gives it, against a JetStream server
// started from that file: it starts (streams, durable consumers,
// max-deliveries advisories), every subject it publishes is accepted, a
// poison message on each of its consumers is pulled, dead-lettered and
// terminated, and the server logs no permission violation. Publishing on
// another service's subjects is refused.
//
// Not parallel: the config file reads its passwords from the environment.
func TestServicesRunAsTheirNATSUsers(t *testing.T) {
	testkit.RequirePostgres(t)
	env := generatedEnv(t)
	project, err := loadCompose(t, env)
	require.NoError(t, err)

	opts := natsOptions(t, env)
	opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", -1, 0
	opts.StoreDir = t.TempDir()
	opts.NoSigs = true
	srv, err := server.NewServer(opts)
	require.NoError(t, err)
	logs := &serverLog{}
	srv.SetLoggerV2(logs, false, false, false)
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	require.True(t, srv.ReadyForConnections(10*time.Second))
	natsHost := strings.TrimPrefix(srv.ClientURL(), "nats://")

	// Start the four services, each as compose configures it, with its own
	// fresh database and the NATS URL pointed at this server.
	type running struct {
		name, addr string
	}
	ready := make(chan running, len(appServices))
	failed := make(chan error, len(appServices))
	var serviceLogs syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service logs:\n%s", serviceLogs.String())
		}
	})
	for _, svc := range appServices {
		s := project.Services[svc.name]
		e := mountedPaths(s, environment(t, s))
		cfg := svc.config()
		require.NoError(t, loadConfig(context.Background(), cfg, e))
		u, err := url.Parse(e["NATS_URL"])
		require.NoError(t, err)
		u.Host = natsHost
		_, dbURL := testkit.NewDBWithURL(t, nil)

		ctx, cancel := context.WithCancel(context.Background())
		result := make(chan error, 1)
		go func() {
			err := platform.Run(ctx, platform.Options{
				Addr: "127.0.0.1:0", DBMaxConns: 4, NATSURL: u.String(), StreamReplicas: 1,
				ShutdownTimeout: 10 * time.Second, RelayInterval: 50 * time.Millisecond,
				Log:     slog.New(slog.NewJSONHandler(&serviceLogs, &slog.HandlerOptions{Level: slog.LevelWarn})).With("service", svc.name),
				OnReady: func(addr string) { ready <- running{svc.name, addr} },
			}, platform.Unit{Module: svc.module(cfg), DatabaseURL: dbURL})
			if err != nil && ctx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", svc.name, err)
			}
			result <- err
		}()
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-result:
				require.NoError(t, err, "%s stops cleanly", svc.name)
			case <-time.After(30 * time.Second):
				t.Errorf("%s did not stop", svc.name)
			}
		})
	}
	for range appServices {
		select {
		case r := <-ready:
			resp, err := http.Get("http://" + r.addr + "/readyz")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s is ready", r.name)
		case err := <-failed:
			t.Fatalf("a service did not start as its NATS user: %v", err)
		case <-time.After(120 * time.Second):
			t.Fatal("the services did not start")
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, opJS := connectAs(t, srv, "operator", env)
	uses := natsUses()

	// The consumers the running services created are the ones natsUses
	// lists, so the permissions checked above are the ones really needed.
	var want, have []durable
	for _, u := range uses {
		want = append(want, durables(u.consumers)...)
	}
	for _, s := range bus.Streams {
		list := mustStream(ctx, t, opJS, s.Name).ListConsumers(ctx)
		for c := range list.Info() {
			have = append(have, durable{s.Name, c.Name})
		}
		require.NoError(t, list.Err())
	}
	require.ElementsMatch(t, want, have, "durable consumers on the server")

	// Every subject pattern each user publishes: accepted by its stream.
	poison := func(subject string) *nats.Msg {
		id := fmt.Sprintf("deploy-test-%d", time.Now().UnixNano())
		h := nats.Header{}
		h.Set(bus.HeaderMsgID, id)
		h.Set("ce-id", id)
		h.Set("ce-type", "rollcall.deploy.v1.NotAnEvent")
		return &nats.Msg{Subject: subject, Header: h, Data: []byte("not protobuf")}
	}
	concrete := func(pattern string) string { return strings.ReplaceAll(pattern, "*", "x") }
	js := map[string]jetstream.JetStream{}
	for user, u := range uses {
		_, js[user] = connectAs(t, srv, user, env)
		for _, p := range u.publishes {
			_, err := js[user].PublishMsg(ctx, poison(concrete(p)))
			require.NoError(t, err, "%s publishes on %s", user, p)
		}
	}
	// A poison message on every consumer's subjects, published by a user
	// whose subjects they are: each consumer pulls it, parks it on its
	// dead-letter subject and terminates it.
	for _, u := range uses {
		for _, c := range u.consumers {
			for _, f := range c.FilterSubjects {
				publisher := ""
				for user, pu := range uses {
					if slices.ContainsFunc(pu.publishes, func(p string) bool { return covers(p, f) }) {
						publisher = user
					}
				}
				require.NotEmpty(t, publisher, "nobody publishes what %s consumes (%s)", c.Durable, f)
				_, err := js[publisher].PublishMsg(ctx, poison(concrete(f)))
				require.NoError(t, err)
			}
		}
	}
	dlq := mustStream(ctx, t, opJS, bus.StreamDeadLetter)
	for _, d := range want {
		require.Eventually(t, func() bool {
			_, err := dlq.GetLastMsgForSubject(ctx, bus.DeadLetterSubject(d.stream, d.name))
			return err == nil
		}, 60*time.Second, 100*time.Millisecond, "%s/%s dead-letters a poison message", d.stream, d.name)
		require.Eventually(t, func() bool {
			c, err := mustStream(ctx, t, opJS, d.stream).Consumer(ctx, d.name)
			if err != nil {
				return false
			}
			info, err := c.Info(ctx)
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0
		}, 30*time.Second, 100*time.Millisecond, "%s/%s acknowledged (terminated) what it parked", d.stream, d.name)
	}
	require.Empty(t, logs.violations(), "the services and the HR publisher stay within their permissions")

	// Only their own subjects: another user's are refused.
	for user, u := range uses {
		for other, ou := range uses {
			for _, p := range ou.publishes {
				if other == user || slices.Contains(u.publishes, p) {
					continue
				}
				subject := concrete(p)
				pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := js[user].PublishMsg(pctx, poison(subject))
				pcancel()
				require.Error(t, err, "%s must not publish on %s's %s", user, other, subject)
				require.Eventually(t, func() bool {
					return slices.Contains(logs.violations(), fmt.Sprintf("Publish Violation - Subject %q", subject))
				}, 5*time.Second, 20*time.Millisecond, "the server refused %s publishing %s", user, subject)
			}
		}
	}
	// ... and nobody but the operator may read another service's events.
	nc, _ := connectAs(t, srv, "invitation", env)
	_, err = nc.SubscribeSync("identity.v1.>")
	require.NoError(t, err) // refused asynchronously
	require.NoError(t, nc.Flush())
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(logs.violations(), func(l string) bool {
			return strings.HasPrefix(l, `Subscription Violation - Subject "identity.v1.>"`)
		})
	}, 5*time.Second, 20*time.Millisecond)
}

func connectAs(t *testing.T, srv *server.Server, user string, env map[string]string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	opts := []nats.Option{nats.UserInfo(user, env[natsPasswordVar(user)]), nats.Name("deploy-test-" + user),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})} // violations are read from the server's log
	if len(natsUses()[user].consumers) > 0 {
		// A service's user reads replies on its own inbox prefix only, as
		// pkg/platform connects.
		opts = append(opts, nats.CustomInboxPrefix(platform.InboxPrefix(user)))
	}
	nc, err := nats.Connect(srv.ClientURL(), opts...)
	require.NoError(t, err, "connect as %s", user)
	t.Cleanup(nc.Close)
	js, err := bus.NewJetStream(nc)
	require.NoError(t, err)
	return nc, js
}

func mustStream(ctx context.Context, t *testing.T, js jetstream.JetStream, name string) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(ctx, name)
	require.NoError(t, err, "stream %s", name)
	return s
}

// serverLog keeps the embedded server's error lines (permission
// violations are logged there, whatever the client does with them).
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *serverLog) add(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
}

func (l *serverLog) violations() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		// Lines look like `127.0.0.1:5555 - cid:7 - "v1.55.0:go:deploy-test-hr" - Publish Violation - Subject "..."`.
		if i := strings.Index(line, " Violation - "); i >= 0 {
			start := strings.LastIndex(line[:i], " - ")
			out = append(out, line[start+3:])
		}
	}
	return out
}

func (l *serverLog) Noticef(string, ...any)         {}
func (l *serverLog) Warnf(format string, v ...any)  { l.add(format, v...) }
func (l *serverLog) Fatalf(format string, v ...any) { l.add(format, v...) }
func (l *serverLog) Errorf(format string, v ...any) { l.add(format, v...) }
func (l *serverLog) Debugf(string, ...any)          {}
func (l *serverLog) Tracef(string, ...any)          {}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

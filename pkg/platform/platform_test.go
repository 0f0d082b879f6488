package platform_test

import (
	"context"
	"io"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/inbox"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/testkit"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
)

// echoModule is a service that records every InviteExpired it consumes, in
// its own table, through the inbox.
type echoModule struct {
	mu   sync.Mutex
	deps platform.Deps
	got  chan string
}

func (m *echoModule) Name() string { return "echo" }

func (m *echoModule) Migrations() iofs.FS { return migrations }

var migrations = fstest.MapFS{
	"01000_seen.sql": {Data: []byte("-- +goose Up\nCREATE TABLE seen (invitation_id text PRIMARY KEY);\n-- +goose Down\nDROP TABLE seen;\n")},
}

func (m *echoModule) Build(_ context.Context, d platform.Deps) (*platform.Component, error) {
	m.mu.Lock()
	m.deps = d
	m.mu.Unlock()
	path, h := invitationv1connect.NewInvitationServiceHandler(invitationv1connect.UnimplementedInvitationServiceHandler{}, d.HandlerOptions...)
	return &platform.Component{
		Handlers:     []server.Handler{{Path: path, Handler: h}},
		ServiceNames: []string{invitationv1connect.InvitationServiceName},
		Consumers: []bus.ConsumerConfig{{
			Stream: bus.StreamInvitation, Durable: "echo-expired",
			Handler: bus.Typed(func(ctx context.Context, msg *bus.Message, ev *invitationv1.InviteExpired) error {
				return inbox.Process(ctx, d.Pool, "echo-expired", msg, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO seen (invitation_id) VALUES ($1)`, ev.GetInvitationId())
					if err == nil {
						m.got <- ev.GetInvitationId()
					}
					return err
				})
			}),
		}},
	}, nil
}

func TestRun(t *testing.T) {
	t.Parallel()
	n := testkit.NewNATS(t)
	_, dbURL := testkit.NewDBWithURL(t, nil)
	mod := &echoModule{got: make(chan string, 4)}

	ctx, cancel := context.WithCancel(context.Background())
	addrCh := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- platform.Run(ctx, platform.Options{
			Addr: "127.0.0.1:0", NATSURL: n.URL, RelayInterval: 20 * time.Millisecond,
			OnReady: func(a string) { addrCh <- a }, Log: slog.New(slog.NewTextHandler(t.Output(), nil)),
		}, platform.Unit{Module: mod, DatabaseURL: dbURL})
	}()
	var base string
	select {
	case a := <-addrCh:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}

	t.Run("ReadyWithEveryCheck", func(t *testing.T) {
		resp, err := http.Get(base + "/readyz")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		require.Contains(t, string(b), `"postgres:echo":"ok"`)
		require.Contains(t, string(b), `"nats":"ok"`)
	})

	t.Run("ServiceMigrationsRanAfterPlatformOnes", func(t *testing.T) {
		var n int
		require.NoError(t, mod.deps.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM information_schema.tables WHERE table_name IN ('seen','rollcall_outbox','rollcall_inbox')`).Scan(&n))
		require.Equal(t, 3, n)
	})

	t.Run("HealthIsServingForTheService", func(t *testing.T) {
		client := grpchealth.NewClient(http.DefaultClient, base)
		res, err := client.Check(context.Background(), &grpchealth.CheckRequest{Service: invitationv1connect.InvitationServiceName})
		require.NoError(t, err)
		require.Equal(t, grpchealth.StatusServing, res.Status)
	})

	t.Run("RequestsAreValidatedBeforeTheHandler", func(t *testing.T) {
		client := invitationv1connect.NewInvitationServiceClient(http.DefaultClient, base)
		_, err := client.GetInvitation(context.Background(), connect.NewRequest(&invitationv1.GetInvitationRequest{TenantId: "not-a-uuid"}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Contains(t, err.Error(), "tenant_id")
		_, err = client.GetInvitation(context.Background(), connect.NewRequest(&invitationv1.GetInvitationRequest{
			TenantId: "0b9f6f3e-4a7e-4c38-9d55-5d1a1f0e8a11", InvitationId: "7d0c2a5e-1f3b-4a2d-8c9e-0f1e2d3c4b5a",
		}))
		require.Equal(t, connect.CodeUnimplemented, connect.CodeOf(err))
	})

	t.Run("OutboxEventReachesTheConsumerOnce", func(t *testing.T) {
		bctx := context.Background()
		ev := &invitationv1.InviteExpired{
			InvitationId: "7d0c2a5e-1f3b-4a2d-8c9e-0f1e2d3c4b5a",
			TenantId:     "0b9f6f3e-4a7e-4c38-9d55-5d1a1f0e8a11",
			OccurredAt:   timestamppb.Now(),
			ExpiresAt:    timestamppb.Now(),
			Kind:         invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
		}
		require.NoError(t, pgdb.InTx(bctx, mod.deps.Pool, func(tx pgx.Tx) error {
			_, err := outbox.Append(bctx, tx, mod.deps.Source, outbox.Record{
				Subject:   "invitation.v1." + ev.TenantId + ".invitation." + ev.InvitationId + ".expired",
				Aggregate: "invitation/" + ev.InvitationId,
				Event:     ev,
			})
			return err
		}))
		mod.deps.Relay.Kick()
		select {
		case id := <-mod.got:
			require.Equal(t, ev.InvitationId, id)
		case <-time.After(15 * time.Second):
			t.Fatal("event not consumed")
		}
	})

	t.Run("NotReadyWithoutNATS", func(t *testing.T) {
		n.Server.Shutdown()
		require.Eventually(t, func() bool {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(b), "nats")
		}, 10*time.Second, 50*time.Millisecond)
	})

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "a clean shutdown returns nil")
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestConfig(t *testing.T) {
	valid := platform.Config{
		HTTPAddr: ":8080", DatabaseURL: "postgres://x@y/z", DBMaxConns: 10, NATSURL: "nats://n:4222",
		StreamReplicas: 1, ShutdownTimeout: time.Second, RelayInterval: time.Second, LogLevel: "info",
	}
	require.NoError(t, valid.Validate())
	for name, tc := range map[string]struct {
		mutate func(*platform.Config)
		field  string
	}{
		"DatabaseURL":  {func(c *platform.Config) { c.DatabaseURL = "mysql://x" }, "DATABASE_URL"},
		"Replicas":     {func(c *platform.Config) { c.StreamReplicas = 2 }, "STREAM_REPLICAS"},
		"LogLevel":     {func(c *platform.Config) { c.LogLevel = "loud" }, "LOG_LEVEL"},
		"Shutdown":     {func(c *platform.Config) { c.ShutdownTimeout = 0 }, "SHUTDOWN_TIMEOUT"},
		"Addr":         {func(c *platform.Config) { c.HTTPAddr = "" }, "HTTP_ADDR"},
		"MaxConns":     {func(c *platform.Config) { c.DBMaxConns = 1 }, "DATABASE_MAX_CONNS"},
		"NATSUserOnly": {func(c *platform.Config) { c.NATSUser = "identity" }, "NATS_PASSWORD"},
		"NATSTwoLogins": {func(c *platform.Config) {
			c.NATSUser, c.NATSPassword, c.NATSCredentials = "identity", "pw", "/creds"
		}, "NATS_CREDENTIALS"},
	} {
		c := valid
		tc.mutate(&c)
		err := c.Validate()
		require.Error(t, err, name)
		require.Contains(t, err.Error(), tc.field, name)
	}

	t.Run("LoadConfigFromEnvironment", func(t *testing.T) {
		t.Setenv("DATABASE_URL", "postgres://u@h/d")
		t.Setenv("OUTBOX_POLL_INTERVAL", "50ms")
		cfg, err := platform.LoadConfig(context.Background())
		require.NoError(t, err)
		require.Equal(t, ":8080", cfg.HTTPAddr)
		require.Equal(t, 50*time.Millisecond, cfg.RelayInterval)
		require.Equal(t, "nats://127.0.0.1:4222", cfg.NATSURL)
	})

	t.Run("LoadConfigNamesTheMissingVariable", func(t *testing.T) {
		t.Setenv("DATABASE_URL", "")
		_, err := platform.LoadConfig(context.Background())
		require.ErrorContains(t, err, "DATABASE_URL")
	})
}

// A NATS URL's password never reaches the error (nor the log it goes to).
func TestRunDoesNotLeakTheNATSPassword(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now
	err = platform.Run(context.Background(), platform.Options{Addr: "127.0.0.1:0", NATSURL: "nats://echo:hunter2-secret@" + addr},
		platform.Unit{Module: &echoModule{}, DatabaseURL: "postgres://x@127.0.0.1:1/db"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2-secret")
	require.Contains(t, err.Error(), "echo:xxxxx@"+addr)
}

func TestInboxPrefix(t *testing.T) {
	t.Parallel()
	require.Equal(t, "_INBOX.integrator-policy", platform.InboxPrefix("integrator-policy"))
}

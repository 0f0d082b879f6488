package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"rollcall.dev/pkg/telemetry"
)

// logOnce runs fn with a fresh logger and returns the one JSON record written.
func logOnce(t *testing.T, fn func(*slog.Logger)) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	fn(telemetry.NewLogger(&buf, slog.LevelDebug))
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec), buf.String())
	return rec
}

func spanContext(t *testing.T) (context.Context, trace.SpanContext) {
	t.Helper()
	tid, err := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	require.NoError(t, err)
	sid, err := trace.SpanIDFromHex("00f067aa0ba902b7")
	require.NoError(t, err)
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(context.Background(), sc), sc
}

func TestNewLogger(t *testing.T) {
	t.Parallel()

	t.Run("TraceIDs", func(t *testing.T) {
		t.Parallel()
		ctx, sc := spanContext(t)
		rec := logOnce(t, func(l *slog.Logger) { l.InfoContext(ctx, "hello") })
		require.Equal(t, sc.TraceID().String(), rec["trace_id"])
		require.Equal(t, sc.SpanID().String(), rec["span_id"])
	})

	t.Run("TraceIDsStayTopLevelInGroups", func(t *testing.T) {
		t.Parallel()
		ctx, sc := spanContext(t)
		rec := logOnce(t, func(l *slog.Logger) {
			l.With("a", 1).WithGroup("req").With("b", 2).InfoContext(ctx, "hello", "c", 3)
		})
		require.Equal(t, sc.TraceID().String(), rec["trace_id"])
		require.EqualValues(t, 1, rec["a"])
		require.Equal(t, map[string]any{"b": 2.0, "c": 3.0}, rec["req"])
	})

	t.Run("NoTraceIDsWithoutSpan", func(t *testing.T) {
		t.Parallel()
		rec := logOnce(t, func(l *slog.Logger) { l.InfoContext(context.Background(), "hello") })
		require.NotContains(t, rec, "trace_id")
		require.NotContains(t, rec, "span_id")
	})

	t.Run("RedactsTopLevelKeys", func(t *testing.T) {
		t.Parallel()
		rec := logOnce(t, func(l *slog.Logger) {
			l.Info("login",
				"user", "ada",
				"Password", "hunter2",
				"access_token", "abc",
				"AUTHORIZATION", "Bearer xyz",
				slog.Int("otp", 123456),
				"set_cookie", "sid=1",
				"code_hash", "h",
				"client_credentials", "c",
				"private_key", "k",
				"apiKey", "k",
			)
		})
		require.Equal(t, "ada", rec["user"])
		for _, k := range []string{"Password", "access_token", "AUTHORIZATION", "otp", "set_cookie", "code_hash", "client_credentials", "private_key", "apiKey"} {
			require.Equal(t, "[REDACTED]", rec[k], k)
		}
	})

	t.Run("RedactsGroupedKeys", func(t *testing.T) {
		t.Parallel()
		rec := logOnce(t, func(l *slog.Logger) {
			l.With(slog.Group("db", slog.String("password", "p1"))).
				WithGroup("req").
				With("secret", "s1").
				Info("x", slog.Group("auth", slog.String("user", "ada"), slog.Group("inner", slog.String("token", "t1"))))
		})
		require.Equal(t, map[string]any{"password": "[REDACTED]"}, rec["db"])
		req := rec["req"].(map[string]any)
		require.Equal(t, "[REDACTED]", req["secret"])
		require.Equal(t, map[string]any{
			"user":  "ada",
			"inner": map[string]any{"token": "[REDACTED]"},
		}, req["auth"])
	})

	t.Run("RedactsSecretType", func(t *testing.T) {
		t.Parallel()
		type creds struct {
			User string
			Pass telemetry.Secret
		}
		rec := logOnce(t, func(l *slog.Logger) {
			l.Info("x", "value", telemetry.Secret("s3cr3t"), "creds", creds{User: "ada", Pass: "s3cr3t"})
		})
		require.Equal(t, "[REDACTED]", rec["value"])
		require.Equal(t, map[string]any{"User": "ada", "Pass": "[REDACTED]"}, rec["creds"])
	})

	t.Run("RedactsURLPasswords", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse("nats://bob:pw@nats:4222")
		require.NoError(t, err)
		rec := logOnce(t, func(l *slog.Logger) {
			l.Info("connect to postgres://app:hunter2@db:5432/rollcall",
				"dsn", "postgres://app:hunter2@db:5432/rollcall?sslmode=disable",
				"weird", "postgres://app:p@ss@db/x",
				"kv", "host=db user=app password=hunter2 dbname=x",
				"plain", "http://example.com:8080/a@b",
				"url", u,
				"err", errors.New("dial postgres://app:hunter2@db: refused"),
			)
		})
		require.Equal(t, "connect to postgres://app:xxxxx@db:5432/rollcall", rec["msg"])
		require.Equal(t, "postgres://app:xxxxx@db:5432/rollcall?sslmode=disable", rec["dsn"])
		require.Equal(t, "postgres://app:xxxxx@db/x", rec["weird"])
		require.Equal(t, "host=db user=app password=xxxxx dbname=x", rec["kv"])
		require.Equal(t, "http://example.com:8080/a@b", rec["plain"])
		require.Equal(t, "nats://bob:xxxxx@nats:4222", rec["url"])
		require.Equal(t, "dial postgres://app:xxxxx@db: refused", rec["err"])
	})

	t.Run("Level", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		l := telemetry.NewLogger(&buf, slog.LevelWarn)
		l.Info("dropped")
		require.Zero(t, buf.Len())
	})
}

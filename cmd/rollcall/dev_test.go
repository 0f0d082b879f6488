package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"rollcall.dev/cmd/rollcall/internal/devpg"
	"rollcall.dev/pkg/testkit"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the rollcall command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rollcall-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "rollcall")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

type devProcess struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	output strings.Builder
	ready  chan string
}

func (p *devProcess) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

var readyLine = regexp.MustCompile(`HTTP \(Connect, gRPC, JSON\)\s+(http://\S+)`)

// startDev starts `rollcall dev`; env adds to (and overrides) the test's
// environment.
func startDev(t *testing.T, databaseURL, prefix string, env ...string) *devProcess {
	t.Helper()
	return startDevIn(t, databaseURL, prefix, filepath.Join(t.TempDir(), ".rollcall"), env...)
}

// startDevIn is startDev with the data dir given.
func startDevIn(t *testing.T, databaseURL, prefix, dataDir string, env ...string) *devProcess {
	t.Helper()
	cmd := exec.Command(binary(t), "dev", "--http-addr", "127.0.0.1:0", "--db-prefix", prefix, "--data-dir", dataDir)
	cmd.Env = append(append(os.Environ(), "DATABASE_URL="+databaseURL), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	p := &devProcess{cmd: cmd, ready: make(chan string, 1)}
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.output.WriteString(line + "\n")
			p.mu.Unlock()
			if m := readyLine.FindStringSubmatch(line); m != nil {
				p.ready <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return p
}

func (p *devProcess) waitReady(t *testing.T) string {
	t.Helper()
	select {
	case base := <-p.ready:
		return base
	case <-time.After(90 * time.Second):
		t.Fatalf("rollcall dev did not become ready; output:\n%s", p.out())
		return ""
	}
}

func (p *devProcess) interrupt(t *testing.T) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("rollcall dev did not exit after Ctrl-C; output:\n%s", p.out())
	}
	return p.cmd.ProcessState.ExitCode()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func dropDatabases(t *testing.T, url, prefix string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE $1`, prefix+"%")
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	for _, n := range names {
		_, err := conn.Exec(ctx, `DROP DATABASE `+pgx.Identifier{n}.Sanitize()+` WITH (FORCE)`)
		require.NoError(t, err)
	}
}

func randomPrefix() string {
	return fmt.Sprintf("rc_devtest_%d_", time.Now().UnixNano()%1e9)
}

func TestDev(t *testing.T) {
	t.Parallel()

	t.Run("StartsFromNothingAnswersReadyAndStopsOnCtrlC", func(t *testing.T) {
		t.Parallel()
		testkit.RequirePostgres(t)
		prefix := randomPrefix()
		t.Cleanup(func() { dropDatabases(t, testkit.DatabaseURL(), prefix) })

		p := startDev(t, testkit.DatabaseURL(), prefix)
		base := p.waitReady(t)
		code, body := get(t, base+"/readyz")
		require.Equal(t, http.StatusOK, code, body)
		for _, check := range []string{"nats", "postgres:invitation", "postgres:identity", "postgres:integrator-policy", "postgres:sync"} {
			require.Contains(t, body, `"`+check+`":"ok"`)
		}
		code, _ = get(t, base+"/healthz")
		require.Equal(t, http.StatusOK, code)
		code, body = get(t, base+"/dev/mail/api/messages")
		require.Equal(t, http.StatusOK, code, "the mail sink is served")
		require.Equal(t, "[]", strings.TrimSpace(body))
		code, body = get(t, base+"/invite")
		require.Equal(t, http.StatusOK, code, "the invitee page is served")
		require.Contains(t, body, "AcceptInvitation")
		code, body = get(t, base+"/metrics")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "rollcall_outbox_lag_seconds")

		// Every service is mounted and validates its input.
		for _, path := range []string{
			"/rollcall.invitation.v1.InvitationService/CreateInvitation",
			"/rollcall.identity.v1.IdentityService/CreateServiceUser",
			"/rollcall.integrator.v1.IntegratorPolicyService/CheckPartner",
			"/rollcall.sync.v1.SyncService/CreateConnection",
		} {
			resp, err := http.Post(base+path, "application/json", strings.NewReader(`{}`))
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", path, b)
			require.Contains(t, string(b), `"invalid_argument"`, path)
		}

		require.Equal(t, 0, p.interrupt(t), p.out())
		require.Contains(t, p.out(), "Stopped cleanly.")
	})

	t.Run("StartsAPrivatePostgresWhenNoneAnswers", func(t *testing.T) {
		t.Parallel()
		if _, err := devpg.FindBinaries(); err != nil {
			if testkit.InCI() {
				t.Fatalf("PostgreSQL server binaries are required in CI: %v", err)
			}
			t.Skip("no PostgreSQL server binaries installed")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		closed := l.Addr().String()
		require.NoError(t, l.Close()) // nothing listens there now

		p := startDev(t, "postgres://postgres@"+closed+"/postgres?sslmode=disable&connect_timeout=2", randomPrefix())
		base := p.waitReady(t)
		code, body := get(t, base+"/readyz")
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, 0, p.interrupt(t), p.out())
		require.Contains(t, p.out(), "starting a private throwaway cluster")
		require.Contains(t, p.out(), "private PostgreSQL cluster")
	})

	t.Run("FailsClearlyOnBadFlags", func(t *testing.T) {
		t.Parallel()
		out, err := exec.Command(binary(t), "dev", "--log-level", "loud").CombinedOutput()
		require.Error(t, err)
		require.Contains(t, string(out), "--log-level")
	})
}

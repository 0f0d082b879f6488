//go:build chaos

package main

// The chaos tests (make test-chaos) run services as OS processes — their
// real binaries, killed with SIGKILL and started again — against a JetStream
// server this process restarts on the same store, a PostgreSQL whose
// backends are terminated, and (for sync) a stand-in ERP that goes away.
// This file is their harness: the restartable NATS server, the service
// processes, the fault log and the database helpers.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
)

// chaosEnv reads a setting from the environment (CHAOS_LOAD=90s), so a
// longer or shorter run needs no edit; def when it is unset.
func chaosEnv[T any](t *testing.T, name string, def T, parse func(string) (T, error)) T {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	x, err := parse(v)
	require.NoError(t, err, "%s", name)
	return x
}

func chaosDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	return chaosEnv(t, name, def, time.ParseDuration)
}

func chaosInt(t *testing.T, name string, def int) int {
	t.Helper()
	return chaosEnv(t, name, def, strconv.Atoi)
}

// chaosLogDir keeps the processes' logs. It is removed when the test
// passes, unless CHAOS_KEEP_LOGS is set; a failed run keeps it and says where.
func chaosLogDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rollcall-chaos-"+strings.ToLower(t.Name())+"-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("CHAOS_KEEP_LOGS") != "" {
			t.Logf("logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

// freePort returns a port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// buildServices builds the named service binaries (services/<name>/cmd/<name>)
// into a temporary directory; with CHAOS_RACE set, with the race detector
// (a race a process reports fails the test).
func buildServices(t *testing.T, names ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{}
	args := []string{"build", "-o", dir + "/"}
	if os.Getenv("CHAOS_RACE") != "" {
		args = append(args, "-race")
	}
	for _, n := range names {
		args = append(args, "rollcall.dev/services/"+n+"/cmd/"+n)
		out[n] = filepath.Join(dir, n)
	}
	start := time.Now()
	b, err := exec.Command("go", args...).CombinedOutput()
	require.NoError(t, err, string(b))
	t.Logf("built %s in %s", strings.Join(names, ", "), time.Since(start).Round(100*time.Millisecond))
	return out
}

// ---------------------------------------------------------------------------
// Faults and their timings.

type faultRecord struct {
	Name       string
	Start, End time.Duration // from the start of the load
	Detail     string
}

type faultLog struct {
	t     *testing.T
	start time.Time
	mu    sync.Mutex
	list  []faultRecord
}

func newFaultLog(t *testing.T) *faultLog { return &faultLog{t: t, start: time.Now()} }

func (f *faultLog) since() time.Duration { return time.Since(f.start) }

// do runs fault (which returns a detail line) and records how long it took.
func (f *faultLog) do(name string, fault func() string) {
	f.t.Helper()
	begin := f.since()
	f.t.Logf("%7.2fs fault: %s ...", begin.Seconds(), name)
	detail := fault()
	end := f.since()
	f.mu.Lock()
	f.list = append(f.list, faultRecord{Name: name, Start: begin, End: end, Detail: detail})
	f.mu.Unlock()
	f.t.Logf("%7.2fs fault: %s done (%s)", end.Seconds(), name, detail)
}

func (f *faultLog) report() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, r := range f.list {
		fmt.Fprintf(&b, "  %6.1fs–%6.1fs  %-48s %s\n", r.Start.Seconds(), r.End.Seconds(), r.Name, r.Detail)
	}
	return b.String()
}

func (f *faultLog) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.list)
}

// sleepUntil waits until offset after the start of the load.
func (f *faultLog) sleepUntil(offset time.Duration) {
	if d := offset - f.since(); d > 0 {
		time.Sleep(d)
	}
}

// ---------------------------------------------------------------------------
// A JetStream server (the real nats-server binary, from the module this
// repository pins) as a child process on a fixed port and store directory,
// so it can be killed with SIGKILL and started again on the same store.

type chaosNATS struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	log  *os.File
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func newChaosNATS(t *testing.T, logDir string) *chaosNATS {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats-server")
	b, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	require.NoError(t, err, string(b))
	f, err := os.Create(filepath.Join(logDir, "nats-server.log"))
	require.NoError(t, err)
	n := &chaosNATS{t: t, bin: bin, dir: t.TempDir(), port: freePort(t), log: f}
	n.start()
	t.Cleanup(func() {
		n.stop(syscall.SIGTERM)
		_ = f.Close()
	})
	// The streams exist before anyone publishes (each service would create
	// them at start-up too).
	nc, js := n.connect()
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = bus.EnsureStreams(ctx, js, bus.StreamOptions{})
	require.NoError(t, err)
	return n
}

func (n *chaosNATS) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *chaosNATS) start() {
	n.t.Helper()
	cmd := exec.Command(n.bin, "-n", "rollcall-chaos", "-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-js", "-sd", n.dir)
	cmd.Stdout, cmd.Stderr = n.log, n.log
	require.NoError(n.t, cmd.Start())
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		nc, err := nats.Connect(n.URL(), nats.Timeout(time.Second))
		if err == nil {
			js, jerr := jetstream.New(nc)
			if jerr == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, jerr = js.AccountInfo(ctx)
				cancel()
			}
			nc.Close()
			if jerr == nil {
				break
			}
			err = jerr
		}
		select {
		case <-done:
			n.t.Fatalf("nats-server exited at start (log %s)", n.log.Name())
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("nats-server not ready: %v (log %s)", err, n.log.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
}

func (n *chaosNATS) stop(sig syscall.Signal) string {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return "not running"
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return fmt.Sprintf("pid %d %s", cmd.Process.Pid, sig)
}

// restart is the JetStream fault: SIGKILL (no shutdown, nothing flushed
// beyond what the server had written), down for down, started again on the
// same port and store directory.
func (n *chaosNATS) restart(down time.Duration) string {
	what := n.stop(syscall.SIGKILL)
	time.Sleep(down)
	n.start()
	return fmt.Sprintf("%s, down %s, started again on port %d with the same store", what, down, n.port)
}

// connect opens a client that reconnects for ever (closed by the caller).
func (n *chaosNATS) connect() (*nats.Conn, jetstream.JetStream) {
	n.t.Helper()
	nc, err := nats.Connect(n.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.Name("rollcall-chaos-test"),
		// The test's own client sees the restarts as write errors; the
		// publisher counts its failures itself.
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	require.NoError(n.t, err)
	js, err := bus.NewJetStream(nc)
	require.NoError(n.t, err)
	return nc, js
}

// subjectCounts counts the messages of stream per subject matching filter.
func subjectCounts(ctx context.Context, js jetstream.JetStream, stream, filter string) (map[string]uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, err
	}
	return info.State.Subjects, nil
}

// ---------------------------------------------------------------------------
// A service binary as an OS process.

type chaosProc struct {
	t    *testing.T
	name string
	bin  string
	env  []string
	log  *os.File

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	addr   string
	starts int
	kills  int
}

func newChaosProc(t *testing.T, name, bin, logDir string, env ...string) *chaosProc {
	t.Helper()
	f, err := os.Create(filepath.Join(logDir, name+".log"))
	require.NoError(t, err)
	p := &chaosProc{t: t, name: name, bin: bin, env: env, log: f}
	t.Cleanup(func() {
		p.terminate()
		if races := p.logLines("WARNING: DATA RACE"); len(races) > 0 {
			t.Errorf("%s reported %d data races (log %s)", name, len(races), f.Name())
		}
		_ = f.Close()
	})
	return p
}

// start runs the binary and waits until it serves (its "serving" log line),
// trying again while it exits early (NATS or Postgres still away).
func (p *chaosProc) start() string {
	p.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		addr, err := p.startOnce()
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not start: %v (log %s)", p.name, err, p.log.Name())
		}
		p.t.Logf("%s: start failed (%v); trying again", p.name, err)
		time.Sleep(500 * time.Millisecond)
	}
}

func (p *chaosProc) startOnce() (string, error) {
	p.mu.Lock()
	p.starts++
	n := p.starts
	p.mu.Unlock()
	cmd := exec.Command(p.bin)
	cmd.Env = append(append(os.Environ(), "LOG_LEVEL=info"), p.env...)
	cmd.Stdout = p.log
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	fmt.Fprintf(p.log, "=== start %d, pid %d, %s\n", n, cmd.Process.Pid, time.Now().Format(time.RFC3339Nano))
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintf(p.log, "[%d] %s\n", n, line)
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		_ = cmd.Wait()
		fmt.Fprintf(p.log, "=== start %d exited: %v\n", n, cmd.ProcessState)
		close(done)
	}()
	select {
	case a := <-addr:
		p.mu.Lock()
		p.cmd, p.done, p.addr = cmd, done, a
		p.mu.Unlock()
		return a, nil
	case <-done:
		return "", fmt.Errorf("exited: %v", cmd.ProcessState)
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return "", fmt.Errorf("no serving line within 60s")
	}
}

// kill sends SIGKILL (no shutdown, no deferred work) and waits for the exit.
func (p *chaosProc) kill() string {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.kills++
	p.mu.Unlock()
	if cmd == nil {
		return "not running"
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	return fmt.Sprintf("pid %d SIGKILLed", pid)
}

// terminate stops the process with SIGTERM (test end).
func (p *chaosProc) terminate() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// killAndRestart is the kill -9 fault: SIGKILL, stay down for down, start
// again.
func (p *chaosProc) killAndRestart(down time.Duration) string {
	what := p.kill()
	time.Sleep(down)
	addr := p.start()
	return fmt.Sprintf("%s, down %s, serving again on %s", what, down, addr)
}

// logTail returns the last n lines of the process's log matching any of
// the substrings (all lines when none are given).
func (p *chaosProc) logLines(match ...string) []string {
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		return nil
	}
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if len(match) == 0 {
			out = append(out, line)
			continue
		}
		for _, m := range match {
			if strings.Contains(line, m) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// PostgreSQL.

// newChaosDB is a fresh database (platform migrations only: the service
// binary migrates its own) and its name.
func newChaosDB(t *testing.T) (url, name string) {
	t.Helper()
	_, url = testkit.NewDBWithURL(t, nil)
	cfg, err := pgconn.ParseConfig(url)
	require.NoError(t, err)
	return url, cfg.Database
}

// terminateBackends ends every backend connected to each database
// (pg_terminate_backend from a connection to the server's own database).
func terminateBackends(t *testing.T, dbs ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testkit.DatabaseURL())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var parts []string
	for _, db := range dbs {
		var n int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
			FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, db).Scan(&n))
		parts = append(parts, fmt.Sprintf("%d backends of %s", n, db))
	}
	return "terminated " + strings.Join(parts, ", ")
}

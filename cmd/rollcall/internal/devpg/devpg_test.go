package devpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// needBinaries skips the test when no PostgreSQL server is installed, except
// on CI (CI=true), where a missing server is a broken environment.
func needBinaries(t *testing.T) string {
	t.Helper()
	dir, err := FindBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return dir
}

// clusterDir returns a fresh directory for a cluster. t.TempDir() lives
// under os.TempDir(), which the postgres OS user can traverse when tests
// run as root.
func clusterDir(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	// t.TempDir makes /tmp/TestName123/001 with mode 0700; open both up so
	// the postgres OS user can traverse them when the tests run as root
	// (TestStartRelocatesUnreachableDir covers the closed case).
	for _, d := range []string{filepath.Dir(tmp), tmp} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(tmp, "pg")
}

func startCluster(t *testing.T, ctx context.Context, opts Options) *Cluster {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("cleanup Stop: %v", err)
		}
	})
	return c
}

func exec1(t *testing.T, ctx context.Context, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

func TestClusterLifecycle(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := clusterDir(t)

	t0 := time.Now()
	c := startCluster(t, ctx, Options{Dir: dir})
	t.Logf("first start (initdb + start) took %v: %s", time.Since(t0), c)
	if !c.Created() {
		t.Error("Created() = false on a fresh directory")
	}
	if c.Relocated() || c.Dir() != dir {
		t.Errorf("Dir() = %q, Relocated() = %v; want %q, false", c.Dir(), c.Relocated(), dir)
	}
	wantURL := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port())
	if c.URL() != wantURL {
		t.Errorf("URL() = %q, want %q", c.URL(), wantURL)
	}
	if err := Probe(ctx, c.URL()); err != nil {
		t.Fatalf("Probe running cluster: %v", err)
	}

	// A database name that needs quoting.
	const dbName = `Rollcall "dev" db`
	for i := range 2 {
		if err := EnsureDatabase(ctx, c.URL(), dbName); err != nil {
			t.Fatalf("EnsureDatabase #%d: %v", i+1, err)
		}
	}
	dbURL, err := WithDatabase(c.URL(), dbName)
	if err != nil {
		t.Fatal(err)
	}
	exec1(t, ctx, dbURL, `CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (42)`)

	// Concurrent EnsureDatabase on a new name: all must succeed.
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- EnsureDatabase(ctx, c.URL(), "raced") }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent EnsureDatabase: %v", err)
		}
	}

	// Only 127.0.0.1 is bound, and the unix socket is inside the cluster dir.
	if _, err := os.Stat(filepath.Join(dir, "run", fmt.Sprintf(".s.PGSQL.%d", c.Port()))); err != nil {
		t.Errorf("unix socket not in cluster dir: %v", err)
	}

	t0 = time.Now()
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stop took %v", time.Since(t0))
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := Probe(ctx, c.URL()); err == nil {
		t.Fatal("Probe succeeded after Stop")
	}

	// Restart on the same directory: data persisted, no initdb.
	t0 = time.Now()
	c2 := startCluster(t, ctx, Options{Dir: dir})
	t.Logf("restart took %v: %s", time.Since(t0), c2)
	if c2.Created() {
		t.Error("Created() = true on restart")
	}
	dbURL, _ = WithDatabase(c2.URL(), dbName)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	var got int
	if err := conn.QueryRow(ctx, `SELECT id FROM kept`).Scan(&got); err != nil || got != 42 {
		t.Errorf("after restart: got %d, %v; want 42", got, err)
	}
	conn.Close(ctx)
	if err := EnsureDatabase(ctx, c2.URL(), dbName); err != nil {
		t.Errorf("EnsureDatabase on existing db after restart: %v", err)
	}

	if err := c2.Stop(ctx); err != nil {
		t.Fatalf("Stop after restart: %v", err)
	}
	if err := c2.Stop(ctx); err != nil {
		t.Fatalf("double Stop after restart: %v", err)
	}
}

// A run that was killed hard leaves a postmaster.pid behind; the next Start
// must recover, with the data intact.
func TestStartRecoversFromCrash(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := clusterDir(t)

	c := startCluster(t, ctx, Options{Dir: dir})
	exec1(t, ctx, c.URL(), `CREATE TABLE survivor (v text); INSERT INTO survivor VALUES ('ok')`)
	pid, ok := c.postmasterPID()
	if !ok {
		t.Fatal("no postmaster.pid while running")
	}
	// Kill the postmaster and its children without a shutdown.
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid > 1 && pgid != syscall.Getpgrp() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("kill postmaster: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatal("postmaster did not die")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(c.DataDir(), "postmaster.pid")); err != nil {
		t.Fatalf("expected a stale postmaster.pid after the kill: %v", err)
	}
	// Backends notice postmaster death on their own; give them a moment so
	// the old shared memory is released (postgres checks it, too).
	waitNoBackends(t, c.DataDir())

	var logs []string
	c2 := startCluster(t, ctx, Options{Dir: dir, Logf: func(f string, a ...any) {
		logs = append(logs, fmt.Sprintf(f, a...))
		t.Logf(f, a...)
	}})
	if !strings.Contains(strings.Join(logs, "\n"), "stale") {
		t.Errorf("expected a stale postmaster.pid notice, got %q", logs)
	}
	conn, err := pgx.Connect(ctx, c2.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, `SELECT v FROM survivor`).Scan(&v); err != nil || v != "ok" {
		t.Errorf("after crash recovery: %q, %v", v, err)
	}
}

// waitNoBackends waits until no process has dataDir on its command line.
func waitNoBackends(t *testing.T, dataDir string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("pgrep", "-f", dataDir).Output()
		if len(strings.TrimSpace(string(out))) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A server still running from an earlier run (its owner died without Stop)
// is restarted, not duplicated.
func TestStartRestartsLeftoverServer(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := clusterDir(t)

	c := startCluster(t, ctx, Options{Dir: dir})
	oldPID, _ := c.postmasterPID()
	// Simulate the owner dying: no Stop on c.
	c2 := startCluster(t, ctx, Options{Dir: dir})
	newPID, _ := c2.postmasterPID()
	if newPID == oldPID || alive(oldPID) {
		t.Errorf("old postmaster %d still running (new %d)", oldPID, newPID)
	}
	if err := Probe(ctx, c2.URL()); err != nil {
		t.Fatal(err)
	}
	// Note: Stop on the old handle c (run by t.Cleanup) stops whatever server
	// runs on the data directory, i.e. c2's; a directory has one owner.
}

func TestStartFixedPortAndPortInUse(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Occupy a port and ask for it explicitly: a clear ErrNotReady with
	// the log tail, quickly, and nothing left running.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	dir := clusterDir(t)
	c0, err := Start(ctx, Options{Dir: dir, Port: busy, Logf: t.Logf, StartTimeout: time.Minute})
	if err == nil {
		_ = c0.Stop(ctx)
	}
	if !errors.Is(err, ErrNotReady) {
		t.Fatalf("Start on busy port: err = %v, want ErrNotReady", err)
	}
	if !strings.Contains(err.Error(), "could not") {
		t.Errorf("error lacks the server log tail: %v", err)
	}
	t.Logf("busy-port error:\n%v", err)
	l.Close()

	// Same dir, now free: the fixed port is honoured.
	c := startCluster(t, ctx, Options{Dir: dir, Port: busy})
	if c.Port() != busy {
		t.Errorf("Port() = %d, want %d", c.Port(), busy)
	}
	if err := Probe(ctx, c.URL()); err != nil {
		t.Fatal(err)
	}
}

func TestProbeClosedPortFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // now (almost certainly) nothing listens there

	t0 := time.Now()
	err = Probe(context.Background(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err == nil {
		t.Fatal("Probe succeeded on a closed port")
	}
	if d := time.Since(t0); d > 2500*time.Millisecond {
		t.Errorf("Probe took %v on a closed port", d)
	}
}

func TestProbeSilentServerTimesOut(t *testing.T) {
	t.Parallel()
	// Accepts TCP but never speaks: Probe must give up after ~2s.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	t0 := time.Now()
	err = Probe(context.Background(), "postgres://postgres@"+l.Addr().String()+"/postgres?sslmode=disable")
	if err == nil {
		t.Fatal("Probe succeeded against a silent server")
	}
	if d := time.Since(t0); d > 4*time.Second {
		t.Errorf("Probe took %v", d)
	}
}

func TestProbeBadURL(t *testing.T) {
	if err := Probe(context.Background(), "::not a url"); err == nil {
		t.Fatal("Probe accepted a malformed URL")
	}
}

func TestFindBinariesNone(t *testing.T) {
	old := debianBinGlob
	debianBinGlob = filepath.Join(t.TempDir(), "*", "bin")
	t.Cleanup(func() { debianBinGlob = old })
	t.Setenv("PATH", t.TempDir())
	if _, err := FindBinaries(); !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("err = %v, want ErrNoBinaries", err)
	}
}

func TestFindBinariesPicksNewest(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "13", "15", "16"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		names := []string{"initdb", "pg_ctl", "postgres"}
		if v == "16" {
			names = names[:2] // incomplete: client-only install
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	old := debianBinGlob
	debianBinGlob = filepath.Join(root, "*", "bin")
	t.Cleanup(func() { debianBinGlob = old })
	got, err := FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "15", "bin"); got != want {
		t.Errorf("FindBinaries() = %q, want %q", got, want)
	}
	if d, ok := binariesForVersion("9.6"); !ok || d != filepath.Join(root, "9.6", "bin") {
		t.Errorf("binariesForVersion(9.6) = %q, %v", d, ok)
	}
}

func TestStartRejectsForeignDataDir(t *testing.T) {
	needBinaries(t)
	dir := clusterDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "precious.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Start(context.Background(), Options{Dir: dir, Logf: t.Logf})
	if err == nil {
		_ = c.Stop(context.Background())
	}
	if !errors.Is(err, ErrUnusableDir) {
		t.Fatalf("err = %v, want ErrUnusableDir", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "precious.txt")); err != nil {
		t.Fatalf("foreign file touched: %v", err)
	}
}

func TestWithDatabase(t *testing.T) {
	got, err := WithDatabase("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "rollcall")
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://postgres@127.0.0.1:5432/rollcall?sslmode=disable"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEnsureDatabaseErrors(t *testing.T) {
	if err := EnsureDatabase(context.Background(), "postgres://127.0.0.1:1/x", ""); err == nil {
		t.Error("empty name accepted")
	}
	if err := EnsureDatabase(context.Background(), "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=1", "x"); err == nil {
		t.Error("unreachable server: no error")
	}
}

// As root, a directory the postgres user cannot reach (like a project under
// /root) makes Start relocate the cluster under os.TempDir() and say so.
func TestStartRelocatesUnreachableDir(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	if os.Geteuid() != 0 {
		t.Skip("relocation only happens when running as root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	closed := t.TempDir() // mode 0700, owned by root
	dir := filepath.Join(closed, "proj", ".rollcall", "pg")

	var logs []string
	c, err := Start(ctx, Options{Dir: dir, Logf: func(f string, a ...any) {
		logs = append(logs, fmt.Sprintf(f, a...))
		t.Logf(f, a...)
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if c.Relocated() {
			_ = os.RemoveAll(c.Dir())
		}
	})
	if !c.Relocated() {
		t.Fatalf("Relocated() = false, Dir() = %s", c.Dir())
	}
	if !strings.HasPrefix(c.Dir(), os.TempDir()) || !strings.Contains(c.Dir(), "rollcall-pg-") {
		t.Errorf("Dir() = %s, want under %s", c.Dir(), os.TempDir())
	}
	if !strings.Contains(c.String(), "relocated") || !strings.Contains(strings.Join(logs, "\n"), c.Dir()) {
		t.Errorf("relocation not reported: String()=%q logs=%q", c.String(), logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "RELOCATED")); err != nil {
		t.Errorf("no RELOCATED pointer: %v", err)
	}
	if err := Probe(ctx, c.URL()); err != nil {
		t.Fatal(err)
	}
}

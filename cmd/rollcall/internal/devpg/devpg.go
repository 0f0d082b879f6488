// Package devpg gives `rollcall dev` a PostgreSQL server to talk to when none
// is running: it probes a database URL, finds the locally installed PostgreSQL
// server binaries, and runs a private, throwaway cluster (initdb + pg_ctl)
// under a project directory such as ./.rollcall/pg.
//
// It is for local development only. The cluster it creates trusts every
// local connection (any local OS user) as superuser without a password
// (initdb -A trust), listens only on 127.0.0.1, and runs with fsync and
// full_page_writes off, so an operating system crash or power loss can lose
// or corrupt its data (a crash of postgres alone is recovered as usual). Never use it for production, for
// shared environments, or for data you care about; deploy a managed or
// properly configured PostgreSQL there instead.
//
// initdb and postgres refuse to run as root. When the calling process runs as
// root, devpg runs them as the "postgres" OS user, hands the cluster directory
// to that user, and, if that user cannot reach the requested directory (for
// example a project under /root), relocates the cluster to a directory under
// os.TempDir() and reports it through [Cluster.Relocated] and Options.Logf.
package devpg

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors. Errors returned by this package wrap them, so test with
// errors.Is.
var (
	// ErrNoBinaries means no PostgreSQL server installation (initdb, pg_ctl
	// and postgres in one directory) was found.
	ErrNoBinaries = errors.New("devpg: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")

	// ErrNotReady means the server was started but did not accept
	// connections in time, or exited during start-up. The error text
	// includes the tail of the server log.
	ErrNotReady = errors.New("devpg: postgres did not become ready")

	// ErrNoServiceUser means the process runs as root but there is no
	// "postgres" OS user to run initdb and postgres as.
	ErrNoServiceUser = errors.New(`devpg: running as root but there is no "postgres" OS user to run the server as`)

	// ErrUnusableDir means the cluster directory cannot be used: it holds
	// something that is not a PostgreSQL data directory, it was made by an
	// incompatible PostgreSQL major version, or it cannot be made reachable
	// by the server's OS user.
	ErrUnusableDir = errors.New("devpg: unusable cluster directory")
)

// ServiceUser is the OS user the server runs as when the caller is root.
const ServiceUser = "postgres"

// Debian/Ubuntu layout: /usr/lib/postgresql/<major>/bin.
var debianBinGlob = "/usr/lib/postgresql/*/bin"

// FindBinaries returns the directory holding initdb, pg_ctl and postgres: the
// newest /usr/lib/postgresql/<major>/bin that has all three, else the
// directory of pg_ctl found on PATH if initdb and postgres sit next to it.
// It returns an error wrapping ErrNoBinaries when neither exists.
func FindBinaries() (string, error) {
	dirs := debianBinDirs()
	if len(dirs) > 0 {
		return dirs[0].dir, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if dir, err := filepath.Abs(filepath.Dir(p)); err == nil && hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s and PATH; on Debian/Ubuntu install the postgresql package)", ErrNoBinaries, debianBinGlob)
}

type binDir struct {
	dir   string
	major []int
}

// debianBinDirs lists usable /usr/lib/postgresql/*/bin, newest first.
func debianBinDirs() []binDir {
	matches, _ := filepath.Glob(debianBinGlob)
	var out []binDir
	for _, dir := range matches {
		v, ok := parseVersion(filepath.Base(filepath.Dir(dir)))
		if !ok || !hasServerBinaries(dir) {
			continue
		}
		out = append(out, binDir{dir: dir, major: v})
	}
	sort.Slice(out, func(i, j int) bool { return versionLess(out[j].major, out[i].major) })
	return out
}

// binariesForVersion returns the Debian bin dir for a PG_VERSION string such
// as "15" or "9.6".
func binariesForVersion(version string) (string, bool) {
	want, ok := parseVersion(version)
	if !ok {
		return "", false
	}
	for _, d := range debianBinDirs() {
		if !versionLess(d.major, want) && !versionLess(want, d.major) {
			return d.dir, true
		}
	}
	return "", false
}

func parseVersion(s string) ([]int, bool) {
	var out []int
	for _, part := range strings.Split(strings.TrimSpace(s), ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

func versionLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// binaryVersion runs "<dir>/postgres --version" and returns the major
// version string as used in PG_VERSION ("15", "9.6").
func binaryVersion(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("devpg: %s --version: %w", filepath.Join(dir, "postgres"), err)
	}
	m := regexp.MustCompile(`(\d+)(?:\.(\d+))?`).FindStringSubmatch(string(out))
	if m == nil {
		return "", fmt.Errorf("devpg: cannot parse postgres version from %q", strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(m[1])
	if major < 10 && m[2] != "" {
		return m[1] + "." + m[2], nil
	}
	return m[1], nil
}

// Probe connects to the server at url and pings it. It gives up after two
// seconds (or earlier if ctx ends), so it is cheap to call to decide whether
// a server is there at all.
func Probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("devpg: probe: parse database URL: %w", err)
	}
	cfg.ConnectTimeout = 2 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("devpg: probe %s: %w", redact(url), err)
	}
	defer closeQuietly(conn)
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("devpg: probe %s: ping: %w", redact(url), err)
	}
	return nil
}

// EnsureDatabase creates the database name on the server at url unless it
// already exists. A concurrent creation of the same database (SQLSTATE 42P04,
// duplicate_database) counts as success.
func EnsureDatabase(ctx context.Context, url, name string) error {
	if name == "" {
		return errors.New("devpg: ensure database: empty database name")
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("devpg: ensure database %q: parse database URL: %w", name, err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("devpg: ensure database %q: connect to %s: %w", name, redact(url), err)
	}
	defer closeQuietly(conn)

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("devpg: ensure database %q: look up: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		// Lost a race with a concurrent CREATE DATABASE: PostgreSQL reports
		// duplicate_database (42P04), or unique_violation (23505) on
		// pg_database_datname_index when both passed the name check.
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
			return nil
		}
		return fmt.Errorf("devpg: ensure database %q: create: %w", name, err)
	}
	return nil
}

// closeQuietly closes conn without letting a dead peer stall the caller.
func closeQuietly(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// WithDatabase returns url with its database (path) replaced by name.
func WithDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("devpg: parse database URL: %w", err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// redact hides a password in a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Options configure Start.
type Options struct {
	// Dir is the cluster root, e.g. ./.rollcall/pg. It holds the data
	// directory (data/), the unix socket directory (run/) and the server
	// log (postgres.log). Required.
	Dir string

	// Port is the TCP port on 127.0.0.1. Zero reuses the port of the
	// previous run in Dir if it is free, else picks a free one.
	Port int

	// Logf, if set, receives progress messages ("initialising a new
	// cluster in ...", relocation notices, recovery of stale files).
	Logf func(format string, args ...any)

	// BinDir overrides FindBinaries.
	BinDir string

	// StartTimeout bounds initdb plus server start-up. Default 60s.
	StartTimeout time.Duration
}

// Cluster is a running throwaway PostgreSQL server started by Start.
type Cluster struct {
	binDir    string
	root      string
	requested string
	dataDir   string
	sockDir   string
	logFile   string
	port      int
	created   bool
	cred      *syscall.Credential // nil: run as the current user
	logf      func(string, ...any)

	mu      sync.Mutex
	stopped bool
}

// URL is the connection URL of the cluster's "postgres" database as the
// "postgres" superuser (no password).
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Port is the TCP port the server listens on (127.0.0.1 only).
func (c *Cluster) Port() int { return c.port }

// Dir is the cluster root actually used. It differs from Options.Dir when
// the cluster was relocated (see Relocated).
func (c *Cluster) Dir() string { return c.root }

// Relocated reports whether the cluster lives under os.TempDir() instead of
// Options.Dir because the server's OS user could not reach Options.Dir.
func (c *Cluster) Relocated() bool { return c.root != c.requested }

// DataDir is the PostgreSQL data directory (PGDATA).
func (c *Cluster) DataDir() string { return c.dataDir }

// LogFile is the server's log file.
func (c *Cluster) LogFile() string { return c.logFile }

// Created reports whether this Start ran initdb (a brand-new, empty cluster).
func (c *Cluster) Created() bool { return c.created }

// String describes the cluster in one line, for "using a private cluster"
// messages.
func (c *Cluster) String() string {
	s := fmt.Sprintf("private PostgreSQL cluster at %s (port %d, log %s)", c.root, c.port, c.logFile)
	if c.Relocated() {
		s += fmt.Sprintf("; relocated from %s because user %q cannot reach it", c.requested, ServiceUser)
	}
	return s
}

// Start runs a private PostgreSQL cluster rooted at opts.Dir, creating it
// with initdb first if its data directory is empty, and returns once the
// server accepts connections. A postmaster.pid left by a crashed run is
// cleared; a server still running on the same data directory from a previous
// run is stopped and restarted. Call Stop when done: the server is a separate
// process and outlives the caller otherwise.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("devpg: start: Options.Dir is empty")
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("devpg: start: invalid port %d", opts.Port)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	requested, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("devpg: start: %w", err)
	}
	c := &Cluster{requested: requested, logf: logf}

	if os.Geteuid() == 0 {
		u, err := user.Lookup(ServiceUser)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoServiceUser, err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: bad uid/gid %q/%q", ErrNoServiceUser, u.Uid, u.Gid)
		}
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: false, Groups: []uint32{}}
	}

	root, err := c.prepareRoot(ctx, requested)
	if err != nil {
		return nil, err
	}
	c.setRoot(root)
	if c.Relocated() {
		logf("devpg: user %q cannot reach %s; using %s instead", ServiceUser, requested, root)
	}

	// Pick the binaries: an existing data directory pins the major version.
	c.binDir = opts.BinDir
	pgVersion, hasData, err := c.inspectDataDir()
	if err != nil {
		return nil, err
	}
	if c.binDir == "" {
		if hasData {
			if dir, ok := binariesForVersion(pgVersion); ok {
				c.binDir = dir
			}
		}
		if c.binDir == "" {
			if c.binDir, err = FindBinaries(); err != nil {
				return nil, err
			}
		}
	} else if !hasServerBinaries(c.binDir) {
		return nil, fmt.Errorf("%w in %s", ErrNoBinaries, c.binDir)
	}
	if hasData {
		binVersion, err := binaryVersion(ctx, c.binDir)
		if err != nil {
			return nil, err
		}
		if binVersion != pgVersion {
			return nil, fmt.Errorf("%w: %s was created by PostgreSQL %s but the binaries in %s are PostgreSQL %s; delete %s to start over",
				ErrUnusableDir, c.dataDir, pgVersion, c.binDir, binVersion, c.root)
		}
	}

	if !hasData {
		logf("devpg: initialising a new PostgreSQL cluster in %s", c.dataDir)
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
		c.created = true
	} else if err := c.recoverStale(ctx); err != nil {
		return nil, err
	}

	if err := c.start(ctx, opts.Port); err != nil {
		return nil, err
	}
	writeFileBestEffort(filepath.Join(c.root, "port"), strconv.Itoa(c.port)+"\n")
	return c, nil
}

func (c *Cluster) setRoot(root string) {
	c.root = root
	c.dataDir = filepath.Join(root, "data")
	c.sockDir = filepath.Join(root, "run")
	c.logFile = filepath.Join(root, "postgres.log")
}

// prepareRoot creates the cluster root and, when running as root, hands it
// to the service user, falling back to a directory under os.TempDir() when
// that user cannot reach it. It returns the root to use.
func (c *Cluster) prepareRoot(ctx context.Context, requested string) (string, error) {
	if strings.ContainsAny(requested, "\"$`\\\n") {
		// pg_ctl passes -D and -l through /bin/sh inside double quotes.
		return "", fmt.Errorf("%w: path %q contains a character pg_ctl cannot quote", ErrUnusableDir, requested)
	}
	if err := os.MkdirAll(requested, 0o755); err != nil {
		return "", fmt.Errorf("devpg: create cluster directory: %w", err)
	}
	if c.cred == nil {
		return requested, nil
	}
	if err := c.chownTree(requested); err != nil {
		return "", err
	}
	if c.canReach(ctx, requested) {
		return requested, nil
	}

	// The service user cannot traverse some parent (typically /root).
	sum := sha256.Sum256([]byte(strconv.Itoa(os.Geteuid()) + "\x00" + requested))
	alt := filepath.Join(os.TempDir(), "rollcall-pg-"+hex.EncodeToString(sum[:6]))
	if strings.ContainsAny(alt, "\"$`\\\n") {
		return "", fmt.Errorf("%w: path %q contains a character pg_ctl cannot quote", ErrUnusableDir, alt)
	}
	if err := os.Mkdir(alt, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("devpg: create fallback cluster directory: %w", err)
	}
	// In a shared temp dir make sure nobody else planted it.
	fi, err := os.Lstat(alt)
	if err != nil {
		return "", fmt.Errorf("devpg: fallback cluster directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || (st.Uid != 0 && st.Uid != c.cred.Uid) {
		return "", fmt.Errorf("%w: %s exists but is not a directory owned by root or %q", ErrUnusableDir, alt, ServiceUser)
	}
	if err := os.Chmod(alt, 0o700); err != nil {
		return "", fmt.Errorf("devpg: fallback cluster directory: %w", err)
	}
	if err := c.chownTree(alt); err != nil {
		return "", err
	}
	if !c.canReach(ctx, alt) {
		return "", fmt.Errorf("%w: user %q can reach neither %s nor %s", ErrUnusableDir, ServiceUser, requested, alt)
	}
	// Leave a pointer behind for humans looking at the project directory.
	writeFileBestEffort(filepath.Join(requested, "RELOCATED"),
		fmt.Sprintf("This development cluster lives in %s because user %q cannot reach this directory.\n", alt, ServiceUser))
	return alt, nil
}

// canReach reports whether the service user can write to dir (which implies
// it can traverse every parent).
func (c *Cluster) canReach(ctx context.Context, dir string) bool {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `test -d "$1" && test -w "$1" && test -x "$1"`, "sh", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Dir = "/"
	return cmd.Run() == nil
}

// chownTree gives dir and everything below it to the service user.
func (c *Cluster) chownTree(dir string) error {
	uid, gid := int(c.cred.Uid), int(c.cred.Gid)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
				return nil
			}
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("devpg: hand %s to user %q: %w", dir, ServiceUser, err)
	}
	return nil
}

// inspectDataDir reports the PG_VERSION of an existing data directory.
func (c *Cluster) inspectDataDir() (version string, exists bool, err error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "PG_VERSION"))
	if err == nil {
		return strings.TrimSpace(string(b)), true, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("devpg: read %s: %w", filepath.Join(c.dataDir, "PG_VERSION"), err)
	}
	entries, err := os.ReadDir(c.dataDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("devpg: read %s: %w", c.dataDir, err)
	}
	if len(entries) > 0 {
		return "", false, fmt.Errorf("%w: %s is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away or delete it",
			ErrUnusableDir, c.dataDir)
	}
	return "", false, nil
}

// command builds a command that runs as the service user when needed, in
// its own process group (so a terminal's Ctrl-C reaches only the caller,
// which then stops the server in order; the postmaster additionally calls
// setsid itself), with a C locale and no PG* environment leaking in.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "LANGUAGE" || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "LC_ALL=C", "LANG=C", "HOME="+c.root)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := c.command(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return fmt.Errorf("devpg: %s %s: %w\n%s", name, strings.Join(args, " "), err, indent(tail(out.Bytes(), 20)))
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	// Start from an empty data dir owned by the right user, mode 0700.
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("devpg: create data directory: %w", err)
	}
	if err := os.Chmod(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("devpg: data directory: %w", err)
	}
	if c.cred != nil {
		if err := c.chownTree(c.root); err != nil {
			return err
		}
	}
	err := c.run(ctx, "initdb",
		"-D", c.dataDir,
		"-A", "trust",
		"-U", "postgres",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
	)
	if err != nil {
		// Leave an empty data dir so the next Start tries again.
		c.clearDataDir()
		return err
	}
	conf := filepath.Join(c.dataDir, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	_, err = io.WriteString(f, "\n# Added by rollcall devpg: per-start settings (port, sockets) live here.\ninclude_if_exists = 'rollcall.conf'\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("devpg: append to %s: %w", conf, err)
	}
	return nil
}

func (c *Cluster) clearDataDir() {
	entries, _ := os.ReadDir(c.dataDir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(c.dataDir, e.Name()))
	}
}

// postmasterPID reads the PID from postmaster.pid; ok is false if the file
// is absent or unreadable.
func (c *Cluster) postmasterPID() (pid int, ok bool) {
	f, err := os.Open(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(sc.Text()))
	if err != nil {
		return 0, false
	}
	if pid < 0 { // single-user backend writes -pid
		pid = -pid
	}
	return pid, pid > 0
}

// alive reports whether pid is a live (non-zombie) postgres process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if runtime.GOOS != "linux" {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	// Format: pid (comm) state ...; comm may contain spaces or parens.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	j := strings.IndexByte(s, '(')
	if i < 0 || j < 0 || i+2 >= len(s) {
		return true
	}
	comm, state := s[j+1:i], s[i+2]
	if state == 'Z' || state == 'X' {
		return false
	}
	return strings.HasPrefix(comm, "postgres") || strings.HasPrefix(comm, "postmaster")
}

// recoverStale deals with what a previous run left behind: a live server on
// this data directory is stopped; a postmaster.pid without a live process,
// and stale socket lock files, are removed.
func (c *Cluster) recoverStale(ctx context.Context) error {
	pid, ok := c.postmasterPID()
	if !ok {
		return nil
	}
	if alive(pid) {
		c.logf("devpg: a server from a previous run (pid %d) is still running on %s; restarting it", pid, c.dataDir)
		if err := c.run(ctx, "pg_ctl", "stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", "30"); err != nil && alive(pid) {
			return fmt.Errorf("devpg: stop leftover server (pid %d): %w", pid, err)
		}
		return nil
	}
	c.logf("devpg: removing stale %s (pid %d is gone)", filepath.Join(c.dataDir, "postmaster.pid"), pid)
	if err := os.Remove(filepath.Join(c.dataDir, "postmaster.pid")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devpg: remove stale postmaster.pid: %w", err)
	}
	if entries, err := os.ReadDir(c.sockDir); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".s.PGSQL.") {
				_ = os.Remove(filepath.Join(c.sockDir, e.Name()))
			}
		}
	}
	return nil
}

// maxSocketPath is the room in sockaddr_un.sun_path (108 bytes incl. NUL).
const maxSocketPath = 107

func (c *Cluster) writeConf(port int) error {
	sockDirs := c.sockDir
	if len(c.sockDir)+len("/.s.PGSQL.65535.lock") > maxSocketPath {
		c.logf("devpg: %s is too long for a unix socket path; the server listens on TCP only", c.sockDir)
		sockDirs = ""
	} else {
		if err := os.MkdirAll(c.sockDir, 0o700); err != nil {
			return fmt.Errorf("devpg: create socket directory: %w", err)
		}
		if c.cred != nil {
			if err := os.Lchown(c.sockDir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return fmt.Errorf("devpg: socket directory: %w", err)
			}
		}
	}
	conf := fmt.Sprintf(`# Written by rollcall devpg on every start; edits are overwritten.
# Throwaway development settings: never use them for data you care about.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = %s
fsync = off
full_page_writes = off
`, port, confQuote(sockDirs))
	path := filepath.Join(c.dataDir, "rollcall.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("devpg: write %s: %w", path, err)
	}
	if c.cred != nil {
		if err := os.Lchown(path, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("devpg: %w", err)
		}
	}
	return nil
}

// confQuote quotes a postgresql.conf string value.
func confQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// start launches the server and waits until it accepts connections. With
// port 0 it retries a couple of times if the chosen port was taken between
// choosing it and binding it.
func (c *Cluster) start(ctx context.Context, port int) error {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		p := port
		if p == 0 {
			var err error
			if p, err = c.choosePort(attempt == 1); err != nil {
				return err
			}
		}
		rotateLog(c.logFile)
		logStart := fileSize(c.logFile)
		err := c.startOnce(ctx, p)
		if err == nil {
			c.port = p
			return nil
		}
		newLog := readFrom(c.logFile, logStart)
		if port == 0 && attempt < attempts && ctx.Err() == nil && bytes.Contains(newLog, []byte("could not bind")) {
			c.logf("devpg: port %d was taken, trying another", p)
			continue
		}
		return err
	}
}

func (c *Cluster) startOnce(ctx context.Context, port int) error {
	if err := c.writeConf(port); err != nil {
		return err
	}
	if c.cred != nil {
		// pg_ctl's shell opens the log as the service user.
		if f, err := os.OpenFile(c.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			f.Close()
		}
		_ = os.Lchown(c.logFile, int(c.cred.Uid), int(c.cred.Gid))
	}
	logStart := fileSize(c.logFile)
	waitSecs := 60
	if dl, ok := ctx.Deadline(); ok {
		waitSecs = max(1, int(time.Until(dl).Seconds()))
	}
	err := c.run(ctx, "pg_ctl", "start", "-D", c.dataDir, "-l", c.logFile, "-w", "-t", strconv.Itoa(waitSecs))
	if err == nil {
		err = c.waitReady(ctx, port)
	}
	if err != nil {
		// Do not leave a half-started server behind.
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if pid, ok := c.postmasterPID(); ok && alive(pid) {
			_ = c.run(stopCtx, "pg_ctl", "stop", "-D", c.dataDir, "-m", "immediate", "-w", "-t", "10")
		}
		return fmt.Errorf("%w on 127.0.0.1:%d (data %s): %w\nlast lines of %s:\n%s",
			ErrNotReady, port, c.dataDir, err, c.logFile, indent(tail(readFrom(c.logFile, logStart), 20)))
	}
	return nil
}

// waitReady pings the server over TCP until it answers or ctx ends.
func (c *Cluster) waitReady(ctx context.Context, port int) error {
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	for {
		err := Probe(ctx, url)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last error: %w", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// choosePort returns the previous run's port if preferPrevious and it is
// free, else a free port chosen by the kernel.
func (c *Cluster) choosePort(preferPrevious bool) (int, error) {
	if preferPrevious {
		if b, err := os.ReadFile(filepath.Join(c.root, "port")); err == nil {
			if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 && p < 65536 && portFree(p) {
				return p, nil
			}
		}
	}
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("devpg: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(p int) bool {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Stop shuts the server down (pg_ctl stop -m fast) and waits for it to exit.
// It is safe to call more than once, and succeeds if the server is already
// gone.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	pid, ok := c.postmasterPID()
	if !ok || !alive(pid) {
		c.stopped = true
		return nil
	}
	if err := c.run(ctx, "pg_ctl", "stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", "60"); err != nil {
		if pid, ok := c.postmasterPID(); ok && alive(pid) {
			return fmt.Errorf("devpg: stop cluster %s: %w", c.root, err)
		}
	}
	c.stopped = true
	return nil
}

const maxLogSize = 8 << 20

// rotateLog keeps the server log from growing without bound across runs.
func rotateLog(path string) {
	if fileSize(path) > maxLogSize {
		_ = os.Rename(path, path+".1")
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func readFrom(path string, off int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return b
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	if strings.TrimSpace(s) == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func writeFileBestEffort(path, content string) {
	_ = os.WriteFile(path, []byte(content), 0o644)
}

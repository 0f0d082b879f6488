package testkit

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"rollcall.dev/pkg/pgdb"
)

// DefaultDatabaseURL is the local development server.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DatabaseURL is the server tests create their databases on: DATABASE_URL, or
// DefaultDatabaseURL.
func DatabaseURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// InCI reports whether the run is CI (CI=true), where missing
// infrastructure fails instead of skipping.
func InCI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

var (
	pgOnce sync.Once
	pgErr  error
)

// RequirePostgres skips the test (or fails it in CI) when the server at
// DatabaseURL does not answer.
func RequirePostgres(t testing.TB) {
	t.Helper()
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pool, err := pgxpool.New(ctx, DatabaseURL())
		if err == nil {
			err = pool.Ping(ctx)
			pool.Close()
		}
		pgErr = err
	})
	if pgErr != nil {
		if InCI() {
			t.Fatalf("testkit: PostgreSQL at %s is required in CI: %v", pgdb.RedactURL(DatabaseURL()), pgErr)
		}
		t.Skipf("testkit: PostgreSQL at %s not reachable (%v); set DATABASE_URL", pgdb.RedactURL(DatabaseURL()), pgErr)
	}
}

// NewDB returns a pool on a brand-new database holding the platform
// migrations plus svc's (nil for the platform ones only). The database is
// dropped when the test passes and kept for inspection when it fails.
func NewDB(t testing.TB, svc fs.FS) *pgxpool.Pool {
	t.Helper()
	pool, _ := NewDBWithURL(t, svc)
	return pool
}

// NewDBWithURL is NewDB that also returns the database's URL (for code under
// test that opens its own connections, such as a service binary).
func NewDBWithURL(t testing.TB, svc fs.FS) (*pgxpool.Pool, string) {
	t.Helper()
	RequirePostgres(t)
	migrations, err := pgdb.Migrations(svc)
	if err != nil {
		t.Fatalf("testkit: migrations: %v", err)
	}
	base, err := pgconn.ParseConfig(DatabaseURL())
	if err != nil {
		t.Fatalf("testkit: DATABASE_URL: %v", err)
	}
	conf := pgtestdb.Config{
		DriverName:                "pgx",
		Host:                      base.Host,
		Port:                      strconv.Itoa(int(base.Port)),
		User:                      base.User,
		Password:                  base.Password,
		Database:                  base.Database,
		Options:                   "sslmode=disable",
		ForceTerminateConnections: true,
	}
	inst := pgtestdb.Custom(t, conf, migrator{fsys: migrations})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := inst.URL()
	pool, err := pgdb.NewPool(ctx, pgdb.PoolConfig{URL: url, MaxConns: 16})
	if err != nil {
		t.Fatalf("testkit: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool, url
}

type migrator struct{ fsys fs.FS }

func (m migrator) Hash() (string, error) { return pgdb.MigrationsHash(m.fsys) }

func (m migrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	return pgdb.MigrateDB(ctx, db, m.fsys, nil)
}

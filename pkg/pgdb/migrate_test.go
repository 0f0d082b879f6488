package pgdb_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/pkg/testkit"
)

func TestMigrations(t *testing.T) {
	t.Parallel()

	t.Run("PlatformFirstThenService", func(t *testing.T) {
		t.Parallel()
		fsys, err := pgdb.Migrations(fstest.MapFS{"01000_things.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}})
		require.NoError(t, err)
		names, err := fs.Glob(fsys, "*.sql")
		require.NoError(t, err)
		require.Equal(t, []string{"00001_outbox.sql", "00002_inbox.sql", "01000_things.sql"}, names)
		entries, err := fs.ReadDir(fsys, ".")
		require.NoError(t, err)
		require.Len(t, entries, 3)
		b, err := fs.ReadFile(fsys, "01000_things.sql")
		require.NoError(t, err)
		require.Contains(t, string(b), "SELECT 1")
	})

	t.Run("RejectsServiceVersionsBelowTheFloor", func(t *testing.T) {
		t.Parallel()
		_, err := pgdb.Migrations(fstest.MapFS{"00003_sneaky.sql": {Data: []byte("-- +goose Up\n")}})
		require.ErrorContains(t, err, "outside")
	})

	t.Run("RejectsUnnumberedFiles", func(t *testing.T) {
		t.Parallel()
		_, err := pgdb.Migrations(fstest.MapFS{"things.sql": {Data: []byte("-- +goose Up\n")}})
		require.Error(t, err)
	})

	t.Run("HashChangesWithContent", func(t *testing.T) {
		t.Parallel()
		a, err := pgdb.MigrationsHash(fstest.MapFS{"01000_a.sql": {Data: []byte("x")}})
		require.NoError(t, err)
		b, err := pgdb.MigrationsHash(fstest.MapFS{"01000_a.sql": {Data: []byte("y")}})
		require.NoError(t, err)
		require.NotEqual(t, a, b)
	})

	t.Run("MigrateIsIdempotent", func(t *testing.T) {
		t.Parallel()
		pool := testkit.NewDB(t, nil) // already migrated once
		fsys, err := pgdb.Migrations(nil)
		require.NoError(t, err)
		require.NoError(t, pgdb.Migrate(context.Background(), pool, fsys, nil))
	})
}

func TestInTx(t *testing.T) {
	t.Parallel()
	pool := testkit.NewDB(t, nil)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `CREATE TABLE t (v int)`)
	require.NoError(t, err)
	count := func() int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n))
		return n
	}

	require.NoError(t, pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES (1)`)
		return err
	}))
	require.Equal(t, 1, count())

	boom := errors.New("boom")
	err = pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES (2)`)
		require.NoError(t, err)
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, 1, count(), "rolled back on error")

	require.Panics(t, func() {
		_ = pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
			_, _ = tx.Exec(ctx, `INSERT INTO t VALUES (3)`)
			panic("bug")
		})
	})
	require.Equal(t, 1, count(), "rolled back on panic")

	_, err = pool.Exec(ctx, `CREATE UNIQUE INDEX t_v ON t (v)`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO t VALUES (1)`)
	require.True(t, pgdb.IsUniqueViolation(err, "t_v"))
	require.False(t, pgdb.IsUniqueViolation(err, "other"))
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	got := pgdb.RedactURL("postgres://app:s3cret@db.internal:5433/rollcall?sslmode=require")
	require.NotContains(t, got, "s3cret")
	require.Contains(t, got, "db.internal:5433/rollcall")
}

// A pooled connection whose backend the server ended (a restart, an
// operator's pg_terminate_backend) fails on its next use; InTx begins again
// on another connection instead of failing the caller's request.
func TestInTxSurvivesATerminatedConnection(t *testing.T) {
	t.Parallel()
	_, url := testkit.NewDBWithURL(t, nil)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MinConns, cfg.MaxConns = 1, 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	var pid int
	require.NoError(t, pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	admin, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close(ctx) })
	var ended bool
	require.NoError(t, admin.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ended))
	require.True(t, ended)

	var now int
	require.NoError(t, pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&now)
	}))
	require.NotEqual(t, pid, now, "a new connection")
}

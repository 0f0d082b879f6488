package pgdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"
)

// ErrNotFound is returned by stores when a row does not exist. Stores map
// pgx.ErrNoRows to it at their boundary so callers never import pgx.
var ErrNotFound = errors.New("not found")

// PoolConfig describes a pool. URL is a libpq-style connection string.
type PoolConfig struct {
	URL string
	// MaxConns overrides pgxpool's default (4 on a 2-core machine) when > 0.
	MaxConns int32
	// Name labels the pool in traces (db.name is taken from the URL).
	Name string
}

// NewPool opens a pgx pool with OpenTelemetry tracing and pings it.
//
// The tracer is set on the connection config before the pool exists (setting
// it afterwards does nothing), and it only records SQL that runs inside an
// existing trace: background pollers such as the outbox relay would otherwise
// create a flood of one-span root traces.
func NewPool(ctx context.Context, cfg PoolConfig) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("pgdb: parse database url: %w", err)
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pcfg.ConnConfig.Tracer = childOnlyTracer{otelpgx.NewTracer(otelpgx.WithDisableConnectionDetailsInAttributes())}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgdb: create pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgdb: ping %s: %w", RedactURL(cfg.URL), err)
	}
	return pool, nil
}

// childOnlyTracer forwards to otelpgx only when the query runs inside a trace.
type childOnlyTracer struct{ t *otelpgx.Tracer }

func traced(ctx context.Context) bool { return trace.SpanContextFromContext(ctx).IsValid() }

func (c childOnlyTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !traced(ctx) {
		return ctx
	}
	return c.t.TraceQueryStart(ctx, conn, data)
}

func (c childOnlyTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if traced(ctx) {
		c.t.TraceQueryEnd(ctx, conn, data)
	}
}

func (c childOnlyTracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if !traced(ctx) {
		return ctx
	}
	return c.t.TraceBatchStart(ctx, conn, data)
}

func (c childOnlyTracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	if traced(ctx) {
		c.t.TraceBatchQuery(ctx, conn, data)
	}
}

func (c childOnlyTracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	if traced(ctx) {
		c.t.TraceBatchEnd(ctx, conn, data)
	}
}

// Querier is what both a pool and a transaction offer; store methods take it
// so they run the same inside or outside InTx.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var (
	_ Querier = (*pgxpool.Pool)(nil)
	_ Querier = (pgx.Tx)(nil)
)

// Beginner starts transactions; *pgxpool.Pool is one.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// InTx runs fn in a read-committed transaction and commits when fn returns
// nil. It rolls back on error or panic (re-panicking after the rollback).
func InTx(ctx context.Context, db Beginner, fn func(tx pgx.Tx) error) error {
	return InTxWith(ctx, db, pgx.TxOptions{}, fn)
}

// InTxWith is InTx with explicit transaction options.
//
// A pooled connection whose backend the server ended (a restart, an
// operator's pg_terminate_backend) fails on its next use, at BEGIN. BEGIN
// has no effect, so it is tried again, up to beginAttempts times (the pool
// drops each dead connection it meets), before the caller sees an error.
func InTxWith(ctx context.Context, db Beginner, opts pgx.TxOptions, fn func(tx pgx.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, opts)
	for i := 1; err != nil && i < beginAttempts && ctx.Err() == nil; i++ {
		tx, err = db.BeginTx(ctx, opts)
	}
	if err != nil {
		return fmt.Errorf("pgdb: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgdb: commit: %w", err)
	}
	return nil
}

// beginAttempts bounds how often InTx begins a transaction (see InTxWith).
const beginAttempts = 3

// IsUniqueViolation reports whether err is a unique_violation (23505),
// optionally on the named constraint.
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}

// RedactURL drops the password (and options) from a connection string, for
// error messages and logs.
func RedactURL(raw string) string {
	cfg, err := pgconn.ParseConfig(raw)
	if err != nil {
		return "<unparseable database url>"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rollcall.dev/pkg/outbox"
)

// errNotPipelined is a statement outbox.Append ran that the pipeline cannot
// defer (Append changed: see queuedTx).
var errNotPipelined = errors.New("sync store: outbox.Append ran a statement the pipelined append cannot defer")

// appendQueued appends rec to the outbox through b: outbox.Append builds
// the event and its row as always, but its one statement is queued in b
// instead of run, so a group of outcomes and their events go to Postgres
// in one round trip rather than one per event (the relay's per-event
// round trips were the propagator's bottleneck). Append's answer (the
// outbox id and aggregate sequence) is filled in only when b runs; the
// store does not use it.
//
// This leans on Append running exactly one QueryRow whose scanned values it
// only returns. If it ever does anything else with the transaction, the
// append fails with errNotPipelined (and so does every Settle test) rather
// than running a statement out of order. An outbox.AppendBatch in pkg/outbox would
// replace this.
func appendQueued(ctx context.Context, b *pgx.Batch, source string, rec outbox.Record) error {
	q := &queuedTx{b: b}
	if _, err := outbox.Append(ctx, q, source, rec); err != nil {
		return err
	}
	if q.queued != 1 {
		return fmt.Errorf("%w (%d statements queued, want 1)", errNotPipelined, q.queued)
	}
	return nil
}

// queuedTx is the pgx.Tx outbox.Append sees in appendQueued: QueryRow
// queues, everything else refuses.
type queuedTx struct {
	b      *pgx.Batch
	queued int
}

var _ pgx.Tx = (*queuedTx)(nil)

func (q *queuedTx) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	q.queued++
	return queuedRow{q.b.Queue(sql, args...)}
}

func (q *queuedTx) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	q.queued = -1
	return pgconn.CommandTag{}, errNotPipelined
}

func (q *queuedTx) Query(context.Context, string, ...any) (pgx.Rows, error) {
	q.queued = -1
	return nil, errNotPipelined
}

func (q *queuedTx) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	q.queued = -1
	return pgx.FailedBatchResults(b, errNotPipelined)
}

func (q *queuedTx) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	q.queued = -1
	return 0, errNotPipelined
}

func (q *queuedTx) Prepare(context.Context, string, string) (*pgconn.StatementDescription, error) {
	q.queued = -1
	return nil, errNotPipelined
}

func (q *queuedTx) Begin(context.Context) (pgx.Tx, error) {
	q.queued = -1
	return nil, errNotPipelined
}

// Commit and Rollback belong to the batch's own transaction.
func (q *queuedTx) Commit(context.Context) error   { q.queued = -1; return errNotPipelined }
func (q *queuedTx) Rollback(context.Context) error { q.queued = -1; return errNotPipelined }
func (q *queuedTx) LargeObjects() pgx.LargeObjects { q.queued = -1; return pgx.LargeObjects{} }
func (q *queuedTx) Conn() *pgx.Conn                { q.queued = -1; return nil }

// queuedRow scans when the batch runs.
type queuedRow struct{ qq *pgx.QueuedQuery }

func (r queuedRow) Scan(dest ...any) error {
	r.qq.QueryRow(func(row pgx.Row) error {
		if err := row.Scan(dest...); err != nil {
			return fmt.Errorf("outbox append: %w", err)
		}
		return nil
	})
	return nil
}

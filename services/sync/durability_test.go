package syncsvc_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/bus"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/erpsim"
	"rollcall.dev/services/sync/internal/synctest"
)

// watchedDB is the store's pool as these tests see it: it notes every
// statement, reads synchronous_commit inside every transaction the moment
// before it commits (explicit ones at Commit, a pipelined batch's implicit
// one by a last query in the same batch), and can hold explicit commits.
type watchedDB struct {
	*pgxpool.Pool
	mu      sync.Mutex
	sql     []string
	commits []commitSeen
	hold    chan struct{} // non-nil: explicit commits wait until it is closed
	held    chan struct{} // told when a commit is held
}

type commitSeen struct {
	setting    string
	statements []string
}

func (w *watchedDB) note(sql ...string) {
	w.mu.Lock()
	w.sql = append(w.sql, sql...)
	w.mu.Unlock()
}

func (w *watchedDB) committed(setting string, statements []string) {
	w.mu.Lock()
	w.commits = append(w.commits, commitSeen{setting, statements})
	w.mu.Unlock()
}

func (w *watchedDB) snapshot() ([]string, []commitSeen) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.sql...), append([]commitSeen(nil), w.commits...)
}

func (w *watchedDB) BeginTx(ctx context.Context, o pgx.TxOptions) (pgx.Tx, error) {
	tx, err := w.Pool.BeginTx(ctx, o)
	if err != nil {
		return nil, err
	}
	return &watchedTx{Tx: tx, w: w}, nil
}

func (w *watchedDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	w.note(sql)
	return w.Pool.Exec(ctx, sql, args...)
}

func (w *watchedDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	w.note(sql)
	return w.Pool.Query(ctx, sql, args...)
}

func (w *watchedDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	w.note(sql)
	return w.Pool.QueryRow(ctx, sql, args...)
}

func batchSQL(b *pgx.Batch) []string {
	out := make([]string, len(b.QueuedQueries))
	for i, q := range b.QueuedQueries {
		out[i] = q.SQL
	}
	return out
}

func (w *watchedDB) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	stmts := batchSQL(b)
	w.note(stmts...)
	if len(stmts) > 0 && strings.HasPrefix(strings.ToLower(stmts[0]), "begin") {
		br := w.Pool.SendBatch(ctx, b)
		return watchedBatch{BatchResults: br, tx: &watchedTx{Tx: br.Tx(), w: w, sql: stmts}}
	}
	// An implicit transaction: its last statement sees what the others set.
	b.Queue(`SELECT current_setting('synchronous_commit')`).QueryRow(func(row pgx.Row) error {
		var setting string
		if err := row.Scan(&setting); err != nil {
			return err
		}
		w.committed(setting, stmts)
		return nil
	})
	return w.Pool.SendBatch(ctx, b)
}

type watchedBatch struct {
	pgx.BatchResults
	tx pgx.Tx
}

func (b watchedBatch) Tx() pgx.Tx { return b.tx }

type watchedTx struct {
	pgx.Tx
	w   *watchedDB
	sql []string
}

func (t *watchedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t.w.note(sql)
	t.sql = append(t.sql, sql)
	return t.Tx.Exec(ctx, sql, args...)
}

func (t *watchedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	t.w.note(sql)
	t.sql = append(t.sql, sql)
	return t.Tx.Query(ctx, sql, args...)
}

func (t *watchedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	t.w.note(sql)
	t.sql = append(t.sql, sql)
	return t.Tx.QueryRow(ctx, sql, args...)
}

func (t *watchedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	stmts := batchSQL(b)
	t.w.note(stmts...)
	t.sql = append(t.sql, stmts...)
	return t.Tx.SendBatch(ctx, b)
}

func (t *watchedTx) Commit(ctx context.Context) error {
	var setting string
	if err := t.Tx.QueryRow(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&setting); err != nil {
		return err
	}
	t.w.committed(setting, t.sql)
	t.w.mu.Lock()
	hold, held := t.w.hold, t.w.held
	t.w.mu.Unlock()
	if hold != nil {
		select {
		case held <- struct{}{}:
		default:
		}
		<-hold
	}
	return t.Tx.Commit(ctx)
}

func watched(t *testing.T, o synctest.Options) (*synctest.Stack, *watchedDB) {
	t.Helper()
	var w *watchedDB
	o.WrapDB = func(p *pgxpool.Pool) postgres.DB {
		w = &watchedDB{Pool: p}
		return w
	}
	return synctest.New(t, o), w
}

func containsAny(stmts []string, s string) bool {
	for _, x := range stmts {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// The FieldChanged ack, the relay's publish of EmployeeSynced/SyncFailed and
// the lease that keeps a second worker off an employee all rely on the
// store's commits being durable (README, "Durability"). A regression such as
// commit c4e198b's `SET LOCAL synchronous_commit = off` fails here.
func TestEveryStoreCommitIsSynchronous(t *testing.T) {
	t.Parallel()
	s, w := watched(t, synctest.Options{})
	ctx := context.Background()
	tn := tenant()

	// The session default every pooled connection starts from: a DSN
	// parameter, ALTER DATABASE or ALTER ROLE would show here.
	var def string
	require.NoError(t, s.Pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&def))
	require.Equal(t, "on", def, "the database's default must be durable")

	// Every outcome kind: synced (created), retry (503), dead letter (409)
	// and wait (a change of an employee HR never created).
	taken := "taken." + synctest.Unique() + "@example.com"
	s.Publish(t, synctest.Created(tn, "dur-a", 1, taken, "Ada", "Durable"))
	erpByEmail(t, s, taken, nil)
	s.Sim.SetFaults(erpsim.Faults{Unavailable: 1})
	other := "b." + synctest.Unique() + "@example.com"
	s.Publish(t, synctest.Created(tn, "dur-b", 1, other, "Bo", "Durable"))
	erpByEmail(t, s, other, nil)
	s.Publish(t, synctest.Created(tn, "dur-c", 1, strings.ToUpper(taken[:1])+taken[1:], "Cy", "Duplicate"))
	employee(t, s, tn, "dur-c", func(e postgres.Employee) bool { return e.Status == "failed" })
	u := synctest.Updated(tn, "dur-d", 2)
	u.Phone = &hrv1.PhoneChange{NewValue: ptr("+4790000001")}
	s.Publish(t, u)
	employee(t, s, tn, "dur-d", func(e postgres.Employee) bool { return e.Status == "waiting" })

	stmts, commits := w.snapshot()
	for _, sql := range stmts {
		require.NotContains(t, strings.ToLower(sql), "synchronous_commit", "no statement may relax durability: %s", sql)
	}
	var applies, records int
	for _, c := range commits {
		require.Equal(t, "on", c.setting, "a commit ran with synchronous_commit=%s: %v", c.setting, c.statements)
		if containsAny(c.statements, "rollcall_inbox") {
			applies++
		}
		if containsAny(c.statements, "INSERT INTO rollcall_outbox") {
			records++
		}
	}
	require.Positive(t, applies, "the FieldChanged consumer's commits were seen")
	require.GreaterOrEqual(t, records, 4, "the propagator's recordings (synced, retry, dead letter, wait) were seen")
	// The lease is one statement in its own (autocommit) transaction, which
	// commits with the session default checked above.
	require.True(t, containsAny(stmts, "SET lease_until = now()"))
}

// HR's event is acked only after the transaction that merged it has
// committed (durably, see above): while the commit is held the message is
// still pending in JetStream, and a crash then would redeliver it.
func TestTheHRChangeIsAckedOnlyAfterItsCommit(t *testing.T) {
	t.Parallel()
	s, w := watched(t, synctest.Options{})
	ctx := context.Background()
	tn, email := tenant(), "ack."+synctest.Unique()+"@example.com"
	hold := make(chan struct{})
	w.mu.Lock()
	w.hold, w.held = hold, make(chan struct{}, 1)
	held := w.held
	w.mu.Unlock()

	s.Publish(t, synctest.Created(tn, "ack-1", 1, email, "Ack", "After"))
	select {
	case <-held:
	case <-time.After(wait):
		t.Fatal("the consumer's transaction never reached its commit")
	}
	cons, err := s.NATS.JS.Consumer(ctx, bus.StreamHR, "sync-hr-field-changed")
	require.NoError(t, err)
	info, err := cons.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, info.NumAckPending, "delivered, not acked while its commit is pending")
	_, err = s.Store.Employee(ctx, tn, "ack-1")
	require.ErrorIs(t, err, postgres.ErrNotFound)

	w.mu.Lock()
	w.hold = nil
	w.mu.Unlock()
	close(hold)
	require.Eventually(t, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.AckFloor.Consumer >= 1
	}, wait, 10*time.Millisecond, "acked once committed")
	erpByEmail(t, s, email, nil)
}

// The lease keeps a second worker off an employee, so an attempt never
// calls the ERP after it may have run out: an employee that waited in the
// queue for half its lease is given back, and a slow ERP is cut off before
// the lease ends (a retriable failure, with back-off).
func TestAnAttemptNeverOutlivesItsLease(t *testing.T) {
	t.Parallel()
	s := synctest.New(t, synctest.Options{NoPropagator: true, ERPTimeout: 10 * time.Second})
	ctx := context.Background()
	tn, email := tenant(), "lease."+synctest.Unique()+"@example.com"
	s.Publish(t, synctest.Created(tn, "lease-1", 1, email, "Lea", "Se"))
	employee(t, s, tn, "lease-1", func(e postgres.Employee) bool { return e.Status == "pending" })

	const lease = 1500 * time.Millisecond
	p := &app.Propagator{Store: s.Store, Resolver: s.Resolver, Lease: lease}
	var jobs []app.Job
	require.Eventually(t, func() bool {
		var err error
		jobs, err = s.Store.Claim(ctx, 1, lease)
		return err == nil && len(jobs) == 1
	}, wait, 10*time.Millisecond)
	j := jobs[0]
	require.WithinDuration(t, time.Now().Add(lease), j.LeaseUntil, time.Second)

	stale := j
	stale.LeaseUntil = time.Now().Add(lease / 3)
	before := s.Sim.Stats()
	require.Equal(t, app.OutcomeRelease, p.Attempt(ctx, stale).Kind)
	require.Equal(t, before, s.Sim.Stats(), "no ERP call with half a lease left")

	s.Sim.SetFaults(erpsim.Faults{Latency: 5 * time.Second})
	start := time.Now()
	o := p.Attempt(ctx, j)
	require.Less(t, time.Since(start), lease, "cut off before the lease ends")
	require.Equal(t, app.OutcomeRetry, o.Kind)
	require.Equal(t, app.ReasonUnavailable, o.Failure.Reason)
	require.True(t, o.Failure.NextAt.After(time.Now()))
	s.Sim.SetFaults(erpsim.Faults{})
	_, ok := s.Sim.EmployeeByEmail(email)
	require.False(t, ok)
}

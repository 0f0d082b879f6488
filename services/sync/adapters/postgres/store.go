// Package postgres is the sync service's store: employees' merged HR state
// and propagation status, dead letters, webhook deliveries, and the outbox
// rows of EmployeeSynced and SyncFailed written in the same transactions.
// Every query names the tenant.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rollcall.dev/pkg/inbox"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/keyring"
)

// ErrNotFound is an employee the store does not hold.
var ErrNotFound = pgdb.ErrNotFound

// InboxConsumer names the FieldChanged consumer in the inbox.
const InboxConsumer = "sync-hr-field-changed"

// DB is what the store needs of Postgres; *pgxpool.Pool is one. Every
// transaction commits with the server's synchronous_commit, which must be
// on (the default).
type DB interface {
	pgdb.Beginner
	pgdb.Querier
}

// Store implements app.Store, app.ConnectionStore and app.RunStore.
type Store struct {
	db     DB
	source string
	// Published is called after a commit that wrote events (Kick the relay).
	Published func()
	// Keys seal and open the connections' API keys.
	Keys *keyring.Keyring
}

var _ app.Store = (*Store)(nil)

// New returns a Store.
func New(db DB, source string) *Store {
	return &Store{db: db, source: source, Published: func() {}}
}

// ApplyChanges implements app.Store: one transaction for the batch — the
// inbox claims and the employees' rows locked in key order in the round
// trip that begins it, the merge in memory, then one statement inserting
// the new employees and one updating the others. A refusal by Postgres is
// wrapped in app.ErrStoreRefused, or app.ErrInvalidChange when it can only
// be the data's fault, so the caller can find the change at fault.
func (s *Store) ApplyChanges(ctx context.Context, cs []app.Change, delay time.Duration) ([]bool, error) {
	for _, c := range cs {
		if c.EventID == "" {
			return nil, fmt.Errorf("%w: %w", app.ErrInvalidChange, inbox.ErrNoEventID)
		}
	}
	for attempt := 1; ; attempt++ {
		changed, err := s.applyChanges(ctx, cs, delay)
		// Two transactions creating the same employee at once: the one
		// that lost saw no row, and merged into nothing. Run it again; it
		// now finds the row and locks it.
		if errors.Is(err, errCreatedMeanwhile) && attempt < 5 {
			continue
		}
		return changed, classify(err)
	}
}

// errCreatedMeanwhile: an employee this transaction was creating was
// created by another transaction first.
var errCreatedMeanwhile = errors.New("sync store: an employee was created by a concurrent transaction")

// classify marks what Postgres refused: a data exception (class 22) or a
// broken integrity constraint (class 23) other than a unique violation (a
// race, not the data) can only be the changes' fault; anything else it
// answered may be too. Errors without an answer (connection lost,
// cancelled) stay as they are.
func classify(err error) error {
	var pe *pgconn.PgError
	switch {
	case err == nil, errors.Is(err, app.ErrInvalidChange), errors.Is(err, app.ErrStoreRefused):
		return err
	case errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || (strings.HasPrefix(pe.Code, "23") && pe.Code != "23505")):
		return fmt.Errorf("%w: %w", app.ErrInvalidChange, err)
	case errors.As(err, &pe), errors.Is(err, errCorruptState):
		return fmt.Errorf("%w: %w", app.ErrStoreRefused, err)
	}
	return err
}

// errCorruptState: an employee's stored state could not be read.
var errCorruptState = errors.New("sync store: stored state unreadable")

func (s *Store) applyChanges(ctx context.Context, cs []app.Change, delay time.Duration) ([]bool, error) {
	changed := make([]bool, len(cs))
	type key struct{ tenant, emp string }
	type row struct {
		st      domain.HRState
		exists  bool
		changed bool
		since   time.Time
		conn    string
		trace   string
	}
	// The event ids in order, once each: two batches claiming the same
	// (redelivered) ids take their locks in the same order.
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.EventID
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	state := map[key]*row{}
	var tenants, emps []string
	for _, c := range cs {
		k := key{c.TenantID, c.EmployeeID}
		if state[k] == nil {
			state[k] = &row{}
			tenants, emps = append(tenants, c.TenantID), append(emps, c.EmployeeID)
		}
	}
	// The round trip that begins the transaction also claims the event ids
	// in the inbox and locks the employees' rows in key order (those of
	// duplicates too: rare, and it saves a round trip per batch).
	fresh := make(map[string]bool, len(cs))
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(`INSERT INTO rollcall_inbox (consumer, event_id) SELECT $1, x FROM unnest($2::text[]) AS x ORDER BY x ON CONFLICT DO NOTHING RETURNING event_id`,
		InboxConsumer, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("sync store: inbox: %w", err)
			}
			fresh[id] = true
		}
		return rows.Err()
	})
	b.Queue(`
SELECT e.tenant_id::text, e.employee_id, e.hr FROM employees e
JOIN unnest($1::uuid[], $2::text[]) AS k(tenant_id, employee_id) ON e.tenant_id = k.tenant_id AND e.employee_id = k.employee_id
ORDER BY e.tenant_id, e.employee_id
FOR UPDATE OF e`, tenants, emps).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				k  key
				hr []byte
			)
			if err := rows.Scan(&k.tenant, &k.emp, &hr); err != nil {
				return fmt.Errorf("sync store: read employees: %w", err)
			}
			r := state[k]
			if r == nil { // a key spelled differently from the database's (upper-case UUID)
				return fmt.Errorf("%w: employee %s/%s: tenant id not in canonical form", app.ErrInvalidChange, k.tenant, k.emp)
			}
			r.exists = true
			if err := json.Unmarshal(hr, &r.st); err != nil {
				return fmt.Errorf("%w: employee %s/%s: %w", errCorruptState, k.tenant, k.emp, err)
			}
		}
		return rows.Err()
	})
	err := s.inTxAfter(ctx, b, func(tx pgx.Tx) error {
		if len(fresh) == 0 {
			return nil
		}
		for i, c := range cs {
			if !fresh[c.EventID] {
				continue
			}
			delete(fresh, c.EventID) // the same event twice in a batch counts once
			r := state[key{c.TenantID, c.EmployeeID}]
			if r.st.Apply(c.Change) {
				changed[i], r.changed, r.conn = true, true, c.ConnectionID
				if c.TraceParent != "" {
					r.trace = c.TraceParent
				}
				if r.since.IsZero() || c.ChangedAt.Before(r.since) {
					r.since = c.ChangedAt
				}
			}
		}
		var ins, upd employeeWrites
		for k, r := range state {
			if !r.changed {
				continue
			}
			hr, err := json.Marshal(r.st)
			if err != nil {
				return err
			}
			w := &upd
			if !r.exists {
				w = &ins
			}
			w.add(k.tenant, k.emp, r.conn, string(hr), int64(r.st.Version), r.since, r.trace)
		}
		secs := delay.Seconds()
		b := &pgx.Batch{}
		if len(ins.tenants) > 0 {
			b.Queue(`
INSERT INTO employees (tenant_id, employee_id, connection_id, hr, hr_version, pending_since, status, due_at, trace_parent)
SELECT t, e, c, h::jsonb, v, p, 'pending', now() + make_interval(secs => $7), tp
FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::timestamptz[], $8::text[]) AS x(t, e, c, h, v, p, tp)
ON CONFLICT (tenant_id, employee_id) DO NOTHING`,
				ins.tenants, ins.emps, ins.conns, ins.hrs, ins.versions, ins.since, secs, ins.traces).Exec(func(tag pgconn.CommandTag) error {
				if tag.RowsAffected() != int64(len(ins.tenants)) {
					return errCreatedMeanwhile
				}
				return nil
			})
		}
		if len(upd.tenants) > 0 {
			// A pending employee keeps its due time (the burst joins the
			// write already planned), a retrying one its back-off; a synced,
			// waiting or dead-lettered one becomes due.
			b.Queue(`
UPDATE employees e SET
  hr = x.h::jsonb, hr_version = x.v, change_seq = e.change_seq + 1, updated_at = now(),
  pending_since = LEAST(COALESCE(e.pending_since, x.p), x.p),
  due_at = CASE WHEN e.status IN ('pending', 'retrying') THEN e.due_at ELSE now() + make_interval(secs => $6) END,
  attempts = CASE WHEN e.status = 'retrying' THEN e.attempts ELSE 0 END,
  status = CASE WHEN e.status = 'retrying' THEN 'retrying' ELSE 'pending' END,
  trace_parent = CASE WHEN x.tp <> '' THEN x.tp ELSE e.trace_parent END
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $7::text[]) AS x(t, e, h, v, p, tp)
WHERE e.tenant_id = x.t AND e.employee_id = x.e`,
				upd.tenants, upd.emps, upd.hrs, upd.versions, upd.since, secs, upd.traces)
		}
		if b.Len() == 0 {
			return nil
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("sync store: write employees: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// employeeWrites are the columns of the employees one statement writes.
type employeeWrites struct {
	tenants, emps, conns, hrs, traces []string
	versions                          []int64
	since                             []time.Time
}

func (w *employeeWrites) add(tenant, emp, conn, hr string, version int64, since time.Time, trace string) {
	w.tenants, w.emps, w.conns, w.hrs = append(w.tenants, tenant), append(w.emps, emp), append(w.conns, conn), append(w.hrs, hr)
	w.versions, w.since, w.traces = append(w.versions, version), append(w.since, since), append(w.traces, trace)
}

// inTxAfter begins a transaction in the same round trip as b's statements
// (b began with BeginTx), runs fn in it and commits; it rolls back when b,
// fn or the commit fails (or fn panics).
func (s *Store) inTxAfter(ctx context.Context, b *pgx.Batch, fn func(tx pgx.Tx) error) (err error) {
	br := s.db.SendBatch(ctx, b)
	tx := br.Tx()
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := br.Close(); err != nil {
		return fmt.Errorf("sync store: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sync store: commit: %w", err)
	}
	return nil
}

func scanJob(r pgx.Row) (app.Job, error) {
	var (
		j        app.Job
		hr, prov []byte
		since    *time.Time
	)
	if err := r.Scan(&j.TenantID, &j.EmployeeID, &j.ConnectionID, &hr, &j.Seq, &j.ERPEmployeeID, &prov, &j.Attempts, &since, &j.TraceParent, &j.CreateAttempts); err != nil {
		return app.Job{}, err
	}
	if err := json.Unmarshal(hr, &j.HR); err != nil {
		return app.Job{}, fmt.Errorf("sync store: decode hr state: %w", err)
	}
	if err := json.Unmarshal(prov, &j.Provenance); err != nil {
		return app.Job{}, fmt.Errorf("sync store: decode provenance: %w", err)
	}
	if since != nil {
		j.PendingSince = *since
	}
	return j, nil
}

// Claim leases up to limit due employees for lease (Settle with nothing to
// record).
func (s *Store) Claim(ctx context.Context, limit int, lease time.Duration) ([]app.Job, error) {
	return s.Settle(ctx, nil, limit, lease, 0)
}

// claim leases due employees in one statement, so one round trip and its
// own (durable) commit. Rows are locked with SKIP LOCKED, so replicas never
// take the same employee, and leased until lease runs out.
func (s *Store) claim(ctx context.Context, limit int, lease, hold time.Duration) ([]app.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	until := time.Now().Add(lease)
	rows, err := s.db.Query(ctx, `
UPDATE employees e SET lease_until = now() + make_interval(secs => $2)
FROM (
  SELECT tenant_id, employee_id FROM employees
  WHERE status IN ('pending', 'retrying') AND due_at <= now() - make_interval(secs => $3) AND (lease_until IS NULL OR lease_until < now())
    AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.id = employees.connection_id AND c.status <> 'active')
  ORDER BY due_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
) due
WHERE e.tenant_id = due.tenant_id AND e.employee_id = due.employee_id
RETURNING `+claimColumns, limit, lease.Seconds(), hold.Seconds())
	if err != nil {
		return nil, fmt.Errorf("sync store: claim: %w", err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Job, error) { return scanJob(r) })
	if err != nil {
		return nil, fmt.Errorf("sync store: claim: %w", err)
	}
	for i := range jobs {
		jobs[i].LeaseUntil = until
	}
	return jobs, nil
}

const claimColumns = `e.tenant_id::text, e.employee_id, e.connection_id::text, e.hr, e.change_seq, COALESCE(e.erp_employee_id, ''), e.provenance, e.attempts, e.pending_since, e.trace_parent, e.create_attempts`

// Settle implements app.Store: the outcomes in one transaction (one round
// trip), then the lease in another. Both commit with the server's
// synchronous_commit (on): nothing here may be relaxed, see the README's
// "Durability".
func (s *Store) Settle(ctx context.Context, done []app.Outcome, limit int, lease, hold time.Duration) ([]app.Job, error) {
	var (
		recs   = make([]settled, 0, len(done))
		errs   []error
		events int
	)
	for _, o := range done {
		r, err := prepare(o)
		if err != nil {
			// Left leased: it is redone when the lease expires.
			errs = append(errs, fmt.Errorf("sync store: %s/%s: %w", o.Job.TenantID, o.Job.EmployeeID, err))
			continue
		}
		recs = append(recs, r)
	}
	for _, group := range byEmployee(recs) {
		if err := s.record(ctx, group); err == nil {
			for _, r := range group {
				events += len(r.events)
			}
			continue
		} else if len(group) == 1 {
			errs = append(errs, fmt.Errorf("sync store: %s/%s: %w", group[0].o.Job.TenantID, group[0].o.Job.EmployeeID, err))
			continue
		} else {
			// One outcome may spoil the group (e.g. an ERP employee another
			// HR employee adopted meanwhile: the link is unique). Record
			// each on its own so the others are kept.
			errs = append(errs, fmt.Errorf("sync store: recording %d outcomes together: %w", len(group), err))
		}
		for _, r := range group {
			if err := s.record(ctx, []settled{r}); err != nil {
				errs = append(errs, fmt.Errorf("sync store: %s/%s: %w", r.o.Job.TenantID, r.o.Job.EmployeeID, err))
				continue
			}
			events += len(r.events)
		}
	}
	if events > 0 {
		s.Published()
	}
	jobs, err := s.claim(ctx, limit, lease, hold)
	if err != nil {
		errs = append(errs, err)
	}
	return jobs, errors.Join(errs...)
}

// byEmployee splits recs into groups in which each employee appears once
// (a group's statements update each row once), keeping their order. The
// propagator never has two outcomes of one employee unrecorded (its lease
// is cleared by the recording), so that is one group.
func byEmployee(recs []settled) [][]settled {
	var groups [][]settled
	for len(recs) > 0 {
		type key struct{ tenant, emp string }
		seen := make(map[key]bool, len(recs))
		var group, rest []settled
		for _, r := range recs {
			k := key{r.o.Job.TenantID, r.o.Job.EmployeeID}
			if seen[k] {
				rest = append(rest, r)
				continue
			}
			seen[k] = true
			group = append(group, r)
		}
		groups, recs = append(groups, group), rest
	}
	return groups
}

// settled is an outcome ready to record: its encoded values and its event.
type settled struct {
	o       app.Outcome
	prov    string // OutcomeSynced: the provenance, JSON
	errJSON string // failures: last_error, JSON
	events  []outbox.Record
}

// prepare encodes what recording o takes, and validates its event, before
// any transaction starts.
func prepare(o app.Outcome) (settled, error) {
	j := o.Job
	r := settled{o: o}
	switch o.Kind {
	case app.OutcomeSynced:
		prov, err := json.Marshal(o.Result.Provenance)
		if err != nil {
			return r, err
		}
		r.prov = string(prov)
		if !o.Result.NoEvent {
			rec, err := syncedRecord(j, o.Result)
			if err != nil {
				return r, err
			}
			r.events = append(r.events, rec)
		}
	case app.OutcomeRetry, app.OutcomeWait, app.OutcomeDeadLetter:
		errJSON, err := failureJSON(o.Failure)
		if err != nil {
			return r, err
		}
		r.errJSON = string(errJSON)
		rec, err := failedRecord(j, o.Failure)
		if err != nil {
			return r, err
		}
		r.events = append(r.events, rec)
	case app.OutcomeRelease:
	default:
		return r, fmt.Errorf("unknown outcome kind %d", o.Kind)
	}
	for _, rec := range r.events {
		if err := protovalidate.Validate(rec.Event); err != nil {
			return r, fmt.Errorf("invalid %T: %w", rec.Event, err)
		}
	}
	return r, nil
}

// record writes recs (one outcome per employee) in one transaction and one
// round trip: a pipelined batch, which Postgres runs as one implicit
// transaction. The employees' rows are locked first in the order
// ApplyChanges locks them (so the two never deadlock); then one statement
// per kind of outcome updates its employees, one inserts the dead letters
// and one appends every event (outbox.QueueAppendBatch): a fixed number of
// statements however many outcomes there are.
func (s *Store) record(ctx context.Context, recs []settled) error {
	if len(recs) == 0 {
		return nil
	}
	var (
		all, released  keys
		synced         syncedRows
		retried, parks failedRows
		dead           deadRows
		events         []outbox.Record
	)
	for _, r := range recs {
		j := r.o.Job
		all.add(j)
		switch r.o.Kind {
		case app.OutcomeSynced:
			res := r.o.Result
			synced.add(j)
			synced.seqs, synced.erpIDs, synced.versions = append(synced.seqs, j.Seq), append(synced.erpIDs, res.ERPEmployeeID), append(synced.versions, int64(j.HR.Version))
			synced.ats, synced.provs, synced.left = append(synced.ats, res.At), append(synced.provs, r.prov), append(synced.left, res.IdentificationLeft)
		case app.OutcomeRetry:
			f := r.o.Failure
			retried.add(j, f, r.errJSON, "retrying")
			retried.attempts, retried.nextAt = append(retried.attempts, int32(f.Attempt)), append(retried.nextAt, f.NextAt)
		case app.OutcomeWait:
			parks.add(j, r.o.Failure, r.errJSON, "waiting")
		case app.OutcomeDeadLetter:
			f := r.o.Failure
			parks.add(j, f, r.errJSON, "failed")
			dead.add(j, f)
		case app.OutcomeRelease:
			released.add(j)
		}
		events = append(events, r.events...)
	}
	b := &pgx.Batch{}
	b.Queue(`
SELECT 1 FROM employees e
JOIN unnest($1::uuid[], $2::text[]) AS k(tenant_id, employee_id) ON e.tenant_id = k.tenant_id AND e.employee_id = k.employee_id
ORDER BY e.tenant_id, e.employee_id
FOR UPDATE OF e`, all.tenants, all.emps)
	if len(synced.tenants) > 0 {
		b.Queue(completeQuery, synced.tenants, synced.emps, synced.seqs, synced.erpIDs, synced.versions, synced.ats, synced.provs, synced.left)
	}
	if len(retried.tenants) > 0 {
		b.Queue(retryQuery, retried.tenants, retried.emps, retried.attempts, retried.nextAt, retried.errs, retried.erpIDs)
	}
	if len(parks.tenants) > 0 {
		b.Queue(parkQuery, parks.tenants, parks.emps, parks.seqs, parks.statuses, parks.errs, parks.erpIDs)
	}
	if len(released.tenants) > 0 {
		b.Queue(releaseQuery, released.tenants, released.emps)
	}
	if len(dead.tenants) > 0 {
		b.Queue(`
INSERT INTO sync_dead_letters (tenant_id, employee_id, connection_id, hr_version, reason, erp_status, erp_code, erp_message)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::bigint[], $5::text[], $6::int[], $7::text[], $8::text[])`,
			dead.tenants, dead.emps, dead.conns, dead.versions, dead.reasons, dead.statuses, dead.codes, dead.messages)
	}
	if _, err := outbox.QueueAppendBatch(ctx, b, s.source, events); err != nil {
		return err
	}
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("sync store: record outcomes: %w", err)
	}
	return nil
}

// keys are employees, as columns.
type keys struct{ tenants, emps []string }

func (k *keys) add(j app.Job) {
	k.tenants, k.emps = append(k.tenants, j.TenantID), append(k.emps, j.EmployeeID)
}

// syncedRows are completeQuery's columns.
type syncedRows struct {
	keys
	seqs, versions []int64
	erpIDs, provs  []string
	ats            []time.Time
	left           []bool
}

// failedRows are retryQuery's or parkQuery's columns.
type failedRows struct {
	keys
	seqs                   []int64
	statuses, errs, erpIDs []string
	attempts               []int32
	nextAt                 []time.Time
}

func (r *failedRows) add(j app.Job, f app.Failure, errJSON, status string) {
	r.keys.add(j)
	r.seqs, r.statuses, r.errs, r.erpIDs = append(r.seqs, j.Seq), append(r.statuses, status), append(r.errs, errJSON), append(r.erpIDs, f.ERPEmployeeID)
}

// deadRows are sync_dead_letters' columns.
type deadRows struct {
	keys
	conns, reasons, codes, messages []string
	versions                        []int64
	statuses                        []*int32
}

func (d *deadRows) add(j app.Job, f app.Failure) {
	d.keys.add(j)
	var status *int32
	code, msg := "", ""
	if f.ERP != nil {
		if f.ERP.Status != 0 {
			st := int32(f.ERP.Status)
			status = &st
		}
		code, msg = f.ERP.Code, f.ERP.Message
	}
	d.conns, d.reasons, d.codes, d.messages = append(d.conns, j.ConnectionID), append(d.reasons, f.Reason.String()+": "+f.Text), append(d.codes, code), append(d.messages, msg)
	d.versions, d.statuses = append(d.versions, int64(j.HR.Version)), append(d.statuses, status)
}

// completeQuery records propagations the ERP now reflects; an employee
// stays due when a change arrived during its attempt (change_seq moved).
const completeQuery = `
UPDATE employees e SET
  erp_employee_id = NULLIF(x.erp, ''), synced_version = x.version, synced_seq = x.seq, synced_at = x.at, provenance = x.prov::jsonb,
  identification_left_at = CASE WHEN x.id_left THEN x.at ELSE e.identification_left_at END,
  status = CASE WHEN e.change_seq = x.seq THEN 'synced' ELSE 'pending' END,
  due_at = CASE WHEN e.change_seq = x.seq THEN NULL ELSE now() END,
  pending_since = CASE WHEN e.change_seq = x.seq THEN NULL ELSE e.pending_since END,
  lease_until = NULL, attempts = 0, last_error = NULL, updated_at = now(),
  create_attempts = CASE WHEN x.erp <> '' THEN '{}' ELSE e.create_attempts END
FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::timestamptz[], $7::text[], $8::bool[])
  AS x(tid, eid, seq, erp, version, at, prov, id_left)
WHERE e.tenant_id = x.tid AND e.employee_id = x.eid`

// retryQuery schedules the next attempts. A failed attempt keeps the link
// to an ERP employee it created or adopted (erp, "" when none), here and
// in parkQuery.
const retryQuery = `
UPDATE employees e SET status = 'retrying', attempts = x.attempt, due_at = x.next_at, last_error = x.err::jsonb, lease_until = NULL, updated_at = now(),
  erp_employee_id = COALESCE(NULLIF(x.erp, ''), e.erp_employee_id)
FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::text[], $6::text[]) AS x(tid, eid, attempt, next_at, err, erp)
WHERE e.tenant_id = x.tid AND e.employee_id = x.eid`

// parkQuery parks employees (waiting, failed) until HR's next change,
// unless a change arrived during the attempt (then it is due again at
// once).
const parkQuery = `
UPDATE employees e SET
  status = CASE WHEN e.change_seq = x.seq THEN x.status ELSE 'pending' END,
  due_at = CASE WHEN e.change_seq = x.seq THEN NULL ELSE now() END,
  attempts = 0, last_error = x.err::jsonb, lease_until = NULL, updated_at = now(),
  erp_employee_id = COALESCE(NULLIF(x.erp, ''), e.erp_employee_id)
FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[]) AS x(tid, eid, seq, status, err, erp)
WHERE e.tenant_id = x.tid AND e.employee_id = x.eid`

// releaseQuery gives leases back untouched.
const releaseQuery = `
UPDATE employees e SET lease_until = NULL
FROM unnest($1::uuid[], $2::text[]) AS x(tid, eid)
WHERE e.tenant_id = x.tid AND e.employee_id = x.eid`

func failureJSON(f app.Failure) ([]byte, error) {
	v := map[string]any{"reason": f.Reason.String(), "retriable": f.Retriable, "attempt": f.Attempt, "at": f.At, "error": f.Text}
	if f.ERP != nil {
		v["erp_status"], v["erp_code"], v["erp_message"] = f.ERP.Status, f.ERP.Code, f.ERP.Message
	}
	return json.Marshal(v)
}

// NoteCreateAttempt implements app.Store: its own, durable commit, before
// the ERP is called.
func (s *Store) NoteCreateAttempt(ctx context.Context, tenantID, employeeID, email string) error {
	_, err := s.db.Exec(ctx, `UPDATE employees SET create_attempts = array_append(create_attempts, $3)
WHERE tenant_id = $1 AND employee_id = $2 AND NOT ($3 = ANY(create_attempts))`, tenantID, employeeID, email)
	if err != nil {
		return fmt.Errorf("sync store: note create attempt: %w", err)
	}
	return nil
}

// LinkedTo implements app.Store.
func (s *Store) LinkedTo(ctx context.Context, connectionID, erpEmployeeID string) (string, string, bool, error) {
	var tenant, emp string
	err := s.db.QueryRow(ctx, `SELECT tenant_id::text, employee_id FROM employees WHERE connection_id = $1 AND erp_employee_id = $2`,
		connectionID, erpEmployeeID).Scan(&tenant, &emp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("sync store: link: %w", err)
	}
	return tenant, emp, true, nil
}

// Employee is one employee as an operator (or a test) sees it.
type Employee struct {
	TenantID, EmployeeID, ConnectionID string
	HR                                 domain.HRState
	ERPEmployeeID                      string
	SyncedVersion                      uint64
	Provenance                         map[erp.Field]domain.Provenance
	IdentificationLeftAt               *time.Time
	Status                             string
	Attempts                           int
	LastError                          map[string]any
}

// Employee reads one employee of a tenant.
func (s *Store) Employee(ctx context.Context, tenantID, employeeID string) (Employee, error) {
	var (
		e                 Employee
		hr, prov, lastErr []byte
		synced            int64
	)
	err := s.db.QueryRow(ctx, `
SELECT tenant_id::text, employee_id, connection_id::text, hr, COALESCE(erp_employee_id, ''), synced_version, provenance,
       identification_left_at, status, attempts, last_error
FROM employees WHERE tenant_id = $1 AND employee_id = $2`, tenantID, employeeID).Scan(
		&e.TenantID, &e.EmployeeID, &e.ConnectionID, &hr, &e.ERPEmployeeID, &synced, &prov,
		&e.IdentificationLeftAt, &e.Status, &e.Attempts, &lastErr)
	if errors.Is(err, pgx.ErrNoRows) {
		return Employee{}, ErrNotFound
	}
	if err != nil {
		return Employee{}, fmt.Errorf("sync store: employee: %w", err)
	}
	e.SyncedVersion = uint64(synced)
	if err := json.Unmarshal(hr, &e.HR); err != nil {
		return Employee{}, err
	}
	if err := json.Unmarshal(prov, &e.Provenance); err != nil {
		return Employee{}, err
	}
	if len(lastErr) > 0 {
		if err := json.Unmarshal(lastErr, &e.LastError); err != nil {
			return Employee{}, err
		}
	}
	return e, nil
}

// DeadLetter is a change the ERP refused for good.
type DeadLetter struct {
	ID                 int64
	EmployeeID         string
	HRVersion          uint64
	Reason             string
	ERPStatus          *int
	ERPCode, ERPReason string
	CreatedAt          time.Time
}

// DeadLetters lists a tenant's dead letters, newest first.
func (s *Store) DeadLetters(ctx context.Context, tenantID string, limit int) ([]DeadLetter, error) {
	rows, err := s.db.Query(ctx, `
SELECT id, employee_id, hr_version, reason, erp_status, erp_code, erp_message, created_at
FROM sync_dead_letters WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("sync store: dead letters: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeadLetter, error) {
		var (
			d DeadLetter
			v int64
		)
		err := r.Scan(&d.ID, &d.EmployeeID, &v, &d.Reason, &d.ERPStatus, &d.ERPCode, &d.ERPReason, &d.CreatedAt)
		d.HRVersion = uint64(v)
		return d, err
	})
}

// SeenDelivery records a webhook delivery id; false when it was seen before
// (a replay).
func (s *Store) SeenDelivery(ctx context.Context, tenantID, deliveryID string) (bool, error) {
	tag, err := s.db.Exec(ctx, `INSERT INTO webhook_deliveries (tenant_id, delivery_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, tenantID, deliveryID)
	if err != nil {
		return false, fmt.Errorf("sync store: webhook delivery: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ForgetDelivery removes a delivery id whose events could not be published,
// so the sender's retry is accepted.
func (s *Store) ForgetDelivery(ctx context.Context, tenantID, deliveryID string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND delivery_id = $2`, tenantID, deliveryID)
	return err
}

// PruneDeliveries forgets deliveries older than keep (beyond the accepted
// clock skew a replay is refused by its timestamp anyway).
func (s *Store) PruneDeliveries(ctx context.Context, keep time.Duration) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM webhook_deliveries WHERE received_at < now() - make_interval(secs => $1)`, keep.Seconds())
	if err != nil {
		return 0, fmt.Errorf("sync store: prune deliveries: %w", err)
	}
	return tag.RowsAffected(), nil
}

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
	"time"

	"buf.build/go/protovalidate"
	"github.com/jackc/pgx/v5"

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
// inbox claims, the employees' rows locked in key order, the merge in
// memory, and the writes sent as one pgx batch.
func (s *Store) ApplyChanges(ctx context.Context, cs []app.Change, delay time.Duration) ([]bool, error) {
	changed := make([]bool, len(cs))
	type key struct{ tenant, emp string }
	type row struct {
		st      domain.HRState
		exists  bool
		changed bool
		since   time.Time
		conn    string
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		if c.EventID == "" {
			return nil, inbox.ErrNoEventID
		}
		ids[i] = c.EventID
	}
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
	b.Queue(`INSERT INTO rollcall_inbox (consumer, event_id) SELECT $1, x FROM unnest($2::text[]) AS x ON CONFLICT DO NOTHING RETURNING event_id`,
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
				return fmt.Errorf("sync store: employee %s/%s: tenant id not in canonical form", k.tenant, k.emp)
			}
			r.exists = true
			if err := json.Unmarshal(hr, &r.st); err != nil {
				return fmt.Errorf("sync store: decode hr state: %w", err)
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
				if r.since.IsZero() || c.ChangedAt.Before(r.since) {
					r.since = c.ChangedAt
				}
			}
		}
		secs := delay.Seconds()
		b := &pgx.Batch{}
		for k, r := range state {
			if !r.changed {
				continue
			}
			hr, err := json.Marshal(r.st)
			if err != nil {
				return err
			}
			if !r.exists {
				b.Queue(`
INSERT INTO employees (tenant_id, employee_id, connection_id, hr, hr_version, pending_since, status, due_at)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', now() + make_interval(secs => $7))`,
					k.tenant, k.emp, r.conn, hr, int64(r.st.Version), r.since, secs)
				continue
			}
			// A pending employee keeps its due time (the burst joins the
			// write already planned), a retrying one its back-off; a synced,
			// waiting or dead-lettered one becomes due.
			b.Queue(`
UPDATE employees SET
  hr = $3, hr_version = $4, change_seq = change_seq + 1, updated_at = now(),
  pending_since = LEAST(COALESCE(pending_since, $5), $5),
  due_at = CASE WHEN status IN ('pending', 'retrying') THEN due_at ELSE now() + make_interval(secs => $6) END,
  attempts = CASE WHEN status = 'retrying' THEN attempts ELSE 0 END,
  status = CASE WHEN status = 'retrying' THEN 'retrying' ELSE 'pending' END
WHERE tenant_id = $1 AND employee_id = $2`,
				k.tenant, k.emp, hr, int64(r.st.Version), r.since, secs)
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
	if err := r.Scan(&j.TenantID, &j.EmployeeID, &j.ConnectionID, &hr, &j.Seq, &j.ERPEmployeeID, &prov, &j.Attempts, &since); err != nil {
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
	return s.Settle(ctx, nil, limit, lease)
}

// claim leases due employees in one statement, so one round trip and its
// own (durable) commit. Rows are locked with SKIP LOCKED, so replicas never
// take the same employee, and leased until lease runs out.
func (s *Store) claim(ctx context.Context, limit int, lease time.Duration) ([]app.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	until := time.Now().Add(lease)
	rows, err := s.db.Query(ctx, `
UPDATE employees e SET lease_until = now() + make_interval(secs => $2)
FROM (
  SELECT tenant_id, employee_id FROM employees
  WHERE status IN ('pending', 'retrying') AND due_at <= now() AND (lease_until IS NULL OR lease_until < now())
    AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.id = employees.connection_id AND c.status <> 'active')
  ORDER BY due_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
) due
WHERE e.tenant_id = due.tenant_id AND e.employee_id = due.employee_id
RETURNING `+claimColumns, limit, lease.Seconds())
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

const claimColumns = `e.tenant_id::text, e.employee_id, e.connection_id::text, e.hr, e.change_seq, COALESCE(e.erp_employee_id, ''), e.provenance, e.attempts, e.pending_since`

// Settle implements app.Store: the outcomes in one transaction (one round
// trip), then the lease in another. Both commit with the server's
// synchronous_commit (on): nothing here may be relaxed, see the README's
// "Durability".
func (s *Store) Settle(ctx context.Context, done []app.Outcome, limit int, lease time.Duration) ([]app.Job, error) {
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
	if len(recs) > 0 {
		if err := s.record(ctx, recs); err == nil {
			for _, r := range recs {
				events += len(r.events)
			}
		} else {
			// One outcome may spoil the group (e.g. an ERP employee another
			// HR employee adopted meanwhile: the link is unique). Record
			// each on its own so the others are kept.
			errs = append(errs, fmt.Errorf("sync store: recording %d outcomes together: %w", len(recs), err))
			for _, r := range recs {
				if err := s.record(ctx, []settled{r}); err != nil {
					errs = append(errs, fmt.Errorf("sync store: %s/%s: %w", r.o.Job.TenantID, r.o.Job.EmployeeID, err))
					continue
				}
				events += len(r.events)
			}
		}
	}
	if events > 0 {
		s.Published()
	}
	jobs, err := s.claim(ctx, limit, lease)
	if err != nil {
		errs = append(errs, err)
	}
	return jobs, errors.Join(errs...)
}

// settled is an outcome ready to record: its statements and its event.
type settled struct {
	o      app.Outcome
	sql    string
	args   []any
	dead   bool
	events []outbox.Record
}

// prepare builds what recording o takes, and validates its event, before
// any transaction starts.
func prepare(o app.Outcome) (settled, error) {
	j := o.Job
	r := settled{o: o}
	switch o.Kind {
	case app.OutcomeSynced:
		res := o.Result
		prov, err := json.Marshal(res.Provenance)
		if err != nil {
			return r, err
		}
		var erpID *string
		if res.ERPEmployeeID != "" {
			erpID = &res.ERPEmployeeID
		}
		r.sql, r.args = completeQuery, []any{j.TenantID, j.EmployeeID, j.Seq, erpID, int64(j.HR.Version), res.At, prov, res.IdentificationLeft}
		if !res.NoEvent {
			rec, err := syncedRecord(j, res)
			if err != nil {
				return r, err
			}
			r.events = append(r.events, rec)
		}
	case app.OutcomeRetry, app.OutcomeWait, app.OutcomeDeadLetter:
		f := o.Failure
		errJSON, err := failureJSON(f)
		if err != nil {
			return r, err
		}
		switch o.Kind {
		case app.OutcomeRetry:
			r.sql, r.args = retryQuery, []any{j.TenantID, j.EmployeeID, f.Attempt, f.NextAt, errJSON, f.ERPEmployeeID}
		case app.OutcomeWait:
			r.sql, r.args = parkQuery, []any{j.TenantID, j.EmployeeID, j.Seq, "waiting", errJSON, f.ERPEmployeeID}
		default:
			r.sql, r.args, r.dead = parkQuery, []any{j.TenantID, j.EmployeeID, j.Seq, "failed", errJSON, f.ERPEmployeeID}, true
		}
		rec, err := failedRecord(j, f)
		if err != nil {
			return r, err
		}
		r.events = append(r.events, rec)
	case app.OutcomeRelease:
		r.sql, r.args = releaseQuery, []any{j.TenantID, j.EmployeeID}
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

// record writes recs in one transaction and one round trip: a pipelined
// batch, which Postgres runs as one implicit transaction. The employees'
// rows are locked first in the order ApplyChanges locks them (so the two
// never deadlock), then every update, dead letter and event is written.
func (s *Store) record(ctx context.Context, recs []settled) error {
	if len(recs) == 0 {
		return nil
	}
	tenants, emps := make([]string, len(recs)), make([]string, len(recs))
	for i, r := range recs {
		tenants[i], emps[i] = r.o.Job.TenantID, r.o.Job.EmployeeID
	}
	b := &pgx.Batch{}
	b.Queue(`
SELECT 1 FROM employees e
JOIN unnest($1::uuid[], $2::text[]) AS k(tenant_id, employee_id) ON e.tenant_id = k.tenant_id AND e.employee_id = k.employee_id
ORDER BY e.tenant_id, e.employee_id
FOR UPDATE OF e`, tenants, emps)
	for _, r := range recs {
		b.Queue(r.sql, r.args...)
		if r.dead {
			j, f := r.o.Job, r.o.Failure
			var status *int
			code, msg := "", ""
			if f.ERP != nil {
				if f.ERP.Status != 0 {
					status = &f.ERP.Status
				}
				code, msg = f.ERP.Code, f.ERP.Message
			}
			b.Queue(`
INSERT INTO sync_dead_letters (tenant_id, employee_id, connection_id, hr_version, reason, erp_status, erp_code, erp_message)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				j.TenantID, j.EmployeeID, j.ConnectionID, int64(j.HR.Version), f.Reason.String()+": "+f.Text, status, code, msg)
		}
		for _, rec := range r.events {
			if err := appendQueued(ctx, b, s.source, rec); err != nil {
				return err
			}
		}
	}
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("sync store: record outcomes: %w", err)
	}
	return nil
}

// completeQuery records a propagation the ERP now reflects; the employee
// stays due when a change arrived during the attempt (change_seq moved).
const completeQuery = `
UPDATE employees SET
  erp_employee_id = $4, synced_version = $5, synced_seq = $3, synced_at = $6, provenance = $7,
  identification_left_at = CASE WHEN $8 THEN $6 ELSE identification_left_at END,
  status = CASE WHEN change_seq = $3 THEN 'synced' ELSE 'pending' END,
  due_at = CASE WHEN change_seq = $3 THEN NULL ELSE now() END,
  pending_since = CASE WHEN change_seq = $3 THEN NULL ELSE pending_since END,
  lease_until = NULL, attempts = 0, last_error = NULL, updated_at = now()
WHERE tenant_id = $1 AND employee_id = $2`

// retryQuery schedules the next attempt. A failed attempt keeps the link
// to an ERP employee it created or adopted ($6, "" when none), here and in
// parkQuery.
const retryQuery = `
UPDATE employees SET status = 'retrying', attempts = $3, due_at = $4, last_error = $5, lease_until = NULL, updated_at = now(),
  erp_employee_id = COALESCE(NULLIF($6, ''), erp_employee_id)
WHERE tenant_id = $1 AND employee_id = $2`

// parkQuery parks an employee until HR's next change, unless a change
// arrived during the attempt (then it is due again at once).
const parkQuery = `
UPDATE employees SET
  status = CASE WHEN change_seq = $3 THEN $4::text ELSE 'pending' END,
  due_at = CASE WHEN change_seq = $3 THEN NULL ELSE now() END,
  attempts = 0, last_error = $5, lease_until = NULL, updated_at = now(),
  erp_employee_id = COALESCE(NULLIF($6, ''), erp_employee_id)
WHERE tenant_id = $1 AND employee_id = $2`

// releaseQuery gives a lease back untouched.
const releaseQuery = `UPDATE employees SET lease_until = NULL WHERE tenant_id = $1 AND employee_id = $2`

func failureJSON(f app.Failure) ([]byte, error) {
	v := map[string]any{"reason": f.Reason.String(), "retriable": f.Retriable, "attempt": f.Attempt, "at": f.At, "error": f.Text}
	if f.ERP != nil {
		v["erp_status"], v["erp_code"], v["erp_message"] = f.ERP.Status, f.ERP.Code, f.ERP.Message
	}
	return json.Marshal(v)
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

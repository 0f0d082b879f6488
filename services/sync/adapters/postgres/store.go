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
	"github.com/jackc/pgx/v5/pgxpool"

	"rollcall.dev/pkg/inbox"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

// ErrNotFound is an employee the store does not hold.
var ErrNotFound = pgdb.ErrNotFound

// InboxConsumer names the FieldChanged consumer in the inbox.
const InboxConsumer = "sync-hr-field-changed"

// Store implements app.Store.
type Store struct {
	pool   *pgxpool.Pool
	source string
	// Published is called after a commit that wrote events (Kick the relay).
	Published func()
}

var _ app.Store = (*Store)(nil)

// New returns a Store.
func New(pool *pgxpool.Pool, source string) *Store {
	return &Store{pool: pool, source: source, Published: func() {}}
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
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		ids := make([]string, len(cs))
		for i, c := range cs {
			if c.EventID == "" {
				return inbox.ErrNoEventID
			}
			ids[i] = c.EventID
		}
		rows, err := tx.Query(ctx, `INSERT INTO rollcall_inbox (consumer, event_id) SELECT $1, x FROM unnest($2::text[]) AS x ON CONFLICT DO NOTHING RETURNING event_id`, InboxConsumer, ids)
		if err != nil {
			return fmt.Errorf("sync store: inbox: %w", err)
		}
		freshList, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("sync store: inbox: %w", err)
		}
		fresh := make(map[string]bool, len(freshList))
		for _, id := range freshList {
			fresh[id] = true
		}
		state := map[key]*row{}
		var tenants, emps []string
		for _, c := range cs {
			k := key{c.TenantID, c.EmployeeID}
			if fresh[c.EventID] && state[k] == nil {
				state[k] = &row{}
				tenants, emps = append(tenants, c.TenantID), append(emps, c.EmployeeID)
			}
		}
		if len(state) == 0 {
			return nil
		}
		rows, err = tx.Query(ctx, `
SELECT e.tenant_id::text, e.employee_id, e.hr FROM employees e
JOIN unnest($1::uuid[], $2::text[]) AS k(tenant_id, employee_id) ON e.tenant_id = k.tenant_id AND e.employee_id = k.employee_id
ORDER BY e.tenant_id, e.employee_id
FOR UPDATE OF e`, tenants, emps)
		if err != nil {
			return fmt.Errorf("sync store: read employees: %w", err)
		}
		for rows.Next() {
			var (
				k  key
				hr []byte
			)
			if err := rows.Scan(&k.tenant, &k.emp, &hr); err != nil {
				rows.Close()
				return fmt.Errorf("sync store: read employees: %w", err)
			}
			r := state[k]
			r.exists = true
			if err := json.Unmarshal(hr, &r.st); err != nil {
				rows.Close()
				return fmt.Errorf("sync store: decode hr state: %w", err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sync store: read employees: %w", err)
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

// Claim implements app.Store. Rows are locked with SKIP LOCKED, so replicas
// never take the same employee, and leased until lease runs out.
func (s *Store) Claim(ctx context.Context, limit int, lease time.Duration) ([]app.Job, error) {
	var jobs []app.Job
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := relaxed(ctx, tx); err != nil {
			return err
		}
		var err error
		jobs, err = claim(ctx, tx, limit, lease)
		return err
	})
	return jobs, err
}

func claim(ctx context.Context, tx pgx.Tx, limit int, lease time.Duration) ([]app.Job, error) {
	rows, err := tx.Query(ctx, `
UPDATE employees e SET lease_until = now() + make_interval(secs => $2)
FROM (
  SELECT tenant_id, employee_id FROM employees
  WHERE status IN ('pending', 'retrying') AND due_at <= now() AND (lease_until IS NULL OR lease_until < now())
  ORDER BY due_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
) due
WHERE e.tenant_id = due.tenant_id AND e.employee_id = due.employee_id
RETURNING `+claimColumns, limit, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("sync store: claim: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Job, error) { return scanJob(r) })
}

const claimColumns = `e.tenant_id::text, e.employee_id, e.connection_id::text, e.hr, e.change_seq, COALESCE(e.erp_employee_id, ''), e.provenance, e.attempts, e.pending_since`

// Complete implements app.Store.
func (s *Store) Complete(ctx context.Context, j app.Job, r app.Result) error {
	prov, err := json.Marshal(r.Provenance)
	if err != nil {
		return err
	}
	var recs []outbox.Record
	if !r.NoEvent {
		rec, err := syncedRecord(j, r)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	return s.write(ctx, recs, func(tx pgx.Tx) error {
		var erpID *string
		if r.ERPEmployeeID != "" {
			erpID = &r.ERPEmployeeID
		}
		_, err := tx.Exec(ctx, `
UPDATE employees SET
  erp_employee_id = $4, synced_version = $5, synced_seq = $3, synced_at = $6, provenance = $7,
  identification_left_at = CASE WHEN $8 THEN $6 ELSE identification_left_at END,
  status = CASE WHEN change_seq = $3 THEN 'synced' ELSE 'pending' END,
  due_at = CASE WHEN change_seq = $3 THEN NULL ELSE now() END,
  pending_since = CASE WHEN change_seq = $3 THEN NULL ELSE pending_since END,
  lease_until = NULL, attempts = 0, last_error = NULL, updated_at = now()
WHERE tenant_id = $1 AND employee_id = $2`,
			j.TenantID, j.EmployeeID, j.Seq, erpID, int64(j.HR.Version), r.At, prov, r.IdentificationLeft)
		if err != nil {
			return fmt.Errorf("sync store: complete: %w", err)
		}
		return nil
	})
}

func failureJSON(f app.Failure) ([]byte, error) {
	v := map[string]any{"reason": f.Reason.String(), "retriable": f.Retriable, "attempt": f.Attempt, "at": f.At, "error": f.Text}
	if f.ERP != nil {
		v["erp_status"], v["erp_code"], v["erp_message"] = f.ERP.Status, f.ERP.Code, f.ERP.Message
	}
	return json.Marshal(v)
}

// Retry implements app.Store.
func (s *Store) Retry(ctx context.Context, j app.Job, f app.Failure) error {
	return s.failed(ctx, j, f, `
UPDATE employees SET status = 'retrying', attempts = $3, due_at = $4, last_error = $5, lease_until = NULL, updated_at = now()
WHERE tenant_id = $1 AND employee_id = $2`, []any{f.Attempt, f.NextAt}, nil)
}

// parkQuery parks an employee until HR's next change, unless a change
// arrived during the attempt (then it is due again at once).
const parkQuery = `
UPDATE employees SET
  status = CASE WHEN change_seq = $3 THEN $4::text ELSE 'pending' END,
  due_at = CASE WHEN change_seq = $3 THEN NULL ELSE now() END,
  attempts = 0, last_error = $5, lease_until = NULL, updated_at = now()
WHERE tenant_id = $1 AND employee_id = $2`

// Wait implements app.Store.
func (s *Store) Wait(ctx context.Context, j app.Job, f app.Failure) error {
	return s.failed(ctx, j, f, parkQuery, []any{j.Seq, "waiting"}, nil)
}

// Fail implements app.Store.
func (s *Store) Fail(ctx context.Context, j app.Job, f app.Failure) error {
	dead := func(tx pgx.Tx) error {
		var status *int
		code, msg := "", ""
		if f.ERP != nil {
			if f.ERP.Status != 0 {
				status = &f.ERP.Status
			}
			code, msg = f.ERP.Code, f.ERP.Message
		}
		_, err := tx.Exec(ctx, `
INSERT INTO sync_dead_letters (tenant_id, employee_id, connection_id, hr_version, reason, erp_status, erp_code, erp_message)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			j.TenantID, j.EmployeeID, j.ConnectionID, int64(j.HR.Version), f.Reason.String()+": "+f.Text, status, code, msg)
		return err
	}
	return s.failed(ctx, j, f, parkQuery, []any{j.Seq, "failed"}, dead)
}

// failed runs q with $1 tenant, $2 employee, then args, then the failure
// as JSON, and appends SyncFailed.
func (s *Store) failed(ctx context.Context, j app.Job, f app.Failure, q string, args []any, extra func(pgx.Tx) error) error {
	errJSON, err := failureJSON(f)
	if err != nil {
		return err
	}
	rec, err := failedRecord(j, f)
	if err != nil {
		return err
	}
	all := append(append([]any{j.TenantID, j.EmployeeID}, args...), errJSON)
	return s.write(ctx, []outbox.Record{rec}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q, all...); err != nil {
			return fmt.Errorf("sync store: record failure: %w", err)
		}
		if extra != nil {
			if err := extra(tx); err != nil {
				return fmt.Errorf("sync store: dead letter: %w", err)
			}
		}
		return nil
	})
}

// Release implements app.Store.
func (s *Store) Release(ctx context.Context, j app.Job) error {
	_, err := s.pool.Exec(ctx, `UPDATE employees SET lease_until = NULL WHERE tenant_id = $1 AND employee_id = $2`, j.TenantID, j.EmployeeID)
	if err != nil {
		return fmt.Errorf("sync store: release: %w", err)
	}
	return nil
}

// LinkedTo implements app.Store.
func (s *Store) LinkedTo(ctx context.Context, connectionID, erpEmployeeID string) (string, string, bool, error) {
	var tenant, emp string
	err := s.pool.QueryRow(ctx, `SELECT tenant_id::text, employee_id FROM employees WHERE connection_id = $1 AND erp_employee_id = $2`,
		connectionID, erpEmployeeID).Scan(&tenant, &emp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("sync store: link: %w", err)
	}
	return tenant, emp, true, nil
}

// relaxed turns off the wait for the WAL flush at commit in the
// propagator's transactions. What they record (a lease, an ERP write, a
// retry, a dead letter) can always be redone: if a crash loses the last
// commits, the employee is still due, and the next attempt reads the ERP,
// compares and writes nothing twice. The record and its event are lost or
// kept together. The FieldChanged consumer's commits, which ack HR's
// events, stay synchronous.
func relaxed(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return fmt.Errorf("sync store: %w", err)
	}
	return nil
}

// write runs fn and appends recs (validated first) in one transaction.
func (s *Store) write(ctx context.Context, recs []outbox.Record, fn func(tx pgx.Tx) error) error {
	for _, r := range recs {
		if err := protovalidate.Validate(r.Event); err != nil {
			return fmt.Errorf("sync store: invalid %T: %w", r.Event, err)
		}
	}
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := relaxed(ctx, tx); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		for _, r := range recs {
			if _, err := outbox.Append(ctx, tx, s.source, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && len(recs) > 0 {
		s.Published()
	}
	return err
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
	err := s.pool.QueryRow(ctx, `
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
	rows, err := s.pool.Query(ctx, `
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
	tag, err := s.pool.Exec(ctx, `INSERT INTO webhook_deliveries (tenant_id, delivery_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, tenantID, deliveryID)
	if err != nil {
		return false, fmt.Errorf("sync store: webhook delivery: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ForgetDelivery removes a delivery id whose events could not be published,
// so the sender's retry is accepted.
func (s *Store) ForgetDelivery(ctx context.Context, tenantID, deliveryID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND delivery_id = $2`, tenantID, deliveryID)
	return err
}

// PruneDeliveries forgets deliveries older than keep (beyond the accepted
// clock skew a replay is refused by its timestamp anyway).
func (s *Store) PruneDeliveries(ctx context.Context, keep time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE received_at < now() - make_interval(secs => $1)`, keep.Seconds())
	if err != nil {
		return 0, fmt.Errorf("sync store: prune deliveries: %w", err)
	}
	return tag.RowsAffected(), nil
}

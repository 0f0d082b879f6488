package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

var _ app.RunStore = (*Store)(nil)

// previewChunk is how many items a chunk of a preview holds.
const previewChunk = 256

// SavePreview implements app.RunStore: the preview row, then its items in
// chunks with COPY, in one transaction.
func (s *Store) SavePreview(ctx context.Context, p app.PreviewRecord, items []domain.Item) error {
	totals, err := json.Marshal(p.Totals)
	if err != nil {
		return err
	}
	viol := p.Violations
	if viol == nil {
		viol = []app.ViolationRecord{}
	}
	violations, err := json.Marshal(viol)
	if err != nil {
		return err
	}
	// Binary uuid: a string would be tried, refused and re-encoded per row.
	pid, err := uuid.Parse(p.ID)
	if err != nil {
		return fmt.Errorf("sync store: preview id: %w", err)
	}
	rows := make([][]any, 0, len(items)/previewChunk+1)
	for first := 0; first < len(items); first += previewChunk {
		n := min(previewChunk, len(items)-first)
		buf := make([]byte, 0, n*400) // about an employee a side
		for i := range n {
			buf = appendItem(buf, &items[first+i])
		}
		rows = append(rows, []any{pid, int32(first), int32(n), buf})
	}
	return pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
INSERT INTO sync_previews (id, tenant_id, connection_id, kind, created_by, created_at, expires_at, totals, violations, items)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			p.ID, p.TenantID, p.ConnectionID, string(p.Kind), p.CreatedBy, p.CreatedAt, p.ExpiresAt, totals, violations, len(items)); err != nil {
			return fmt.Errorf("sync store: save preview: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"sync_preview_chunks"}, []string{"preview_id", "first_seq", "items", "data"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("sync store: save preview items: %w", err)
		}
		return nil
	})
}

// Preview implements app.RunStore.
func (s *Store) Preview(ctx context.Context, tenantID, id string) (app.PreviewRecord, error) {
	var (
		p                  app.PreviewRecord
		kind               string
		totals, violations []byte
	)
	err := s.db.QueryRow(ctx, `
SELECT id::text, tenant_id::text, connection_id::text, kind, created_by::text, created_at, expires_at, totals, violations, items
FROM sync_previews WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(
		&p.ID, &p.TenantID, &p.ConnectionID, &kind, &p.CreatedBy, &p.CreatedAt, &p.ExpiresAt, &totals, &violations, &p.Items)
	if errors.Is(err, pgx.ErrNoRows) {
		return app.PreviewRecord{}, app.ErrNotFound
	}
	if err != nil {
		return app.PreviewRecord{}, fmt.Errorf("sync store: preview: %w", err)
	}
	p.Kind = app.RunKind(kind)
	if err := json.Unmarshal(totals, &p.Totals); err != nil {
		return app.PreviewRecord{}, err
	}
	if err := json.Unmarshal(violations, &p.Violations); err != nil {
		return app.PreviewRecord{}, err
	}
	return p, nil
}

// chunks decodes the preview's chunks that hold seqs lo..hi, calling fn
// with each item in that range.
func (s *Store) chunks(ctx context.Context, previewID string, lo, hi int, fn func(seq int, it domain.Item) error) error {
	rows, err := s.db.Query(ctx, `
SELECT first_seq, items, data FROM sync_preview_chunks
WHERE preview_id = $1 AND first_seq <= $3 AND first_seq + items > $2
ORDER BY first_seq`, previewID, lo, hi)
	if err != nil {
		return fmt.Errorf("sync store: preview items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var first, n int32
		if err := rows.Scan(&first, &n, rowBytes{decode: func(b []byte) error {
			return decodeChunk(b, int(n), func(i int, it domain.Item) error {
				if seq := int(first) + i; seq >= lo && seq <= hi {
					return fn(seq, it)
				}
				return nil
			})
		}}); err != nil {
			return fmt.Errorf("sync store: preview %s chunk %d: %w", previewID, first, err)
		}
	}
	return rows.Err()
}

// PreviewItems implements app.RunStore.
func (s *Store) PreviewItems(ctx context.Context, previewID string) ([]domain.Item, error) {
	var out []domain.Item
	err := s.chunks(ctx, previewID, 0, math.MaxInt32, func(seq int, it domain.Item) error {
		if seq != len(out) {
			return fmt.Errorf("item %d missing", len(out))
		}
		out = append(out, it)
		return nil
	})
	return out, err
}

// rowBytes decodes a bytea column straight from the row's buffer.
type rowBytes struct{ decode func([]byte) error }

func (r rowBytes) ScanBytes(b []byte) error { return r.decode(b) }

// Links implements app.RunStore.
func (s *Store) Links(ctx context.Context, connectionID string) (map[string]string, error) {
	rows, err := s.db.Query(ctx, `SELECT employee_id, erp_employee_id FROM employees WHERE connection_id = $1 AND erp_employee_id IS NOT NULL`, connectionID)
	if err != nil {
		return nil, fmt.Errorf("sync store: links: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var h, e string
		if err := rows.Scan(&h, &e); err != nil {
			return nil, fmt.Errorf("sync store: links: %w", err)
		}
		out[h] = e
	}
	return out, rows.Err()
}

// LinkedHR implements app.RunStore.
func (s *Store) LinkedHR(ctx context.Context, connectionID, erpEmployeeID string) (string, bool, error) {
	_, emp, found, err := s.LinkedTo(ctx, connectionID, erpEmployeeID)
	return emp, found, err
}

// decisionsJSON is domain.Decisions as stored (resolutions as a list).
type decisionsJSON struct {
	DefaultWinner domain.Side          `json:"defaultWinner"`
	Missing       domain.MissingPolicy `json:"missing"`
	AddToERP      bool                 `json:"addToErp"`
	AddToHR       bool                 `json:"addToHr"`
	Resolutions   []resolutionJSON     `json:"resolutions,omitempty"`
}

type resolutionJSON struct {
	HRID   string       `json:"hrId"`
	Field  domain.Field `json:"field"`
	Winner domain.Side  `json:"winner"`
}

func encodeDecisions(d domain.Decisions) ([]byte, error) {
	j := decisionsJSON{DefaultWinner: d.DefaultWinner, Missing: d.Missing, AddToERP: d.AddToERP, AddToHR: d.AddToHR}
	for k, w := range d.Resolutions {
		j.Resolutions = append(j.Resolutions, resolutionJSON{HRID: k.HRID, Field: k.Field, Winner: w})
	}
	return json.Marshal(j)
}

func decodeDecisions(b []byte) (domain.Decisions, error) {
	var j decisionsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return domain.Decisions{}, err
	}
	d := domain.Decisions{DefaultWinner: j.DefaultWinner, Missing: j.Missing, AddToERP: j.AddToERP, AddToHR: j.AddToHR}
	if len(j.Resolutions) > 0 {
		d.Resolutions = make(map[domain.ResolutionKey]domain.Side, len(j.Resolutions))
		for _, r := range j.Resolutions {
			d.Resolutions[domain.ResolutionKey{HRID: r.HRID, Field: r.Field}] = r.Winner
		}
	}
	return d, nil
}

// CreateRun implements app.RunStore.
func (s *Store) CreateRun(ctx context.Context, r app.Run, seqs []int) error {
	dec, err := encodeDecisions(r.Decisions)
	if err != nil {
		return err
	}
	return pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// The connection's status again, under its row lock: the caller
		// read it before this transaction, and a first synchronisation
		// finishing meanwhile activates the connection (FinishRun, which
		// takes the same lock) and leaves no unfinished run to stop a
		// second one.
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM connections WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, r.ConnectionID, r.TenantID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return app.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("sync store: create run: %w", err)
		}
		if want := app.WantStatus(r.Kind); app.ConnStatus(status) != want {
			return fmt.Errorf("%w: the connection is %s now (a %s starts from %s)", app.ErrWrongState, status, r.Kind, want)
		}
		// Checked first so the answer does not depend on which unique
		// index Postgres happens to try first.
		var used bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sync_runs WHERE preview_id = $1)`, r.PreviewID).Scan(&used); err != nil {
			return fmt.Errorf("sync store: create run: %w", err)
		}
		if used {
			return app.ErrPreviewUsed
		}
		_, err = tx.Exec(ctx, `
INSERT INTO sync_runs (id, tenant_id, connection_id, preview_id, kind, status, decisions, recipients, started_by, started_at,
  total, unchanged, skipped, affected, threshold_total, threshold_percent, report_language)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			r.ID, r.TenantID, r.ConnectionID, r.PreviewID, string(r.Kind), string(r.Status), dec, r.Recipients, r.StartedBy, r.StartedAt,
			r.Total, r.Counts.Unchanged, r.Counts.Skipped, r.Affected, r.ThresholdTotal, r.ThresholdPercent, r.Language)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			if pe.ConstraintName == "sync_runs_one_unfinished" {
				return app.ErrRunUnfinished
			}
			return app.ErrPreviewUsed
		}
		if err != nil {
			return fmt.Errorf("sync store: create run: %w", err)
		}
		rid, err := uuid.Parse(r.ID)
		if err != nil {
			return fmt.Errorf("sync store: run id: %w", err)
		}
		rows := make([][]any, len(seqs))
		for i, seq := range seqs {
			rows[i] = []any{rid, int32(seq), "pending"}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"sync_run_items"}, []string{"run_id", "seq", "state"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("sync store: create run items: %w", err)
		}
		return nil
	})
}

const runColumns = `id::text, tenant_id::text, connection_id::text, preview_id::text, kind, status, COALESCE(outcome, ''), decisions,
  recipients, started_by::text, started_at, completed_at, total, done, created_in_erp, created_in_hr, updated_in_erp,
  updated_in_hr, conflicts, unchanged, failed, skipped, affected, threshold_total, threshold_percent,
  COALESCE(confirmed_by::text, ''), error, report_sent_at, report_error, report_language`

func scanRun(r pgx.Row) (app.Run, error) {
	var (
		run                     app.Run
		kind, status, outcome   string
		dec                     []byte
		completed, reportSentAt *time.Time
		c                       = &run.Counts
	)
	err := r.Scan(&run.ID, &run.TenantID, &run.ConnectionID, &run.PreviewID, &kind, &status, &outcome, &dec,
		&run.Recipients, &run.StartedBy, &run.StartedAt, &completed, &run.Total, &run.Done, &c.CreatedInERP, &c.CreatedInHR,
		&c.UpdatedInERP, &c.UpdatedInHR, &c.Conflicts, &c.Unchanged, &c.Failed, &c.Skipped, &run.Affected,
		&run.ThresholdTotal, &run.ThresholdPercent, &run.ConfirmedBy, &run.Error, &reportSentAt, &run.ReportError, &run.Language)
	if errors.Is(err, pgx.ErrNoRows) {
		return app.Run{}, app.ErrNotFound
	}
	if err != nil {
		return app.Run{}, fmt.Errorf("sync store: run: %w", err)
	}
	run.Kind, run.Status, run.Outcome = app.RunKind(kind), app.RunStatus(status), app.RunStatus(outcome)
	if completed != nil {
		run.CompletedAt = *completed
	}
	if reportSentAt != nil {
		run.ReportSentAt = *reportSentAt
	}
	if run.Decisions, err = decodeDecisions(dec); err != nil {
		return app.Run{}, fmt.Errorf("sync store: run decisions: %w", err)
	}
	return run, nil
}

// Run implements app.RunStore.
func (s *Store) Run(ctx context.Context, tenantID, id string) (app.Run, error) {
	return scanRun(s.db.QueryRow(ctx, `SELECT `+runColumns+` FROM sync_runs WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// RunFailures implements app.RunStore.
func (s *Store) RunFailures(ctx context.Context, runID string, limit int) ([]app.ItemFailure, error) {
	rows, err := s.db.Query(ctx, `SELECT outcome FROM sync_run_items WHERE run_id = $1 AND state = 'failed' ORDER BY seq LIMIT $2`, runID, limit)
	if err != nil {
		return nil, fmt.Errorf("sync store: run failures: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.ItemFailure, error) {
		var raw []byte
		if err := r.Scan(&raw); err != nil {
			return app.ItemFailure{}, err
		}
		var o app.ItemOutcome
		if err := json.Unmarshal(raw, &o); err != nil {
			return app.ItemFailure{}, err
		}
		return app.ItemFailure{HRID: o.HRID, ERPID: o.ERPID, Email: o.Email, Name: o.Name, Reason: app.FailureReason(o.Reason), Message: o.Message}, nil
	})
}

// SetRunStatus implements app.RunStore.
func (s *Store) SetRunStatus(ctx context.Context, tenantID, id string, from, to app.RunStatus, by string) (app.Run, error) {
	run, err := scanRun(s.db.QueryRow(ctx, `
UPDATE sync_runs SET status = $4,
  confirmed_by = CASE WHEN $4 = 'running' THEN $5::uuid ELSE confirmed_by END,
  completed_at = CASE WHEN $4 = 'cancelled' THEN now() ELSE completed_at END,
  updated_at = now()
WHERE tenant_id = $1 AND id = $2 AND status = $3
RETURNING `+runColumns, tenantID, id, string(from), string(to), by))
	if errors.Is(err, app.ErrNotFound) {
		cur, gerr := s.Run(ctx, tenantID, id)
		if gerr != nil {
			return app.Run{}, gerr
		}
		return app.Run{}, fmt.Errorf("%w: the run is %s, not %s", app.ErrWrongState, cur.Status, from)
	}
	return run, err
}

// ClaimRun implements app.RunStore.
func (s *Store) ClaimRun(ctx context.Context, owner string, lease time.Duration) (app.Run, bool, error) {
	run, err := scanRun(s.db.QueryRow(ctx, `
UPDATE sync_runs SET lease_owner = $1, lease_until = now() + make_interval(secs => $2), updated_at = now()
WHERE id = (
  SELECT id FROM sync_runs
  WHERE status IN ('running', 'reporting') AND (lease_until IS NULL OR lease_until < now())
  ORDER BY started_at LIMIT 1
  FOR UPDATE SKIP LOCKED)
RETURNING `+runColumns, owner, lease.Seconds()))
	if errors.Is(err, app.ErrNotFound) {
		return app.Run{}, false, nil
	}
	if err != nil {
		return app.Run{}, false, err
	}
	return run, true, nil
}

// ExtendLease implements app.RunStore.
func (s *Store) ExtendLease(ctx context.Context, runID, owner string, lease time.Duration) (time.Time, error) {
	var until time.Time
	err := s.db.QueryRow(ctx, `
UPDATE sync_runs SET lease_until = now() + make_interval(secs => $3)
WHERE id = $1 AND lease_owner = $2 AND status IN ('running', 'reporting')
RETURNING lease_until`, runID, owner, lease.Seconds()).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, app.ErrLeaseLost
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("sync store: extend lease: %w", err)
	}
	return until, nil
}

// PendingItems implements app.RunStore: the pending seqs, then the chunks
// that hold them.
func (s *Store) PendingItems(ctx context.Context, run app.Run, afterSeq, limit int) ([]app.RunItem, error) {
	rows, err := s.db.Query(ctx, `
SELECT seq FROM sync_run_items WHERE run_id = $1 AND state = 'pending' AND seq > $2 ORDER BY seq LIMIT $3`, run.ID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("sync store: pending items: %w", err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("sync store: pending items: %w", err)
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	want := make(map[int]int, len(seqs)) // seq -> index in out
	out := make([]app.RunItem, len(seqs))
	for i, seq := range seqs {
		want[int(seq)] = i
		out[i].Seq = int(seq)
	}
	found := 0
	err = s.chunks(ctx, run.PreviewID, int(seqs[0]), int(seqs[len(seqs)-1]), func(seq int, it domain.Item) error {
		if i, ok := want[seq]; ok {
			out[i].Item = it
			found++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found != len(seqs) {
		return nil, fmt.Errorf("sync store: run %s: %d of %d pending items are not in preview %s", run.ID, len(seqs)-found, len(seqs), run.PreviewID)
	}
	return out, nil
}

// linkRow is an employee's row as RecordItems finds it.
type linkRow struct {
	hr        domain.HRState
	changeSeq int64
	syncedSeq int64
	prov      map[erp.Field]domain.Provenance
}

// RecordItems implements app.RunStore: in one transaction, after checking
// the lease is still owner's — each item's state and outcome, the run's
// counts, every synchronised employee's link (its HR record merged as a
// snapshot at HR's version, so real-time sync carries on from there), and
// the events (EmployeeSynced per direction written, SyncFailed per
// failure).
func (s *Store) RecordItems(ctx context.Context, run app.Run, owner string, outcomes []app.ItemOutcome) error {
	var emps []string
	for _, o := range outcomes {
		if !o.Failed && o.HRID != "" && o.ERPID != "" {
			emps = append(emps, o.HRID)
		}
	}
	existing := map[string]*linkRow{}
	leased := false
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(`SELECT 1 FROM sync_runs WHERE id = $1 AND lease_owner = $2 AND status = 'running' FOR UPDATE`, run.ID, owner).Query(func(rows pgx.Rows) error {
		leased = rows.Next()
		rows.Close()
		return rows.Err()
	})
	b.Queue(`
SELECT employee_id, hr, change_seq, synced_seq, provenance FROM employees
WHERE tenant_id = $1 AND employee_id = ANY($2::text[])
ORDER BY tenant_id, employee_id
FOR UPDATE`, run.TenantID, emps).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				id       string
				hr, prov []byte
				r        linkRow
			)
			if err := rows.Scan(&id, &hr, &r.changeSeq, &r.syncedSeq, &prov); err != nil {
				return err
			}
			if err := json.Unmarshal(hr, &r.hr); err != nil {
				return err
			}
			if err := json.Unmarshal(prov, &r.prov); err != nil {
				return err
			}
			existing[id] = &r
		}
		return rows.Err()
	})
	err := s.inTxAfter(ctx, b, func(tx pgx.Tx) error {
		if !leased {
			return app.ErrLeaseLost
		}
		w := &pgx.Batch{}
		var (
			d      app.Counts
			done   = 0
			events []outbox.Record
		)
		for _, o := range outcomes {
			raw, err := json.Marshal(o)
			if err != nil {
				return err
			}
			state := "done"
			if o.Failed {
				state = "failed"
			}
			w.Queue(`UPDATE sync_run_items SET state = $3, outcome = $4 WHERE run_id = $1 AND seq = $2 AND state = 'pending'`, run.ID, o.Seq, state, raw)
			done++
			if o.Failed {
				d.Failed++
				rec, err := runFailedRecord(run, o)
				if err != nil {
					return err
				}
				if err := validEvent(rec); err != nil {
					return err
				}
				events = append(events, rec)
				continue
			}
			switch o.Action {
			case domain.ActionCreateInERP:
				d.CreatedInERP++
			case domain.ActionCreateInHR:
				d.CreatedInHR++
			default:
				if len(o.WroteERP) > 0 {
					d.UpdatedInERP++
				}
				if len(o.WroteHR) > 0 {
					d.UpdatedInHR++
				}
			}
			if o.Conflicts > 0 {
				d.Conflicts++
			}
			if o.HRID != "" && o.ERPID != "" {
				if err := queueLink(w, run, o, existing[o.HRID]); err != nil {
					return err
				}
			}
			for _, rec := range runSyncedRecords(run, o) {
				if err := validEvent(rec); err != nil {
					return err
				}
				events = append(events, rec)
			}
		}
		if _, err := outbox.QueueAppendBatch(ctx, w, s.source, events); err != nil {
			return err
		}
		w.Queue(`
UPDATE sync_runs SET done = done + $2, created_in_erp = created_in_erp + $3, created_in_hr = created_in_hr + $4,
  updated_in_erp = updated_in_erp + $5, updated_in_hr = updated_in_hr + $6, conflicts = conflicts + $7,
  failed = failed + $8, updated_at = now()
WHERE id = $1`, run.ID, done, d.CreatedInERP, d.CreatedInHR, d.UpdatedInERP, d.UpdatedInHR, d.Conflicts, d.Failed)
		if err := tx.SendBatch(ctx, w).Close(); err != nil {
			return fmt.Errorf("sync store: record run items: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Published()
	return nil
}

// queueLink records a synchronised employee's link and HR record. The HR
// record is merged as a snapshot at HR's version: a change HR sent since
// (a higher version, held while the connection waited for this sync) stays
// newer and keeps the employee due.
func queueLink(b *pgx.Batch, run app.Run, o app.ItemOutcome, cur *linkRow) error {
	snap := domain.Change{Op: domain.OpSnapshot, Version: max(o.HRVersion, 1), ChangedAt: o.At, Values: o.HRValues}
	prov := map[erp.Field]domain.Provenance{}
	if cur != nil {
		prov = cur.prov
		if prov == nil {
			prov = map[erp.Field]domain.Provenance{}
		}
	}
	wrote := map[erp.Field]bool{}
	for _, f := range o.WroteERP {
		for _, ef := range domain.ERPFields[f] {
			wrote[ef] = true
		}
	}
	for _, f := range erp.Fields {
		if wrote[f] {
			prov[f] = domain.Provenance{System: domain.SystemHR, At: o.At, HRVersion: snap.Version, Note: "written by sync run " + run.ID}
		} else if _, ok := prov[f]; !ok || cur == nil {
			prov[f] = domain.Provenance{System: domain.SystemERP, At: o.At, HRVersion: snap.Version, Note: "as the ERP had it at sync run " + run.ID}
		}
	}
	provJSON, err := json.Marshal(prov)
	if err != nil {
		return err
	}
	// The run's match is authoritative: an older link of this ERP employee
	// to another HR employee of the connection goes.
	b.Queue(`UPDATE employees SET erp_employee_id = NULL WHERE connection_id = $1 AND erp_employee_id = $2 AND NOT (tenant_id = $3 AND employee_id = $4)`,
		run.ConnectionID, o.ERPID, run.TenantID, o.HRID)
	if cur == nil {
		var st domain.HRState
		st.Apply(snap)
		hr, err := json.Marshal(st)
		if err != nil {
			return err
		}
		b.Queue(`
INSERT INTO employees (tenant_id, employee_id, connection_id, hr, hr_version, change_seq, erp_employee_id, synced_version,
  synced_seq, synced_at, provenance, status)
VALUES ($1, $2, $3, $4, $5, 1, $6, $5, 1, $7, $8, 'synced')`,
			run.TenantID, o.HRID, run.ConnectionID, hr, int64(st.Version), o.ERPID, o.At, provJSON)
		return nil
	}
	st := cur.hr
	st.Apply(snap)
	hr, err := json.Marshal(st)
	if err != nil {
		return err
	}
	// Synced unless HR's state is newer than what the run wrote from.
	synced := st.Version <= snap.Version && cur.changeSeq >= cur.syncedSeq
	b.Queue(`
UPDATE employees SET hr = $3, hr_version = $4, connection_id = $5, erp_employee_id = $6, provenance = $7, updated_at = now(),
  synced_version = CASE WHEN $8 THEN $4 ELSE synced_version END,
  synced_seq = CASE WHEN $8 THEN change_seq ELSE synced_seq END,
  synced_at = CASE WHEN $8 THEN $9 ELSE synced_at END,
  status = CASE WHEN $8 THEN 'synced' ELSE status END,
  due_at = CASE WHEN $8 THEN NULL ELSE due_at END,
  pending_since = CASE WHEN $8 THEN NULL ELSE pending_since END,
  attempts = CASE WHEN $8 THEN 0 ELSE attempts END
WHERE tenant_id = $1 AND employee_id = $2`,
		run.TenantID, o.HRID, hr, int64(st.Version), run.ConnectionID, o.ERPID, provJSON, synced, o.At)
	return nil
}

// RunSubject is where a run's own events go: sync.v1.<tenant>.run.<id>.<verb>.
func RunSubject(tenantID, runID, verb string) string {
	return "sync.v1." + tenantID + ".run." + runID + "." + verb
}

func runSyncedRecords(run app.Run, o app.ItemOutcome) []outbox.Record {
	var out []outbox.Record
	add := func(dir syncv1.SyncDirection, created bool, fields []domain.Field) {
		if len(fields) == 0 {
			return
		}
		action := syncv1.EmployeeSyncAction_EMPLOYEE_SYNC_ACTION_UPDATED
		if created {
			action = syncv1.EmployeeSyncAction_EMPLOYEE_SYNC_ACTION_CREATED
		}
		hf := make([]hrv1.EmployeeField, len(fields))
		for i, f := range fields {
			hf[i] = hrv1.EmployeeField(f)
		}
		ev := &syncv1.EmployeeSynced{
			TenantId: run.TenantID, OccurredAt: timestamppb.New(o.At), ConnectionId: run.ConnectionID, EmployeeId: o.HRID,
			ErpEmployeeId: o.ERPID, Direction: dir, Action: action, FieldsWritten: hf, RunId: &run.ID,
		}
		if dir == syncv1.SyncDirection_SYNC_DIRECTION_HR_TO_ERP {
			ev.HrVersion = max(o.HRVersion, 1)
		}
		out = append(out, outbox.Record{Subject: Subject(run.TenantID, o.HRID, "synced"), Aggregate: "employee/" + run.TenantID + "/" + o.HRID, Event: ev})
	}
	add(syncv1.SyncDirection_SYNC_DIRECTION_HR_TO_ERP, o.Action == domain.ActionCreateInERP, o.WroteERP)
	add(syncv1.SyncDirection_SYNC_DIRECTION_ERP_TO_HR, o.Action == domain.ActionCreateInHR, o.WroteHR)
	return out
}

func runFailedRecord(run app.Run, o app.ItemOutcome) (outbox.Record, error) {
	ev := &syncv1.SyncFailed{
		TenantId: run.TenantID, OccurredAt: timestamppb.New(o.At), ConnectionId: run.ConnectionID, RunId: &run.ID,
		Reason: syncv1.SyncFailureReason(o.Reason), Retriable: false, Attempt: 1,
	}
	switch app.FailureReason(o.Reason) {
	case app.ReasonRejected, app.ReasonDuplicateEmail, app.ReasonUnavailable, app.ReasonRateLimited:
		if o.Action != domain.ActionCreateInHR {
			ev.ErpError = &syncv1.ErpError{Message: truncate(o.Message, 1000)}
		}
	}
	subject, aggregate := RunSubject(run.TenantID, run.ID, "failed"), "run/"+run.TenantID+"/"+run.ID
	if o.HRID != "" {
		ev.EmployeeId = &o.HRID
		if o.HRVersion > 0 {
			v := o.HRVersion
			ev.HrVersion = &v
		}
		subject, aggregate = Subject(run.TenantID, o.HRID, "failed"), "employee/"+run.TenantID+"/"+o.HRID
	}
	return outbox.Record{Subject: subject, Aggregate: aggregate, Event: ev}, nil
}

// FinishRun implements app.RunStore.
func (s *Store) FinishRun(ctx context.Context, run app.Run, owner string, outcome app.RunStatus, errText string) (app.Run, error) {
	var out app.Run
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// The connection's row lock first, as CreateRun takes it, so the
		// two never wait on each other the other way round.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM connections WHERE id = $1 FOR UPDATE`, run.ConnectionID); err != nil {
			return fmt.Errorf("sync store: finish run: %w", err)
		}
		var err error
		out, err = scanRun(tx.QueryRow(ctx, `
UPDATE sync_runs SET status = 'reporting', error = $4, completed_at = now(), updated_at = now(),
  outcome = CASE WHEN $3 = 'failed' THEN 'failed' WHEN failed > 0 THEN 'partially_failed' ELSE 'succeeded' END
WHERE id = $1 AND lease_owner = $2 AND status = 'running'
RETURNING `+runColumns, run.ID, owner, string(outcome), errText))
		if errors.Is(err, app.ErrNotFound) {
			return app.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		if out.Kind == app.KindFirstSync && out.Outcome != app.RunFailed {
			if _, err := tx.Exec(ctx, `UPDATE connections SET status = 'active', updated_at = now() WHERE id = $1 AND status = 'pending_first_sync'`, out.ConnectionID); err != nil {
				return fmt.Errorf("sync store: activate connection: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// RunStatusProto is a run status in the contract's terms.
func RunStatusProto(s app.RunStatus) syncv1.SyncRunStatus {
	switch s {
	case app.RunAwaiting:
		return syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION
	case app.RunRunning, app.RunReporting:
		return syncv1.SyncRunStatus_SYNC_RUN_STATUS_RUNNING
	case app.RunSucceeded:
		return syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED
	case app.RunPartiallyFailed:
		return syncv1.SyncRunStatus_SYNC_RUN_STATUS_PARTIALLY_FAILED
	case app.RunFailed:
		return syncv1.SyncRunStatus_SYNC_RUN_STATUS_FAILED
	case app.RunCancelled:
		return syncv1.SyncRunStatus_SYNC_RUN_STATUS_CANCELLED
	}
	return syncv1.SyncRunStatus_SYNC_RUN_STATUS_UNSPECIFIED
}

// CountsProto is a run's counts in the contract's terms.
func CountsProto(c app.Counts) *syncv1.SyncCounts {
	return &syncv1.SyncCounts{
		CreatedInErp: uint32(c.CreatedInERP), CreatedInHr: uint32(c.CreatedInHR), UpdatedInErp: uint32(c.UpdatedInERP),
		UpdatedInHr: uint32(c.UpdatedInHR), Conflicts: uint32(c.Conflicts), Unchanged: uint32(c.Unchanged),
		Failed: uint32(c.Failed), Skipped: uint32(c.Skipped),
	}
}

// KindProto is a run kind in the contract's terms.
func KindProto(k app.RunKind) syncv1.SyncRunKind {
	if k == app.KindFirstSync {
		return syncv1.SyncRunKind_SYNC_RUN_KIND_FIRST_SYNC
	}
	return syncv1.SyncRunKind_SYNC_RUN_KIND_MANUAL
}

// CompleteRun implements app.RunStore: the final status, and
// SyncRunCompleted through the outbox in the same transaction when the
// report went out.
func (s *Store) CompleteRun(ctx context.Context, run app.Run, owner string, sentTo []string, reportErr string, at time.Time) error {
	var rec *outbox.Record
	if len(sentTo) > 0 {
		at = maxTime(at, run.StartedAt)
		rec = &outbox.Record{Subject: RunSubject(run.TenantID, run.ID, "completed"), Aggregate: "run/" + run.TenantID + "/" + run.ID,
			Event: &syncv1.SyncRunCompleted{
				TenantId: run.TenantID, OccurredAt: timestamppb.New(at), ConnectionId: run.ConnectionID, RunId: run.ID,
				Kind: KindProto(run.Kind), Status: RunStatusProto(run.Outcome), StartedAt: timestamppb.New(run.StartedAt),
				Counts: CountsProto(run.Counts), ReportSentTo: sentTo,
			}}
	}
	if rec != nil {
		if err := validEvent(*rec); err != nil {
			return err
		}
	}
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE sync_runs SET status = outcome, report_error = $3, updated_at = now(), lease_owner = NULL, lease_until = NULL,
  report_sent_at = CASE WHEN $4 THEN $5::timestamptz ELSE NULL END
WHERE id = $1 AND lease_owner = $2 AND status = 'reporting'`, run.ID, owner, reportErr, rec != nil, at)
		if err != nil {
			return fmt.Errorf("sync store: complete run: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return app.ErrLeaseLost
		}
		if rec != nil {
			if _, err := outbox.Append(ctx, tx, s.source, *rec); err != nil {
				return fmt.Errorf("sync store: SyncRunCompleted: %w", err)
			}
		}
		return nil
	})
	if err == nil && rec != nil {
		s.Published()
	}
	return err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// validEvent refuses an event its consumers would refuse (its contract's
// rules), before anything is written.
func validEvent(rec outbox.Record) error {
	if err := protovalidate.Validate(rec.Event); err != nil {
		return fmt.Errorf("sync store: invalid %T: %w", rec.Event, err)
	}
	return nil
}

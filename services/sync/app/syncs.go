package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/hr"
)

// ErrKeyRefused: the ERP refuses the connection's stored API key; an admin
// rotates it.
var ErrKeyRefused = errors.New("the ERP refuses the connection's API key; rotate it (RotateConnectionKey)")

// Syncs are the admin's use cases around a connection (seed 004, steps 1
// to 3 and "How to sync users"): connect, rotate, delete; preview a first
// or manual synchronisation, apply the admin's decisions to it as a run,
// confirm or cancel a run over the threshold, follow it. Runs are carried
// out by the Executor.
type Syncs struct {
	Connections ConnectionStore
	Runs        RunStore
	ERP         ERPDialer
	HR          hr.Connector
	// Tenants is identity: a tenant's companies (a connection per company
	// names one of them) and its language (the report's). Nil: no
	// connection per company can be made and every report is in English.
	Tenants TenantDirectory
	// Resolver, when set, forgets a tenant's cached connections after a
	// rotation or deletion here.
	Resolver *Resolver
	// ThresholdPercent stops a run that would overwrite or clear values of
	// more than this share of the employees (default 20).
	ThresholdPercent int
	// PreviewTTL is how long a preview can be applied (default 24h).
	PreviewTTL time.Duration
	// Kick wakes the executor (a run to carry out).
	Kick func()
	Now  func() time.Time
	Log  *slog.Logger
}

func (s *Syncs) threshold() int {
	if s.ThresholdPercent <= 0 {
		return 20
	}
	return s.ThresholdPercent
}

func (s *Syncs) kick() {
	if s.Kick != nil {
		s.Kick()
	}
}

// WantStatus is the connection status a run of kind starts from: a first
// synchronisation from a pending connection, the others from an active one.
func WantStatus(kind RunKind) ConnStatus {
	if kind == KindFirstSync {
		return ConnPending
	}
	return ConnActive
}

func stateError(kind RunKind, c Connection) error {
	if kind == KindFirstSync {
		return fmt.Errorf("%w: the first synchronisation is done (connection %s); use synchronize users", ErrWrongState, c.Status)
	}
	return fmt.Errorf("%w: synchronize users needs an active connection (this one is %s: run the first synchronisation)", ErrWrongState, c.Status)
}

// Preview reads both sides and compares them (no writes to either), then
// keeps the comparison for the run that applies the admin's decisions.
func (s *Syncs) Preview(ctx context.Context, by Actor, tenantID, connectionID string, kind RunKind) (Preview, error) {
	if err := authorize(by, tenantID); err != nil {
		return Preview{}, err
	}
	conn, key, err := s.Connections.ConnectionKey(ctx, tenantID, connectionID)
	if err != nil {
		return Preview{}, err
	}
	if conn.Status != WantStatus(kind) {
		return Preview{}, stateError(kind, conn)
	}
	ec, err := s.ERP.Dial(key)
	if err != nil {
		return Preview{}, fmt.Errorf("erp connector: %w", err)
	}
	var (
		erps           []erp.Employee
		hrs            []hr.Employee
		erpErr, hrErr  error
		links          map[string]string
		linkErr        error
		wg             sync.WaitGroup
		lctx, cancel   = context.WithCancel(ctx)
		started        = s.now()
		hrDur, erpDur  time.Duration
		readHR, readER = func() { t := time.Now(); hrs, hrErr = s.HR.List(lctx, tenantID, conn.CompanyID); hrDur = time.Since(t) },
			func() { t := time.Now(); erps, erpErr = ec.List(lctx); erpDur = time.Since(t) }
	)
	defer cancel()
	wg.Go(readHR)
	wg.Go(readER)
	if kind == KindManual {
		links, linkErr = s.Runs.Links(ctx, connectionID)
	}
	wg.Wait()
	switch {
	case erpErr != nil && errors.Is(erpErr, erp.ErrUnauthorized):
		return Preview{}, ErrKeyRefused
	case erpErr != nil && !errors.Is(erpErr, context.Canceled):
		return Preview{}, &UnavailableError{Dependency: "the ERP", Err: erpErr}
	case hrErr != nil && !errors.Is(hrErr, context.Canceled):
		return Preview{}, &UnavailableError{Dependency: "HR", Err: hrErr}
	case erpErr != nil:
		return Preview{}, erpErr
	case hrErr != nil:
		return Preview{}, hrErr
	case linkErr != nil:
		return Preview{}, linkErr
	}
	records := make([]domain.HRRecord, len(hrs))
	for i := range hrs {
		h := &hrs[i]
		records[i] = domain.HRRecord{ID: h.ID, Version: h.Version, CompanyID: h.CompanyID, Values: h.Values}
	}
	hrs = nil // the records hold what is needed; let the rest go
	compared := time.Now()
	cmp := domain.Compare(records, erps, links)
	compareDur := time.Since(compared)
	rec := PreviewRecord{
		ID: uuid.NewString(), TenantID: tenantID, ConnectionID: connectionID, Kind: kind, CreatedBy: by.UserID,
		CreatedAt: started, ExpiresAt: started.Add(s.previewTTL()), Totals: cmp.Totals, Items: len(cmp.Items),
	}
	for _, v := range cmp.Violations {
		if len(rec.Violations) == MaxStoredViolations {
			break
		}
		rec.Violations = append(rec.Violations, violationRecord(&cmp.Items[v.Item], v))
	}
	saved := time.Now()
	if err := s.Runs.SavePreview(ctx, rec, cmp.Items); err != nil {
		return Preview{}, err
	}
	s.log().InfoContext(ctx, "sync preview", "tenant_id", tenantID, "connection_id", connectionID, "kind", string(kind),
		"preview_id", rec.ID, "hr", cmp.Totals.HR, "erp", cmp.Totals.ERP, "matched", cmp.Totals.Matched,
		"conflicts", cmp.Totals.Conflicts, "violations", cmp.Totals.Violations, "read_hr", hrDur, "read_erp", erpDur,
		"compare", compareDur, "save", time.Since(saved), "took", s.now().Sub(started))
	return Preview{PreviewRecord: rec, Comparison: cmp}, nil
}

func (s *Syncs) previewTTL() time.Duration {
	if s.PreviewTTL <= 0 {
		return 24 * time.Hour
	}
	return s.PreviewTTL
}

func violationRecord(it *domain.Item, v domain.Violation) ViolationRecord {
	r := ViolationRecord{Kind: v.Kind, Field: v.Field, Value: v.Value, Detail: v.Detail, Email: it.Email(), Name: it.Name()}
	if it.HR != nil {
		r.HRID = it.HR.ID
	}
	if it.ERP != nil {
		r.ERPID = it.ERP.ID
	}
	return r
}

// Resolution is one per-employee, per-field choice.
type Resolution struct {
	HRID   string
	Field  domain.Field
	Winner domain.Side
}

// ApplyInput is the admin's decisions on a preview.
type ApplyInput struct {
	PreviewID         string
	DefaultWinner     domain.Side
	Resolutions       []Resolution
	Missing           domain.MissingPolicy
	AddToERP, AddToHR bool
	// Recipients of the report; empty: the admin.
	Recipients []string
}

// Apply turns the admin's decisions on a preview into a run. Every
// employee is planned now: when the run would overwrite or clear values of
// more employees than the threshold allows it waits for confirmation,
// otherwise the executor starts it at once.
func (s *Syncs) Apply(ctx context.Context, by Actor, tenantID, connectionID string, kind RunKind, in ApplyInput) (Run, error) {
	if err := authorize(by, tenantID); err != nil {
		return Run{}, err
	}
	conn, err := s.Connections.Connection(ctx, tenantID, connectionID)
	if err != nil {
		return Run{}, err
	}
	if conn.Status != WantStatus(kind) {
		return Run{}, stateError(kind, conn)
	}
	p, err := s.Runs.Preview(ctx, tenantID, in.PreviewID)
	if errors.Is(err, ErrNotFound) || (err == nil && p.ConnectionID != connectionID) {
		return Run{}, &FieldError{Field: "preview_id", Reason: "no such preview of this connection", Err: ErrNotFound}
	}
	if err != nil {
		return Run{}, err
	}
	if p.Kind != kind {
		return Run{}, Invalid("preview_id", "this preview is for a %s, not a %s", p.Kind, kind)
	}
	if s.now().After(p.ExpiresAt) {
		return Run{}, ErrPreviewExpired
	}
	items, err := s.Runs.PreviewItems(ctx, p.ID)
	if err != nil {
		return Run{}, err
	}
	d := domain.Decisions{DefaultWinner: in.DefaultWinner, Missing: in.Missing, AddToERP: in.AddToERP, AddToHR: in.AddToHR}
	if d.Missing == 0 {
		d.Missing = domain.MissingFill
	}
	if len(in.Resolutions) > 0 {
		matched := make(map[string]bool, len(items))
		for i := range items {
			if items[i].Kind == domain.Matched {
				matched[items[i].HR.ID] = true
			}
		}
		d.Resolutions = make(map[domain.ResolutionKey]domain.Side, len(in.Resolutions))
		for i, r := range in.Resolutions {
			if !matched[r.HRID] {
				return Run{}, Invalid(fmt.Sprintf("resolutions[%d].employee_id", i), "%s is not an employee found on both sides in the preview", r.HRID)
			}
			d.Resolutions[domain.ResolutionKey{HRID: r.HRID, Field: r.Field}] = r.Winner
		}
	}
	recipients := in.Recipients
	if len(recipients) == 0 {
		if by.Email == "" {
			return Run{}, Invalid("report_recipients", "no email address is known for you; name who gets the report")
		}
		recipients = []string{by.Email}
	}
	run := Run{
		ID: uuid.NewString(), TenantID: tenantID, ConnectionID: connectionID, PreviewID: p.ID, Kind: kind, Status: RunRunning,
		Decisions: d, Recipients: recipients, Language: s.reportLanguage(ctx, tenantID), StartedBy: by.UserID, StartedAt: s.now(),
		ThresholdTotal: len(items), ThresholdPercent: s.threshold(),
	}
	var seqs []int
	for seq := range items {
		pl := domain.PlanItem(&items[seq], d)
		if pl.Overwrites {
			run.Affected++
		}
		switch pl.Action {
		case domain.ActionUpdate, domain.ActionCreateInERP, domain.ActionCreateInHR:
			seqs = append(seqs, seq)
		case domain.ActionSkip:
			run.Counts.Skipped++
		case domain.ActionNothing:
			if items[seq].Kind == domain.Matched {
				// Nothing to write, but its link is recorded, so real-time
				// changes reach this ERP employee.
				run.Counts.Unchanged++
				seqs = append(seqs, seq)
			}
		}
	}
	run.Total = len(seqs) // the employees the executor goes through: written or linked
	if domain.OverThreshold(run.Affected, run.ThresholdTotal, run.ThresholdPercent) {
		run.Status = RunAwaiting
	}
	if err := s.Runs.CreateRun(ctx, run, seqs); err != nil {
		return Run{}, err
	}
	s.log().InfoContext(ctx, "sync run started", "tenant_id", tenantID, "connection_id", connectionID, "run_id", run.ID,
		"kind", string(kind), "status", string(run.Status), "items", run.Total, "affected", run.Affected, "of", run.ThresholdTotal)
	if run.Status == RunRunning {
		s.kick()
	}
	return run, nil
}

// reportLanguage is the tenant's communication language as identity has it
// now, kept on the run so its report (written later, perhaps by another
// replica after a crash) is in it. Identity not saying does not hold the
// synchronisation up: the report is then in English.
func (s *Syncs) reportLanguage(ctx context.Context, tenantID string) string {
	if s.Tenants == nil {
		return ""
	}
	info, err := s.Tenants.DescribeTenant(ctx, tenantID)
	if err != nil {
		s.log().WarnContext(ctx, "the tenant's language is unknown (identity did not say): the run's report will be in English",
			"tenant_id", tenantID, "error", err)
		return ""
	}
	return info.Language
}

// Confirm lets a run over the threshold go on.
func (s *Syncs) Confirm(ctx context.Context, by Actor, tenantID, runID string) (Run, error) {
	if err := authorize(by, tenantID); err != nil {
		return Run{}, err
	}
	r, err := s.Runs.SetRunStatus(ctx, tenantID, runID, RunAwaiting, RunRunning, by.UserID)
	if err != nil {
		return Run{}, err
	}
	s.log().InfoContext(ctx, "sync run confirmed over the threshold", "tenant_id", tenantID, "run_id", runID, "by", by.UserID,
		"affected", r.Affected, "of", r.ThresholdTotal)
	s.kick()
	return r, nil
}

// Cancel cancels a run waiting for confirmation.
func (s *Syncs) Cancel(ctx context.Context, by Actor, tenantID, runID string) (Run, error) {
	if err := authorize(by, tenantID); err != nil {
		return Run{}, err
	}
	return s.Runs.SetRunStatus(ctx, tenantID, runID, RunAwaiting, RunCancelled, by.UserID)
}

// MaxListedFailures bounds the failures GetRun returns.
const MaxListedFailures = 100

// GetRun returns a run and its first failures.
func (s *Syncs) GetRun(ctx context.Context, by Actor, tenantID, runID string) (Run, []ItemFailure, error) {
	if err := authorize(by, tenantID); err != nil {
		return Run{}, nil, err
	}
	r, err := s.Runs.Run(ctx, tenantID, runID)
	if err != nil {
		return Run{}, nil, err
	}
	f, err := s.Runs.RunFailures(ctx, runID, MaxListedFailures)
	if err != nil {
		return Run{}, nil, err
	}
	return r, f, nil
}

package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/hr"
)

var (
	metricRunItems = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_sync_run_items_total",
		Help: "Employees a sync run finished, by run kind and outcome (done or failed).",
	}, []string{"kind", "outcome"})
	metricRuns = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_sync_runs_total",
		Help: "Sync runs finished, by kind and status.",
	}, []string{"kind", "status"})
)

// errChanged: the side to be written no longer has the value the preview
// showed, so the admin's decision does not apply to it.
var errChanged = errors.New("changed since the preview")

// errFatal marks a failure that ends the whole run: a refused credential,
// which no amount of retrying fixes.
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

// Executor carries out runs: it leases one run at a time (a crashed
// executor's lease runs out and another takes the run over), works
// through its pending employees Concurrency at a time, records each group
// of outcomes in one transaction, and once all are done emails the report
// and publishes SyncRunCompleted.
//
// Nothing happens twice across a crash: every write compares first (a
// value already there is not written again, a value that is neither the
// preview's nor the decided one fails the employee as changed since the
// preview), a create first looks the employee up by email (and HR creates
// carry an idempotency key), and an employee's outcome, counts and events
// are recorded together.
type Executor struct {
	Runs        RunStore
	Connections ConnectionStore
	ERP         ERPDialer
	HR          hr.Connector
	Reporter    Reporter
	Log         *slog.Logger
	// Lease is how long a claimed run stays this executor's without a
	// renewal (default 30s); it is renewed every third of it.
	Lease time.Duration
	// Concurrency is the employees written at once (default 8).
	Concurrency int
	// Batch is the employees read, worked and recorded together (default
	// 64).
	Batch int
	// Poll is the idle poll interval (default 1s); Kick wakes it early.
	Poll time.Duration
	// BackoffBase and BackoffMax shape retries of an ERP or HR call that
	// failed transiently (doubling with jitter, never before Retry-After).
	BackoffBase, BackoffMax time.Duration
	// MaxAttempts bounds the attempts of a call failing with 5xx or a
	// timeout (default 8); a 429 is pacing and waits as long as the ERP
	// says, without counting.
	MaxAttempts int
	// Activated is called when a first sync activated its connection
	// (wakes the propagator for the changes held until then).
	Activated func()
	Now       func() time.Time

	owner   string
	wake    chan struct{}
	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

func (x *Executor) defaults() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.Lease <= 0 {
		x.Lease = 30 * time.Second
	}
	if x.Concurrency <= 0 {
		x.Concurrency = 8
	}
	if x.Batch <= 0 {
		x.Batch = 64
	}
	if x.Poll <= 0 {
		x.Poll = time.Second
	}
	if x.BackoffBase <= 0 {
		x.BackoffBase = time.Second
	}
	if x.BackoffMax <= 0 {
		x.BackoffMax = time.Minute
	}
	if x.MaxAttempts <= 0 {
		x.MaxAttempts = 8
	}
	if x.Now == nil {
		x.Now = time.Now
	}
	if x.Log == nil {
		x.Log = slog.Default()
	}
	if x.wake == nil {
		x.wake = make(chan struct{}, 1)
	}
	if x.owner == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		x.owner = "executor-" + hex.EncodeToString(b[:])
	}
}

// Kick wakes the executor now.
func (x *Executor) Kick() {
	x.defaults()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// Start runs the executor until Stop.
func (x *Executor) Start(ctx context.Context) error {
	x.defaults()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done != nil {
		return errors.New("executor already started")
	}
	ctx, x.cancel = context.WithCancel(context.WithoutCancel(ctx))
	x.done = make(chan struct{})
	go x.loop(ctx)
	return nil
}

// Stop ends the loop: the run in hand is left where it is (its pending
// employees are redone by whoever leases it next). Safe to call twice or
// before Start.
func (x *Executor) Stop(ctx context.Context) error {
	x.mu.Lock()
	if x.done == nil || x.stopped {
		x.mu.Unlock()
		return nil
	}
	x.stopped = true
	x.cancel()
	done := x.done
	x.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("executor: %w", ctx.Err())
	}
}

func (x *Executor) loop(ctx context.Context) {
	defer close(x.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-x.wake:
		}
		for ctx.Err() == nil {
			worked, err := x.RunOnce(ctx)
			if err != nil {
				x.Log.ErrorContext(ctx, "sync run executor", "error", err)
			}
			if !worked || err != nil {
				break
			}
		}
		timer.Reset(x.Poll)
	}
}

// RunOnce leases one run and works on it until it is finished, or its
// lease is lost, or ctx ends; false when no run was waiting.
func (x *Executor) RunOnce(ctx context.Context) (bool, error) {
	x.defaults()
	claimed := x.Now()
	run, ok, err := x.Runs.ClaimRun(ctx, x.owner, x.Lease)
	if err != nil || !ok {
		return false, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := x.heartbeat(rctx, cancel, run.ID, claimed.Add(x.Lease))
	defer stop()
	log := x.Log.With("tenant_id", run.TenantID, "run_id", run.ID, "kind", string(run.Kind))
	if run.Status == RunRunning {
		if run, err = x.work(rctx, log, run); err != nil {
			return true, x.settled(ctx, err)
		}
	}
	if run.Status == RunReporting {
		if err := x.report(rctx, log, run); err != nil {
			return true, x.settled(ctx, err)
		}
	}
	return true, nil
}

// settled turns the errors of a run given up on purpose (its lease lost,
// shutting down) into nothing: the next lease holder carries on.
func (x *Executor) settled(ctx context.Context, err error) error {
	if errors.Is(err, ErrLeaseLost) || ctx.Err() != nil {
		x.Log.InfoContext(ctx, "sync run left to the next lease holder", "reason", err)
		return nil //nolint:nilerr // given up on purpose: the next lease holder carries on
	}
	return err
}

// heartbeat renews the lease every third of it; when the lease is lost, or
// cannot be renewed before a tenth of it is left, it cancels the run's work
// so no call to the ERP or HR outlives the lease.
func (x *Executor) heartbeat(ctx context.Context, cancel context.CancelFunc, runID string, until time.Time) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(x.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			next := x.Now().Add(x.Lease)
			_, err := x.Runs.ExtendLease(ctx, runID, x.owner, x.Lease)
			switch {
			case err == nil:
				until = next
			case errors.Is(err, ErrLeaseLost):
				x.Log.WarnContext(ctx, "sync run lease lost; another executor carries on", "run_id", runID)
				cancel()
				return
			case x.Now().After(until.Add(-x.Lease / 10)):
				x.Log.ErrorContext(ctx, "sync run lease could not be renewed; stopping before it runs out", "run_id", runID, "error", err)
				cancel()
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// work carries out the run's pending employees, then marks it for the
// report.
func (x *Executor) work(ctx context.Context, log *slog.Logger, run Run) (Run, error) {
	conn, key, err := x.Connections.ConnectionKey(ctx, run.TenantID, run.ConnectionID)
	if errors.Is(err, ErrNotFound) {
		return run, ErrLeaseLost // deleted with its runs meanwhile
	}
	if err != nil {
		return run, err
	}
	ec, err := x.ERP.Dial(key)
	if err != nil {
		return run, err
	}
	after := -1
	fatal := ""
	// A batch's outcomes are recorded while the next batch is worked on
	// (one recording at a time, in order): the recording's round trips no
	// longer hold the ERP calls up.
	var recording chan error
	waitRecorded := func() error {
		if recording == nil {
			return nil
		}
		err := <-recording
		recording = nil
		return err
	}
	for fatal == "" {
		items, err := x.Runs.PendingItems(ctx, run, after, x.Batch)
		if err != nil {
			_ = waitRecorded()
			return run, err
		}
		if len(items) == 0 {
			break
		}
		after = items[len(items)-1].Seq
		outcomes := make([]ItemOutcome, len(items))
		errs := make([]error, len(items))
		sem := make(chan struct{}, x.Concurrency)
		var wg sync.WaitGroup
		for i, it := range items {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				outcomes[i], errs[i] = x.item(ctx, run, conn, ec, it)
			})
		}
		wg.Wait()
		var record []ItemOutcome
		for i, o := range outcomes {
			var fe errFatal
			switch {
			case errs[i] == nil:
				record = append(record, o)
			case errors.As(errs[i], &fe):
				fatal = fe.Error()
			}
			// Anything else (cancelled: lease lost or stopping) stays
			// pending for whoever leases the run next.
		}
		if err := waitRecorded(); err != nil {
			return run, err
		}
		if len(record) > 0 {
			recording = make(chan error, 1)
			go func(rec []ItemOutcome) {
				err := x.Runs.RecordItems(context.WithoutCancel(ctx), run, x.owner, rec)
				if err == nil {
					for _, o := range rec {
						outcome := "done"
						if o.Failed {
							outcome = "failed"
						}
						metricRunItems.WithLabelValues(string(run.Kind), outcome).Inc()
					}
				}
				recording <- err
			}(record)
		}
		if ctx.Err() != nil {
			_ = waitRecorded()
			return run, ctx.Err()
		}
	}
	if err := waitRecorded(); err != nil {
		return run, err
	}
	outcome := RunSucceeded
	if fatal != "" {
		outcome = RunFailed
		log.WarnContext(ctx, "sync run failed", "error", fatal)
	}
	run, err = x.Runs.FinishRun(context.WithoutCancel(ctx), run, x.owner, outcome, fatal)
	if err != nil {
		return run, err
	}
	if run.Kind == KindFirstSync && run.Outcome != RunFailed && x.Activated != nil {
		x.Activated()
	}
	log.InfoContext(ctx, "sync run done; reporting", "outcome", string(run.Outcome), "done", run.Done, "total", run.Total, "failed", run.Counts.Failed)
	return run, nil
}

// item carries out one employee's plan. A nil error is an outcome to
// record (done or failed); errFatal ends the run; any other error (the
// context ended) leaves the employee pending.
func (x *Executor) item(ctx context.Context, run Run, conn Connection, ec erp.Connector, it RunItem) (ItemOutcome, error) {
	pl := domain.PlanItem(&it.Item, run.Decisions)
	out := ItemOutcome{Seq: it.Seq, Action: pl.Action, Conflicts: pl.Conflicts, Notes: pl.Notes, Email: it.Item.Email(), Name: it.Item.Name()}
	if it.Item.HR != nil {
		out.HRID, out.HRVersion, out.HRValues = it.Item.HR.ID, it.Item.HR.Version, it.Item.HR.Values
	}
	if it.Item.ERP != nil {
		out.ERPID = it.Item.ERP.ID
	}
	var err error
	switch pl.Action {
	case domain.ActionUpdate:
		err = x.update(ctx, run, ec, &it.Item, pl, &out)
	case domain.ActionCreateInERP:
		err = x.createInERP(ctx, run, ec, &it.Item, pl, &out)
	case domain.ActionCreateInHR:
		err = x.createInHR(ctx, run, conn, &it.Item, pl, &out, fmt.Sprintf("%s/%d", run.ID, it.Seq))
	case domain.ActionNothing:
		// Equal on both sides: only its link is recorded.
	default:
		return out, fmt.Errorf("sync run %s: item %d planned %d, not a write", run.ID, it.Seq, pl.Action)
	}
	out.At = x.Now()
	if err == nil {
		return out, nil
	}
	var fe errFatal
	if errors.As(err, &fe) || ctx.Err() != nil {
		return out, err
	}
	out.Failed, out.WroteERP, out.WroteHR = true, nil, nil
	out.Reason, out.Message = int(reasonOf(err)), truncate(err.Error(), 1000)
	return out, nil
}

func reasonOf(err error) FailureReason {
	var he *hr.Error
	switch {
	case errors.Is(err, errChanged), errors.Is(err, erp.ErrNotFound), errors.Is(err, hr.ErrNotFound):
		return ReasonChangedSincePreview
	case errors.Is(err, erp.ErrConflict):
		return ReasonDuplicateEmail
	case errors.Is(err, erp.ErrValidation):
		return ReasonRejected
	case errors.Is(err, erp.ErrRateLimited):
		return ReasonRateLimited
	case errors.Is(err, hr.ErrConflict) && errors.As(err, &he) && strings.Contains(he.Code, "phone"):
		return ReasonDuplicatePhone
	case errors.Is(err, hr.ErrConflict):
		return ReasonDuplicateEmail
	case errors.Is(err, hr.ErrValidation):
		return ReasonHRRejected
	case errors.Is(err, hr.ErrUnavailable), errors.Is(err, hr.ErrRateLimited):
		return ReasonHRUnavailable
	}
	return ReasonUnavailable
}

// call runs fn, retrying transient failures: a 429 waits as long as the
// system asks (pacing, not failure), 5xx and timeouts back off up to
// MaxAttempts. A refused credential is fatal for the run.
func (x *Executor) call(ctx context.Context, fn func(ctx context.Context) error) error {
	for attempt := 1; ; {
		err := fn(ctx)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, erp.ErrUnauthorized):
			return errFatal{fmt.Errorf("the ERP refuses the connection's API key; rotate it and synchronise again: %w", err)}
		case errors.Is(err, hr.ErrUnauthorized):
			return errFatal{fmt.Errorf("HR refuses the sync service's credentials (SYNC_HR_TOKEN): %w", err)}
		case ctx.Err() != nil:
			return ctx.Err()
		}
		limited := errors.Is(err, erp.ErrRateLimited) || errors.Is(err, hr.ErrRateLimited)
		if !limited && !errors.Is(err, erp.ErrUnavailable) && !errors.Is(err, hr.ErrUnavailable) {
			return err
		}
		wait := min(max(erp.RetryAfter(err), hr.RetryAfter(err)), MaxRetryAfter)
		if limited {
			wait = max(wait, x.BackoffBase)
		} else {
			if attempt >= x.MaxAttempts {
				return err
			}
			wait = max(wait, x.backoff(attempt))
			attempt++
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (x *Executor) backoff(attempt int) time.Duration {
	d := x.BackoffBase
	for i := 1; i < attempt && d < x.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, x.BackoffMax)
	return d/2 + time.Duration(mrand.Int64N(int64(d/2)+1)) //nolint:gosec // jitter, not security
}

// writeERP writes the listed HR fields of v to ERP employee cur, end date
// through the employment endpoint.
func (x *Executor) writeERP(ctx context.Context, ec erp.Connector, cur erp.Employee, v domain.Values, fields []domain.Field) error {
	e := cur
	var update []erp.Field
	end := false
	for _, f := range domain.ToERP(&e, v, fields) {
		if f == erp.FieldEnddate {
			end = true
			continue
		}
		update = append(update, f)
	}
	if len(update) > 0 {
		if err := x.call(ctx, func(ctx context.Context) error { _, err := ec.Update(ctx, cur.ID, e, update); return err }); err != nil {
			return err
		}
	}
	if end {
		reason := ""
		if e.Enddate != "" {
			reason = domain.ReasonEnded
		}
		return x.call(ctx, func(ctx context.Context) error { return ec.SetEndDate(ctx, cur.ID, e.Enddate, reason) })
	}
	return nil
}

// update writes a matched employee's planned fields, each only when the
// side still has the preview's value (or already the decided one).
func (x *Executor) update(ctx context.Context, run Run, ec erp.Connector, it *domain.Item, pl domain.ItemPlan, out *ItemOutcome) error {
	hv, ev := it.HRValues(), it.ERPValues()
	var (
		curE          erp.Employee
		curH          hr.Employee
		toERP, toHR   []domain.Field
		curEV, curHVs domain.Values
	)
	if len(pl.ToERP) > 0 {
		if err := x.call(ctx, func(ctx context.Context) (err error) { curE, err = ec.Get(ctx, it.ERP.ID); return err }); err != nil {
			return err
		}
		curEV = domain.FromERP(curE)
		for _, f := range pl.ToERP {
			switch {
			case domain.Same(f, &curEV, &hv):
			case domain.Same(f, &curEV, &ev):
				toERP = append(toERP, f)
			default:
				return fmt.Errorf("%w: the ERP's %s is now %q", errChanged, fieldName(f), curEV.Show(f))
			}
		}
	}
	if len(pl.ToHR) > 0 {
		if err := x.call(ctx, func(ctx context.Context) (err error) { curH, err = x.HR.Get(ctx, run.TenantID, it.HR.ID); return err }); err != nil {
			return err
		}
		curHVs = curH.Values
		for _, f := range pl.ToHR {
			switch {
			case domain.Same(f, &curHVs, &ev):
			case domain.Same(f, &curHVs, &hv):
				toHR = append(toHR, f)
			default:
				return fmt.Errorf("%w: HR's %s is now %q", errChanged, fieldName(f), curHVs.Show(f))
			}
		}
		out.HRVersion, out.HRValues = curH.Version, curH.Values
	}
	if len(toERP) > 0 {
		if err := x.writeERP(ctx, ec, curE, hv, toERP); err != nil {
			return err
		}
	}
	if len(toHR) > 0 {
		v := curH.Values
		for _, f := range toHR {
			v.Copy(f, ev)
		}
		var got hr.Employee
		if err := x.call(ctx, func(ctx context.Context) (err error) {
			got, err = x.HR.Update(ctx, run.TenantID, it.HR.ID, v, toHR)
			return err
		}); err != nil {
			return err
		}
		out.HRVersion, out.HRValues = got.Version, got.Values
	}
	// Counted by the plan: fields found already written were written by
	// this run before a crash (or agree anyway).
	out.WroteERP, out.WroteHR = pl.ToERP, pl.ToHR
	return nil
}

// createInERP creates an HR-only employee in the ERP — or adopts the ERP
// employee with its email that no other HR employee is linked to (this
// run's own create before a crash, or one made by hand since the preview).
func (x *Executor) createInERP(ctx context.Context, run Run, ec erp.Connector, it *domain.Item, pl domain.ItemPlan, out *ItemOutcome) error {
	hv := it.HRValues()
	var found erp.Employee
	err := x.call(ctx, func(ctx context.Context) (err error) { found, err = ec.FindByEmail(ctx, hv.Email); return err })
	switch {
	case err == nil:
		hrID, linked, lerr := x.Runs.LinkedHR(ctx, run.ConnectionID, found.ID)
		if lerr != nil {
			return lerr
		}
		if linked && hrID != it.HR.ID {
			return &erp.Error{Kind: erp.ErrConflict, Op: "create", Message: "the ERP has an employee with this email, linked to HR employee " + hrID}
		}
		fv := domain.FromERP(found)
		var fields []domain.Field
		for _, f := range pl.ToERP {
			if !domain.Same(f, &fv, &hv) {
				fields = append(fields, f)
			}
		}
		if err := x.writeERP(ctx, ec, found, hv, fields); err != nil {
			return err
		}
		out.ERPID = found.ID
	case errors.Is(err, erp.ErrNotFound):
		var e erp.Employee
		domain.ToERP(&e, hv, pl.ToERP)
		end := e.Enddate
		e.Enddate = ""
		var created erp.Employee
		if err := x.call(ctx, func(ctx context.Context) (err error) { created, err = ec.Create(ctx, e); return err }); err != nil {
			return err
		}
		out.ERPID = created.ID
		if end != "" {
			if err := x.call(ctx, func(ctx context.Context) error { return ec.SetEndDate(ctx, created.ID, end, domain.ReasonEnded) }); err != nil {
				return err
			}
		}
	default:
		return err
	}
	out.WroteERP = pl.ToERP
	return nil
}

// createInHR creates an ERP-only employee in HR (with an idempotency key),
// or adopts the HR employee with its email.
func (x *Executor) createInHR(ctx context.Context, run Run, conn Connection, it *domain.Item, pl domain.ItemPlan, out *ItemOutcome, key string) error {
	ev := it.ERPValues()
	var v domain.Values
	for _, f := range pl.ToHR {
		v.Copy(f, ev)
	}
	var found hr.Employee
	err := x.call(ctx, func(ctx context.Context) (err error) {
		found, err = x.HR.FindByEmail(ctx, run.TenantID, ev.Email)
		return err
	})
	switch {
	case err == nil:
		var fields []domain.Field
		for _, f := range pl.ToHR {
			if !domain.Same(f, &found.Values, &ev) {
				fields = append(fields, f)
			}
		}
		got := found
		if len(fields) > 0 {
			w := found.Values
			for _, f := range fields {
				w.Copy(f, ev)
			}
			if err := x.call(ctx, func(ctx context.Context) (err error) {
				got, err = x.HR.Update(ctx, run.TenantID, found.ID, w, fields)
				return err
			}); err != nil {
				return err
			}
		}
		out.HRID, out.HRVersion, out.HRValues = got.ID, got.Version, got.Values
	case errors.Is(err, hr.ErrNotFound):
		var created hr.Employee
		if err := x.call(ctx, func(ctx context.Context) (err error) {
			created, err = x.HR.Create(ctx, run.TenantID, hr.Employee{CompanyID: conn.CompanyID, Values: v}, key)
			return err
		}); err != nil {
			return err
		}
		out.HRID, out.HRVersion, out.HRValues = created.ID, created.Version, created.Values
	default:
		return err
	}
	out.WroteHR = pl.ToHR
	return nil
}

func fieldName(f domain.Field) string {
	if n, ok := hr.FieldNames[f]; ok {
		return n
	}
	return fmt.Sprint(int(f))
}

// report emails the run's report and records it; transient mail failures
// are retried (the lease is held meanwhile), a refused message is recorded
// as the report's error.
func (x *Executor) report(ctx context.Context, log *slog.Logger, run Run) error {
	rep, err := x.BuildReport(ctx, run)
	if err != nil {
		return err
	}
	reportErr := ""
	for attempt := 1; ; attempt++ {
		err := x.Reporter.SendReport(ctx, rep)
		if err == nil {
			break
		}
		if !notify.IsTransient(err) {
			reportErr = truncate(err.Error(), 1000)
			log.ErrorContext(ctx, "sync run report refused; recorded on the run", "error", err)
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.WarnContext(ctx, "sync run report could not be sent; retrying", "attempt", attempt, "error", err)
		t := time.NewTimer(x.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	sentTo := run.Recipients
	if reportErr != "" {
		sentTo = nil
	}
	if err := x.Runs.CompleteRun(context.WithoutCancel(ctx), run, x.owner, sentTo, reportErr, x.Now()); err != nil {
		return err
	}
	metricRuns.WithLabelValues(string(run.Kind), string(run.Outcome)).Inc()
	log.InfoContext(ctx, "sync run completed", "status", string(run.Outcome), "report_to", len(sentTo))
	return nil
}

// MaxReportedFailures bounds the failures a report lists one by one.
const MaxReportedFailures = 1000

// BuildReport gathers what the run's report says: the counts, every failure
// (up to MaxReportedFailures), the preview's rule violations, what the
// plan left and why, and the employees the admin chose not to add.
func (x *Executor) BuildReport(ctx context.Context, run Run) (Report, error) {
	rep := Report{Run: run}
	conn, err := x.Connections.Connection(ctx, run.TenantID, run.ConnectionID)
	if err != nil {
		return Report{}, err
	}
	rep.Connection = conn
	if rep.Failures, err = x.Runs.RunFailures(ctx, run.ID, MaxReportedFailures); err != nil {
		return Report{}, err
	}
	p, err := x.Runs.Preview(ctx, run.TenantID, run.PreviewID)
	if err != nil {
		return Report{}, err
	}
	rep.Violations = p.Violations
	items, err := x.Runs.PreviewItems(ctx, run.PreviewID)
	if err != nil {
		return Report{}, err
	}
	for i := range items {
		it := &items[i]
		pl := domain.PlanItem(it, run.Decisions)
		for _, n := range pl.Notes {
			rep.Notes = append(rep.Notes, ReportNote{Email: it.Email(), Name: it.Name(), Note: n})
		}
		if pl.Action == domain.ActionNothing {
			switch it.Kind {
			case domain.HROnly:
				rep.NotAddedToERP++
			case domain.ERPOnly:
				rep.NotAddedToHR++
			}
		}
	}
	return rep, nil
}

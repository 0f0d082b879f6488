package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

var (
	metricPropagation = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rollcall_sync_propagation_seconds",
		Help:    "HR -> ERP propagation latency: from the change in HR (changed_at) to the ERP write.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 16),
	}, []string{"action"})
	metricFailures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_sync_failures_total",
		Help: "Failed propagations of an employee to the ERP, by reason and whether they are retried.",
	}, []string{"reason", "retriable"})
	metricDeadLettered = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_sync_deadlettered_total",
		Help: "HR changes the ERP refused for good (dead-lettered with the ERP's reason), by reason.",
	}, []string{"reason"})
)

// ErrUnknownConnection is an event naming a connection that is not its
// tenant's.
var ErrUnknownConnection = errors.New("unknown connection")

// Service takes in HR changes.
type Service struct {
	Store    Store
	Resolver erp.Resolver
	// Coalesce is how long a change waits for more changes of the same
	// employee before the ERP write (a burst becomes one write).
	Coalesce time.Duration
	// Due is called after a change was stored (wakes the propagator).
	Due func(after time.Duration)

	// Changes arriving while a batch commits form the next batch (group
	// commit): one transaction, one fsync, for all of them.
	mu       sync.Mutex
	queue    []applyReq
	flushing bool
}

type applyReq struct {
	c    Change
	done chan applyRes
}

type applyRes struct {
	changed bool
	err     error
}

// maxBatch bounds the changes committed together.
const maxBatch = 256

// FieldChanged merges one HR change. An unknown tenant or connection is
// returned wrapped in erp.ErrNoConnection or ErrUnknownConnection (the
// caller dead-letters it); a duplicate or older change is a no-op.
func (s *Service) FieldChanged(ctx context.Context, c Change) error {
	conn, err := s.Resolver.Connection(ctx, c.TenantID)
	if err != nil {
		return err
	}
	if c.ConnectionID != "" && c.ConnectionID != conn.ID {
		return fmt.Errorf("%w: %s is not tenant %s's connection", ErrUnknownConnection, c.ConnectionID, c.TenantID)
	}
	c.ConnectionID = conn.ID
	req := applyReq{c: c, done: make(chan applyRes, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, req)
	lead := !s.flushing
	s.flushing = true
	s.mu.Unlock()
	if lead {
		s.flush(ctx)
	}
	res := <-req.done
	if res.err != nil {
		return res.err
	}
	if res.changed && s.Due != nil {
		s.Due(s.Coalesce)
	}
	return nil
}

// flush commits one batch of queued changes; when more are queued by then
// it hands the next batch to a goroutine, so no caller waits for changes
// queued after its own.
func (s *Service) flush(ctx context.Context) {
	s.mu.Lock()
	n := min(len(s.queue), maxBatch)
	batch := s.queue[:n:n]
	s.queue = s.queue[n:]
	s.mu.Unlock()
	if n > 0 {
		cs := make([]Change, len(batch))
		for i, r := range batch {
			cs[i] = r.c
		}
		changed, err := s.Store.ApplyChanges(context.WithoutCancel(ctx), cs, s.Coalesce)
		for i, r := range batch {
			res := applyRes{err: err}
			if err == nil {
				res.changed = changed[i]
			}
			r.done <- res
		}
	}
	s.mu.Lock()
	more := len(s.queue) > 0
	s.flushing = more
	s.mu.Unlock()
	if more {
		go s.flush(context.WithoutCancel(ctx))
	}
}

// Propagator brings due employees up to date in their ERP, Concurrency at
// a time, each employee by one worker at a time (a lease in the store).
type Propagator struct {
	Store    Store
	Resolver erp.Resolver
	Log      *slog.Logger
	// Concurrency is the number of employees in flight (default 8).
	Concurrency int
	// Lease bounds one employee's propagation before another replica may
	// take it over (default 2m; longer than the ERP timeout times the calls).
	Lease time.Duration
	// Poll is the idle poll interval (default 1s); Kick wakes it early.
	Poll time.Duration
	// BackoffBase and BackoffMax shape retries: base * 2^(attempt-1),
	// capped, with jitter, and never sooner than the ERP's Retry-After.
	BackoffBase, BackoffMax time.Duration
	// Now is the clock (tests).
	Now func() time.Time

	wake    chan struct{}
	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
	wg      sync.WaitGroup
}

func (p *Propagator) defaults() {
	if p.Concurrency <= 0 {
		p.Concurrency = 8
	}
	if p.Lease <= 0 {
		p.Lease = 2 * time.Minute
	}
	if p.Poll <= 0 {
		p.Poll = time.Second
	}
	if p.BackoffBase <= 0 {
		p.BackoffBase = time.Second
	}
	if p.BackoffMax <= 0 {
		p.BackoffMax = 5 * time.Minute
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
	p.mu.Lock()
	if p.wake == nil {
		p.wake = make(chan struct{}, 1)
	}
	p.mu.Unlock()
}

// Kick wakes the propagator now.
func (p *Propagator) Kick() {
	p.mu.Lock()
	if p.wake == nil {
		p.wake = make(chan struct{}, 1)
	}
	w := p.wake
	p.mu.Unlock()
	select {
	case w <- struct{}{}:
	default:
	}
}

// KickAfter wakes the propagator after d (when a coalesced change is due).
func (p *Propagator) KickAfter(d time.Duration) {
	if d <= 0 {
		p.Kick()
		return
	}
	time.AfterFunc(d, p.Kick)
}

// Start runs the propagator until Stop.
func (p *Propagator) Start(ctx context.Context) error {
	p.defaults()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errors.New("propagator already started")
	}
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.done = make(chan struct{})
	go p.loop(ctx)
	return nil
}

// Stop ends the loop and waits for in-flight employees (whose ERP calls are
// cancelled; their leases are given back). Safe to call twice or before
// Start.
func (p *Propagator) Stop(ctx context.Context) error {
	p.mu.Lock()
	if p.done == nil || p.stopped {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	p.cancel()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("propagator: %w", ctx.Err())
	}
}

func (p *Propagator) loop(ctx context.Context) {
	defer close(p.done)
	defer p.wg.Wait()
	sem := make(chan struct{}, p.Concurrency)
	timer := time.NewTimer(p.Poll)
	defer timer.Stop()
	for {
		free := cap(sem) - len(sem)
		if free > 0 {
			jobs, err := p.Store.Claim(ctx, free, p.Lease)
			if err != nil && ctx.Err() == nil {
				p.Log.WarnContext(ctx, "claiming employees to propagate failed", "error", err)
			}
			for _, j := range jobs {
				sem <- struct{}{}
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					p.Process(ctx, j)
					<-sem
					p.Kick()
				}()
			}
			if err == nil && len(jobs) == free {
				continue // there may be more
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(p.Poll)
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-timer.C:
		}
	}
}

// RunOnce claims and propagates due employees until none is left (tests
// and tools; the running service uses Start).
func (p *Propagator) RunOnce(ctx context.Context) (int, error) {
	p.defaults()
	n := 0
	for {
		jobs, err := p.Store.Claim(ctx, p.Concurrency, p.Lease)
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			return n, nil
		}
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Go(func() { p.Process(ctx, j) })
		}
		wg.Wait()
		n += len(jobs)
	}
}

// Process propagates one claimed employee and records the outcome.
func (p *Propagator) Process(ctx context.Context, j Job) {
	p.defaults()
	log := p.Log.With("tenant_id", j.TenantID, "employee_id", j.EmployeeID, "hr_version", j.HR.Version)
	res, err := p.propagate(ctx, j)
	if ctx.Err() != nil {
		// Shutting down: give the employee back untouched.
		if rerr := p.Store.Release(context.WithoutCancel(ctx), j); rerr != nil {
			log.WarnContext(ctx, "releasing an employee failed; its lease will expire", "error", rerr)
		}
		return
	}
	sctx := context.WithoutCancel(ctx)
	if err == nil {
		if cerr := p.Store.Complete(sctx, j, res); cerr != nil {
			log.ErrorContext(ctx, "recording a propagation failed; it will be redone (ERP writes compare first)", "error", cerr)
			return
		}
		if !res.NoEvent {
			metricPropagation.WithLabelValues(actionName(res.Action)).Observe(res.Latency.Seconds())
		}
		if res.IdentificationLeft {
			log.InfoContext(ctx, "identification unset in HR left in the ERP (it cannot be unset there)", "erp_employee_id", res.ERPEmployeeID)
		}
		return
	}
	f := p.failure(j, err)
	metricFailures.WithLabelValues(f.Reason.String(), fmt.Sprint(f.Retriable)).Inc()
	var serr error
	switch {
	case f.Reason == ReasonNotLinked:
		log.InfoContext(ctx, "employee waits for HR's creation (email and names unknown)")
		serr = p.Store.Wait(sctx, j, f)
	case f.Retriable:
		log.InfoContext(ctx, "propagation failed; will retry", "reason", f.Reason.String(), "attempt", f.Attempt, "next_attempt_at", f.NextAt, "error", err)
		serr = p.Store.Retry(sctx, j, f)
	default:
		metricDeadLettered.WithLabelValues(f.Reason.String()).Inc()
		log.WarnContext(ctx, "propagation refused by the ERP; dead-lettered", "reason", f.Reason.String(), "error", err)
		serr = p.Store.Fail(sctx, j, f)
	}
	if serr != nil {
		log.ErrorContext(ctx, "recording a failed propagation failed; its lease will expire and it is retried", "error", serr)
	}
}

func actionName(a Action) string {
	switch a {
	case ActionCreated:
		return "created"
	case ActionUpdated:
		return "updated"
	case ActionRemoved:
		return "removed"
	}
	return "unchanged"
}

// errNotLinked: HR's state lacks what creating the ERP employee needs.
var errNotLinked = errors.New("the employee is not in the ERP and HR has not sent email, given and family name yet")

func (p *Propagator) failure(j Job, err error) Failure {
	now := p.Now()
	f := Failure{Attempt: j.Attempts + 1, At: now, Text: truncate(err.Error(), 1000)}
	var ee *erp.Error
	if errors.As(err, &ee) {
		f.ERP = ee
	}
	switch {
	case errors.Is(err, errNotLinked):
		f.Reason, f.Retriable = ReasonNotLinked, true
		return f
	case errors.Is(err, erp.ErrNoConnection):
		f.Reason = ReasonNoConnection
	case errors.Is(err, erp.ErrConflict):
		f.Reason = ReasonDuplicateEmail
	case errors.Is(err, erp.ErrValidation):
		f.Reason = ReasonRejected
	case errors.Is(err, erp.ErrRateLimited):
		f.Reason, f.Retriable = ReasonRateLimited, true
	case errors.Is(err, erp.ErrUnauthorized):
		f.Reason, f.Retriable = ReasonUnauthorized, true
	default: // unavailable, not found mid-way, or anything unexpected: try again
		f.Reason, f.Retriable = ReasonUnavailable, true
	}
	if f.Retriable {
		f.NextAt = now.Add(p.backoff(f.Attempt, erp.RetryAfter(err)))
	}
	return f
}

// backoff is exponential with jitter (between half and all of the step),
// never below the ERP's Retry-After.
func (p *Propagator) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := p.BackoffBase
	for i := 1; i < attempt && d < p.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.BackoffMax)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1)) //nolint:gosec // jitter, not security
	return max(d, retryAfter)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// propagate reads the ERP record, compares and writes only the difference.
func (p *Propagator) propagate(ctx context.Context, j Job) (Result, error) {
	conn, err := p.Resolver.Connection(ctx, j.TenantID)
	if err != nil {
		return Result{}, err
	}
	c := conn.Connector
	now := p.Now()
	d := j.HR.Desired(now.UTC().Format(time.DateOnly))
	res := Result{ERPEmployeeID: j.ERPEmployeeID, Action: ActionUpdated}

	var have erp.Employee
	if j.ERPEmployeeID != "" {
		have, err = c.Get(ctx, j.ERPEmployeeID)
		if errors.Is(err, erp.ErrNotFound) {
			res.ERPEmployeeID = "" // removed in the ERP: create it again below
		} else if err != nil {
			return Result{}, err
		}
	}
	if res.ERPEmployeeID == "" {
		if j.HR.Removed {
			res.Action, res.NoEvent = ActionUnchanged, true
			res.At, res.Provenance = p.Now(), j.Provenance
			return res, nil
		}
		if d.Employee.Email == "" || d.Employee.Firstname == "" || d.Employee.Lastname == "" {
			return Result{}, errNotLinked
		}
		create := d.Employee
		create.Enddate = ""
		if !j.HR.Known() {
			return Result{}, errNotLinked
		}
		created, cerr := c.Create(ctx, create)
		switch {
		case cerr == nil:
			have, res.ERPEmployeeID, res.Action = created, created.ID, ActionCreated
		case errors.Is(cerr, erp.ErrConflict):
			// The email is taken. It is ours to adopt when the ERP employee
			// is linked to no other HR employee (a create whose answer was
			// lost, or an ERP employee made by hand before the connection).
			found, ferr := c.FindByEmail(ctx, create.Email)
			if ferr != nil {
				if errors.Is(ferr, erp.ErrNotFound) {
					return Result{}, cerr
				}
				return Result{}, ferr
			}
			tenant, emp, linked, lerr := p.Store.LinkedTo(ctx, conn.ID, found.ID)
			if lerr != nil {
				return Result{}, lerr
			}
			if linked && (tenant != j.TenantID || emp != j.EmployeeID) {
				return Result{}, cerr
			}
			have, res.ERPEmployeeID = found, found.ID
		default:
			return Result{}, cerr
		}
	}
	plan := domain.PlanWrite(d, have)
	if len(plan.Update) > 0 {
		if _, err := c.Update(ctx, res.ERPEmployeeID, d.Employee, plan.Update); err != nil {
			return Result{}, err
		}
	}
	if plan.SetEnd {
		if err := c.SetEndDate(ctx, res.ERPEmployeeID, plan.Enddate, plan.Reason); err != nil {
			return Result{}, err
		}
	}
	res.At = p.Now()
	switch {
	case res.Action == ActionCreated:
		res.Written = d.Managed
		if plan.LeftIdentification {
			res.Written = withoutField(res.Written, erp.FieldInternationalID)
		}
		plan.Update = withoutField(d.Managed, erp.FieldEnddate)
		plan.Unchanged = nil
	case j.HR.Removed && plan.SetEnd:
		res.Action, res.Written = ActionRemoved, plan.Written()
	case plan.Empty():
		res.Action = ActionUnchanged
	default:
		res.Written = plan.Written()
	}
	res.Provenance = plan.Record(cloneProv(j.Provenance), d, res.At)
	res.IdentificationLeft = plan.LeftIdentification
	if !j.PendingSince.IsZero() {
		res.Latency = max(res.At.Sub(j.PendingSince), 0)
	}
	return res, nil
}

func withoutField(fs []erp.Field, drop erp.Field) []erp.Field {
	out := make([]erp.Field, 0, len(fs))
	for _, f := range fs {
		if f != drop {
			out = append(out, f)
		}
	}
	return out
}

func cloneProv(m map[erp.Field]domain.Provenance) map[erp.Field]domain.Provenance {
	out := make(map[erp.Field]domain.Provenance, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

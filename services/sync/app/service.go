package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

var tracer = otel.Tracer("rollcall.dev/services/sync")

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

// ErrInvalidChange is a change the store refused for what it is (a value
// out of the store's range, a constraint it breaks): retrying it cannot
// help.
var ErrInvalidChange = errors.New("the store refused the change")

// ErrStoreRefused is a group of changes the store answered with an error
// (as opposed to not answering): one of them may be at fault, so each is
// tried apart.
var ErrStoreRefused = errors.New("the store refused the changes")

// Service takes in HR changes.
type Service struct {
	Store    Store
	Resolver erp.Resolver
	// Coalesce is how long a change waits for more changes of the same
	// employee before the ERP write (a burst becomes one write).
	Coalesce time.Duration
	// Due is called after a change was stored (wakes the propagator).
	Due func(after time.Duration)
	// Burst, when set, is told when HR's changes arrive in a burst and
	// when it is over (Propagator.Burst).
	Burst func(lasts time.Duration)
}

// BurstBacklog is how many changes in one batch, or waiting behind it,
// make a burst.
const BurstBacklog = 256

// burstBatch bounds how long one batch of a burst holds the propagator back
// (a batch takes well under a second; the next batch renews it).
const burstBatch = time.Second

// BatchStarting is told the size of the batch the consumer is taking in
// and how many changes were waiting behind it (in the stream and delivered
// to this process: bus.Message NumPending + Queued of its last message).
// A burst is a batch or backlog of at least BurstBacklog: the propagator
// holds back while it lasts. It says whether more changes are waiting
// behind this batch than make a burst; pass that to BatchDone.
func (s *Service) BatchStarting(size int, behind uint64) (more bool) {
	more = behind >= BurstBacklog
	if (more || size >= BurstBacklog) && s.Burst != nil {
		s.Burst(burstBatch)
	}
	return more
}

// BatchDone is told the batch is stored: the burst goes on when many
// changes were waiting behind it (the next batch begins at once and
// renews it), and is over otherwise.
func (s *Service) BatchDone(more bool) {
	if s.Burst == nil {
		return
	}
	if more {
		s.Burst(burstBatch)
		return
	}
	s.Burst(0)
}

// FieldChanged merges one HR change (FieldChangedBatch of one).
func (s *Service) FieldChanged(ctx context.Context, c Change) error {
	return s.FieldChangedBatch(ctx, []Change{c})[0]
}

// FieldChangedBatch merges HR changes that arrived together, in one
// transaction, and answers for each: nil when it is stored (or was a
// duplicate, or older than what is stored: no effect); an unknown tenant or
// connection wrapped in erp.ErrNoConnection or ErrUnknownConnection, and a
// change the store refuses in ErrInvalidChange (the caller dead-letters
// those); any other error is worth a retry. A change that fails never
// fails the others: when the store refuses the group, it is split until the
// change at fault stands alone.
func (s *Service) FieldChangedBatch(ctx context.Context, cs []Change) []error {
	errs := make([]error, len(cs))
	type connKey struct{ tenant, conn string }
	conns := map[connKey]resolvedConn{}
	ok := make([]Change, 0, len(cs))
	idx := make([]int, 0, len(cs))
	for i, c := range cs {
		k := connKey{c.TenantID, c.ConnectionID}
		r, seen := conns[k]
		if !seen {
			r = s.resolve(ctx, c)
			conns[k] = r
		}
		if r.err != nil {
			errs[i] = r.err
			continue
		}
		c.ConnectionID = r.id
		ok, idx = append(ok, c), append(idx, i)
	}
	changed := false
	for j, err := range s.apply(context.WithoutCancel(ctx), ok, &changed) {
		errs[idx[j]] = err
	}
	if changed && s.Due != nil {
		s.Due(s.Coalesce)
	}
	return errs
}

// resolvedConn is the connection a change goes through, or why it has none.
type resolvedConn struct {
	id  string
	err error
}

func (s *Service) resolve(ctx context.Context, c Change) (r resolvedConn) {
	var conn erp.Connection
	if c.ConnectionID != "" {
		conn, r.err = s.Resolver.ConnectionByID(ctx, c.TenantID, c.ConnectionID)
		if errors.Is(r.err, erp.ErrNoConnection) {
			r.err = fmt.Errorf("%w: %w", ErrUnknownConnection, r.err)
		}
	} else {
		conn, r.err = s.Resolver.Connection(ctx, c.TenantID)
	}
	r.id = conn.ID
	return r
}

// apply stores cs in one transaction; when the store refuses the group it
// splits it in halves, so a change at fault ends up alone with its error
// and the others are stored (a handful of transactions, not one each).
func (s *Service) apply(ctx context.Context, cs []Change, changed *bool) []error {
	errs := make([]error, len(cs))
	if len(cs) == 0 {
		return errs
	}
	got, err := s.Store.ApplyChanges(ctx, cs, s.Coalesce)
	if err == nil {
		for _, c := range got {
			*changed = *changed || c
		}
		return errs
	}
	if len(cs) > 1 && (errors.Is(err, ErrInvalidChange) || errors.Is(err, ErrStoreRefused)) {
		h := len(cs) / 2
		return append(s.apply(ctx, cs[:h], changed), s.apply(ctx, cs[h:], changed)...)
	}
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// Propagator brings due employees up to date in their ERP, Concurrency at
// a time, each employee by one worker at a time (a lease in the store).
//
// Workers only talk to the ERP and hand back an Outcome; they never write
// to the store. The loop leases due employees ahead of the workers, and a
// recorder records the outcomes that finished while its last transaction
// ran, in one durable transaction per group (Store.Settle). So a busy
// propagator commits once per group of attempts rather than twice per
// employee, and the group grows with the load, as in a group commit.
type Propagator struct {
	Store    Store
	Resolver erp.Resolver
	Log      *slog.Logger
	// Concurrency is the number of employees whose ERP calls run at once
	// (default 8).
	Concurrency int
	// Pipeline bounds the employees leased and not yet recorded: queued for
	// a worker, in a worker, or waiting for their outcome's commit (default
	// 8 x Concurrency, at least 2 x). Leasing and recording are round trips
	// that take longer than an ERP call to the stand-in, so a pipeline only
	// twice the concurrency kept the workers idle most of the time.
	Pipeline int
	// Lease bounds one employee's propagation before another replica may
	// take it over (default 2m; longer than the ERP timeout times the calls).
	Lease time.Duration
	// Poll is the idle poll interval (default 1s); Kick wakes it early.
	Poll time.Duration
	// BackoffBase and BackoffMax shape retries: base * 2^(attempt-1),
	// capped, with jitter, and never sooner than the ERP's Retry-After.
	BackoffBase, BackoffMax time.Duration
	// BurstHold: while HR's changes arrive faster than they are taken in
	// (Burst), an employee is leased only once it has been due for
	// this long, so more of its burst joins the one ERP write (0: off).
	// When the burst is over, what was held back is leased at once.
	BurstHold time.Duration
	// Now is the clock (tests).
	Now func() time.Time

	burstUntil atomic.Int64 // unix nanoseconds; the burst is over after it
	wake       chan struct{}
	mu         sync.Mutex
	cancel     context.CancelFunc
	done       chan struct{}
	stopped    bool
}

func (p *Propagator) defaults() {
	if p.Concurrency <= 0 {
		p.Concurrency = 8
	}
	if p.Pipeline <= 0 {
		p.Pipeline = 8 * p.Concurrency
	}
	if p.Pipeline < 2*p.Concurrency {
		p.Pipeline = 2 * p.Concurrency
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

// Burst says that HR's changes are arriving in a burst, faster than the
// consumer takes them in (so more changes of the employees due now are
// still on their way), for at least lasts from now; lasts <= 0 ends it
// and wakes the propagator.
func (p *Propagator) Burst(lasts time.Duration) {
	if lasts > 0 {
		p.burstUntil.Store(time.Now().Add(lasts).UnixNano())
		return
	}
	if p.burstUntil.Swap(0) != 0 {
		p.Kick()
	}
}

// hold is how long an employee must have been due before it is leased now,
// and for how much longer the burst lasts.
func (p *Propagator) hold() (hold, left time.Duration) {
	if p.BurstHold <= 0 {
		return 0, 0
	}
	if left = time.Until(time.Unix(0, p.burstUntil.Load())); left > 0 {
		return p.BurstHold, left
	}
	return 0, 0
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
// cancelled; what finished is recorded, the rest given back). Safe to call
// twice or before Start.
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

// settleTimeout bounds one Settle; its context outlives the loop's, so the
// outcomes of ERP writes already made are recorded while stopping.
const settleTimeout = 30 * time.Second

// maxRecord bounds the outcomes recorded in one transaction.
const maxRecord = 256

func (p *Propagator) settle(ctx context.Context, done []Outcome, limit int) []Job {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	hold, _ := p.hold()
	jobs, err := p.Store.Settle(sctx, done, limit, p.Lease, hold)
	if err != nil {
		p.Log.ErrorContext(ctx, "recording propagations or leasing employees failed; unrecorded ones are redone when their lease expires (ERP writes compare first)", "error", err, "outcomes", len(done))
	}
	return jobs
}

// loop leases due employees and runs their attempts; a recorder goroutine
// records the outcomes. The two commit on their own connections, so a
// lease never waits behind the recording of other employees' outcomes
// (which carries their events), and each groups whatever arrived while its
// previous transaction ran.
//
// Up to Concurrency attempts run at once; more employees are leased ahead
// and queued here, so a worker that finishes starts the next one at once
// instead of waiting for a lease transaction. Leased, queued, running and
// unrecorded employees together never exceed Pipeline.
func (p *Propagator) loop(ctx context.Context) {
	defer close(p.done)
	var (
		limit    = p.Pipeline
		results  = make(chan Outcome, p.Concurrency) // never blocks: at most Concurrency run
		toRecord = make(chan Outcome, limit)         // never blocks: bounded by limit
		recorded = make(chan struct{})
		pending  atomic.Int64 // outcomes handed to the recorder, not yet recorded
		wg       sync.WaitGroup
		queue    []Job
		running  int
	)
	go func() {
		defer close(recorded)
		p.record(ctx, toRecord, &pending)
	}()
	handOver := func(o Outcome) {
		pending.Add(1)
		toRecord <- o
	}
	defer func() {
		// Running attempts see the cancelled context and end (abandoned
		// ones as OutcomeRelease); queued ones are given back untouched.
		wg.Wait()
		for len(results) > 0 {
			handOver(<-results)
		}
		for _, j := range queue {
			handOver(Outcome{Kind: OutcomeRelease, Job: j})
		}
		close(toRecord)
		<-recorded
	}()
	timer := time.NewTimer(p.Poll)
	defer timer.Stop()
	claim := true
	for {
		for drained := false; !drained; {
			select {
			case o := <-results:
				running--
				handOver(o)
			default:
				drained = true
			}
		}
		for running < p.Concurrency && len(queue) > 0 {
			j := queue[0]
			queue = queue[1:]
			running++
			wg.Go(func() { results <- p.Attempt(ctx, j) })
		}
		if room := limit - running - len(queue) - int(pending.Load()); claim && room > 0 {
			jobs := p.settle(ctx, nil, room)
			if ctx.Err() != nil {
				queue = append(queue, jobs...) // given back on the way out
				return
			}
			// A full lease may have left more due employees behind.
			claim = len(jobs) == room
			queue = append(queue, jobs...)
			if len(jobs) > 0 {
				continue
			}
		}
		wait := p.Poll
		if h, left := p.hold(); h > 0 {
			// Held-back employees become due for leasing as time passes,
			// and all of them when the burst is over.
			wait = min(wait, max(min(h/4, left), time.Millisecond))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case o := <-results:
			running--
			handOver(o)
			// A freed slot is worth a lease only when one was left behind.
		case <-p.wake:
			claim = true
		case <-timer.C:
			claim = true
		}
	}
}

// record records outcomes from in, grouping whatever arrived while the
// previous transaction ran, until in is closed; then it wakes the loop
// (recorded employees may be due again, and their room is free).
func (p *Propagator) record(ctx context.Context, in <-chan Outcome, pending *atomic.Int64) {
	for o := range in {
		batch := []Outcome{o}
		for drained := false; !drained && len(batch) < maxRecord; {
			select {
			case o, ok := <-in:
				if !ok {
					drained = true
					break
				}
				batch = append(batch, o)
			default:
				drained = true
			}
		}
		p.settle(ctx, batch, 0)
		pending.Add(-int64(len(batch)))
		p.Kick()
	}
}

// RunOnce leases and propagates due employees until none is left (tests
// and tools; the running service uses Start). When recording fails it
// returns the error; employees leased in that round wait for their lease.
func (p *Propagator) RunOnce(ctx context.Context) (int, error) {
	p.defaults()
	n := 0
	var done []Outcome
	for {
		jobs, err := p.Store.Settle(ctx, done, p.Concurrency, p.Lease, 0)
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			return n, nil
		}
		done = make([]Outcome, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Go(func() { done[i] = p.Attempt(ctx, j) })
		}
		wg.Wait()
		n += len(jobs)
	}
}

// Attempt propagates one leased employee to the ERP and says how it ended;
// it writes nothing to the store (the caller records the outcome).
func (p *Propagator) Attempt(ctx context.Context, j Job) Outcome {
	p.defaults()
	log := p.Log.With("tenant_id", j.TenantID, "employee_id", j.EmployeeID, "hr_version", j.HR.Version)
	actx := ctx
	if !j.LeaseUntil.IsZero() {
		// The lease is what keeps a second worker off this employee: never
		// call the ERP once it may have run out. An employee that waited
		// in the queue for half its lease is given back and leased afresh.
		if time.Until(j.LeaseUntil) < p.Lease/2 {
			return Outcome{Kind: OutcomeRelease, Job: j}
		}
		var cancel context.CancelFunc
		actx, cancel = context.WithDeadline(ctx, j.LeaseUntil.Add(-p.Lease/10))
		defer cancel()
	}
	// The propagation continues the trace of the newest change it carries
	// (its consumer span), so the ERP's HTTP calls are in that trace.
	actx, span := tracer.Start(propagation.TraceContext{}.Extract(actx, propagation.MapCarrier{"traceparent": j.TraceParent}),
		"propagate employee", trace.WithAttributes(
			attribute.String("rollcall.tenant_id", j.TenantID), attribute.String("rollcall.employee_id", j.EmployeeID),
			attribute.Int64("rollcall.hr_version", int64(j.HR.Version)), attribute.Int("rollcall.attempt", j.Attempts+1)))
	defer span.End()
	res, err := p.propagate(actx, j)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else {
		span.SetAttributes(attribute.String("rollcall.erp_action", actionName(res.Action)))
	}
	if err != nil && ctx.Err() != nil {
		// Shutting down: give the employee back untouched. (An ERP write
		// that landed is found by the next attempt's read and compare.)
		return Outcome{Kind: OutcomeRelease, Job: j}
	}
	if err == nil {
		if !res.NoEvent {
			metricPropagation.WithLabelValues(actionName(res.Action)).Observe(res.Latency.Seconds())
		}
		if res.IdentificationLeft {
			log.InfoContext(ctx, "identification unset in HR left in the ERP (it cannot be unset there)", "erp_employee_id", res.ERPEmployeeID)
		}
		return Outcome{Kind: OutcomeSynced, Job: j, Result: res}
	}
	f := p.failure(j, err)
	f.ERPEmployeeID = res.ERPEmployeeID
	metricFailures.WithLabelValues(f.Reason.String(), fmt.Sprint(f.Retriable)).Inc()
	switch {
	case f.Reason == ReasonNotLinked:
		log.InfoContext(ctx, "employee waits for HR's creation (email and names unknown)")
		return Outcome{Kind: OutcomeWait, Job: j, Failure: f}
	case f.Retriable:
		log.InfoContext(ctx, "propagation failed; will retry", "reason", f.Reason.String(), "attempt", f.Attempt, "next_attempt_at", f.NextAt, "error", err)
		return Outcome{Kind: OutcomeRetry, Job: j, Failure: f}
	default:
		metricDeadLettered.WithLabelValues(f.Reason.String()).Inc()
		log.WarnContext(ctx, "propagation refused by the ERP; dead-lettered", "reason", f.Reason.String(), "error", err)
		return Outcome{Kind: OutcomeDeadLetter, Job: j, Failure: f}
	}
}

// earlierCreate finds the ERP employee an earlier attempt created under
// another email than current (j.CreateAttempts) and never heard back
// about, if it exists and no other HR employee is linked to it. (The
// current email needs no look-up: creating with it answers 409 and the
// employee is adopted there.)
func (p *Propagator) earlierCreate(ctx context.Context, c erp.Connector, connectionID string, j Job, current string) (*erp.Employee, error) {
	for _, email := range j.CreateAttempts {
		if strings.EqualFold(email, current) {
			continue
		}
		found, err := c.FindByEmail(ctx, email)
		if errors.Is(err, erp.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		tenant, emp, linked, err := p.Store.LinkedTo(ctx, connectionID, found.ID)
		if err != nil {
			return nil, err
		}
		if !linked || (tenant == j.TenantID && emp == j.EmployeeID) {
			return &found, nil
		}
	}
	return nil, nil
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
// MaxRetryAfter bounds how long one Retry-After holds an employee back: an
// ERP asking for longer (a daily quota, or a broken header) is asked again
// after this, and answers again.
const MaxRetryAfter = time.Hour

func (p *Propagator) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := p.BackoffBase
	for i := 1; i < attempt && d < p.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.BackoffMax)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1)) //nolint:gosec // jitter, not security
	return max(d, min(retryAfter, MaxRetryAfter))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// propagate reads the ERP record, compares and writes only the difference.
func (p *Propagator) propagate(ctx context.Context, j Job) (Result, error) {
	conn, err := p.Resolver.ConnectionByID(ctx, j.TenantID, j.ConnectionID)
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
		// An earlier create whose answer was lost may have landed under
		// the email HR had then: adopt it rather than make a second one.
		found, err := p.earlierCreate(ctx, c, conn.ID, j, create.Email)
		if err != nil {
			return Result{}, err
		}
		if found != nil {
			have, res.ERPEmployeeID = *found, found.ID
		} else {
			if err := p.Store.NoteCreateAttempt(ctx, j.TenantID, j.EmployeeID, create.Email); err != nil {
				return Result{}, err
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
	}
	// From here on a failure still reports the ERP employee created or
	// adopted above, so it is recorded: the next attempt updates it rather
	// than creating a second one (HR may change the email meanwhile).
	plan := domain.PlanWrite(d, have)
	if len(plan.Update) > 0 {
		if _, err := c.Update(ctx, res.ERPEmployeeID, d.Employee, plan.Update); err != nil {
			return res, err
		}
	}
	if plan.SetEnd {
		if err := c.SetEndDate(ctx, res.ERPEmployeeID, plan.Enddate, plan.Reason); err != nil {
			return res, err
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

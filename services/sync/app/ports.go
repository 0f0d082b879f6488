// Package app holds the sync service's use cases: taking in an HR change
// (merge it into the employee's HR state, mark the employee for
// propagation) and propagating employees to their ERP (read, compare, write
// the difference, retry or dead-letter). It is not where HTTP, NATS or SQL
// live (ports, adapters).
package app

import (
	"context"
	"time"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

// Change is an HR change as the use case takes it.
type Change struct {
	EventID      string
	TenantID     string
	EmployeeID   string
	ConnectionID string // empty: the tenant's connection
	// TraceParent is the W3C traceparent of the span that took the change
	// in; the propagation of the state it is merged into continues it.
	TraceParent string
	domain.Change
}

// Job is one employee to bring up to date in the ERP.
type Job struct {
	TenantID, EmployeeID, ConnectionID string
	HR                                 domain.HRState
	// Seq is the change counter the job's HR state has; the employee stays
	// pending when a change arrived after it.
	Seq int64
	// LeaseUntil is when the lease runs out, by this process's clock (taken
	// before the lease was asked for, so never later than the store's);
	// zero: no lease to honour.
	LeaseUntil    time.Time
	ERPEmployeeID string
	Provenance    map[erp.Field]domain.Provenance
	Attempts      int
	PendingSince  time.Time
	// TraceParent is the newest merged change's (see Change.TraceParent).
	TraceParent string
	// CreateAttempts are the emails earlier attempts tried to create the
	// employee in the ERP with, while it is linked to none: a create whose
	// answer was lost may have landed under one of them.
	CreateAttempts []string
}

// Action is what a propagation did in the ERP.
type Action int

// Actions; the numbers are sync.v1.EmployeeSyncAction's.
const (
	ActionCreated   Action = 1
	ActionUpdated   Action = 2
	ActionUnchanged Action = 3
	ActionRemoved   Action = 4
)

// Result is a finished propagation.
type Result struct {
	ERPEmployeeID      string
	Action             Action
	Written            []erp.Field
	Provenance         map[erp.Field]domain.Provenance
	IdentificationLeft bool
	At                 time.Time
	// Latency runs from the oldest HR change not yet in the ERP to At.
	Latency time.Duration
	// NoEvent: nothing exists in the ERP to report on (an employee removed
	// from HR before it ever reached the ERP).
	NoEvent bool
}

// FailureReason says why a propagation failed; the numbers are
// sync.v1.SyncFailureReason's.
type FailureReason int

// Failure reasons.
const (
	ReasonUnavailable    FailureReason = 1
	ReasonRateLimited    FailureReason = 2
	ReasonUnauthorized   FailureReason = 3
	ReasonRejected       FailureReason = 4
	ReasonDuplicateEmail FailureReason = 5
	ReasonDuplicatePhone FailureReason = 6
	ReasonNotLinked      FailureReason = 7
	ReasonNoConnection   FailureReason = 8
	// Run items only.
	ReasonChangedSincePreview FailureReason = 9
	ReasonHRRejected          FailureReason = 10
	ReasonHRUnavailable       FailureReason = 11
)

func (r FailureReason) String() string {
	switch r {
	case ReasonUnavailable:
		return "erp_unavailable"
	case ReasonRateLimited:
		return "erp_rate_limited"
	case ReasonUnauthorized:
		return "erp_unauthorized"
	case ReasonRejected:
		return "erp_rejected"
	case ReasonDuplicateEmail:
		return "duplicate_email"
	case ReasonNotLinked:
		return "not_linked"
	case ReasonNoConnection:
		return "connection_disabled"
	case ReasonDuplicatePhone:
		return "duplicate_phone"
	case ReasonChangedSincePreview:
		return "changed_since_preview"
	case ReasonHRRejected:
		return "hr_rejected"
	case ReasonHRUnavailable:
		return "hr_unavailable"
	}
	return "unknown"
}

// Failure is a failed propagation.
type Failure struct {
	Reason    FailureReason
	Retriable bool
	Attempt   int
	At        time.Time
	NextAt    time.Time // when retriable
	// ERP is what the ERP answered, when it answered.
	ERP *erp.Error
	// Text is the whole error, for logs and dead letters.
	Text string
	// ERPEmployeeID is the ERP employee the attempt reached (read, created
	// or adopted) before it failed; "" when none. It is recorded as the
	// employee's link.
	ERPEmployeeID string
}

// OutcomeKind says how a propagation attempt ended, and so what the store
// records for it.
type OutcomeKind int

// Outcome kinds.
const (
	// OutcomeSynced: the ERP reflects the job's HR state (EmployeeSynced).
	OutcomeSynced OutcomeKind = iota + 1
	// OutcomeRetry: try again at Failure.NextAt (SyncFailed, retriable).
	OutcomeRetry
	// OutcomeWait: park until HR's next change (SyncFailed, retriable: HR's
	// missing creation is expected).
	OutcomeWait
	// OutcomeDeadLetter: the ERP refused for good; dead-letter with its
	// reason (SyncFailed, not retriable). A newer HR change tries again.
	OutcomeDeadLetter
	// OutcomeRelease: the attempt was abandoned (shutting down); give the
	// lease back without counting an attempt and without an event.
	OutcomeRelease
)

// Outcome is a finished attempt, as the store records it.
type Outcome struct {
	Kind    OutcomeKind
	Job     Job
	Result  Result  // OutcomeSynced
	Failure Failure // OutcomeRetry, OutcomeWait, OutcomeDeadLetter
}

// Store keeps employees' HR state and propagation status. Every method is
// one transaction, committed durably (synchronous_commit on) before it
// returns: the FieldChanged ack, the outbox relay's publish and the lease
// that keeps a second worker off an employee all rely on it (README,
// "Durability"). Events go through the outbox in the same transaction.
type Store interface {
	// ApplyChanges merges each change into its employee's HR state unless
	// its event id was already processed, and marks the employee due after
	// delay when anything changed; all in one transaction. It reports, per
	// change, whether anything changed.
	ApplyChanges(ctx context.Context, cs []Change, delay time.Duration) ([]bool, error)
	// Settle records finished attempts, each with its event (one
	// transaction for the group), then leases up to limit due employees
	// for lease (another). When recording the group fails it records each
	// attempt on its own, so one bad outcome never holds back the others;
	// the error then names those that could not be recorded (their leases
	// expire and they are redone). Jobs leased are returned even then.
	// hold > 0 leases only employees that have been due for at least
	// hold (Propagator.BurstHold).
	Settle(ctx context.Context, done []Outcome, limit int, lease, hold time.Duration) ([]Job, error)
	// LinkedTo names the HR employee linked to an ERP employee.
	LinkedTo(ctx context.Context, connectionID, erpEmployeeID string) (tenantID, employeeID string, found bool, err error)
	// NoteCreateAttempt durably records, before the call, that the
	// employee is about to be created in the ERP with email (see
	// Job.CreateAttempts).
	NoteCreateAttempt(ctx context.Context, tenantID, employeeID, email string) error
}

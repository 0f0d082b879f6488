package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

// Errors of the connection and run use cases. The ports layer maps them to
// API codes once.
var (
	// ErrForbidden: the actor may not do this (another tenant's token, or
	// not a main administrator).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: no such connection, preview or run in the tenant.
	ErrNotFound = errors.New("not found")
	// ErrConnectionExists: the tenant (or company) has a connection, or
	// the tenant's connections are per company and this one is not (or the
	// other way round).
	ErrConnectionExists = errors.New("connection exists")
	// ErrWrongState: the connection or run is not in the state the call
	// needs (a first sync of an active connection, confirming a running
	// run, ...).
	ErrWrongState = errors.New("wrong state")
	// ErrPreviewExpired: the preview is too old to apply; preview again.
	ErrPreviewExpired = errors.New("the preview has expired; preview again")
	// ErrPreviewUsed: a run was already started on this preview.
	ErrPreviewUsed = errors.New("a run was already started on this preview; preview again")
	// ErrRunUnfinished: the connection has an unfinished run.
	ErrRunUnfinished = errors.New("the connection has an unfinished run")
	// ErrLeaseLost: another executor took the run over (or it is gone).
	ErrLeaseLost = errors.New("the run's lease was lost")
)

// FieldError is bad input, naming the request field.
type FieldError struct {
	Field  string
	Reason string
	Err    error // optional kind, for errors.Is
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func (e *FieldError) Unwrap() error { return e.Err }

// Invalid builds a FieldError.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// UnavailableError is a dependency (the ERP, HR) that did not answer; the
// caller is told to try again and nothing was written.
type UnavailableError struct {
	Dependency string
	Err        error
}

func (e *UnavailableError) Error() string { return e.Dependency + " is unavailable: " + e.Err.Error() }

func (e *UnavailableError) Unwrap() error { return e.Err }

// Role is an administrator's role; the numbers are identity.v1.Role's.
type Role int

// Roles.
const (
	RoleMainAdministrator Role = 1
	RoleSuperuser         Role = 2
	RoleApplicationMgr    Role = 3
	RoleUser              Role = 4
)

// Actor is an authenticated administrator.
type Actor struct {
	TenantID, UserID, Name, Email string
	Role                          Role
}

// Authenticator resolves an administrator's bearer token (the identity
// service owns tokens and roles): ErrBadToken for a token it does not
// accept, an *UnavailableError when it cannot answer.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (Actor, error)
}

// ErrBadToken is a bearer token the identity service does not accept.
var ErrBadToken = errors.New("the bearer token is not valid")

// Company is one company of a tenant, as identity knows it.
type Company struct {
	ID, Name string
}

// TenantInfo is what the sync service needs to know about a tenant from
// identity, which owns tenants.
type TenantInfo struct {
	// Language is the tenant's communication language (BCP 47, e.g. "nb");
	// the runs' reports are written in it when there is a translation.
	Language string
	// Companies are the tenant's companies; a connection per company must
	// name one of them.
	Companies []Company
}

// TenantDirectory describes tenants (the identity service): ErrNotFound for
// a tenant it does not know, an *UnavailableError when it cannot answer.
type TenantDirectory interface {
	DescribeTenant(ctx context.Context, tenantID string) (TenantInfo, error)
}

// ConnStatus is where a connection is in its life.
type ConnStatus string

// Connection statuses.
const (
	ConnPending  ConnStatus = "pending_first_sync"
	ConnActive   ConnStatus = "active"
	ConnDisabled ConnStatus = "disabled"
)

// ERPSystem24SevenOffice is the one ERP system so far.
const ERPSystem24SevenOffice = "24sevenoffice"

// Connection is an HR-to-ERP link; its key is never part of it.
type Connection struct {
	ID, TenantID, CompanyID, ERPSystem string
	Status                             ConnStatus
	AuthorityBy                        string
	AuthorityAt, CreatedAt             time.Time
	KeyRotatedAt                       time.Time // zero: never
}

// ConnectionStore keeps connections with their keys sealed. Every method
// names the tenant, except the ones the service's own machinery uses after
// it found a connection by id.
type ConnectionStore interface {
	// CreateConnection stores c with apiKey (sealed). ErrConnectionExists
	// when the tenant or company has one (or the tenant's are of the other
	// kind).
	CreateConnection(ctx context.Context, c Connection, apiKey string) error
	// Connections lists the tenant's connections, oldest first.
	Connections(ctx context.Context, tenantID string) ([]Connection, error)
	// Connection reads one; ErrNotFound when it is not the tenant's.
	Connection(ctx context.Context, tenantID, id string) (Connection, error)
	// ConnectionKey reads one with its API key, opened.
	ConnectionKey(ctx context.Context, tenantID, id string) (Connection, string, error)
	// RotateKey replaces the key (sealed) and records who confirmed.
	RotateKey(ctx context.Context, tenantID, id, apiKey, by string, at time.Time) (Connection, error)
	// DeleteConnection removes it with its previews, runs and employee
	// links; false when there was none.
	DeleteConnection(ctx context.Context, tenantID, id string) (bool, error)
}

// ERPDialer makes a connector for the ERP account an API key opens; it
// does not call the ERP.
type ERPDialer interface {
	Dial(apiKey string) (erp.Connector, error)
}

// RunKind is what a preview and its run are for.
type RunKind string

// Run kinds; the proto numbers are sync.v1.SyncRunKind's.
const (
	KindFirstSync RunKind = "first_sync"
	KindManual    RunKind = "manual"
)

// RunStatus is where a run is.
type RunStatus string

// Run statuses. Reporting: every employee is done, the report is on its way.
const (
	RunAwaiting        RunStatus = "awaiting_confirmation"
	RunRunning         RunStatus = "running"
	RunReporting       RunStatus = "reporting"
	RunSucceeded       RunStatus = "succeeded"
	RunPartiallyFailed RunStatus = "partially_failed"
	RunFailed          RunStatus = "failed"
	RunCancelled       RunStatus = "cancelled"
)

// ViolationRecord is a rule violation as a preview keeps it.
type ViolationRecord struct {
	Kind   domain.ViolationKind `json:"kind"`
	Field  domain.Field         `json:"field"`
	Value  string               `json:"value,omitempty"`
	Detail string               `json:"detail"`
	HRID   string               `json:"hrId,omitempty"`
	ERPID  string               `json:"erpId,omitempty"`
	Email  string               `json:"email,omitempty"`
	Name   string               `json:"name,omitempty"`
}

// MaxStoredViolations bounds the violations a preview keeps (all are
// counted).
const MaxStoredViolations = 10000

// PreviewRecord is a stored preview, without its items.
type PreviewRecord struct {
	ID, TenantID, ConnectionID string
	Kind                       RunKind
	CreatedBy                  string
	CreatedAt, ExpiresAt       time.Time
	Totals                     domain.Totals
	Violations                 []ViolationRecord
	Items                      int
}

// Preview is a fresh comparison, stored, with its items for the answer.
type Preview struct {
	PreviewRecord
	Comparison domain.Comparison
}

// Counts are a run's per-employee outcome.
type Counts struct {
	CreatedInERP, CreatedInHR, UpdatedInERP, UpdatedInHR, Conflicts, Unchanged, Failed, Skipped int
}

// Run is a synchronisation run.
type Run struct {
	ID, TenantID, ConnectionID, PreviewID string
	Kind                                  RunKind
	Status                                RunStatus
	// Outcome is how it ended (set from reporting on).
	Outcome    RunStatus
	Decisions  domain.Decisions
	Recipients []string
	// Language is the tenant's communication language when the run was
	// started (identity's); the report is written in it ("" or one without
	// a translation: English).
	Language  string
	StartedBy string
	StartedAt time.Time
	// CompletedAt is when its employees were all done.
	CompletedAt                                time.Time
	Total, Done                                int
	Counts                                     Counts
	Affected, ThresholdTotal, ThresholdPercent int
	ConfirmedBy                                string
	Error                                      string
	ReportSentAt                               time.Time
	ReportError                                string
}

// RunItem is one employee a run writes for, with the preview's records.
type RunItem struct {
	Seq  int
	Item domain.Item
}

// ItemOutcome is how one run item ended.
type ItemOutcome struct {
	Seq     int    `json:"seq"`
	Failed  bool   `json:"failed,omitempty"`
	Reason  int    `json:"reason,omitempty"` // FailureReason
	Message string `json:"message,omitempty"`
	// Action is the plan's (domain.Action).
	Action   domain.Action  `json:"action"`
	WroteERP []domain.Field `json:"wroteErp,omitempty"`
	WroteHR  []domain.Field `json:"wroteHr,omitempty"`
	// Conflicts resolved for this employee.
	Conflicts int      `json:"conflicts,omitempty"`
	Notes     []string `json:"notes,omitempty"`
	// The employee on both sides afterwards (HRVersion and HRValues: HR's
	// record as the run left it), recorded as its link.
	HRID      string        `json:"hrId,omitempty"`
	ERPID     string        `json:"erpId,omitempty"`
	HRVersion uint64        `json:"hrVersion,omitempty"`
	HRValues  domain.Values `json:"-"`
	Email     string        `json:"email,omitempty"`
	Name      string        `json:"name,omitempty"`
	At        time.Time     `json:"at"`
}

// ItemFailure is a failed run item, for the API and the report.
type ItemFailure struct {
	HRID, ERPID, Email, Name string
	Reason                   FailureReason
	Message                  string
}

// RunStore keeps previews and runs. Methods that serve the admin name the
// tenant; the executor's work on a claimed run goes by the run and its
// lease owner, and fails with ErrLeaseLost when the lease is not its own.
type RunStore interface {
	// SavePreview stores a preview and its items (index = seq).
	SavePreview(ctx context.Context, p PreviewRecord, items []domain.Item) error
	// Preview reads a preview of the tenant.
	Preview(ctx context.Context, tenantID, id string) (PreviewRecord, error)
	// PreviewItems reads a preview's items in seq order.
	PreviewItems(ctx context.Context, previewID string) ([]domain.Item, error)
	// Links maps the connection's linked HR employees to their ERP ids.
	Links(ctx context.Context, connectionID string) (map[string]string, error)
	// LinkedHR names the HR employee linked to an ERP employee.
	LinkedHR(ctx context.Context, connectionID, erpEmployeeID string) (string, bool, error)
	// CreateRun stores a run with the seqs of its items.
	// ErrPreviewUsed, ErrRunUnfinished.
	CreateRun(ctx context.Context, r Run, seqs []int) error
	// Run reads a run of the tenant.
	Run(ctx context.Context, tenantID, id string) (Run, error)
	// RunFailures lists up to limit failed items of a run, in seq order.
	RunFailures(ctx context.Context, runID string, limit int) ([]ItemFailure, error)
	// SetRunStatus moves a run of the tenant from one status to another
	// (confirming or cancelling); ErrWrongState when it is not in from.
	SetRunStatus(ctx context.Context, tenantID, id string, from, to RunStatus, by string) (Run, error)
	// ClaimRun leases the oldest running or reporting run whose lease is
	// free; false when there is none.
	ClaimRun(ctx context.Context, owner string, lease time.Duration) (Run, bool, error)
	// ExtendLease renews the lease; ErrLeaseLost when it is not owner's.
	ExtendLease(ctx context.Context, runID, owner string, lease time.Duration) (time.Time, error)
	// PendingItems reads up to limit pending items after seq, in seq order.
	PendingItems(ctx context.Context, run Run, afterSeq, limit int) ([]RunItem, error)
	// RecordItems records outcomes in one transaction: the items, the
	// run's counts, the employees' links and their events.
	RecordItems(ctx context.Context, run Run, owner string, outcomes []ItemOutcome) error
	// FinishRun marks every item done: outcome and error recorded, status
	// reporting; a first sync that did not fail activates its connection.
	FinishRun(ctx context.Context, run Run, owner string, outcome RunStatus, errText string) (Run, error)
	// CompleteRun records the report: the final status, and
	// SyncRunCompleted when it was sent (reportErr empty).
	CompleteRun(ctx context.Context, run Run, owner string, sentTo []string, reportErr string, at time.Time) error
}

// Report is what the admin is emailed when a run ends.
type Report struct {
	Run        Run
	Connection Connection
	Failures   []ItemFailure
	Violations []ViolationRecord
	// Notes are what the plan left and why, per employee.
	Notes []ReportNote
	// NotAddedToERP and NotAddedToHR count employees on one side only that
	// the admin chose not to add.
	NotAddedToERP, NotAddedToHR int
}

// ReportNote is one employee's note.
type ReportNote struct {
	Email, Name, Note string
}

// Reporter emails a run's report.
type Reporter interface {
	// SendReport sends r to r.Run.Recipients. Errors wrap
	// notify.ErrInvalid/ErrPermanent (never retried) or are transient.
	SendReport(ctx context.Context, r Report) error
}

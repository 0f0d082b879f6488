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
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
)

// ErrNotFound is an invitation that does not exist in the tenant (or a token
// that matches none).
var ErrNotFound = pgdb.ErrNotFound

// ErrDuplicate is an invitation id used twice.
var ErrDuplicate = errors.New("invitation already exists")

// Store is the invitations table plus the outbox.
type Store struct {
	pool   *pgxpool.Pool
	source string // CloudEvents source of the events written
	// Published is called after a commit that wrote events (Kick the relay).
	Published func()
}

// New returns a Store.
func New(pool *pgxpool.Pool, source string) *Store {
	return &Store{pool: pool, source: source, Published: func() {}}
}

const columns = `tenant_id::text, id::text, kind, origin, first_name, last_name, email, mobile, code_delivery,
grants, language, partner_id, inviter, status, token_hash, created_at, expires_at, lifetime_seconds, code_hash,
code_expires_at, code_attempts, code_requests, last_code_sent_at, accepted_at, user_id, login_method,
external_subject, revoked_at, revoke_reason, revoked_by, superseded_by, version, trace_parent`

type row struct {
	grants, inviter, revokedBy                           []byte
	lifetimeSeconds                                      int64
	codeExpiresAt, lastCodeSentAt, acceptedAt, revokedAt *time.Time
	status                                               string
}

func scan(r pgx.Row) (*domain.Invitation, error) {
	var (
		inv domain.Invitation
		x   row
	)
	err := r.Scan(&inv.TenantID, &inv.ID, &inv.Kind, &inv.Origin, &inv.FirstName, &inv.LastName, &inv.Email,
		&inv.Mobile, &inv.CodeDelivery, &x.grants, &inv.Language, &inv.PartnerID, &x.inviter, &x.status,
		&inv.TokenHash, &inv.CreatedAt, &inv.ExpiresAt, &x.lifetimeSeconds, &inv.CodeHash, &x.codeExpiresAt, &inv.CodeAttempts,
		&inv.CodeRequests, &x.lastCodeSentAt, &x.acceptedAt, &inv.UserID, &inv.LoginMethod,
		&inv.ExternalSubject, &x.revokedAt, &inv.RevokeReason, &x.revokedBy, &inv.SupersededBy, &inv.Version, &inv.TraceParent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("invitation store: scan: %w", err)
	}
	inv.Status = domain.Status(x.status)
	inv.Lifetime = time.Duration(x.lifetimeSeconds) * time.Second
	if err := json.Unmarshal(x.grants, &inv.Grants); err != nil {
		return nil, fmt.Errorf("invitation store: grants: %w", err)
	}
	if err := json.Unmarshal(x.inviter, &inv.Inviter); err != nil {
		return nil, fmt.Errorf("invitation store: inviter: %w", err)
	}
	if len(x.revokedBy) > 0 {
		if err := json.Unmarshal(x.revokedBy, &inv.RevokedBy); err != nil {
			return nil, fmt.Errorf("invitation store: revoked_by: %w", err)
		}
	}
	for _, p := range []struct {
		dst *time.Time
		src *time.Time
	}{{&inv.CodeExpiresAt, x.codeExpiresAt}, {&inv.LastCodeSentAt, x.lastCodeSentAt}, {&inv.AcceptedAt, x.acceptedAt}, {&inv.RevokedAt, x.revokedAt}} {
		if p.src != nil {
			*p.dst = p.src.UTC()
		}
	}
	inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
	return &inv, nil
}

// traceParent is the W3C traceparent of ctx's span ("" outside a trace).
func traceParent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c.Get("traceparent")
}

// linkCreation links ctx's span (the RPC or consumer changing an
// invitation) to the trace that created the invitation.
func linkCreation(ctx context.Context, tp string) {
	if tp == "" {
		return
	}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp}))
	if sc.IsValid() {
		trace.SpanFromContext(ctx).AddLink(trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.String("rollcall.link", "invitation.created")}})
	}
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Create inserts a new invitation and its events. deliver, when not nil,
// runs inside the transaction after the insert (sending the email and code):
// if it fails, nothing is written.
func (s *Store) Create(ctx context.Context, inv *domain.Invitation, deliver func(events []domain.Event) error) error {
	grants, err := json.Marshal(inv.Grants)
	if err != nil {
		return err
	}
	inviter, err := json.Marshal(inv.Inviter)
	if err != nil {
		return err
	}
	err = pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
INSERT INTO invitations (tenant_id, id, kind, origin, first_name, last_name, email, mobile, code_delivery,
  grants, language, partner_id, inviter, status, token_hash, created_at, expires_at, lifetime_seconds, code_hash,
  code_expires_at, last_code_sent_at, trace_parent)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)`,
			inv.TenantID, inv.ID, inv.Kind, inv.Origin, inv.FirstName, inv.LastName, inv.Email, inv.Mobile,
			inv.CodeDelivery, grants, inv.Language, inv.PartnerID, inviter, string(inv.Status), inv.TokenHash,
			inv.CreatedAt, inv.ExpiresAt, int64(inv.Lifetime/time.Second), inv.CodeHash,
			nullTime(inv.CodeExpiresAt), nullTime(inv.LastCodeSentAt), traceParent(ctx))
		if pgdb.IsUniqueViolation(err, "invitations_pkey") {
			return ErrDuplicate
		}
		if err != nil {
			return fmt.Errorf("invitation store: insert: %w", err)
		}
		return s.finish(ctx, tx, inv, deliver)
	})
	if err == nil {
		s.Published()
	}
	return err
}

// finish writes the aggregate's events to the outbox and runs deliver.
func (s *Store) finish(ctx context.Context, tx pgx.Tx, inv *domain.Invitation, deliver func([]domain.Event) error) error {
	events := inv.Events()
	for _, ev := range events {
		rec, ok, err := record(inv, ev)
		if err != nil {
			return err
		}
		if !ok {
			continue // delivery-only events (new link, new code)
		}
		// An event that breaks its own contract would be dead-lettered by
		// every consumer; refuse the change instead.
		if err := protovalidate.Validate(rec.Event); err != nil {
			return fmt.Errorf("invitation store: %s would break its contract: %w", outboxType(rec), err)
		}
		if _, err := outbox.Append(ctx, tx, s.source, rec); err != nil {
			return fmt.Errorf("invitation store: %w", err)
		}
	}
	if deliver != nil {
		return deliver(events)
	}
	return nil
}

// Update locks the invitation, hands it to fn and saves what fn left, with
// its events, in one transaction. If fn returns an error nothing is saved.
// deliver, when not nil, runs before the commit with the events fn caused.
func (s *Store) Update(ctx context.Context, tenantID, id string, fn func(*domain.Invitation) error, deliver func([]domain.Event) error) (*domain.Invitation, error) {
	return s.update(ctx, `SELECT `+columns+` FROM invitations WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, []any{tenantID, id}, fn, deliver)
}

// UpdateByToken is Update for the invitee, who holds only the link. A token
// that matches no invitation is ErrNotFound, which callers turn into the same
// answer as every other bad token.
func (s *Store) UpdateByToken(ctx context.Context, tok domain.Token, fn func(*domain.Invitation) error, deliver func([]domain.Event) error) (*domain.Invitation, error) {
	h, err := tok.Hash()
	if err != nil {
		return nil, ErrNotFound
	}
	return s.update(ctx, `SELECT `+columns+` FROM invitations WHERE token_hash = $1 FOR UPDATE`, []any{h}, fn, deliver)
}

func (s *Store) update(ctx context.Context, query string, args []any, fn func(*domain.Invitation) error, deliver func([]domain.Event) error) (*domain.Invitation, error) {
	var out *domain.Invitation
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		inv, err := scan(tx.QueryRow(ctx, query, args...))
		if err != nil {
			return err
		}
		linkCreation(ctx, inv.TraceParent)
		if err := fn(inv); err != nil {
			return err
		}
		if err := s.save(ctx, tx, inv); err != nil {
			return err
		}
		if err := s.finish(ctx, tx, inv, deliver); err != nil {
			return err
		}
		out = inv
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Published()
	return out, nil
}

func (s *Store) save(ctx context.Context, tx pgx.Tx, inv *domain.Invitation) error {
	var revokedBy []byte
	if inv.RevokedBy.UserID != "" {
		b, err := json.Marshal(inv.RevokedBy)
		if err != nil {
			return err
		}
		revokedBy = b
	}
	tag, err := tx.Exec(ctx, `
UPDATE invitations SET status = $3, token_hash = $4, expires_at = $5, code_hash = $6, code_expires_at = $7,
  first_name = $20, last_name = $21,
  code_attempts = $8, code_requests = $9, last_code_sent_at = $10, accepted_at = $11, user_id = $12,
  login_method = $13, external_subject = $14, revoked_at = $15, revoke_reason = $16, revoked_by = $17,
  superseded_by = $19, code_delivery = $22, version = version + 1
WHERE tenant_id = $1 AND id = $2 AND version = $18`,
		inv.TenantID, inv.ID, string(inv.Status), inv.TokenHash, inv.ExpiresAt, inv.CodeHash,
		nullTime(inv.CodeExpiresAt), inv.CodeAttempts, inv.CodeRequests, nullTime(inv.LastCodeSentAt),
		nullTime(inv.AcceptedAt), inv.UserID, inv.LoginMethod, inv.ExternalSubject, nullTime(inv.RevokedAt),
		inv.RevokeReason, revokedBy, inv.Version, inv.SupersededBy, inv.FirstName, inv.LastName, inv.CodeDelivery)
	if err != nil {
		return fmt.Errorf("invitation store: update: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("invitation store: %s changed underneath (version %d)", inv.ID, inv.Version)
	}
	inv.Version++
	return nil
}

// Get reads one invitation of a tenant.
func (s *Store) Get(ctx context.Context, tenantID, id string) (*domain.Invitation, error) {
	return scan(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM invitations WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// ListFilter narrows List (the app layer's type).
type ListFilter = app.ListFilter

// List returns a tenant's invitations, newest first.
func (s *Store) List(ctx context.Context, tenantID string, f ListFilter) ([]*domain.Invitation, error) {
	statuses := make([]string, len(f.Statuses))
	for i, st := range f.Statuses {
		statuses[i] = string(st)
	}
	kinds := make([]int16, len(f.Kinds))
	for i, k := range f.Kinds {
		kinds[i] = int16(k)
	}
	after := f.AfterCreatedAt
	if after.IsZero() {
		after = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	afterID := f.AfterID
	if afterID == "" {
		afterID = "ffffffff-ffff-ffff-ffff-ffffffffffff"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM invitations
WHERE tenant_id = $1 AND (cardinality($2::text[]) = 0 OR status = ANY($2))
  AND (cardinality($6::smallint[]) = 0 OR kind = ANY($6))
  AND (created_at, id) < ($3, $4::uuid)
ORDER BY created_at DESC, id DESC LIMIT $5`, tenantID, statuses, after, afterID, f.Limit, kinds)
	if err != nil {
		return nil, fmt.Errorf("invitation store: list: %w", err)
	}
	defer rows.Close()
	var out []*domain.Invitation
	for rows.Next() {
		inv, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// DueForExpiry lists live invitations past their lifetime (for the sweeper).
func (s *Store) DueForExpiry(ctx context.Context, now time.Time, limit int) ([][2]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id::text, id::text FROM invitations
WHERE status IN ('pending', 'locked') AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("invitation store: due: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var k [2]string
		err := r.Scan(&k[0], &k[1])
		return k, err
	})
}

// PendingIntegratorInvitations lists a tenant's live integrator invitations
// created before `before`.
func (s *Store) PendingIntegratorInvitations(ctx context.Context, tenantID string, before time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text FROM invitations
WHERE tenant_id = $1 AND kind = $2 AND status IN ('pending', 'locked') AND created_at < $3 ORDER BY created_at`,
		tenantID, domain.KindIntegrator, before)
	if err != nil {
		return nil, fmt.Errorf("invitation store: integrator invitations: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Lifetime is the tenant's invitation lifetime (0: the default).
func (s *Store) Lifetime(ctx context.Context, tenantID string) (time.Duration, error) {
	var secs int64
	err := s.pool.QueryRow(ctx, `SELECT lifetime_seconds FROM invitation_settings WHERE tenant_id = $1`, tenantID).Scan(&secs)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("invitation store: settings: %w", err)
	}
	return time.Duration(secs) * time.Second, nil
}

// SetLifetime stores the tenant's invitation lifetime (validated by the
// caller with domain.ValidateLifetime; the table checks the range too).
func (s *Store) SetLifetime(ctx context.Context, tenantID string, l time.Duration) error {
	_, err := s.pool.Exec(ctx, `
INSERT INTO invitation_settings (tenant_id, lifetime_seconds) VALUES ($1, $2)
ON CONFLICT (tenant_id) DO UPDATE SET lifetime_seconds = EXCLUDED.lifetime_seconds`, tenantID, int64(l/time.Second))
	if err != nil {
		return fmt.Errorf("invitation store: set lifetime: %w", err)
	}
	return nil
}

func outboxType(r outbox.Record) string {
	return string(r.Event.ProtoReflect().Descriptor().FullName())
}

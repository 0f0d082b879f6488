package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"buf.build/go/protovalidate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rollcall.dev/pkg/inbox"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/domain"
)

// ErrNotFound is a row that does not exist (in the tenant).
var ErrNotFound = pgdb.ErrNotFound

// Store is the registry and the tenants' integrators plus the outbox.
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

// Dedupe names the event a change applies (the app layer's type).
type Dedupe = app.Dedupe

var _ app.Store = (*Store)(nil)

// Update locks the tenant (creating its row with the default policy on
// first use), loads its policy and every integrator record (current and
// ended: a tenant has few, and an acceptance must know whether its
// invitation was already accepted), hands them to fn and saves what fn
// changed, with its events, in one transaction. If fn fails nothing is
// saved. With a Dedupe whose event was already applied, fn does not run and
// Update returns (nil, nil).
func (s *Store) Update(ctx context.Context, tenantID string, l app.Load, fn func(*domain.Tenant) error) (*domain.Tenant, error) {
	d := l.Dedupe
	var (
		out    *domain.Tenant
		events int
	)
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if d.Consumer != "" {
			// An event: claimed once (an id Postgres cannot keep, or none,
			// is inbox.ErrNoEventID: it cannot be de-duplicated).
			first, err := inbox.Claim(ctx, tx, d.Consumer, d.EventID)
			if err != nil || !first {
				return err
			}
		}
		// The partner before the tenant: revocation locks the partner, then
		// its integrators' tenants, so taking them in the same order cannot
		// deadlock.
		partnerLive := false
		if l.Partner != "" {
			var err error
			if partnerLive, err = lockPartner(ctx, tx, l.Partner); err != nil {
				return err
			}
		}
		t, err := s.lockTenant(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		t.PartnerLive = partnerLive
		if l.Invitation != "" {
			inv, err := invitation(ctx, tx, tenantID, l.Invitation)
			switch {
			case err == nil:
				t.Invitation = &inv
			case !errors.Is(err, ErrNotFound):
				return err
			}
		}
		loaded := snapshot(t)
		if err := fn(t); err != nil {
			return err
		}
		if err := s.saveTenant(ctx, tx, t, loaded); err != nil {
			return err
		}
		events = len(t.Events())
		out = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	if events > 0 {
		s.Published()
	}
	return out, nil
}

// lockPartner reports whether a partner is registered and not revoked,
// holding a share lock on its row until the transaction ends. Revocation
// takes the row FOR UPDATE before it looks for the partner's integrators,
// so either this transaction waits for the revocation and then sees it
// (READ COMMITTED re-reads a locked row's newest version), or the
// revocation waits for this one and then finds the integrator it added.
func lockPartner(ctx context.Context, tx pgx.Tx, partnerID string) (bool, error) {
	var live bool
	err := tx.QueryRow(ctx, `SELECT revoked_at IS NULL FROM partners WHERE id = $1 FOR SHARE`, partnerID).Scan(&live)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("integrator store: partner: %w", err)
	}
	return live, nil
}

func (s *Store) lockTenant(ctx context.Context, tx pgx.Tx, tenantID string) (*domain.Tenant, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO integrator_tenants (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING`, tenantID); err != nil {
		return nil, fmt.Errorf("integrator store: tenant: %w", err)
	}
	t := &domain.Tenant{ID: tenantID}
	if err := scanPolicy(tx.QueryRow(ctx, `SELECT max_active, overflow_mode, updated_at, updated_by
FROM integrator_tenants WHERE tenant_id = $1 FOR UPDATE`, tenantID), &t.Policy); err != nil {
		return nil, err
	}
	ins, err := s.integrators(ctx, tx, `WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, err
	}
	t.Integrators = ins
	return t, nil
}

// snapshot copies the loaded integrators, so saveTenant writes only what
// changed.
func snapshot(t *domain.Tenant) map[string]domain.Integrator {
	out := make(map[string]domain.Integrator, len(t.Integrators))
	for _, in := range t.Integrators {
		out[in.InvitationID] = *in
	}
	return out
}

func scanPolicy(r pgx.Row, p *domain.Policy) error {
	var (
		updatedAt *time.Time
		mode      int16
		maxActive int32
	)
	err := r.Scan(&maxActive, &mode, &updatedAt, &p.UpdatedBy)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return fmt.Errorf("integrator store: policy: %w", err)
	}
	p.MaxActive, p.Overflow = int(maxActive), domain.OverflowMode(mode)
	if updatedAt != nil {
		p.UpdatedAt = updatedAt.UTC()
	}
	return nil
}

const integratorColumns = `invitation_id::text, user_id::text, partner_id::text, email, state, invited_at, since,
ended_at, end_reason, ended_by, note`

func (s *Store) integrators(ctx context.Context, q pgdb.Querier, where string, args ...any) ([]*domain.Integrator, error) {
	rows, err := q.Query(ctx, `SELECT `+integratorColumns+` FROM integrators `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("integrator store: integrators: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Integrator, error) {
		var (
			in      domain.Integrator
			state   string
			endedAt *time.Time
			reason  int16
		)
		if err := r.Scan(&in.InvitationID, &in.UserID, &in.PartnerID, &in.Email, &state, &in.InvitedAt, &in.Since,
			&endedAt, &reason, &in.EndedBy, &in.Note); err != nil {
			return nil, fmt.Errorf("integrator store: scan: %w", err)
		}
		in.State, in.EndReason = domain.State(state), domain.DismissalReason(reason)
		in.InvitedAt, in.Since = in.InvitedAt.UTC(), in.Since.UTC()
		if endedAt != nil {
			in.EndedAt = endedAt.UTC()
		}
		return &in, nil
	})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Store) saveTenant(ctx context.Context, tx pgx.Tx, t *domain.Tenant, loaded map[string]domain.Integrator) error {
	if t.PolicyChanged {
		if _, err := tx.Exec(ctx, `UPDATE integrator_tenants SET max_active = $2, overflow_mode = $3, updated_at = $4, updated_by = $5
WHERE tenant_id = $1`, t.ID, t.Policy.MaxActive, int16(t.Policy.Overflow), nullTime(t.Policy.UpdatedAt), t.Policy.UpdatedBy); err != nil {
			return fmt.Errorf("integrator store: save policy: %w", err)
		}
	}
	if inv := t.NewInvitation; inv != nil {
		if _, err := tx.Exec(ctx, `INSERT INTO integrator_invitations (tenant_id, invitation_id, partner_id, email, invited_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, t.ID, inv.InvitationID, inv.PartnerID, inv.Email, inv.InvitedAt); err != nil {
			return fmt.Errorf("integrator store: save invitation: %w", err)
		}
	}
	for _, in := range t.Integrators {
		if old, ok := loaded[in.InvitationID]; ok && old == *in {
			continue
		}
		_, err := tx.Exec(ctx, `
INSERT INTO integrators (tenant_id, invitation_id, user_id, partner_id, email, state, invited_at, since, ended_at, end_reason, ended_by, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (tenant_id, invitation_id) DO UPDATE SET state = EXCLUDED.state, since = EXCLUDED.since,
  ended_at = EXCLUDED.ended_at, end_reason = EXCLUDED.end_reason, ended_by = EXCLUDED.ended_by, note = EXCLUDED.note`,
			t.ID, in.InvitationID, in.UserID, in.PartnerID, in.Email, string(in.State), in.InvitedAt, in.Since,
			nullTime(in.EndedAt), int16(in.EndReason), in.EndedBy, in.Note)
		if err != nil {
			return fmt.Errorf("integrator store: save integrator: %w", err)
		}
	}
	for _, ev := range t.Events() {
		if err := s.append(ctx, tx, record(t.ID, ev)); err != nil {
			return err
		}
	}
	return nil
}

// append validates an event against its contract and writes it to the
// outbox: an event consumers would refuse is never written, and neither is
// the change that caused it.
func (s *Store) append(ctx context.Context, tx pgx.Tx, rec outbox.Record) error {
	if err := protovalidate.Validate(rec.Event); err != nil {
		return fmt.Errorf("integrator store: %s would break its contract: %w", rec.Event.ProtoReflect().Descriptor().FullName(), err)
	}
	if _, err := outbox.Append(ctx, tx, s.source, rec); err != nil {
		return fmt.Errorf("integrator store: %w", err)
	}
	return nil
}

// Tenant reads a tenant's policy and current integrators without locking;
// a tenant never seen has the default policy and none.
func (s *Store) Tenant(ctx context.Context, tenantID string) (*domain.Tenant, error) {
	t := &domain.Tenant{ID: tenantID}
	err := scanPolicy(s.pool.QueryRow(ctx, `SELECT max_active, overflow_mode, updated_at, updated_by
FROM integrator_tenants WHERE tenant_id = $1`, tenantID), &t.Policy)
	if errors.Is(err, ErrNotFound) {
		t.Policy = domain.DefaultPolicy()
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	ins, err := s.integrators(ctx, s.pool, `WHERE tenant_id = $1 AND state IN ('active', 'waiting') ORDER BY since, invited_at`, tenantID)
	if err != nil {
		return nil, err
	}
	t.Integrators = ins
	return t, nil
}

// Invitation reads a recorded integrator invitation.
func (s *Store) Invitation(ctx context.Context, tenantID, invitationID string) (domain.Invitation, error) {
	return invitation(ctx, s.pool, tenantID, invitationID)
}

func invitation(ctx context.Context, q pgdb.Querier, tenantID, invitationID string) (domain.Invitation, error) {
	inv := domain.Invitation{TenantID: tenantID, InvitationID: invitationID}
	err := q.QueryRow(ctx, `SELECT partner_id::text, email, invited_at FROM integrator_invitations
WHERE tenant_id = $1 AND invitation_id = $2`, tenantID, invitationID).Scan(&inv.PartnerID, &inv.Email, &inv.InvitedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Invitation{}, ErrNotFound
	}
	if err != nil {
		return domain.Invitation{}, fmt.Errorf("integrator store: invitation: %w", err)
	}
	inv.InvitedAt = inv.InvitedAt.UTC()
	return inv, nil
}

// LastIntegrator is the user's latest integrator record in the tenant
// (current first), or nil when he never was one.
func (s *Store) LastIntegrator(ctx context.Context, tenantID, userID string) (*domain.Integrator, error) {
	ins, err := s.integrators(ctx, s.pool, `WHERE tenant_id = $1 AND user_id = $2
ORDER BY state IN ('active', 'waiting') DESC, since DESC LIMIT 1`, tenantID, userID)
	if err != nil || len(ins) == 0 {
		return nil, err
	}
	return ins[0], nil
}

// Denied records an ActionDenied event (audit trail and alerting).
func (s *Store) Denied(ctx context.Context, d Denial) error {
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		return s.append(ctx, tx, deniedRecord(d))
	})
	if err == nil {
		s.Published()
	}
	return err
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/services/integrator-policy/domain"
)

// RegisterPartner inserts a partner and its addresses. An address already
// registered to a live partner is domain.ErrAddressTaken (as a field error
// naming it), and nothing is written.
func (s *Store) RegisterPartner(ctx context.Context, p domain.Partner) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO partners (id, name, registered_at) VALUES ($1, $2, $3)`, p.ID, p.Name, p.RegisteredAt); err != nil {
			return fmt.Errorf("integrator store: partner: %w", err)
		}
		return insertAddresses(ctx, tx, p)
	})
}

func insertAddresses(ctx context.Context, tx pgx.Tx, p domain.Partner) error {
	add := func(field, kind string, values []string) error {
		for i, v := range values {
			var owner string
			err := tx.QueryRow(ctx, `SELECT partner_id::text FROM partner_addresses WHERE kind = $1 AND value = $2 AND NOT revoked`, kind, v).Scan(&owner)
			switch {
			case err == nil && owner == p.ID:
				continue
			case err == nil:
				return &domain.FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Reason: v + " is already registered to another partner", Kind: domain.ErrAddressTaken}
			case !errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("integrator store: address: %w", err)
			}
			_, err = tx.Exec(ctx, `INSERT INTO partner_addresses (partner_id, kind, value) VALUES ($1, $2, $3)
ON CONFLICT (partner_id, kind, value) DO UPDATE SET revoked = false`, p.ID, kind, v)
			if pgdb.IsUniqueViolation(err, "partner_addresses_live") {
				return &domain.FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Reason: v + " is already registered to another partner", Kind: domain.ErrAddressTaken}
			}
			if err != nil {
				return fmt.Errorf("integrator store: address: %w", err)
			}
		}
		return nil
	}
	if err := add("emails", "email", p.Emails); err != nil {
		return err
	}
	return add("domains", "domain", p.Domains)
}

// SeedPartners makes sure each partner exists with at least its addresses,
// for `rollcall dev` and PARTNERS_FILE: a partner already there gains the
// addresses it lacks; a revoked one stays revoked (the operator's decision
// wins over configuration). It reports the partners it created.
func (s *Store) SeedPartners(ctx context.Context, ps []domain.Partner) (created int, err error) {
	for _, p := range ps {
		err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `INSERT INTO partners (id, name, registered_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
				p.ID, p.Name, p.RegisteredAt)
			if err != nil {
				return fmt.Errorf("integrator store: seed partner: %w", err)
			}
			if tag.RowsAffected() == 1 {
				created++
			}
			var revoked bool
			if err := tx.QueryRow(ctx, `SELECT revoked_at IS NOT NULL FROM partners WHERE id = $1 FOR UPDATE`, p.ID).Scan(&revoked); err != nil {
				return fmt.Errorf("integrator store: seed partner: %w", err)
			}
			if revoked {
				return nil
			}
			return insertAddresses(ctx, tx, p)
		})
		if err != nil {
			return created, fmt.Errorf("partner %q: %w", p.Name, err)
		}
	}
	return created, nil
}

const partnerColumns = `p.id::text, p.name, p.registered_at, p.revoked_at,
  coalesce(array_agg(a.value ORDER BY a.value) FILTER (WHERE a.kind = 'email'), '{}'),
  coalesce(array_agg(a.value ORDER BY a.value) FILTER (WHERE a.kind = 'domain'), '{}')`

func scanPartner(r pgx.Row) (domain.Partner, error) {
	var (
		p         domain.Partner
		revokedAt *time.Time
	)
	err := r.Scan(&p.ID, &p.Name, &p.RegisteredAt, &revokedAt, &p.Emails, &p.Domains)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Partner{}, domain.ErrPartnerNotFound
	}
	if err != nil {
		return domain.Partner{}, fmt.Errorf("integrator store: partner: %w", err)
	}
	p.RegisteredAt = p.RegisteredAt.UTC()
	if revokedAt != nil {
		p.RevokedAt = revokedAt.UTC()
	}
	return p, nil
}

// Partner reads one partner.
func (s *Store) Partner(ctx context.Context, id string) (domain.Partner, error) {
	return scanPartner(s.pool.QueryRow(ctx, `SELECT `+partnerColumns+` FROM partners p
LEFT JOIN partner_addresses a ON a.partner_id = p.id WHERE p.id = $1 GROUP BY p.id`, id))
}

// ListPartners lists partners by name.
func (s *Store) ListPartners(ctx context.Context, includeRevoked bool) ([]domain.Partner, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+partnerColumns+` FROM partners p
LEFT JOIN partner_addresses a ON a.partner_id = p.id
WHERE $1 OR p.revoked_at IS NULL GROUP BY p.id ORDER BY p.name, p.id`, includeRevoked)
	if err != nil {
		return nil, fmt.Errorf("integrator store: partners: %w", err)
	}
	defer rows.Close()
	var out []domain.Partner
	for rows.Next() {
		p, err := scanPartner(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CheckPartner finds the live partner an email belongs to: its exact
// address first, then its domain. email must be normalized
// (domain.NormalizeEmail). No match is domain.ErrPartnerNotFound.
func (s *Store) CheckPartner(ctx context.Context, email string) (domain.Partner, domain.Match, error) {
	var (
		id    string
		match int
	)
	err := s.pool.QueryRow(ctx, `SELECT partner_id::text, CASE kind WHEN 'email' THEN 1 ELSE 2 END FROM partner_addresses
WHERE NOT revoked AND ((kind = 'email' AND value = $1) OR (kind = 'domain' AND value = $2))
ORDER BY kind = 'email' DESC LIMIT 1`, email, domain.DomainOf(email)).Scan(&id, &match)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Partner{}, domain.MatchNone, domain.ErrPartnerNotFound
	}
	if err != nil {
		return domain.Partner{}, domain.MatchNone, fmt.Errorf("integrator store: check partner: %w", err)
	}
	p, err := s.Partner(ctx, id)
	return p, domain.Match(match), err
}

// RevokePartner withdraws a partner's certification and, in the same
// transaction, dismisses its current integrators in every tenant (each
// tenant locked, in tenant order so two revocations cannot deadlock). The
// partner's row is locked FOR UPDATE first: an acceptance reads it FOR
// SHARE (Update with Load.Partner), so one committing concurrently is
// either seen by the scan below (it committed before the lock was granted;
// each READ COMMITTED statement takes a fresh snapshot) or sees the
// revocation and ends its integrator itself.
func (s *Store) RevokePartner(ctx context.Context, id, note string, now time.Time) (domain.Partner, int, error) {
	dismissed := 0
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var revokedAt *time.Time
		err := tx.QueryRow(ctx, `SELECT revoked_at FROM partners WHERE id = $1 FOR UPDATE`, id).Scan(&revokedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ErrPartnerNotFound
		}
		if err != nil {
			return fmt.Errorf("integrator store: revoke: %w", err)
		}
		if revokedAt != nil {
			return domain.ErrPartnerRevoked
		}
		if _, err := tx.Exec(ctx, `UPDATE partners SET revoked_at = $2, revoke_note = $3 WHERE id = $1`, id, now, note); err != nil {
			return fmt.Errorf("integrator store: revoke: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE partner_addresses SET revoked = true WHERE partner_id = $1`, id); err != nil {
			return fmt.Errorf("integrator store: revoke addresses: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT tenant_id::text FROM integrators
WHERE partner_id = $1 AND state IN ('active', 'waiting') ORDER BY 1`, id)
		if err != nil {
			return fmt.Errorf("integrator store: revoke: %w", err)
		}
		tenants, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("integrator store: revoke: %w", err)
		}
		slices.Sort(tenants)
		for _, tid := range tenants {
			t, err := s.lockTenant(ctx, tx, tid)
			if err != nil {
				return err
			}
			loaded := snapshot(t)
			dismissed += t.PartnerRevoked(id, now)
			if err := s.saveTenant(ctx, tx, t, loaded); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return domain.Partner{}, 0, err
	}
	if dismissed > 0 {
		s.Published()
	}
	p, err := s.Partner(ctx, id)
	return p, dismissed, err
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/services/sync/app"
)

var _ app.ConnectionStore = (*Store)(nil)

// keyAAD binds a sealed API key to its tenant and connection, so a
// ciphertext moved to another row does not open.
func keyAAD(tenantID, id string) []byte {
	return []byte("rollcall/sync/connection-key/" + tenantID + "/" + id)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

const connectionColumns = `id::text, tenant_id::text, COALESCE(company_id::text, ''), erp_system, status,
  authority_confirmed_by::text, authority_confirmed_at, created_at, key_rotated_at`

func scanConnection(r pgx.Row, extra ...any) (app.Connection, error) {
	var (
		c       app.Connection
		status  string
		rotated *time.Time
	)
	dest := append([]any{&c.ID, &c.TenantID, &c.CompanyID, &c.ERPSystem, &status, &c.AuthorityBy, &c.AuthorityAt, &c.CreatedAt, &rotated}, extra...)
	if err := r.Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return app.Connection{}, app.ErrNotFound
		}
		return app.Connection{}, fmt.Errorf("sync store: connection: %w", err)
	}
	c.Status = app.ConnStatus(status)
	if rotated != nil {
		c.KeyRotatedAt = *rotated
	}
	return c, nil
}

func (s *Store) seal(tenantID, id, apiKey string) (int, []byte, error) {
	if s.Keys == nil {
		return 0, nil, errors.New("sync store: no keyring to seal API keys with (SYNC_CONNECTION_KEYS)")
	}
	return s.Keys.Seal([]byte(apiKey), keyAAD(tenantID, id))
}

// CreateConnection implements app.ConnectionStore. A per-tenant lock (held
// to commit) makes "one per tenant, or one per company, not both" hold
// between concurrent requests; the unique indexes back it.
func (s *Store) CreateConnection(ctx context.Context, c app.Connection, apiKey string) error {
	version, sealed, err := s.seal(c.TenantID, c.ID, apiKey)
	if err != nil {
		return err
	}
	return pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('rollcall/sync/connections/' || $1::text, 0))`, c.TenantID); err != nil {
			return fmt.Errorf("sync store: lock: %w", err)
		}
		var tenantWide, perCompany int
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE company_id IS NULL), count(*) FILTER (WHERE company_id IS NOT NULL)
FROM connections WHERE tenant_id = $1`, c.TenantID).Scan(&tenantWide, &perCompany); err != nil {
			return fmt.Errorf("sync store: connections: %w", err)
		}
		switch {
		case tenantWide > 0:
			return fmt.Errorf("%w: the tenant is connected as a whole; delete that connection first", app.ErrConnectionExists)
		case c.CompanyID == "" && perCompany > 0:
			return fmt.Errorf("%w: the tenant is connected per company; connect the remaining companies one by one", app.ErrConnectionExists)
		}
		_, err := tx.Exec(ctx, `
INSERT INTO connections (id, tenant_id, company_id, erp_system, status, key_version, key_sealed, authority_confirmed_by, authority_confirmed_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
			c.ID, c.TenantID, nullable(c.CompanyID), c.ERPSystem, string(c.Status), version, sealed, c.AuthorityBy, c.AuthorityAt)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("%w: the company is connected already", app.ErrConnectionExists)
		}
		if err != nil {
			return fmt.Errorf("sync store: create connection: %w", err)
		}
		return nil
	})
}

// Connections implements app.ConnectionStore.
func (s *Store) Connections(ctx context.Context, tenantID string) ([]app.Connection, error) {
	rows, err := s.db.Query(ctx, `SELECT `+connectionColumns+` FROM connections WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sync store: connections: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Connection, error) { return scanConnection(r) })
}

// Connection implements app.ConnectionStore.
func (s *Store) Connection(ctx context.Context, tenantID, id string) (app.Connection, error) {
	return scanConnection(s.db.QueryRow(ctx, `SELECT `+connectionColumns+` FROM connections WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// ConnectionKey implements app.ConnectionStore.
func (s *Store) ConnectionKey(ctx context.Context, tenantID, id string) (app.Connection, string, error) {
	if s.Keys == nil {
		return app.Connection{}, "", errors.New("sync store: no keyring to open API keys with (SYNC_CONNECTION_KEYS)")
	}
	var (
		version int
		sealed  []byte
	)
	c, err := scanConnection(s.db.QueryRow(ctx, `SELECT `+connectionColumns+`, key_version, key_sealed FROM connections WHERE tenant_id = $1 AND id = $2`,
		tenantID, id), &version, &sealed)
	if err != nil {
		return app.Connection{}, "", err
	}
	key, err := s.Keys.Open(version, sealed, keyAAD(c.TenantID, c.ID))
	if err != nil {
		return app.Connection{}, "", fmt.Errorf("sync store: connection %s: %w", id, err)
	}
	return c, string(key), nil
}

// RotateKey implements app.ConnectionStore.
func (s *Store) RotateKey(ctx context.Context, tenantID, id, apiKey, by string, at time.Time) (app.Connection, error) {
	version, sealed, err := s.seal(tenantID, id, apiKey)
	if err != nil {
		return app.Connection{}, err
	}
	return scanConnection(s.db.QueryRow(ctx, `
UPDATE connections SET key_version = $3, key_sealed = $4, key_rotated_at = $6, authority_confirmed_by = $5,
  authority_confirmed_at = $6, updated_at = now()
WHERE tenant_id = $1 AND id = $2
RETURNING `+connectionColumns, tenantID, id, version, sealed, by, at))
}

// DeleteConnection implements app.ConnectionStore: the employees' links go
// with it (and its previews and runs, by cascade).
func (s *Store) DeleteConnection(ctx context.Context, tenantID, id string) (bool, error) {
	var gone bool
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM employees WHERE tenant_id = $1 AND connection_id = $2`, tenantID, id); err != nil {
			return fmt.Errorf("sync store: delete links: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM connections WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err != nil {
			return fmt.Errorf("sync store: delete connection: %w", err)
		}
		gone = tag.RowsAffected() == 1
		return nil
	})
	return gone, err
}

// Reseal seals again, under the keyring's current version, every API key
// sealed under an older one (run at start-up after the encryption key was
// rotated). It returns how many it resealed; a key that does not open
// stops it with an error naming the connection.
func (s *Store) Reseal(ctx context.Context) (int, error) {
	if s.Keys == nil {
		return 0, nil
	}
	n := 0
	for {
		done := false
		err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
			var (
				tenant, id string
				version    int
				sealed     []byte
			)
			err := tx.QueryRow(ctx, `SELECT tenant_id::text, id::text, key_version, key_sealed FROM connections
WHERE key_version <> $1 LIMIT 1 FOR UPDATE SKIP LOCKED`, s.Keys.Current()).Scan(&tenant, &id, &version, &sealed)
			if errors.Is(err, pgx.ErrNoRows) {
				done = true
				return nil
			}
			if err != nil {
				return fmt.Errorf("sync store: reseal: %w", err)
			}
			plain, err := s.Keys.Open(version, sealed, keyAAD(tenant, id))
			if err != nil {
				return fmt.Errorf("sync store: reseal connection %s: %w", id, err)
			}
			v, resealed, err := s.Keys.Seal(plain, keyAAD(tenant, id))
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE connections SET key_version = $2, key_sealed = $3 WHERE id = $1`, id, v, resealed)
			return err
		})
		if err != nil || done {
			return n, err
		}
		n++
	}
}

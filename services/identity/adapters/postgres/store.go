// Package postgres is the identity service's store: tenants, their
// structure, users, tokens and pending credentials in PostgreSQL, with user
// events written to the outbox in the same transaction (validated against
// their contracts first) and event consumers' inbox claims beside them.
//
// Every query names the tenant; nothing reads across tenants except the
// lookups that start from a secret (a token's hash, a company code at
// sign-in), which then carry on within the tenant they found, and a
// person's credential, which belongs to the user id (one person, several
// memberships) and is only ever joined to a membership of the tenant asked.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protojson"

	"rollcall.dev/pkg/inbox"
	"rollcall.dev/pkg/pgdb"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// Store is the Postgres store.
type Store struct {
	pool   *pgxpool.Pool
	source string
	// Published is called after a commit that wrote events (Kick the relay).
	Published func()
}

var _ app.Store = (*Store)(nil)

// New returns a Store writing events with CloudEvents source.
func New(pool *pgxpool.Pool, source string) *Store {
	return &Store{pool: pool, source: source, Published: func() {}}
}

// Do runs fn in a transaction.
func (s *Store) Do(ctx context.Context, fn func(app.Tx) error) error {
	t := &tx{ctx: ctx, s: s}
	err := pgdb.InTx(ctx, s.pool, func(ptx pgx.Tx) error {
		t.tx = ptx
		return fn(t)
	})
	if err == nil && t.wrote {
		s.Published()
	}
	return err
}

// Process runs fn in a transaction with the inbox claim of eventID.
func (s *Store) Process(ctx context.Context, consumer, eventID string, fn func(app.Tx) error) error {
	if eventID == "" {
		return inbox.ErrNoEventID
	}
	t := &tx{ctx: ctx, s: s}
	err := pgdb.InTx(ctx, s.pool, func(ptx pgx.Tx) error {
		first, err := inbox.Claim(ctx, ptx, consumer, eventID)
		if err != nil || !first {
			return err
		}
		t.tx = ptx
		return fn(t)
	})
	if err == nil && t.wrote {
		s.Published()
	}
	return err
}

// Use records a login assertion's nonce (single use); false if already used.
// Expired nonces are pruned on the way.
func (s *Store) Use(ctx context.Context, nonce string, expires time.Time) (bool, error) {
	var first bool
	err := pgdb.InTx(ctx, s.pool, func(ptx pgx.Tx) error {
		if _, err := ptx.Exec(ctx, `DELETE FROM used_assertions WHERE expires_at < now() - interval '1 minute'`); err != nil {
			return err
		}
		tag, err := ptx.Exec(ctx, `INSERT INTO used_assertions (nonce, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, nonce, expires)
		if err != nil {
			return err
		}
		first = tag.RowsAffected() == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("identity store: nonce: %w", err)
	}
	return first, nil
}

type tx struct {
	ctx   context.Context
	s     *Store
	tx    pgx.Tx
	wrote bool
}

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.ErrNotFound
	}
	return err
}

func (t *tx) Tenant(id string, lock bool) (*domain.Tenant, error) {
	q := `SELECT id::text, name, company_code, language, seat_limit, created_at FROM tenants WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	return scanTenant(t.tx.QueryRow(t.ctx, q, id))
}

func (t *tx) TenantByCode(code string) (*domain.Tenant, error) {
	return scanTenant(t.tx.QueryRow(t.ctx, `SELECT id::text, name, company_code, language, seat_limit, created_at FROM tenants WHERE lower(company_code) = lower($1)`, code))
}

func scanTenant(r pgx.Row) (*domain.Tenant, error) {
	var tn domain.Tenant
	if err := r.Scan(&tn.ID, &tn.Name, &tn.CompanyCode, &tn.Language, &tn.SeatLimit, &tn.CreatedAt); err != nil {
		return nil, notFound(err)
	}
	tn.CreatedAt = tn.CreatedAt.UTC()
	return &tn, nil
}

func (t *tx) InsertTenant(tn *domain.Tenant) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO tenants (id, name, company_code, language, seat_limit, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		tn.ID, tn.Name, tn.CompanyCode, tn.Language, tn.SeatLimit, tn.CreatedAt)
	if pgdb.IsUniqueViolation(err, "tenants_company_code") {
		return domain.Duplicate("company_code", "another tenant has company code %q", tn.CompanyCode)
	}
	return err
}

func (t *tx) SaveTenant(tn *domain.Tenant) error {
	_, err := t.tx.Exec(t.ctx, `UPDATE tenants SET name = $2, language = $3, seat_limit = $4 WHERE id = $1`, tn.ID, tn.Name, tn.Language, tn.SeatLimit)
	return err
}

func (t *tx) InsertItem(it domain.Item) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO structure_items (tenant_id, kind, id, key, name, parent_id, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		it.TenantID, string(it.Kind), it.ID, nullString(it.Key), it.Name, nullString(it.ParentID), it.CreatedAt)
	switch {
	case pgdb.IsUniqueViolation(err, "structure_items_key"):
		return domain.Duplicate("key", "the tenant already has a %s with key %q", it.Kind, it.Key)
	case pgdb.IsUniqueViolation(err, "structure_items_pkey"):
		return domain.Duplicate("id", "the tenant already has a %s with id %s", it.Kind, it.ID)
	}
	return err
}

const itemColumns = `tenant_id::text, kind, id::text, coalesce(key, ''), name, coalesce(parent_id::text, ''), created_at`

func scanItem(r pgx.Row) (domain.Item, error) {
	var it domain.Item
	var kind string
	err := r.Scan(&it.TenantID, &kind, &it.ID, &it.Key, &it.Name, &it.ParentID, &it.CreatedAt)
	it.Kind = domain.ItemKind(kind)
	it.CreatedAt = it.CreatedAt.UTC()
	return it, notFound(err)
}

func (t *tx) Item(tenantID string, kind domain.ItemKind, id string) (domain.Item, error) {
	return scanItem(t.tx.QueryRow(t.ctx, `SELECT `+itemColumns+` FROM structure_items WHERE tenant_id = $1 AND kind = $2 AND id = $3`, tenantID, string(kind), id))
}

func (t *tx) Items(tenantID string, kind domain.ItemKind) ([]domain.Item, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT `+itemColumns+` FROM structure_items WHERE tenant_id = $1 AND kind = $2 ORDER BY coalesce(key, ''), name, id`, tenantID, string(kind))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

func (t *tx) UnknownIDs(tenantID string, kind domain.ItemKind, ids []string) ([]string, error) {
	return t.unknown(`id::text`, tenantID, kind, ids)
}

func (t *tx) UnknownKeys(tenantID string, kind domain.ItemKind, keys []string) ([]string, error) {
	return t.unknown(`key`, tenantID, kind, keys)
}

func (t *tx) unknown(col, tenantID string, kind domain.ItemKind, vals []string) ([]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(t.ctx, `SELECT v FROM unnest($3::text[]) WITH ORDINALITY AS a(v, n)
WHERE NOT EXISTS (SELECT 1 FROM structure_items s WHERE s.tenant_id = $1 AND s.kind = $2 AND s.`+col+` = a.v)
ORDER BY n`, tenantID, string(kind), vals)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// userColumns reads a membership row (users u) with the person's
// credential (credentials c, LEFT JOINed: see userFrom).
const userColumns = `u.tenant_id::text, u.id::text, u.kind, u.origin, u.status, u.role, u.first_name, u.last_name, u.email, u.mobile, u.grants,
u.integrator, coalesce(u.partner_id::text, ''), u.counts_seat, coalesce(u.sponsor_user_id::text, ''), u.needs_sponsor,
coalesce(u.source_invitation_id::text, ''), u.two_factor, u.unannounced, u.login_method, c.method, coalesce(c.external_subject, ''), coalesce(c.login_email, ''),
coalesce(c.password_hash, ''), u.user_code,
coalesce(u.application_id::text, ''), u.su_status, u.language, u.all_companies, u.company_ids::text[], u.all_structure,
u.structure_level_ids::text[], coalesce(u.created_by_user_id::text, ''), u.created_at, u.updated_at, u.deactivated_at, u.version`

// userFrom joins a membership to the person's credential. Row locks take
// the membership only (FOR UPDATE OF u).
const userFrom = ` FROM users u LEFT JOIN credentials c ON c.user_id = u.id `

func scanUser(r pgx.Row) (*domain.User, error) {
	var (
		u                 domain.User
		grants            []byte
		status            string
		userCode          *string
		appID, language   string
		suStatus          int16
		allCo, allSt      bool
		companies, levels []string
		deactivatedAt     *time.Time
		method            *int16
		login             domain.Credential
	)
	err := r.Scan(&u.TenantID, &u.ID, &u.Kind, &u.Origin, &status, &u.Role, &u.FirstName, &u.LastName, &u.Email, &u.Mobile,
		&grants, &u.Integrator, &u.PartnerID, &u.CountsSeat, &u.SponsorUserID, &u.NeedsSponsor, &u.SourceInvitationID,
		&u.TwoFactor, &u.Unannounced, &u.LoginMethod, &method, &login.Subject, &login.LoginEmail, &login.PasswordHash, &userCode, &appID, &suStatus, &language, &allCo,
		&companies, &allSt, &levels, &u.CreatedByUserID, &u.CreatedAt, &u.UpdatedAt, &deactivatedAt, &u.Version)
	if err != nil {
		return nil, notFound(err)
	}
	if method != nil {
		login.UserID, login.Method = u.ID, int32(*method)
		u.Login = &login
	}
	u.Status = domain.Status(status)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if deactivatedAt != nil {
		u.DeactivatedAt = deactivatedAt.UTC()
	}
	if len(grants) > 0 {
		u.Grants = &commonv1.Grants{}
		if err := protojson.Unmarshal(grants, u.Grants); err != nil {
			return nil, fmt.Errorf("identity store: grants of %s: %w", u.ID, err)
		}
	}
	if userCode != nil {
		u.Service = &domain.ServiceDetails{UserCode: *userCode, ApplicationID: appID, Active: suStatus == 1, Language: language,
			AllCompanies: allCo, CompanyIDs: companies, AllStructure: allSt, StructureLevelIDs: levels}
	}
	return &u, nil
}

func (t *tx) User(tenantID, id string, lock bool) (*domain.User, error) {
	q := `SELECT ` + userColumns + userFrom + `WHERE u.tenant_id = $1 AND u.id = $2`
	if lock {
		q += ` FOR UPDATE OF u`
	}
	return scanUser(t.tx.QueryRow(t.ctx, q, tenantID, id))
}

func (t *tx) UserByCode(tenantID, code string) (*domain.User, error) {
	return scanUser(t.tx.QueryRow(t.ctx, `SELECT `+userColumns+userFrom+`WHERE u.tenant_id = $1 AND lower(u.user_code) = lower($2)`, tenantID, code))
}

// UserBySubject finds the membership in the tenant of the person whose
// credential has the subject, whichever tenant the credential came from.
func (t *tx) UserBySubject(tenantID, subject string) (*domain.User, error) {
	return scanUser(t.tx.QueryRow(t.ctx, `SELECT `+userColumns+userFrom+`WHERE u.tenant_id = $1 AND c.external_subject = $2
ORDER BY u.status, u.created_at LIMIT 1`, tenantID, subject))
}

func (t *tx) UsersByEmail(tenantID, email string) ([]*domain.User, error) {
	return t.users(`SELECT `+userColumns+userFrom+`WHERE u.tenant_id = $1 AND lower(u.email) = lower($2) AND u.user_code IS NULL ORDER BY u.created_at`, tenantID, email)
}

// UsersByLoginEmail finds the tenant's memberships of the people whose
// password credential has the login email (the sign-in address).
func (t *tx) UsersByLoginEmail(tenantID, email string) ([]*domain.User, error) {
	return t.users(`SELECT `+userColumns+userFrom+`WHERE u.tenant_id = $1 AND lower(c.login_email) = lower($2) AND c.login_email <> ''
  AND u.user_code IS NULL ORDER BY u.created_at`, tenantID, email)
}

// CountMemberships counts the tenants the user id belongs to.
func (t *tx) CountMemberships(userID string) (int, error) {
	var n int
	err := t.tx.QueryRow(t.ctx, `SELECT count(*) FROM users WHERE id = $1`, userID).Scan(&n)
	return n, err
}

// InsertCredential stores a person's credential; a person who has one
// already is domain.ErrConflict (it is never replaced silently).
func (t *tx) InsertCredential(c domain.Credential, now time.Time) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO credentials (user_id, method, external_subject, login_email, password_hash, created_at, updated_at)
VALUES ($1,$2,$3,$4,$5,$6,$6)`, c.UserID, c.Method, c.Subject, strings.ToLower(c.LoginEmail), c.PasswordHash, now)
	if pgdb.IsUniqueViolation(err, "credentials_pkey") {
		return fmt.Errorf("%w: user %s already has a login", domain.ErrConflict, c.UserID)
	}
	if err != nil {
		return fmt.Errorf("identity store: insert credential: %w", err)
	}
	return nil
}

// SetPasswordHash replaces a person's password hash (domain.ErrNotFound
// when he has no credential).
func (t *tx) SetPasswordHash(userID, hash string, now time.Time) error {
	tag, err := t.tx.Exec(t.ctx, `UPDATE credentials SET password_hash = $2, updated_at = $3 WHERE user_id = $1`, userID, hash, now)
	if err != nil {
		return fmt.Errorf("identity store: set password: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrNotFound
	}
	return nil
}

func (t *tx) users(q string, args ...any) ([]*domain.User, error) {
	rows, err := t.tx.Query(t.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*domain.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (t *tx) ListUsers(tenantID string, f app.ListFilter) ([]*domain.User, error) {
	kinds := make([]int32, len(f.Kinds))
	for i, k := range f.Kinds {
		kinds[i] = int32(k)
	}
	return t.users(`SELECT `+userColumns+userFrom+`WHERE u.tenant_id = $1
  AND (cardinality($2::smallint[]) = 0 OR u.kind = ANY($2))
  AND ($3 OR u.status <> 'deactivated')
  AND ($4 = '' OR (u.last_name, u.first_name, u.id::text) > ($4, $5, $6))
ORDER BY u.last_name, u.first_name, u.id::text LIMIT $7`,
		tenantID, kinds, f.IncludeDeactivated, f.After[0], f.After[1], f.After[2], f.Limit)
}

func (t *tx) CountSeats(tenantID string) (int, error) {
	var n int
	err := t.tx.QueryRow(t.ctx, `SELECT count(*) FROM users WHERE tenant_id = $1 AND status = 'active' AND counts_seat`, tenantID).Scan(&n)
	return n, err
}

func (t *tx) CountMainAdministrators(tenantID string) (int, error) {
	var n int
	err := t.tx.QueryRow(t.ctx, `SELECT count(*) FROM users WHERE tenant_id = $1 AND status = 'active' AND role = 1
  AND kind <> 4 AND NOT integrator`, tenantID).Scan(&n)
	return n, err
}

type userArgs struct {
	grants            []byte
	userCode          *string
	appID             *string
	suStatus          int16
	language          string
	allCo, allSt      bool
	companies, levels []string
}

func argsOf(u *domain.User) (userArgs, error) {
	a := userArgs{companies: []string{}, levels: []string{}}
	if u.Grants != nil {
		b, err := protojson.Marshal(u.Grants)
		if err != nil {
			return a, err
		}
		a.grants = b
	}
	if sd := u.Service; sd != nil {
		a.userCode, a.appID = &sd.UserCode, &sd.ApplicationID
		a.suStatus = 2
		if sd.Active {
			a.suStatus = 1
		}
		a.language, a.allCo, a.allSt = sd.Language, sd.AllCompanies, sd.AllStructure
		if sd.CompanyIDs != nil {
			a.companies = sd.CompanyIDs
		}
		if sd.StructureLevelIDs != nil {
			a.levels = sd.StructureLevelIDs
		}
	}
	return a, nil
}

func (t *tx) InsertUser(u *domain.User) error {
	a, err := argsOf(u)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(t.ctx, `INSERT INTO users (tenant_id, id, kind, origin, status, role, first_name, last_name, email, mobile,
  grants, integrator, partner_id, counts_seat, sponsor_user_id, needs_sponsor, source_invitation_id, login_method,
  user_code, application_id, su_status, language, all_companies, company_ids,
  all_structure, structure_level_ids, created_by_user_id, created_at, updated_at, deactivated_at, two_factor, unannounced)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32)`,
		u.TenantID, u.ID, u.Kind, u.Origin, string(u.Status), u.Role, u.FirstName, u.LastName, u.Email, u.Mobile,
		a.grants, u.Integrator, nullString(u.PartnerID), u.CountsSeat, nullString(u.SponsorUserID), u.NeedsSponsor,
		nullString(u.SourceInvitationID), u.LoginMethod, a.userCode, a.appID,
		a.suStatus, a.language, a.allCo, a.companies, a.allSt, a.levels, nullString(u.CreatedByUserID),
		u.CreatedAt, u.UpdatedAt, nullTime(u.DeactivatedAt), u.TwoFactor, u.Unannounced)
	switch {
	case pgdb.IsUniqueViolation(err, "users_user_code"):
		return domain.Duplicate("user_code", "the tenant already has a service user with code %q", u.Service.UserCode)
	case pgdb.IsUniqueViolation(err, "users_pkey"):
		return domain.Duplicate("user_id", "the tenant already has user %s", u.ID)
	case err != nil:
		return fmt.Errorf("identity store: insert user: %w", err)
	}
	return t.events(u)
}

func (t *tx) SaveUser(u *domain.User) error {
	a, err := argsOf(u)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(t.ctx, `UPDATE users SET status = $3, role = $4, first_name = $5, last_name = $6, email = $7,
  mobile = $8, grants = $9, integrator = $10, partner_id = $11, counts_seat = $12, sponsor_user_id = $13,
  needs_sponsor = $14, login_method = $15, su_status = $16,
  language = $17, all_companies = $18, company_ids = $19, all_structure = $20, structure_level_ids = $21,
  updated_at = $22, deactivated_at = $23, source_invitation_id = $25, origin = $26, two_factor = $27, unannounced = $28, version = version + 1
WHERE tenant_id = $1 AND id = $2 AND version = $24`,
		u.TenantID, u.ID, string(u.Status), u.Role, u.FirstName, u.LastName, u.Email, u.Mobile, a.grants, u.Integrator,
		nullString(u.PartnerID), u.CountsSeat, nullString(u.SponsorUserID), u.NeedsSponsor, u.LoginMethod,
		a.suStatus, a.language, a.allCo, a.companies, a.allSt, a.levels,
		u.UpdatedAt, nullTime(u.DeactivatedAt), u.Version, nullString(u.SourceInvitationID), u.Origin, u.TwoFactor, u.Unannounced)
	if err != nil {
		return fmt.Errorf("identity store: update user: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("identity store: user %s changed underneath (version %d)", u.ID, u.Version)
	}
	u.Version++
	if u.Status == domain.StatusDeactivated {
		// Access ends at once: every token of the user in this tenant, and
		// the integration users he sponsors are flagged for a new sponsor
		// (never broken: seed 000, they must survive people leaving).
		if _, err := t.tx.Exec(t.ctx, `UPDATE access_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL`,
			u.TenantID, u.ID, u.UpdatedAt); err != nil {
			return fmt.Errorf("identity store: revoke tokens: %w", err)
		}
		if _, err := t.tx.Exec(t.ctx, `UPDATE users SET needs_sponsor = true, version = version + 1, updated_at = $3
WHERE tenant_id = $1 AND sponsor_user_id = $2 AND kind = 2 AND NOT needs_sponsor`, u.TenantID, u.ID, u.UpdatedAt); err != nil {
			return fmt.Errorf("identity store: flag sponsored users: %w", err)
		}
	}
	return t.events(u)
}

func (t *tx) InsertToken(a domain.AccessToken) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO access_tokens (id, hash, tenant_id, user_id, purpose, label, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		a.ID, a.Hash, a.TenantID, a.UserID, a.Purpose, a.Label, a.CreatedAt, a.ExpiresAt)
	return err
}

const tokenColumns = `id::text, hash, tenant_id::text, user_id::text, purpose, label, created_at, expires_at, revoked_at`

func scanToken(r pgx.Row, extra ...any) (domain.AccessToken, error) {
	var a domain.AccessToken
	var revoked *time.Time
	dest := append([]any{&a.ID, &a.Hash, &a.TenantID, &a.UserID, &a.Purpose, &a.Label, &a.CreatedAt, &a.ExpiresAt, &revoked}, extra...)
	if err := r.Scan(dest...); err != nil {
		return a, notFound(err)
	}
	if revoked != nil {
		a.RevokedAt = revoked.UTC()
	}
	return a, nil
}

func (t *tx) TokenOwner(hash []byte, purpose string, now time.Time) (domain.AccessToken, *domain.User, error) {
	a, err := scanToken(t.tx.QueryRow(t.ctx, `SELECT `+tokenColumns+` FROM access_tokens
WHERE hash = $1 AND purpose = $2 AND revoked_at IS NULL AND expires_at > $3`, hash, purpose, now))
	if err != nil {
		return a, nil, err
	}
	u, err := t.User(a.TenantID, a.UserID, false)
	return a, u, err
}

func (t *tx) Token(tenantID, id string) (domain.AccessToken, error) {
	return scanToken(t.tx.QueryRow(t.ctx, `SELECT `+tokenColumns+` FROM access_tokens WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

func (t *tx) RevokeToken(tenantID, id string, now time.Time) error {
	_, err := t.tx.Exec(t.ctx, `UPDATE access_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL`, tenantID, id, now)
	return err
}

func (t *tx) InsertJoinAssertion(j domain.JoinAssertion) error {
	// Expired assertions can never be spent; drop them while here.
	if _, err := t.tx.Exec(t.ctx, `DELETE FROM join_assertions WHERE expires_at <= $1`, j.CreatedAt); err != nil {
		return fmt.Errorf("identity store: prune join assertions: %w", err)
	}
	_, err := t.tx.Exec(t.ctx, `INSERT INTO join_assertions (hash, tenant_id, user_id, token_id, audience, created_at, expires_at)
VALUES ($1,$2,$3,$4,$5,$6,$7)`, j.Hash, j.TenantID, j.UserID, j.TokenID, j.Audience, j.CreatedAt, j.ExpiresAt)
	if err != nil {
		return fmt.Errorf("identity store: join assertion: %w", err)
	}
	return nil
}

func (t *tx) SpendJoinAssertion(hash []byte, audience string, now time.Time) (domain.JoinAssertion, error) {
	// One statement finds and deletes: a concurrent spend of the same row
	// waits for this transaction and then finds nothing.
	j := domain.JoinAssertion{Hash: hash}
	err := t.tx.QueryRow(t.ctx, `DELETE FROM join_assertions WHERE hash = $1 AND audience = $2 AND expires_at > $3
RETURNING tenant_id::text, user_id::text, token_id::text, audience, created_at, expires_at`, hash, audience, now).
		Scan(&j.TenantID, &j.UserID, &j.TokenID, &j.Audience, &j.CreatedAt, &j.ExpiresAt)
	if err != nil {
		return j, notFound(err)
	}
	j.CreatedAt, j.ExpiresAt = j.CreatedAt.UTC(), j.ExpiresAt.UTC()
	return j, nil
}

func (t *tx) Attempts(tenantID, key string, stale time.Time) (domain.Attempts, error) {
	// A record whose window and lock ended before stale counts for nothing
	// any more (domain.Throttle starts again), so it can go.
	if _, err := t.tx.Exec(t.ctx, `DELETE FROM sign_in_attempts WHERE tenant_id = $1 AND window_start < $2
  AND (locked_until IS NULL OR locked_until < $2)`, tenantID, stale); err != nil {
		return domain.Attempts{}, fmt.Errorf("identity store: prune attempts: %w", err)
	}
	// Create the row first so that concurrent attempts queue on its lock.
	if _, err := t.tx.Exec(t.ctx, `INSERT INTO sign_in_attempts (tenant_id, login_key, failures, window_start)
VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING`, tenantID, key, stale); err != nil {
		return domain.Attempts{}, fmt.Errorf("identity store: attempts: %w", err)
	}
	var (
		a      domain.Attempts
		locked *time.Time
	)
	err := t.tx.QueryRow(t.ctx, `SELECT failures, window_start, locked_until FROM sign_in_attempts
WHERE tenant_id = $1 AND login_key = $2 FOR UPDATE`, tenantID, key).Scan(&a.Failures, &a.WindowStart, &locked)
	if err != nil {
		return domain.Attempts{}, fmt.Errorf("identity store: attempts: %w", err)
	}
	a.WindowStart = a.WindowStart.UTC()
	if locked != nil {
		a.LockedUntil = locked.UTC()
	}
	return a, nil
}

func (t *tx) SaveAttempts(tenantID, key string, a domain.Attempts) error {
	_, err := t.tx.Exec(t.ctx, `UPDATE sign_in_attempts SET failures = $3, window_start = $4, locked_until = $5
WHERE tenant_id = $1 AND login_key = $2`, tenantID, key, a.Failures, a.WindowStart, nullTime(a.LockedUntil))
	if err != nil {
		return fmt.Errorf("identity store: save attempts: %w", err)
	}
	return nil
}

func (t *tx) ClearAttempts(tenantID, key string) error {
	_, err := t.tx.Exec(t.ctx, `DELETE FROM sign_in_attempts WHERE tenant_id = $1 AND login_key = $2`, tenantID, key)
	return err
}

func (t *tx) RevokeUserTokens(tenantID, userID string, now time.Time) error {
	_, err := t.tx.Exec(t.ctx, `UPDATE access_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL`,
		tenantID, userID, now)
	if err != nil {
		return fmt.Errorf("identity store: revoke tokens: %w", err)
	}
	return nil
}

func (t *tx) PutPendingCredential(tenantID, userID, invitationID, hash string, now time.Time) error {
	// Invitations live at most 30 days: a pending password older than that
	// belongs to one that was never accepted.
	if _, err := t.tx.Exec(t.ctx, `DELETE FROM pending_credentials WHERE tenant_id = $1 AND created_at < $2`, tenantID, now.Add(-31*24*time.Hour)); err != nil {
		return err
	}
	_, err := t.tx.Exec(t.ctx, `INSERT INTO pending_credentials (tenant_id, user_id, invitation_id, password_hash, created_at)
VALUES ($1,$2,$3,$4,$5) ON CONFLICT (tenant_id, user_id, invitation_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, created_at = EXCLUDED.created_at`,
		tenantID, userID, invitationID, hash, now)
	return err
}

func (t *tx) TakePendingCredential(tenantID, userID, invitationID string) (string, error) {
	var h string
	err := t.tx.QueryRow(t.ctx, `DELETE FROM pending_credentials WHERE tenant_id = $1 AND user_id = $2 AND invitation_id = $3 RETURNING password_hash`,
		tenantID, userID, invitationID).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return h, err
}

func (t *tx) RecordIntegratorEnding(tenantID, userID string, e app.IntegratorEnding) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO integrator_endings (tenant_id, user_id, reason, ended_by, ended_at)
VALUES ($1,$2,$3,$4,$5) ON CONFLICT (tenant_id, user_id) DO NOTHING`, tenantID, userID, int32(e.Reason), e.By, e.At)
	return err
}

func (t *tx) IntegratorEnding(tenantID, userID string) (app.IntegratorEnding, bool, error) {
	var (
		e      app.IntegratorEnding
		reason int32
	)
	err := t.tx.QueryRow(t.ctx, `SELECT reason, ended_by, ended_at FROM integrator_endings WHERE tenant_id = $1 AND user_id = $2`,
		tenantID, userID).Scan(&reason, &e.By, &e.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return app.IntegratorEnding{}, false, nil
	}
	e.Reason = domain.Reason(reason)
	return e, err == nil, err
}

func nullString(s string) *string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

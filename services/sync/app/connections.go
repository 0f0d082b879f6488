package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"rollcall.dev/services/sync/erp"
)

// authorize lets a main administrator of the tenant through (seed 004:
// connecting needs organisation-wide settings rights).
func authorize(a Actor, tenantID string) error {
	if a.TenantID != tenantID {
		return fmt.Errorf("%w: the token is not for tenant %s", ErrForbidden, tenantID)
	}
	if a.Role != RoleMainAdministrator {
		return fmt.Errorf("%w: only a main administrator manages the ERP connection", ErrForbidden)
	}
	return nil
}

// NewConnection is what the admin pasted and confirmed (seed 004, step 2).
type NewConnection struct {
	TenantID, CompanyID, ERPSystem string
	APIKey                         string
	AuthorityConfirmed             bool
}

// checkKey exchanges apiKey at the ERP once. A refused key is a field error
// on api_key; an ERP that does not answer is unavailable. The key is never
// part of an error.
func (s *Syncs) checkKey(ctx context.Context, apiKey string) error {
	c, err := s.ERP.Dial(apiKey)
	if err != nil {
		return fmt.Errorf("erp connector: %w", err)
	}
	kc, ok := c.(erp.KeyChecker)
	if !ok {
		return errors.New("erp connector: cannot check a key")
	}
	err = kc.Authenticate(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, erp.ErrUnauthorized):
		return &FieldError{Field: "api_key", Reason: "the ERP refused this API key (check that it was copied whole and is still active); nothing was saved"}
	case errors.Is(err, context.Canceled):
		return err
	default:
		return &UnavailableError{Dependency: "the ERP", Err: err}
	}
}

// maxNamedCompanies bounds the companies an unknown company id's error
// lists.
const maxNamedCompanies = 10

// checkCompany asks identity whether companyID is a company of the tenant:
// a field error on company_id when it is not (naming the tenant's
// companies, so the admin can pick the right one).
func (s *Syncs) checkCompany(ctx context.Context, tenantID, companyID string) error {
	if s.Tenants == nil {
		return errors.New("app: Syncs.Tenants is not set: company ids cannot be checked")
	}
	info, err := s.Tenants.DescribeTenant(ctx, tenantID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	var names []string
	for _, c := range info.Companies {
		if c.ID == companyID {
			return nil
		}
		if len(names) < maxNamedCompanies {
			names = append(names, fmt.Sprintf("%s (%s)", c.Name, c.ID))
		}
	}
	reason := "the tenant has no company with this id; nothing was saved"
	switch {
	case len(info.Companies) == 0:
		reason += " (the tenant has no companies: connect the whole tenant instead)"
	case len(info.Companies) > len(names):
		reason += fmt.Sprintf(" (its companies include %s, and %d more)", strings.Join(names, ", "), len(info.Companies)-len(names))
	default:
		reason += fmt.Sprintf(" (its companies: %s)", strings.Join(names, ", "))
	}
	return &FieldError{Field: "company_id", Reason: reason}
}

// CreateConnection checks the company (when one is named) against identity
// and the key against the ERP, then saves the connection with the key
// sealed, waiting for its first synchronisation.
func (s *Syncs) CreateConnection(ctx context.Context, by Actor, in NewConnection) (Connection, error) {
	if err := authorize(by, in.TenantID); err != nil {
		return Connection{}, err
	}
	if !in.AuthorityConfirmed {
		return Connection{}, Invalid("authority_confirmed", "confirm that you have the authority to connect the two systems")
	}
	if in.ERPSystem != ERPSystem24SevenOffice {
		return Connection{}, Invalid("erp_system", "not supported")
	}
	if in.CompanyID != "" {
		if err := s.checkCompany(ctx, in.TenantID, in.CompanyID); err != nil {
			return Connection{}, err
		}
	}
	if err := s.checkKey(ctx, in.APIKey); err != nil {
		return Connection{}, err
	}
	now := s.now()
	c := Connection{
		ID: uuid.NewString(), TenantID: in.TenantID, CompanyID: in.CompanyID, ERPSystem: in.ERPSystem,
		Status: ConnPending, AuthorityBy: by.UserID, AuthorityAt: now, CreatedAt: now,
	}
	if err := s.Connections.CreateConnection(ctx, c, in.APIKey); err != nil {
		return Connection{}, err
	}
	s.log().InfoContext(ctx, "ERP connection created", "tenant_id", c.TenantID, "connection_id", c.ID, "company_id", c.CompanyID, "by", by.UserID)
	return c, nil
}

// ListConnections lists the tenant's connections.
func (s *Syncs) ListConnections(ctx context.Context, by Actor, tenantID string) ([]Connection, error) {
	if err := authorize(by, tenantID); err != nil {
		return nil, err
	}
	return s.Connections.Connections(ctx, tenantID)
}

// RotateKey checks the new key against the ERP, then replaces the old one.
func (s *Syncs) RotateKey(ctx context.Context, by Actor, tenantID, id, apiKey string, confirmed bool) (Connection, error) {
	if err := authorize(by, tenantID); err != nil {
		return Connection{}, err
	}
	if !confirmed {
		return Connection{}, Invalid("authority_confirmed", "confirm that you have the authority to connect the two systems")
	}
	if _, err := s.Connections.Connection(ctx, tenantID, id); err != nil {
		return Connection{}, err
	}
	if err := s.checkKey(ctx, apiKey); err != nil {
		return Connection{}, err
	}
	c, err := s.Connections.RotateKey(ctx, tenantID, id, apiKey, by.UserID, s.now())
	if err != nil {
		return Connection{}, err
	}
	if s.Resolver != nil {
		s.Resolver.Forget(tenantID)
	}
	s.log().InfoContext(ctx, "ERP API key rotated", "tenant_id", tenantID, "connection_id", id, "by", by.UserID)
	return c, nil
}

// DeleteConnection removes the connection; deleting it twice is not an
// error.
func (s *Syncs) DeleteConnection(ctx context.Context, by Actor, tenantID, id string) error {
	if err := authorize(by, tenantID); err != nil {
		return err
	}
	gone, err := s.Connections.DeleteConnection(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if s.Resolver != nil {
		s.Resolver.Forget(tenantID)
	}
	if gone {
		s.log().InfoContext(ctx, "ERP connection deleted", "tenant_id", tenantID, "connection_id", id, "by", by.UserID)
	}
	return nil
}

// Resolver serves real-time propagation the connections admins created:
// the tenant's one connection (or the tenant-wide one), or the one a change
// names. A connection that is not active yet is served too — its changes
// are kept, and the propagator leases them only once the first sync has
// activated it. Connectors are kept per connection and key, and the
// tenant's list for TTL, so a key rotated on another replica is picked up
// within TTL (until then the ERP refuses the old key and the change is
// retried).
type Resolver struct {
	Store  ConnectionStore
	Dialer ERPDialer
	// Fallback serves tenants without a connection of their own (the
	// deployment's configured ERP); nil: none.
	Fallback erp.Resolver
	// TTL bounds how long a tenant's connections are cached (default 10s).
	TTL time.Duration
	Now func() time.Time

	mu      sync.Mutex
	tenants map[string]cachedTenant
	dialed  map[string]dialed // by connection id
}

// dialed is a connector and a digest of the key it was made with, so a
// reload reuses it (and its kept-alive connections) until the key changes.
type dialed struct {
	sum  [32]byte
	conn erp.Connector
}

type cachedTenant struct {
	at    time.Time
	conns []erp.Connection
	meta  []Connection
}

var _ erp.Resolver = (*Resolver)(nil)

// Forget drops a tenant's cached connections (after a rotation or a
// deletion on this replica).
func (r *Resolver) Forget(tenantID string) {
	r.mu.Lock()
	delete(r.tenants, tenantID)
	r.mu.Unlock()
}

func (r *Resolver) load(ctx context.Context, tenantID string) (cachedTenant, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	r.mu.Lock()
	c, ok := r.tenants[tenantID]
	r.mu.Unlock()
	if ok && now.Sub(c.at) < ttl {
		return c, nil
	}
	meta, err := r.Store.Connections(ctx, tenantID)
	if err != nil {
		return cachedTenant{}, err
	}
	c = cachedTenant{at: now, meta: meta}
	for _, m := range meta {
		_, key, err := r.Store.ConnectionKey(ctx, tenantID, m.ID)
		if err != nil {
			return cachedTenant{}, fmt.Errorf("connection %s: %w", m.ID, err)
		}
		sum := sha256.Sum256([]byte(key))
		r.mu.Lock()
		d, ok := r.dialed[m.ID]
		r.mu.Unlock()
		if !ok || d.sum != sum {
			conn, err := r.Dialer.Dial(key)
			if err != nil {
				return cachedTenant{}, fmt.Errorf("connection %s: %w", m.ID, err)
			}
			d = dialed{sum: sum, conn: conn}
			r.mu.Lock()
			if r.dialed == nil {
				r.dialed = map[string]dialed{}
			}
			r.dialed[m.ID] = d
			r.mu.Unlock()
		}
		c.conns = append(c.conns, erp.Connection{ID: m.ID, Connector: d.conn})
	}
	r.mu.Lock()
	if r.tenants == nil {
		r.tenants = map[string]cachedTenant{}
	}
	r.tenants[tenantID] = c
	r.mu.Unlock()
	return c, nil
}

// Connection implements erp.Resolver.
func (r *Resolver) Connection(ctx context.Context, tenantID string) (erp.Connection, error) {
	c, err := r.load(ctx, tenantID)
	if err != nil {
		return erp.Connection{}, err
	}
	switch {
	case len(c.conns) == 1:
		return c.conns[0], nil
	case len(c.conns) == 0 && r.Fallback != nil:
		return r.Fallback.Connection(ctx, tenantID)
	case len(c.conns) == 0:
		return erp.Connection{}, fmt.Errorf("%w: %s", erp.ErrNoConnection, tenantID)
	}
	for i, m := range c.meta {
		if m.CompanyID == "" {
			return c.conns[i], nil
		}
	}
	return erp.Connection{}, fmt.Errorf("%w: tenant %s has one connection per company: the change must name its connection_id", erp.ErrNoConnection, tenantID)
}

// ConnectionByID implements erp.Resolver.
func (r *Resolver) ConnectionByID(ctx context.Context, tenantID, id string) (erp.Connection, error) {
	c, err := r.load(ctx, tenantID)
	if err != nil {
		return erp.Connection{}, err
	}
	for _, conn := range c.conns {
		if conn.ID == id {
			return conn, nil
		}
	}
	if len(c.conns) == 0 && r.Fallback != nil {
		return r.Fallback.ConnectionByID(ctx, tenantID, id)
	}
	return erp.Connection{}, fmt.Errorf("%w: %s is not tenant %s's connection", erp.ErrNoConnection, id, tenantID)
}

func (s *Syncs) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Syncs) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

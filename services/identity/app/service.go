package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	"rollcall.dev/services/identity/domain"
)

// DefaultTokenTTL is an administrator token's lifetime unless asked otherwise.
const DefaultTokenTTL = 30 * 24 * time.Hour

// DefaultAPITokenTTL is a service user's API token lifetime unless configured.
const DefaultAPITokenTTL = time.Hour

// Service is the identity service's use cases.
type Service struct {
	Store Store
	// Providers are the login providers by name ("bankid", "telia"); the
	// "rollcall" provider (an existing profile's token) is built in.
	Providers map[string]LoginProvider
	Policy    Policy
	Letters   LetterWriter
	Log       *slog.Logger
	// TokenTTL is the default administrator token lifetime.
	TokenTTL time.Duration
	// APITokenTTL is a service user's API token lifetime (default 1 hour).
	APITokenTTL time.Duration
	// Throttle limits failed password attempts per (tenant, login) at
	// SignIn and IssueServiceToken (zero: the domain defaults).
	Throttle domain.Throttle
	Now      func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func newID() string { return uuid.NewString() }

// Authenticate resolves an administrator's bearer token. Unknown, revoked
// and expired tokens, deactivated users and service users all give
// domain.ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (*domain.User, error) {
	if token == "" || len(token) > 512 {
		return nil, domain.ErrUnauthenticated
	}
	var u *domain.User
	err := s.Store.Do(ctx, func(tx Tx) error {
		_, owner, err := tx.TokenOwner(domain.HashToken(token), domain.PurposeAdmin, s.now())
		if errors.Is(err, domain.ErrNotFound) {
			return domain.ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		if !owner.Active() || owner.Kind == domain.KindService {
			return domain.ErrUnauthenticated
		}
		u = owner
		return nil
	})
	return u, err
}

// Actor is Authenticate returning the actor for admin use cases.
func (s *Service) Actor(ctx context.Context, token string) (domain.Actor, error) {
	u, err := s.Authenticate(ctx, token)
	if err != nil {
		return domain.Actor{}, err
	}
	return ActorOf(u), nil
}

// ActorOf is the actor a user acts as.
func ActorOf(u *domain.User) domain.Actor {
	return domain.Actor{
		TenantID: u.TenantID, UserID: u.ID, Kind: u.Kind, Role: u.Role, Grants: u.Grants,
		Integrator: u.Integrator || u.Kind == domain.KindIntegrator, Name: u.Name(), Email: u.Email,
	}
}

// TenantView is a tenant with the keys of what it offers.
type TenantView struct {
	Tenant             domain.Tenant
	PermissionAreas    []string
	AdditionalPackages []string
	// Companies are the tenant's companies, by name.
	Companies []domain.Item
}

// DescribeTenant returns the tenant, its areas and packages by key, and its
// companies.
func (s *Service) DescribeTenant(ctx context.Context, tenantID string) (TenantView, error) {
	var v TenantView
	err := s.Store.Do(ctx, func(tx Tx) error {
		t, err := tx.Tenant(tenantID, false)
		if err != nil {
			return err
		}
		v.Tenant = *t
		if v.PermissionAreas, err = keys(tx, tenantID, domain.ItemPermissionArea); err != nil {
			return err
		}
		if v.AdditionalPackages, err = keys(tx, tenantID, domain.ItemAdditionalPackage); err != nil {
			return err
		}
		v.Companies, err = tx.Items(tenantID, domain.ItemCompany)
		return err
	})
	return v, err
}

func keys(tx Tx, tenantID string, kind domain.ItemKind) ([]string, error) {
	items, err := tx.Items(tenantID, kind)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Key
	}
	return out, nil
}

// ScopeIDs is one AccessScope field's ids.
type ScopeIDs struct {
	Field string
	IDs   []string
}

// CheckScope returns, per field, the ids the tenant does not have (ids of
// other tenants included); domain.ErrNotFound for an unknown tenant.
func (s *Service) CheckScope(ctx context.Context, tenantID string, scope *commonv1.AccessScope) ([]ScopeIDs, error) {
	asked := map[string][]string{
		"organisations":        scope.GetOrganisations().GetIds(),
		"customers":            scope.GetCustomers().GetIds(),
		"cost_centres":         scope.GetCostCentres().GetIds(),
		"product_categories":   scope.GetProductCategories().GetIds(),
		"application_link_ids": scope.GetApplicationLinkIds(),
	}
	var out []ScopeIDs
	err := s.Store.Do(ctx, func(tx Tx) error {
		if _, err := tx.Tenant(tenantID, false); err != nil {
			return err
		}
		var err error
		out, err = unknownScope(tx, tenantID, asked)
		return err
	})
	return out, err
}

func unknownScope(tx Tx, tenantID string, asked map[string][]string) ([]ScopeIDs, error) {
	var out []ScopeIDs
	for _, f := range domain.ScopeFields {
		ids := asked[f.Field]
		if len(ids) == 0 {
			continue
		}
		unknown, err := tx.UnknownIDs(tenantID, f.Kind, ids)
		if err != nil {
			return nil, err
		}
		if len(unknown) > 0 {
			out = append(out, ScopeIDs{Field: f.Field, IDs: unknown})
		}
	}
	return out, nil
}

// ProviderRollcall is the built-in provider for an existing Rollcall
// profile: the assertion is a join assertion from IssueJoinAssertion, never
// a bearer token.
const ProviderRollcall = "rollcall"

// VerifyLogin checks a provider's assertion for an invitee of tenantID.
// Refusals wrap domain.ErrLoginRefused; an unknown provider is a field error.
func (s *Service) VerifyLogin(ctx context.Context, tenantID, provider, assertion, audience string) (LoginResult, error) {
	if err := s.Store.Do(ctx, func(tx Tx) error { _, err := tx.Tenant(tenantID, false); return err }); err != nil {
		return LoginResult{}, err
	}
	if provider == ProviderRollcall {
		res, why, err := s.verifyJoinAssertion(ctx, assertion, audience)
		if errors.Is(err, domain.ErrLoginRefused) {
			metricLoginRefused.WithLabelValues(provider).Inc()
			s.log().InfoContext(ctx, "login refused", "tenant_id", tenantID, "provider", provider, "reason", why)
		}
		return res, err
	}
	p, ok := s.Providers[provider]
	if !ok {
		return LoginResult{}, domain.Invalid("provider", "unknown login provider %q", provider)
	}
	res, err := p.Verify(ctx, tenantID, assertion, audience)
	if err != nil {
		if errors.Is(err, domain.ErrLoginRefused) {
			metricLoginRefused.WithLabelValues(provider).Inc()
			s.log().InfoContext(ctx, "login refused", "tenant_id", tenantID, "provider", provider, "reason", err.Error())
		}
		return LoginResult{}, err
	}
	return res, nil
}

// SetInitialPassword stores an integration invitee's password as a pending
// argon2id hash, keyed by (tenant, user, invitation), until InviteAccepted
// creates the user; a retry before that replaces the hash. It only ever sets
// a first password: a user id that already has a login (any tenant: logins
// belong to the person), that belongs to another tenant, or that exists here
// from elsewhere is domain.ErrConflict, so a service token cannot take over
// an account by choosing its password. The one user who may already exist
// is the integration user of this very invitation created before the call,
// and only while he has no password yet.
func (s *Service) SetInitialPassword(ctx context.Context, tenantID, userID, invitationID, password string) error {
	if len(password) < 12 || strings.TrimSpace(password) == "" {
		return domain.Invalid("password", "must be at least 12 characters and not only whitespace")
	}
	hash := domain.HashPassword(password)
	refuse := func(why string) error {
		return fmt.Errorf("%w: %s; SetInitialPassword only sets the first password of an integration invitee", domain.ErrConflict, why)
	}
	return s.Store.Do(ctx, func(tx Tx) error {
		if _, err := tx.Tenant(tenantID, false); err != nil {
			return err
		}
		u, err := tx.User(tenantID, userID, true)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			n, err := tx.CountMemberships(userID)
			if err != nil {
				return err
			}
			if n > 0 {
				return refuse("the user already exists in another tenant")
			}
			return tx.PutPendingCredential(tenantID, userID, invitationID, hash, s.now())
		case err != nil:
			return err
		case u.Login != nil:
			return refuse("the user already has credentials")
		case u.SourceInvitationID != invitationID || u.Kind != domain.KindIntegration:
			return refuse("the user already exists from elsewhere")
		}
		return tx.InsertCredential(domain.Credential{UserID: u.ID, Method: domain.LoginPassword, LoginEmail: u.Email, PasswordHash: hash}, s.now())
	})
}

// NewTenant describes a tenant to create.
type NewTenant struct {
	Name        string
	CompanyCode string
	Language    string
	SeatLimit   int
	Admin       NewPerson
	// Items are created with the tenant (its initial structure).
	Items []domain.Item
}

// NewPerson is a tenant's first administrator.
type NewPerson struct {
	FirstName, LastName, Email, Mobile string
}

// CreateTenant creates a tenant, its initial structure and its first main
// administrator (UserCreated, origin TENANT_CREATION). Operators only.
func (s *Service) CreateTenant(ctx context.Context, nt NewTenant) (*domain.Tenant, *domain.User, error) {
	now := s.now()
	if nt.Language == "" {
		nt.Language = "en"
	}
	t := &domain.Tenant{ID: newID(), Name: nt.Name, CompanyCode: nt.CompanyCode, Language: nt.Language, SeatLimit: nt.SeatLimit, CreatedAt: now}
	admin := &domain.User{
		TenantID: t.ID, ID: newID(), Kind: domain.KindPerson, Origin: domain.OriginTenantCreation,
		Status: domain.StatusActive, Role: domain.RoleMainAdministrator,
		FirstName: nt.Admin.FirstName, LastName: nt.Admin.LastName, Email: strings.ToLower(nt.Admin.Email), Mobile: nt.Admin.Mobile,
		Grants:     &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR},
		CountsSeat: true, CreatedAt: now, UpdatedAt: now,
	}
	admin.Record(domain.Created{})
	err := s.Store.Do(ctx, func(tx Tx) error {
		if err := tx.InsertTenant(t); err != nil {
			return err
		}
		for _, it := range nt.Items {
			it.TenantID = t.ID
			if it.ID == "" {
				it.ID = newID()
			}
			it.CreatedAt = now
			if err := domain.CheckItem(it); err != nil {
				return err
			}
			if err := tx.InsertItem(it); err != nil {
				return err
			}
		}
		return tx.InsertUser(admin)
	})
	if err != nil {
		return nil, nil, err
	}
	return t, admin, nil
}

// IssuedToken is a new bearer token: the secret (shown once) and its record.
type IssuedToken struct {
	Token  string
	Record domain.AccessToken
}

// CreateAccessToken issues an administrator token. An actor (nil for an
// operator with a service token) may only issue tokens for himself; an
// operator names any active, non-service user of the tenant.
func (s *Service) CreateAccessToken(ctx context.Context, actor *domain.Actor, tenantID, userID, label string, ttl time.Duration) (IssuedToken, error) {
	if actor != nil {
		if actor.TenantID != tenantID {
			return IssuedToken{}, domain.ErrNotFound
		}
		if userID != "" && userID != actor.UserID {
			return IssuedToken{}, domain.Forbidden("user_id", "you can only create tokens for yourself")
		}
		userID = actor.UserID
	} else if userID == "" {
		return IssuedToken{}, domain.Invalid("user_id", "an operator must name the user")
	}
	if ttl <= 0 {
		ttl = s.TokenTTL
		if ttl <= 0 {
			ttl = DefaultTokenTTL
		}
	}
	var out IssuedToken
	err := s.Store.Do(ctx, func(tx Tx) error {
		u, err := tx.User(tenantID, userID, false)
		if err != nil {
			return err
		}
		if u.Kind == domain.KindService {
			return domain.ErrServiceUserAPIOnly
		}
		switch u.Status {
		case domain.StatusWaiting:
			return domain.ErrIntegratorWaiting
		case domain.StatusDeactivated:
			return domain.Forbidden("user_id", "the user is deactivated")
		}
		out, err = s.issue(tx, u, domain.PurposeAdmin, label, ttl)
		return err
	})
	return out, err
}

func (s *Service) issue(tx Tx, u *domain.User, purpose, label string, ttl time.Duration) (IssuedToken, error) {
	tok, hash := domain.NewToken()
	now := s.now()
	rec := domain.AccessToken{ID: newID(), Hash: hash, TenantID: u.TenantID, UserID: u.ID, Purpose: purpose, Label: label,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := tx.InsertToken(rec); err != nil {
		return IssuedToken{}, err
	}
	return IssuedToken{Token: tok, Record: rec}, nil
}

// RevokeAccessToken revokes a token of the tenant: the actor's own, or any
// when the actor is a main administrator (or an operator, actor nil).
func (s *Service) RevokeAccessToken(ctx context.Context, actor *domain.Actor, tenantID, tokenID string) error {
	if actor != nil && actor.TenantID != tenantID {
		return domain.ErrNotFound
	}
	return s.Store.Do(ctx, func(tx Tx) error {
		t, err := tx.Token(tenantID, tokenID)
		if err != nil {
			return err
		}
		if actor != nil && t.UserID != actor.UserID && actor.Role != domain.RoleMainAdministrator {
			return domain.Forbidden("token_id", "you can only revoke your own tokens")
		}
		return tx.RevokeToken(tenantID, tokenID, s.now())
	})
}

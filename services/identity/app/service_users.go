package app

import (
	"context"
	"errors"

	"rollcall.dev/services/identity/domain"
)

// passwordLen is a generated service-user password's length (about 117 bits).
const passwordLen = 20

// LetterInput is what a service-user letter says.
type LetterInput struct {
	TenantName, CompanyCode, UserCode, Password, Application, Language string
	Reset                                                              bool
}

// Letter is the printable letter, returned once.
type Letter struct {
	CompanyCode, UserCode, Password, Language string
	Text                                      string
	PDF                                       []byte
}

// LetterWriter renders a letter (adapters/letter).
type LetterWriter interface {
	Write(in LetterInput) (Letter, error)
}

// NewServiceUser describes a service user (seed 002).
type NewServiceUser struct {
	TenantID          string
	UserCode          string
	ApplicationID     string
	Active            bool
	Language          string
	AllCompanies      bool
	CompanyIDs        []string
	AllStructure      bool
	StructureLevelIDs []string
}

// CreateServiceUser creates an API-only service user and returns, once, the
// letter with company code, user code and a generated password. Only an
// application manager may; the user code is 6 to 10 letters or digits,
// unique in the tenant (whatever the case); the application, companies and
// structure levels must be the tenant's.
func (s *Service) CreateServiceUser(ctx context.Context, a domain.Actor, n NewServiceUser) (*domain.User, Letter, error) {
	if err := sameTenant(a, n.TenantID); err != nil {
		return nil, Letter{}, err
	}
	if err := a.MayManageServiceUsers(); err != nil {
		return nil, Letter{}, err
	}
	if err := domain.CheckUserCode(n.UserCode); err != nil {
		return nil, Letter{}, err
	}
	switch {
	case n.AllCompanies == (len(n.CompanyIDs) > 0):
		return nil, Letter{}, domain.Invalid("company_ids", "choose all_companies or at least one company, not both")
	case n.AllStructure && len(n.StructureLevelIDs) > 0:
		return nil, Letter{}, domain.Invalid("structure_level_ids", "must be empty when all_structure is true")
	case n.Language == "":
		return nil, Letter{}, domain.Invalid("language", "choose the communication language")
	}
	password := domain.GeneratePassword(passwordLen)
	now := s.now()
	id := newID()
	u := &domain.User{
		TenantID: n.TenantID, ID: id, Kind: domain.KindService, Origin: domain.OriginUserAdministration,
		Status: domain.StatusActive, Role: domain.RoleUser,
		Login: &domain.Credential{UserID: id, Method: domain.LoginPassword, PasswordHash: domain.HashPassword(password)},
		Service: &domain.ServiceDetails{
			UserCode: n.UserCode, ApplicationID: n.ApplicationID, Active: n.Active, Language: n.Language,
			AllCompanies: n.AllCompanies, CompanyIDs: n.CompanyIDs, AllStructure: n.AllStructure, StructureLevelIDs: n.StructureLevelIDs,
		},
		CreatedByUserID: a.UserID, CreatedAt: now, UpdatedAt: now,
	}
	u.Record(domain.ServiceCreated{})
	var letter Letter
	err := s.Store.Do(ctx, func(tx Tx) error {
		t, err := tx.Tenant(n.TenantID, false)
		if err != nil {
			return err
		}
		app, err := tx.Item(n.TenantID, domain.ItemApplication, n.ApplicationID)
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Invalid("application_id", "the tenant has no such application")
		}
		if err != nil {
			return err
		}
		for _, c := range []struct {
			field string
			kind  domain.ItemKind
			ids   []string
		}{{"company_ids", domain.ItemCompany, n.CompanyIDs}, {"structure_level_ids", domain.ItemStructureLevel, n.StructureLevelIDs}} {
			unknown, err := tx.UnknownIDs(n.TenantID, c.kind, c.ids)
			if err != nil {
				return err
			}
			if len(unknown) > 0 {
				return domain.Invalid(c.field, "not the tenant's: %v", unknown)
			}
		}
		if _, err := tx.UserByCode(n.TenantID, n.UserCode); err == nil {
			return domain.Duplicate("user_code", "the tenant already has a service user with code %q", n.UserCode)
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		if err := tx.InsertCredential(*u.Login, now); err != nil {
			return err
		}
		letter, err = s.letter(LetterInput{TenantName: t.Name, CompanyCode: t.CompanyCode, UserCode: n.UserCode,
			Password: password, Application: app.Name, Language: n.Language})
		return err
	})
	if err != nil {
		return nil, Letter{}, err
	}
	return u, letter, nil
}

func (s *Service) letter(in LetterInput) (Letter, error) {
	if s.Letters == nil {
		return Letter{CompanyCode: in.CompanyCode, UserCode: in.UserCode, Password: in.Password, Language: in.Language}, nil
	}
	return s.Letters.Write(in)
}

// ResetServiceUserPassword generates a new permanent password for a service
// user and returns, once, a new letter (ServiceUserPasswordReset, without
// the password). Only an application manager may.
func (s *Service) ResetServiceUserPassword(ctx context.Context, a domain.Actor, tenantID, userID string) (Letter, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return Letter{}, err
	}
	if err := a.MayManageServiceUsers(); err != nil {
		return Letter{}, err
	}
	password := domain.GeneratePassword(passwordLen)
	var letter Letter
	err := s.Store.Do(ctx, func(tx Tx) error {
		t, err := tx.Tenant(tenantID, false)
		if err != nil {
			return err
		}
		u, err := tx.User(tenantID, userID, true)
		if err != nil {
			return err
		}
		if u.Kind != domain.KindService {
			return domain.Invalid("user_id", "not a service user")
		}
		if !u.Active() {
			return domain.Forbidden("user_id", "the service user is deactivated")
		}
		now := s.now()
		if err := tx.SetPasswordHash(u.ID, domain.HashPassword(password), now); err != nil {
			return err
		}
		u.UpdatedAt = now
		u.Record(domain.PasswordReset{By: a.UserID, At: now})
		if err := tx.SaveUser(u); err != nil {
			return err
		}
		appName := ""
		if it, err := tx.Item(tenantID, domain.ItemApplication, u.Service.ApplicationID); err == nil {
			appName = it.Name
		}
		letter, err = s.letter(LetterInput{TenantName: t.Name, CompanyCode: t.CompanyCode, UserCode: u.Service.UserCode,
			Password: password, Application: appName, Language: u.Service.Language, Reset: true})
		return err
	})
	return letter, err
}

// SetServiceUserStatus deactivates or reactivates a service user (seed 002,
// "Statut"). Only an application manager may. Deactivating revokes its API
// tokens (so reactivating does not bring old ones back); IssueServiceToken
// refuses it while inactive. A service user deactivated for good
// (DeactivateUser) stays so. Setting the current status changes nothing.
func (s *Service) SetServiceUserStatus(ctx context.Context, a domain.Actor, tenantID, userID string, active bool) (*domain.User, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, err
	}
	if err := a.MayManageServiceUsers(); err != nil {
		return nil, err
	}
	var out *domain.User
	err := s.Store.Do(ctx, func(tx Tx) error {
		u, err := tx.User(tenantID, userID, true)
		if err != nil {
			return err
		}
		switch {
		case u.Kind != domain.KindService || u.Service == nil:
			return domain.Invalid("user_id", "not a service user")
		case !u.Active():
			return domain.Forbidden("user_id", "the service user was deactivated for good (DeactivateUser); create a new one")
		}
		out = u
		if u.Service.Active == active {
			return nil
		}
		now := s.now()
		u.Service.Active, u.UpdatedAt = active, now
		u.Record(domain.ServiceStatusChanged{By: a.UserID})
		if err := tx.SaveUser(u); err != nil {
			return err
		}
		if !active {
			return tx.RevokeUserTokens(tenantID, userID, now)
		}
		return nil
	})
	return out, err
}

// IssueServiceToken is the API token endpoint: the only way a service user
// authenticates. Any mismatch (company, code, password, inactive or
// deactivated user) is the same domain.ErrBadCredentials. Failed attempts
// are counted per (tenant, user code), for unknown codes too, and lock the
// code for a while (*domain.LockedError).
func (s *Service) IssueServiceToken(ctx context.Context, companyCode, userCode, password string) (IssuedToken, error) {
	if !storable(companyCode) || !storable(userCode) {
		domain.HashPassword(password) // same work as a real check
		return IssuedToken{}, domain.ErrBadCredentials
	}
	var t *domain.Tenant
	err := s.Store.Do(ctx, func(tx Tx) error {
		var err error
		t, err = tx.TenantByCode(companyCode)
		return err
	})
	if errors.Is(err, domain.ErrNotFound) {
		domain.HashPassword(password) // same work as a real check: no timing oracle for codes
		return IssuedToken{}, domain.ErrBadCredentials
	}
	if err != nil {
		return IssuedToken{}, err
	}
	key := loginKey(userCode)
	if err := s.beginAttempt(ctx, t.ID, key); err != nil {
		return IssuedToken{}, err
	}
	var u *domain.User
	err = s.Store.Do(ctx, func(tx Tx) error {
		var err error
		u, err = tx.UserByCode(t.ID, userCode)
		return err
	})
	ok := false
	switch {
	case errors.Is(err, domain.ErrNotFound):
		domain.HashPassword(password)
	case err != nil:
		return IssuedToken{}, err
	default:
		ok, err = domain.CheckPassword(u.PasswordHash(), password)
		ok = ok && err == nil
	}
	if !ok {
		if err := s.attemptFailed(ctx, t.ID, key); err != nil {
			return IssuedToken{}, err
		}
		return IssuedToken{}, domain.ErrBadCredentials
	}
	if err := s.attemptSucceeded(ctx, t.ID, key); err != nil {
		return IssuedToken{}, err
	}
	if !u.Active() || u.Service == nil || !u.Service.Active {
		return IssuedToken{}, domain.ErrBadCredentials
	}
	ttl := s.APITokenTTL
	if ttl <= 0 {
		ttl = DefaultAPITokenTTL
	}
	var out IssuedToken
	err = s.Store.Do(ctx, func(tx Tx) error {
		out, err = s.issue(tx, u, domain.PurposeAPI, "api", ttl)
		return err
	})
	return out, err
}

// AuthenticateServiceUser resolves a service user's API token. Anything but
// a live API token of an active service user is domain.ErrUnauthenticated.
func (s *Service) AuthenticateServiceUser(ctx context.Context, token string) (*domain.User, error) {
	if token == "" || len(token) > 512 {
		return nil, domain.ErrUnauthenticated
	}
	var u *domain.User
	err := s.Store.Do(ctx, func(tx Tx) error {
		_, owner, err := tx.TokenOwner(domain.HashToken(token), domain.PurposeAPI, s.now())
		if errors.Is(err, domain.ErrNotFound) {
			return domain.ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		if owner.Kind != domain.KindService || !owner.Active() || owner.Service == nil || !owner.Service.Active {
			return domain.ErrUnauthenticated
		}
		u = owner
		return nil
	})
	return u, err
}

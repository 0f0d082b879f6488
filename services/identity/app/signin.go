package app

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"rollcall.dev/services/identity/domain"
)

// SignInRequest is an interactive sign-in: email and password, or a login
// provider's assertion (bound to the tenant id as audience).
type SignInRequest struct {
	CompanyCode string
	Email       string // or, for a service user trying, its user code
	Password    string
	Provider    string
	Assertion   string
}

// SignIn signs a person, integration user or integrator in and issues a
// bearer token. A service user is refused with domain.ErrServiceUserAPIOnly
// (seed 002) once its credentials are shown to be right, so the refusal
// tells nothing to someone guessing; every other mismatch is
// domain.ErrBadCredentials.
func (s *Service) SignIn(ctx context.Context, r SignInRequest) (IssuedToken, *domain.User, error) {
	byPassword := r.Email != "" || r.Password != ""
	byProvider := r.Provider != "" || r.Assertion != ""
	switch {
	case byPassword == byProvider:
		return IssuedToken{}, nil, domain.Invalid("email", "sign in with email and password, or with provider and assertion")
	case byPassword && (r.Email == "" || r.Password == ""):
		return IssuedToken{}, nil, domain.Invalid("password", "email and password go together")
	case byProvider && (r.Provider == "" || r.Assertion == ""):
		return IssuedToken{}, nil, domain.Invalid("assertion", "provider and assertion go together")
	case r.Provider == ProviderRollcall:
		return IssuedToken{}, nil, domain.Invalid("provider", "a Rollcall token is already a session")
	}
	if !storable(r.CompanyCode) || !storable(r.Email) {
		domain.HashPassword(r.Password) // same work as a real check
		return IssuedToken{}, nil, domain.ErrBadCredentials
	}
	var (
		tenant     *domain.Tenant
		candidates []*domain.User
		service    *domain.User
	)
	err := s.Store.Do(ctx, func(tx Tx) error {
		var err error
		if tenant, err = tx.TenantByCode(r.CompanyCode); err != nil {
			return err
		}
		if !byPassword {
			return nil
		}
		// The person's credential, wherever it came from: an existing
		// profile who joined this tenant signs in with the login he has.
		if candidates, err = tx.UsersByLoginEmail(tenant.ID, r.Email); err != nil {
			return err
		}
		if su, err := tx.UserByCode(tenant.ID, r.Email); err == nil {
			service = su
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return IssuedToken{}, nil, domain.ErrBadCredentials
	}
	if err != nil {
		return IssuedToken{}, nil, err
	}

	var user *domain.User
	if byProvider {
		res, err := s.VerifyLogin(ctx, tenant.ID, r.Provider, r.Assertion, tenant.ID)
		if err != nil {
			if errors.Is(err, domain.ErrLoginRefused) {
				return IssuedToken{}, nil, domain.ErrBadCredentials
			}
			return IssuedToken{}, nil, err
		}
		err = s.Store.Do(ctx, func(tx Tx) error {
			user, err = tx.UserBySubject(tenant.ID, res.Subject)
			return err
		})
		if errors.Is(err, domain.ErrNotFound) {
			return IssuedToken{}, nil, domain.ErrBadCredentials
		}
		if err != nil {
			return IssuedToken{}, nil, err
		}
	} else {
		// Provider assertions are signed and single use: nothing to guess.
		// Passwords are: each attempt on this login is counted first.
		key := loginKey(r.Email)
		if err := s.beginAttempt(ctx, tenant.ID, key); err != nil {
			return IssuedToken{}, nil, err
		}
		for _, c := range candidates {
			if ok, _ := domain.CheckPassword(c.PasswordHash(), r.Password); ok && c.Active() {
				user = c
				break
			}
		}
		if user == nil && service != nil {
			if ok, _ := domain.CheckPassword(service.PasswordHash(), r.Password); ok {
				// The password is right (nothing was guessed): clear the count.
				if err := s.attemptSucceeded(ctx, tenant.ID, key); err != nil {
					return IssuedToken{}, nil, err
				}
				s.log().InfoContext(ctx, "interactive sign-in refused for a service user", "tenant_id", tenant.ID, "user_id", service.ID)
				metricServiceUserSignInRefused.Inc()
				return IssuedToken{}, nil, domain.ErrServiceUserAPIOnly
			}
		}
		if user == nil {
			if len(candidates) == 0 && service == nil {
				domain.HashPassword(r.Password) // same work either way
			}
			if err := s.attemptFailed(ctx, tenant.ID, key); err != nil {
				return IssuedToken{}, nil, err
			}
			return IssuedToken{}, nil, domain.ErrBadCredentials
		}
		if err := s.attemptSucceeded(ctx, tenant.ID, key); err != nil {
			return IssuedToken{}, nil, err
		}
	}
	if user.Kind == domain.KindService {
		return IssuedToken{}, nil, domain.ErrServiceUserAPIOnly
	}
	if user.Status == domain.StatusWaiting {
		// The login is right (so this tells a guesser nothing): say why.
		return IssuedToken{}, nil, domain.ErrIntegratorWaiting
	}
	if !user.Active() {
		return IssuedToken{}, nil, domain.ErrBadCredentials
	}
	ttl := s.TokenTTL
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	var out IssuedToken
	err = s.Store.Do(ctx, func(tx Tx) error {
		out, err = s.issue(tx, user, domain.PurposeAdmin, "sign-in", ttl)
		return err
	})
	return out, user, err
}

// storable reports whether Postgres can hold s as text. A login with NUL
// (or not UTF-8) names nobody; it is refused as bad credentials before it
// reaches a query, which would fail (an internal error) and could not count
// the attempt either. Nothing can be guessed through it.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// loginKey is what failed attempts are counted by: the email typed at
// SignIn or the user code at IssueServiceToken, in one namespace (a user
// code has no "@"), so a service user's password cannot be guessed twice as
// often by trying both endpoints.
func loginKey(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

// beginAttempt counts a password attempt on key in the tenant before its
// password is checked; a locked login is a *domain.LockedError. The count
// is committed whatever the outcome, so it holds across instances.
func (s *Service) beginAttempt(ctx context.Context, tenantID, key string) error {
	now := s.now()
	var locked error
	err := s.Store.Do(ctx, func(tx Tx) error {
		a, err := tx.Attempts(tenantID, key, now.Add(-s.Throttle.Window()))
		if err != nil {
			return err
		}
		a, locked = s.Throttle.Begin(a, now)
		return tx.SaveAttempts(tenantID, key, a)
	})
	if err != nil {
		return err
	}
	if locked != nil {
		metricLoginLocked.Inc()
		s.log().InfoContext(ctx, "password attempt refused: too many failures", "tenant_id", tenantID, "reason", locked.Error())
	}
	return locked
}

// attemptFailed records that the counted attempt was wrong (the last one
// the limit allows locks the login).
func (s *Service) attemptFailed(ctx context.Context, tenantID, key string) error {
	now := s.now()
	return s.Store.Do(ctx, func(tx Tx) error {
		a, err := tx.Attempts(tenantID, key, now.Add(-s.Throttle.Window()))
		if err != nil {
			return err
		}
		return tx.SaveAttempts(tenantID, key, s.Throttle.Failed(a, now))
	})
}

// attemptSucceeded clears the login's failures: a right password resets.
func (s *Service) attemptSucceeded(ctx context.Context, tenantID, key string) error {
	return s.Store.Do(ctx, func(tx Tx) error { return tx.ClearAttempts(tenantID, key) })
}

package app

import (
	"context"
	"errors"

	"rollcall.dev/services/identity/domain"
)

// sameTenant is tenant isolation at the door: an actor naming another
// tenant gets the same answer as for something that does not exist.
func sameTenant(a domain.Actor, tenantID string) error {
	if a.TenantID != tenantID {
		return domain.ErrNotFound
	}
	return nil
}

// guard asks the integrator policy when the actor is an integrator (seed
// 003 carve-outs); others pass without a call.
func (s *Service) guard(ctx context.Context, a domain.Actor, action PolicyAction, resource string) error {
	if !a.Integrator {
		return nil
	}
	if s.Policy == nil {
		return Unavailable("integrator-policy", errors.New("no client configured"))
	}
	err := s.Policy.Check(ctx, a.TenantID, a.UserID, action, resource)
	if errors.Is(err, ErrUnavailable) {
		// The client sees only the dependency's name; the cause is for us.
		s.log().WarnContext(ctx, "integrator-policy did not answer; the action was not done", "tenant_id", a.TenantID,
			"actor_user_id", a.UserID, "action", int32(action), "error", err.Error())
	}
	return err
}

// changeUser runs an administrator's change of one user: may (the actor's
// rule on the user) in a first transaction; when guarded, integrator
// policy's decision on action, outside any transaction since it is a call to
// another service; then may again under the row lock, and change.
func (s *Service) changeUser(ctx context.Context, a domain.Actor, tenantID, userID string, may func(*domain.User) error,
	guarded bool, action PolicyAction, change func(Tx, *domain.User) error,
) (*domain.User, error) {
	load := func(tx Tx) (*domain.User, error) {
		u, err := tx.User(tenantID, userID, true)
		if err != nil {
			return nil, err
		}
		return u, may(u)
	}
	if err := s.Store.Do(ctx, func(tx Tx) error { _, err := load(tx); return err }); err != nil {
		return nil, err
	}
	if guarded {
		if err := s.guard(ctx, a, action, "users/"+userID); err != nil {
			return nil, err
		}
	}
	var out *domain.User
	err := s.Store.Do(ctx, func(tx Tx) error {
		u, err := load(tx) // again, under the row lock
		if err != nil {
			return err
		}
		out = u
		return change(tx, u)
	})
	return out, err
}

// keepsAMainAdministrator refuses a change that would take the main
// administrator role (by deactivation or demotion) from u when he is the
// tenant's last active one who is not an integrator: nobody would be left to
// administer the tenant, dismiss its integrator or choose a waiting one.
func keepsAMainAdministrator(tx Tx, u *domain.User, field, verb string) error {
	if u.Role != domain.RoleMainAdministrator || !u.Active() || u.Integrator || u.Kind == domain.KindIntegrator {
		return nil
	}
	n, err := tx.CountMainAdministrators(u.TenantID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return domain.Forbidden(field, "the tenant's last main administrator cannot be %s; make someone else main administrator first", verb)
	}
	return nil
}

// DeactivateUser takes a user's access away: his tokens are revoked and the
// integration users he sponsors are flagged for a new sponsor, in the same
// transaction as UserDeactivated. An integrator may not dismiss employees.
func (s *Service) DeactivateUser(ctx context.Context, a domain.Actor, tenantID, userID string, reason domain.Reason) (*domain.User, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, err
	}
	return s.changeUser(ctx, a, tenantID, userID, a.MayDeactivate, true, ActionDismissEmployee, func(tx Tx, u *domain.User) error {
		if err := keepsAMainAdministrator(tx, u, "user_id", "deactivated"); err != nil {
			return err
		}
		if u.Deactivate(reason, a.UserID, s.now()) {
			return tx.SaveUser(u)
		}
		return nil
	})
}

// GetUser returns one user of the actor's tenant.
func (s *Service) GetUser(ctx context.Context, a domain.Actor, tenantID, userID string) (*domain.User, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, err
	}
	if err := a.MayRead(); err != nil {
		return nil, err
	}
	var u *domain.User
	err := s.Store.Do(ctx, func(tx Tx) error {
		var err error
		u, err = tx.User(tenantID, userID, false)
		return err
	})
	return u, err
}

// ListUsers pages through the actor's tenant's users.
func (s *Service) ListUsers(ctx context.Context, a domain.Actor, tenantID string, f ListFilter) ([]*domain.User, bool, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, false, err
	}
	if err := a.MayRead(); err != nil {
		return nil, false, err
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	want := f.Limit
	f.Limit++
	var us []*domain.User
	err := s.Store.Do(ctx, func(tx Tx) error {
		var err error
		us, err = tx.ListUsers(tenantID, f)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	more := len(us) > want
	if more {
		us = us[:want]
	}
	return us, more, nil
}

// SetUserRole changes a user's role. Main administrators only; making
// someone main administrator or superuser is "creating an administrator",
// which an integrator may not do (integrator-policy decides). A main
// administrator holds the whole tenant, so his grants follow the role: a
// new main administrator gets main-administrator grants, and a demoted one
// keeps every permission area of the tenant as a custom level (narrow them
// by re-inviting). The last active main administrator cannot be demoted.
func (s *Service) SetUserRole(ctx context.Context, a domain.Actor, tenantID, userID string, role domain.Role) (*domain.User, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, err
	}
	if err := a.MayManageStructure(); err != nil {
		return nil, err
	}
	if role < domain.RoleMainAdministrator || role > domain.RoleUser {
		return nil, domain.Invalid("role", "unknown role")
	}
	may := func(u *domain.User) error {
		switch {
		case u.Kind == domain.KindService:
			return domain.Invalid("user_id", "a service user has no administration role")
		case u.Kind == domain.KindIntegrator:
			return domain.Forbidden("user_id", "an integrator's rights are fixed by the integrator-policy service")
		case !u.Active():
			return domain.Forbidden("user_id", "the user is deactivated")
		}
		return nil
	}
	grantsAdministrator := role == domain.RoleMainAdministrator || role == domain.RoleSuperuser
	return s.changeUser(ctx, a, tenantID, userID, may, grantsAdministrator, ActionGrantAdministrator, func(tx Tx, u *domain.User) error {
		if u.Role == role {
			return nil
		}
		fields := []int32{fieldRole}
		if u.Role == domain.RoleMainAdministrator {
			if err := keepsAMainAdministrator(tx, u, "role", "demoted"); err != nil {
				return err
			}
			areas, err := keys(tx, tenantID, domain.ItemPermissionArea)
			if err != nil {
				return err
			}
			if len(areas) == 0 {
				return domain.Forbidden("role", "the tenant offers no permission areas to keep after demotion")
			}
			u.Grants = customGrants(u.Grants, areas)
			fields = append(fields, fieldGrants)
		}
		if role == domain.RoleMainAdministrator && u.Grants.GetPermissionLevel() != mainLevel {
			u.Grants = mainGrants(u.Grants)
			fields = append(fields, fieldGrants)
		}
		u.Role = role
		u.UpdatedAt = s.now()
		u.Record(domain.Updated{Fields: fields, By: a.UserID})
		return tx.SaveUser(u)
	})
}

// SetTwoFactor turns a person's two-factor authentication on or off. The
// actor's role and scope are checked as for deactivation; an integrator may
// turn it on, but turning it off is his carve-out (seed 003: he may not turn
// off employees' two-factor authentication), decided by integrator-policy
// and refused when it cannot answer. The current value again changes
// nothing and publishes nothing.
func (s *Service) SetTwoFactor(ctx context.Context, a domain.Actor, tenantID, userID string, enabled bool) (*domain.User, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, err
	}
	// Turning it on is no guarded action.
	return s.changeUser(ctx, a, tenantID, userID, a.MaySetTwoFactor, !enabled, ActionDisableTwoFactor, func(tx Tx, u *domain.User) error {
		if u.TwoFactor == enabled {
			return nil
		}
		u.TwoFactor, u.UpdatedAt = enabled, s.now()
		u.Record(domain.Updated{Fields: []int32{fieldTwoFA}, By: a.UserID})
		return tx.SaveUser(u)
	})
}

// AssignSponsor names an integration user's sponsor: an active person of
// the tenant (seed 000: the integration user is neutral, but someone answers
// for it).
func (s *Service) AssignSponsor(ctx context.Context, a domain.Actor, tenantID, userID, sponsorID string) (*domain.User, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, err
	}
	if !a.Administers() {
		return nil, domain.Forbidden("actor", "only administrators and superusers may assign sponsors")
	}
	var out *domain.User
	err := s.Store.Do(ctx, func(tx Tx) error {
		u, err := tx.User(tenantID, userID, true)
		if err != nil {
			return err
		}
		if u.Kind != domain.KindIntegration {
			return domain.Invalid("user_id", "only integration users have sponsors")
		}
		sp, err := tx.User(tenantID, sponsorID, false)
		if err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return domain.Invalid("sponsor_user_id", "no such user in the tenant")
			}
			return err
		}
		if sp.Kind != domain.KindPerson || !sp.Active() {
			return domain.Invalid("sponsor_user_id", "the sponsor must be an active person")
		}
		u.SponsorUserID, u.NeedsSponsor, u.UpdatedAt = sp.ID, false, s.now()
		out = u
		return tx.SaveUser(u)
	})
	return out, err
}

package app

import (
	"context"

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
		return ErrUnavailable
	}
	return s.Policy.Check(ctx, a.TenantID, a.UserID, action, resource)
}

// DeactivateUser takes a user's access away: his tokens are revoked and the
// integration users he sponsors are flagged for a new sponsor, in the same
// transaction as UserDeactivated. An integrator may not dismiss employees.
func (s *Service) DeactivateUser(ctx context.Context, a domain.Actor, tenantID, userID string, reason domain.Reason) (*domain.User, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, err
	}
	check := func(tx Tx) (*domain.User, error) {
		u, err := tx.User(tenantID, userID, true)
		if err != nil {
			return nil, err
		}
		return u, a.MayDeactivate(u)
	}
	if err := s.Store.Do(ctx, func(tx Tx) error { _, err := check(tx); return err }); err != nil {
		return nil, err
	}
	if err := s.guard(ctx, a, ActionDismissEmployee, "users/"+userID); err != nil {
		return nil, err
	}
	var out *domain.User
	err := s.Store.Do(ctx, func(tx Tx) error {
		u, err := check(tx) // again, under the row lock
		if err != nil {
			return err
		}
		if u.Deactivate(reason, a.UserID, s.now()) {
			if err := tx.SaveUser(u); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	return out, err
}

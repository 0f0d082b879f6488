package app

import (
	"context"
	"fmt"
	"time"

	"rollcall.dev/services/invitation/domain"
)

// ListFilter narrows a listing; pages continue after the last item seen.
type ListFilter struct {
	Statuses       []domain.Status // empty: all
	Kinds          []domain.Kind   // empty: all
	Limit          int
	AfterCreatedAt time.Time
	AfterID        string
}

// Settings returns the tenant's default link lifetime (DefaultLifetime when
// never set). Any administrator of the tenant may read it.
func (s *Service) Settings(ctx context.Context, by domain.Actor, tenantID string) (time.Duration, error) {
	if err := administers(by, tenantID); err != nil {
		return 0, err
	}
	l, err := s.Store.Lifetime(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	if l == 0 {
		l = domain.DefaultLifetime
	}
	return l, nil
}

// SetDefaultLifetime sets the tenant's default link lifetime, between
// MinLifetime and MaxLifetime; only a main administrator may. Invitations
// already sent keep their own expiry.
func (s *Service) SetDefaultLifetime(ctx context.Context, by domain.Actor, tenantID string, l time.Duration) (time.Duration, error) {
	if err := sameTenant(by, tenantID); err != nil {
		return 0, err
	}
	if by.Role != domain.RoleMainAdministrator {
		return 0, fmt.Errorf("%w: only a main administrator changes the tenant's invitation settings", domain.ErrForbidden)
	}
	if err := domain.ValidateLifetime(l); err != nil {
		return 0, err
	}
	if err := s.Store.SetLifetime(ctx, tenantID, l); err != nil {
		return 0, err
	}
	return l, nil
}

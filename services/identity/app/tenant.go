package app

import (
	"context"
	"errors"
	"strings"

	"rollcall.dev/services/identity/domain"
)

// GetTenant returns the actor's tenant and the seats taken.
func (s *Service) GetTenant(ctx context.Context, a domain.Actor, tenantID string) (*domain.Tenant, int, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, 0, err
	}
	var (
		t *domain.Tenant
		n int
	)
	err := s.Store.Do(ctx, func(tx Tx) error {
		var err error
		if t, err = tx.Tenant(tenantID, false); err != nil {
			return err
		}
		n, err = tx.CountSeats(tenantID)
		return err
	})
	return t, n, err
}

// TenantChange is what UpdateTenant changes (nil: unchanged).
type TenantChange struct {
	Name      *string
	Language  *string
	SeatLimit *int
}

// UpdateTenant changes name, language or plan. Main administrators only; a
// seat limit below the seats already taken is refused (nobody is thrown out
// by a plan change).
func (s *Service) UpdateTenant(ctx context.Context, a domain.Actor, tenantID string, c TenantChange) (*domain.Tenant, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, err
	}
	if err := a.MayManageStructure(); err != nil {
		return nil, err
	}
	var t *domain.Tenant
	err := s.Store.Do(ctx, func(tx Tx) error {
		var err error
		if t, err = tx.Tenant(tenantID, true); err != nil {
			return err
		}
		if c.Name != nil {
			if strings.TrimSpace(*c.Name) == "" {
				return domain.Invalid("name", "must not be only whitespace")
			}
			t.Name = *c.Name
		}
		if c.Language != nil {
			t.Language = *c.Language
		}
		if c.SeatLimit != nil {
			n, err := tx.CountSeats(tenantID)
			if err != nil {
				return err
			}
			if *c.SeatLimit > 0 && *c.SeatLimit < n {
				return domain.Invalid("seat_limit", "%d seats are taken; deactivate people first or choose at least %d", n, n)
			}
			t.SeatLimit = *c.SeatLimit
		}
		return tx.SaveTenant(t)
	})
	return t, err
}

// CreateItem adds an item to the tenant's structure. Main administrators
// may add anything; application managers may add applications. A structure
// level's parent is a company or another level of the tenant.
func (s *Service) CreateItem(ctx context.Context, a domain.Actor, it domain.Item) (domain.Item, error) {
	if err := sameTenant(a, it.TenantID); err != nil {
		return domain.Item{}, err
	}
	if err := a.MayManageStructure(); err != nil && (it.Kind != domain.ItemApplication || a.Role != domain.RoleApplicationManager) {
		return domain.Item{}, err
	}
	it.ID, it.CreatedAt = newID(), s.now()
	if err := domain.CheckItem(it); err != nil {
		return domain.Item{}, err
	}
	err := s.Store.Do(ctx, func(tx Tx) error {
		if it.Kind == domain.ItemStructureLevel {
			_, errC := tx.Item(it.TenantID, domain.ItemCompany, it.ParentID)
			_, errL := tx.Item(it.TenantID, domain.ItemStructureLevel, it.ParentID)
			if errors.Is(errC, domain.ErrNotFound) && errors.Is(errL, domain.ErrNotFound) {
				return domain.Invalid("parent_id", "no company or structure level of the tenant has this id")
			}
			if errC != nil && errL != nil && !errors.Is(errC, domain.ErrNotFound) {
				return errC
			}
		}
		return tx.InsertItem(it)
	})
	return it, err
}

// Items lists the tenant's items of one kind; every user of the tenant who
// may read users may read them.
func (s *Service) Items(ctx context.Context, a domain.Actor, tenantID string, kind domain.ItemKind) ([]domain.Item, error) {
	if err := sameTenant(a, tenantID); err != nil {
		return nil, err
	}
	if err := a.MayRead(); err != nil {
		return nil, err
	}
	var out []domain.Item
	err := s.Store.Do(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Items(tenantID, kind)
		return err
	})
	return out, err
}

package app

import (
	"context"
	"errors"
	"strings"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	"rollcall.dev/services/identity/domain"
)

// Bootstrap describes a tenant that must exist at start-up (the demo
// tenant of `rollcall dev`), found again by its company code.
type Bootstrap struct {
	Tenant NewTenant
	// AppManager, when set, is a second user with role application manager
	// (seed 002: only he creates service users).
	AppManager *NewPerson
}

// Bootstrapped is the bootstrap tenant and its two users.
type Bootstrapped struct {
	Tenant     *domain.Tenant
	Admin      *domain.User
	AppManager *domain.User // nil when not asked for
	Created    bool         // false when it already existed
}

// EnsureBootstrap creates the bootstrap tenant unless a tenant with its
// company code exists, and returns it with its main administrator and
// application manager (found by email). Running it again changes nothing.
func (s *Service) EnsureBootstrap(ctx context.Context, b Bootstrap) (Bootstrapped, error) {
	var out Bootstrapped
	err := s.Store.Do(ctx, func(tx Tx) error {
		t, err := tx.TenantByCode(b.Tenant.CompanyCode)
		if errors.Is(err, domain.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out.Tenant = t
		if out.Admin, err = activeByEmail(tx, t.ID, b.Tenant.Admin.Email, domain.RoleMainAdministrator); err != nil {
			return err
		}
		if b.AppManager != nil {
			out.AppManager, err = activeByEmail(tx, t.ID, b.AppManager.Email, domain.RoleApplicationManager)
		}
		return err
	})
	if err != nil || out.Tenant != nil {
		return out, err
	}
	t, admin, err := s.CreateTenant(ctx, b.Tenant)
	if err != nil {
		return out, err
	}
	out = Bootstrapped{Tenant: t, Admin: admin, Created: true}
	if b.AppManager != nil {
		now := s.now()
		p := b.AppManager
		u := &domain.User{
			TenantID: t.ID, ID: newID(), Kind: domain.KindPerson, Origin: domain.OriginTenantCreation,
			Status: domain.StatusActive, Role: domain.RoleApplicationManager,
			FirstName: p.FirstName, LastName: p.LastName, Email: strings.ToLower(p.Email), Mobile: p.Mobile,
			Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM,
				PermissionAreas: []string{"applications"}},
			CountsSeat: true, CreatedAt: now, UpdatedAt: now,
		}
		u.Record(domain.Created{})
		if err := s.Store.Do(ctx, func(tx Tx) error { return tx.InsertUser(u) }); err != nil {
			return out, err
		}
		out.AppManager = u
	}
	return out, nil
}

func activeByEmail(tx Tx, tenantID, email string, role domain.Role) (*domain.User, error) {
	us, err := tx.UsersByEmail(tenantID, email)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		if u.Active() && u.Role == role {
			return u, nil
		}
	}
	return nil, errors.New("bootstrap: the tenant exists but its user " + email + " is gone or deactivated")
}

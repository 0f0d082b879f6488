package app

import (
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	"rollcall.dev/services/identity/domain"
)

// identity.v1.UserField values used in UserUpdated.
const (
	fieldGrants = domain.FieldGrants
	fieldSeat   = domain.FieldSeat
	fieldRole   = domain.FieldRole
	fieldTwoFA  = domain.FieldTwoFactor
)

const mainLevel = commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR

// mainGrants is a main administrator's grants, keeping application links
// (the only part of a scope a main administrator may carry).
func mainGrants(old *commonv1.Grants) *commonv1.Grants {
	g := &commonv1.Grants{PermissionLevel: mainLevel}
	if links := old.GetScope().GetApplicationLinkIds(); len(links) > 0 {
		g.Scope = &commonv1.AccessScope{ApplicationLinkIds: links}
	}
	return g
}

// customGrants turns a main administrator's grants into a custom level with
// the given areas and the whole tenant as scope.
func customGrants(old *commonv1.Grants, areas []string) *commonv1.Grants {
	all := func() *commonv1.Selection { return &commonv1.Selection{All: true} }
	g := &commonv1.Grants{
		PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: areas,
		Scope: &commonv1.AccessScope{Organisations: all(), Customers: all(), CostCentres: all(), ProductCategories: all()},
	}
	if links := old.GetScope().GetApplicationLinkIds(); len(links) > 0 {
		g.Scope.ApplicationLinkIds = links
	}
	return g
}

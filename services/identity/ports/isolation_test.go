package ports_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/domain"
)

// TestTenantIsolation: an administrator of A, holding B's ids, can neither
// read nor change anything of B, whichever tenant id he names.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	a, b := e.tenant(t, "TENA", 0), e.tenant(t, "TENB", 0)
	bUser := e.person(t, b, "b-user@example.com", domain.RoleUser)
	bService := e.serviceUser(t, b, "BSERVICE")
	before := e.outboxTypes(t, b.id)
	adm := e.as(t, a.adminToken)
	amA := e.as(t, e.appManager(t, a))

	for _, tenantID := range []string{b.id, a.id} {
		calls := map[string]func() error{
			"GetUser": func() error {
				_, err := adm.GetUser(ctx, connect.NewRequest(&identityv1.GetUserRequest{TenantId: tenantID, UserId: bUser}))
				return err
			},
			"DeactivateUser": func() error {
				_, err := adm.DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{TenantId: tenantID, UserId: bUser, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_DISMISSED}))
				return err
			},
			"SetUserRole": func() error {
				_, err := adm.SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tenantID, UserId: bUser, Role: identityv1.Role_ROLE_SUPERUSER}))
				return err
			},
			"AssignSponsor": func() error {
				_, err := adm.AssignSponsor(ctx, connect.NewRequest(&identityv1.AssignSponsorRequest{TenantId: tenantID, UserId: bUser, SponsorUserId: b.adminID}))
				return err
			},
			"ResetServiceUserPassword": func() error {
				_, err := amA.ResetServiceUserPassword(ctx, connect.NewRequest(&identityv1.ResetServiceUserPasswordRequest{TenantId: tenantID, UserId: bService.id}))
				return err
			},
			"RevokeAccessToken": func() error {
				var tokenID string
				require.NoError(t, e.pool.QueryRow(ctx, `SELECT id::text FROM access_tokens WHERE tenant_id = $1 LIMIT 1`, b.id).Scan(&tokenID))
				_, err := adm.RevokeAccessToken(ctx, connect.NewRequest(&identityv1.RevokeAccessTokenRequest{TenantId: tenantID, TokenId: tokenID}))
				return err
			},
		}
		for name, call := range calls {
			err := call()
			require.Error(t, err, name)
			require.Equal(t, connect.CodeNotFound, connect.CodeOf(err), "%s with tenant %s: %v", name, tenantID, err)
		}
	}
	// Reads and changes naming B itself.
	_, err := adm.GetTenant(ctx, connect.NewRequest(&identityv1.GetTenantRequest{TenantId: b.id}))
	requireCode(t, err, connect.CodeNotFound)
	_, err = adm.ListUsers(ctx, connect.NewRequest(&identityv1.ListUsersRequest{TenantId: b.id}))
	requireCode(t, err, connect.CodeNotFound)
	_, err = adm.UpdateTenant(ctx, connect.NewRequest(&identityv1.UpdateTenantRequest{TenantId: b.id, Name: proto.String("Mine now")}))
	requireCode(t, err, connect.CodeNotFound)
	_, err = adm.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: b.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION, Name: "Sneaky"}))
	requireCode(t, err, connect.CodeNotFound)
	_, err = adm.ListStructureItems(ctx, connect.NewRequest(&identityv1.ListStructureItemsRequest{TenantId: b.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION}))
	requireCode(t, err, connect.CodeNotFound)
	_, err = adm.CreateAccessToken(ctx, connect.NewRequest(&identityv1.CreateAccessTokenRequest{TenantId: b.id}))
	requireCode(t, err, connect.CodeNotFound)
	_, err = amA.CreateServiceUser(ctx, connect.NewRequest(serviceUserReq(b, "SNEAKY1")))
	requireCode(t, err, connect.CodeNotFound)
	// A's structure with B's parent id is refused too.
	_, err = adm.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: a.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_STRUCTURE_LEVEL, Name: "Level", ParentId: b.companies[0]}))
	ce := requireCode(t, err, connect.CodeInvalidArgument)
	require.Contains(t, ce.Message(), "parent_id")

	// Nothing of B changed.
	require.Equal(t, before, e.outboxTypes(t, b.id))
	require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, e.user(t, b.id, bUser).GetStatus())
	require.Equal(t, identityv1.Role_ROLE_USER, e.user(t, b.id, bUser).GetRole())
	_, err = e.svc.Authenticate(ctx, b.adminToken)
	require.NoError(t, err)
	got, err := e.as(t, b.adminToken).GetTenant(ctx, connect.NewRequest(&identityv1.GetTenantRequest{TenantId: b.id}))
	require.NoError(t, err)
	require.Equal(t, "Tenant TENB", got.Msg.GetTenant().GetName())
	list, err := e.as(t, b.adminToken).ListUsers(ctx, connect.NewRequest(&identityv1.ListUsersRequest{TenantId: b.id}))
	require.NoError(t, err)
	for _, u := range list.Msg.GetUsers() {
		require.Equal(t, b.id, u.GetTenantId())
	}
}

func TestStructureAndRoles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "STRUCT", 0)
	adm := e.as(t, tn.adminToken)

	t.Run("StructureTree", func(t *testing.T) {
		co, err := adm.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_COMPANY, Name: "Nord AS"}))
		require.NoError(t, err)
		lvl, err := adm.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_STRUCTURE_LEVEL, Name: "Region", ParentId: co.Msg.GetItem().GetId()}))
		require.NoError(t, err)
		_, err = adm.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_STRUCTURE_LEVEL, Name: "Avdeling", ParentId: lvl.Msg.GetItem().GetId()}))
		require.NoError(t, err)
		list, err := adm.ListStructureItems(ctx, connect.NewRequest(&identityv1.ListStructureItemsRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_STRUCTURE_LEVEL}))
		require.NoError(t, err)
		require.Len(t, list.Msg.GetItems(), 2)
		_, err = adm.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_STRUCTURE_LEVEL, Name: "Orphan"}))
		ce := requireCode(t, err, connect.CodeInvalidArgument)
		require.Contains(t, ce.Message(), "parent_id")
		_, err = adm.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_PERMISSION_AREA, Name: "Support again", Key: "support"}))
		requireCode(t, err, connect.CodeAlreadyExists)
		_, err = adm.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_PERMISSION_AREA, Name: "No key"}))
		ce = requireCode(t, err, connect.CodeInvalidArgument)
		require.Contains(t, ce.Message(), "key")
		_, err = adm.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_PERMISSION_AREA, Name: "Reports", Key: "reports"}))
		require.NoError(t, err)
		d, err := e.internal.DescribeTenant(ctx, connect.NewRequest(&identityv1.DescribeTenantRequest{TenantId: tn.id}))
		require.NoError(t, err)
		require.Contains(t, d.Msg.GetPermissionAreas(), "reports")
		// Only main administrators change the structure (application managers: applications).
		amTok := e.appManager(t, tn)
		_, err = e.as(t, amTok).CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION, Name: "Nope"}))
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = e.as(t, amTok).CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_APPLICATION, Name: "Payroll v2"}))
		require.NoError(t, err)
	})

	t.Run("PlanAndLanguage", func(t *testing.T) {
		res, err := adm.UpdateTenant(ctx, connect.NewRequest(&identityv1.UpdateTenantRequest{TenantId: tn.id, Language: proto.String("sv"), SeatLimit: proto.Uint32(50)}))
		require.NoError(t, err)
		require.Equal(t, "sv", res.Msg.GetTenant().GetLanguage())
		require.Equal(t, uint32(50), res.Msg.GetTenant().GetSeatLimit())
		_, err = adm.UpdateTenant(ctx, connect.NewRequest(&identityv1.UpdateTenantRequest{TenantId: tn.id, Language: proto.String("Swedish")}))
		requireCode(t, err, connect.CodeInvalidArgument)
	})

	t.Run("RolesAndTheIntegratorCarveOut", func(t *testing.T) {
		u := e.person(t, tn, "promote@example.com", domain.RoleUser)
		integrator := e.person(t, tn, "integrator@partner.example", domain.RoleMainAdministrator)
		_, err := e.pool.Exec(ctx, `UPDATE users SET kind = 4, integrator = true, counts_seat = false, grants = '{"permissionLevel":"PERMISSION_LEVEL_MAIN_ADMINISTRATOR"}' WHERE tenant_id = $1 AND id = $2`, tn.id, integrator)
		require.NoError(t, err)
		e.policy.integrator(tn.id, integrator)
		itok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, integrator, "", 0)
		require.NoError(t, err)
		for _, role := range []identityv1.Role{identityv1.Role_ROLE_MAIN_ADMINISTRATOR, identityv1.Role_ROLE_SUPERUSER} {
			_, err = e.as(t, itok.Token).SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: u, Role: role}))
			ce := requireCode(t, err, connect.CodePermissionDenied)
			require.Contains(t, ce.Message(), "cannot create administrators")
		}
		// Other roles are not "creating an administrator".
		_, err = e.as(t, itok.Token).SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: u, Role: identityv1.Role_ROLE_APPLICATION_MANAGER}))
		require.NoError(t, err)
		// The policy unreachable: nothing is done (fail closed).
		e.policy.mu.Lock()
		e.policy.down = true
		e.policy.mu.Unlock()
		_, err = e.as(t, itok.Token).SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: u, Role: identityv1.Role_ROLE_SUPERUSER}))
		requireCode(t, err, connect.CodeUnavailable)
		e.policy.mu.Lock()
		e.policy.down = false
		e.policy.mu.Unlock()

		res, err := adm.SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: u, Role: identityv1.Role_ROLE_MAIN_ADMINISTRATOR}))
		require.NoError(t, err)
		require.Equal(t, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, res.Msg.GetUser().GetRole())
		require.Equal(t, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, res.Msg.GetUser().GetProfile().GetRole())
		types := e.outboxTypes(t, tn.id)
		require.Equal(t, "rollcall.identity.v1.UserUpdated", types[len(types)-1])
		// Demoting him keeps every permission area as a custom level.
		res, err = adm.SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: u, Role: identityv1.Role_ROLE_SUPERUSER}))
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"invoices", "support", "reports"}, res.Msg.GetUser().GetProfile().GetGrants().GetPermissionAreas())
		// Integrators' own rights are not changed here.
		_, err = adm.SetUserRole(ctx, connect.NewRequest(&identityv1.SetUserRoleRequest{TenantId: tn.id, UserId: integrator, Role: identityv1.Role_ROLE_USER}))
		requireCode(t, err, connect.CodePermissionDenied)
	})

	t.Run("ListUsersPages", func(t *testing.T) {
		var seen []string
		token := ""
		for range 10 {
			res, err := adm.ListUsers(ctx, connect.NewRequest(&identityv1.ListUsersRequest{TenantId: tn.id, PageSize: 2, PageToken: token}))
			require.NoError(t, err)
			for _, u := range res.Msg.GetUsers() {
				seen = append(seen, u.GetUserId())
			}
			if token = res.Msg.GetNextPageToken(); token == "" {
				break
			}
		}
		var n int
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE tenant_id = $1 AND status = 'active'`, tn.id).Scan(&n))
		require.Len(t, seen, n)
		_, err := adm.ListUsers(ctx, connect.NewRequest(&identityv1.ListUsersRequest{TenantId: tn.id, PageToken: "garbage"}))
		ce := requireCode(t, err, connect.CodeInvalidArgument)
		require.Contains(t, ce.Message(), "page_token")
	})
}

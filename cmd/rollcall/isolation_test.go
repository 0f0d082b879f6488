package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"
)

// notTenantScoped are the RPCs that name no tenant's data, and why they are
// not in the table: the cross-tenant question does not arise for them.
var notTenantScoped = map[string]string{
	"rollcall.identity.v1.IdentityService/SignIn":                    "anonymous; the company code chooses the tenant, the credential proves the person",
	"rollcall.identity.v1.IdentityService/IssueServiceToken":         "anonymous; company code, user code and password",
	"rollcall.identity.v1.IdentityService/IssueJoinAssertion":        "the caller's own profile, for an invitation he holds (joining another tenant is its purpose)",
	"rollcall.invitation.v1.InvitationService/OpenInvitation":        "anonymous; the link token is the invitation's secret",
	"rollcall.invitation.v1.InvitationService/VerifyCode":            "anonymous; the link token is the invitation's secret",
	"rollcall.invitation.v1.InvitationService/AcceptInvitation":      "anonymous; the link token is the invitation's secret",
	"rollcall.invitation.v1.InvitationService/RequestNewCode":        "anonymous; the link token is the invitation's secret",
	"rollcall.integrator.v1.IntegratorPolicyService/CheckPartner":    "the partner registry is global (no tenant's data)",
	"rollcall.integrator.v1.IntegratorPolicyService/RegisterPartner": "the partner registry is global; operator token only (an administrator is refused below)",
	"rollcall.integrator.v1.IntegratorPolicyService/RevokePartner":   "the partner registry is global; operator token only (an administrator is refused below)",
	"rollcall.integrator.v1.IntegratorPolicyService/ListPartners":    "the partner registry is global; operator token only (an administrator is refused below)",
	"rollcall.identity.v1.IdentityService/CreateTenant":              "makes a new tenant; operator token only (an administrator is refused below)",
}

// TestEveryRPCRefusesAnotherTenantsData is issue 9's table: against the
// real dev binary, the administrator and the application manager of tenant
// A call every tenant-scoped RPC of the four services with tenant B's ids —
// naming B, and naming A with B's object ids — and are refused every time;
// afterwards nothing of B has changed. The table must cover every method
// of the services' descriptors (or say above why one names no tenant).
func TestEveryRPCRefusesAnotherTenantsData(t *testing.T) {
	t.Parallel()
	s := startDevStack(t)
	base, dataDir, tenantA, adminA, appManagerA := s.base, s.dataDir, s.tenant, s.admin, s.appManager
	svcTok, err := os.ReadFile(filepath.Join(dataDir, "service-token"))
	require.NoError(t, err)
	operator := strings.TrimSpace(string(svcTok))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ids := identityv1connect.NewIdentityServiceClient(http.DefaultClient, base)
	inv := invitationv1connect.NewInvitationServiceClient(http.DefaultClient, base)
	pol := integratorv1connect.NewIntegratorPolicyServiceClient(http.DefaultClient, base)
	syn := syncv1connect.NewSyncServiceClient(http.DefaultClient, base)

	// Tenant B, its administrator, and some of its data.
	tb, err := ids.CreateTenant(ctx, bearer(operator, &identityv1.CreateTenantRequest{Name: "Tenant B AS", CompanyCode: "TENB",
		SeatLimit: 10, Administrator: &identityv1.NewAdministrator{FirstName: "Berit", LastName: "Admin", Email: "berit@tenant-b.example"}}))
	require.NoError(t, err)
	tenantB, adminBID := tb.Msg.GetTenant().GetTenantId(), tb.Msg.GetAdministrator().GetUserId()
	tok, err := ids.CreateAccessToken(ctx, bearer(operator, &identityv1.CreateAccessTokenRequest{TenantId: tenantB, UserId: adminBID, Label: "isolation test"}))
	require.NoError(t, err)
	adminB := tok.Msg.GetToken()
	orgB, err := ids.CreateStructureItem(ctx, bearer(adminB, &identityv1.CreateStructureItemRequest{TenantId: tenantB,
		Kind: identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION, Name: "B Oslo"}))
	require.NoError(t, err)
	_, err = ids.CreateStructureItem(ctx, bearer(adminB, &identityv1.CreateStructureItemRequest{TenantId: tenantB,
		Kind: identityv1.StructureKind_STRUCTURE_KIND_PERMISSION_AREA, Name: "Support", Key: "support"}))
	require.NoError(t, err)
	appB, err := ids.CreateStructureItem(ctx, bearer(adminB, &identityv1.CreateStructureItemRequest{TenantId: tenantB,
		Kind: identityv1.StructureKind_STRUCTURE_KIND_APPLICATION, Name: "B Payroll"}))
	require.NoError(t, err)
	invB, err := inv.CreateInvitation(ctx, bearer(adminB, &invitationv1.CreateInvitationRequest{TenantId: tenantB,
		Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		FirstName: "Bjørn", LastName: "Bruker", Email: "bjorn@tenant-b.example", CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER,
		Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support"}}}))
	require.NoError(t, err)
	invitationB := invB.Msg.GetInvitation().GetInvitationId()
	var key struct {
		APIKey string `json:"api_key"`
	}
	post(t, base+"/dev/erp/_admin/api-keys", "", &key)
	connB, err := syn.CreateConnection(ctx, bearer(adminB, &syncv1.CreateConnectionRequest{TenantId: tenantB,
		ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: key.APIKey, AuthorityConfirmed: true}))
	require.NoError(t, err)
	connectionB := connB.Msg.GetConnection().GetConnectionId()
	prevB, err := syn.PreviewFirstSync(ctx, bearer(adminB, &syncv1.PreviewFirstSyncRequest{TenantId: tenantB, ConnectionId: connectionB}))
	require.NoError(t, err)
	previewB := prevB.Msg.GetPreviewId()
	tokenIDB := tok.Msg.GetTokenId()
	policyB, err := pol.GetPolicy(ctx, bearer(adminB, &integratorv1.GetPolicyRequest{TenantId: tenantB}))
	require.NoError(t, err)

	// A run of B's, started and waiting (the threshold does not apply to
	// an empty synchronisation, so it may also have finished).
	runB, err := syn.ApplyFirstSync(ctx, bearer(adminB, &syncv1.ApplyFirstSyncRequest{TenantId: tenantB, ConnectionId: connectionB,
		PreviewId: previewB, DefaultWinner: syncv1.SyncSide_SYNC_SIDE_HR}))
	require.NoError(t, err)
	runIDB := runB.Msg.GetRun().GetRunId()

	type call func(ctx context.Context, tenant, admin, appManager string) error
	calls := map[string]call{
		// identity
		"rollcall.identity.v1.IdentityService/GetUser": func(ctx context.Context, tn, a, _ string) error {
			_, err := ids.GetUser(ctx, bearer(a, &identityv1.GetUserRequest{TenantId: tn, UserId: adminBID}))
			return err
		},
		"rollcall.identity.v1.IdentityService/ListUsers": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip // listing his own tenant is his right
			}
			_, err := ids.ListUsers(ctx, bearer(a, &identityv1.ListUsersRequest{TenantId: tn}))
			return err
		},
		"rollcall.identity.v1.IdentityService/CreateServiceUser": func(ctx context.Context, tn, _, m string) error {
			_, err := ids.CreateServiceUser(ctx, bearer(m, &identityv1.CreateServiceUserRequest{TenantId: tn, UserCode: "SNEAKY1",
				ApplicationId: appB.Msg.GetItem().GetId(), Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE,
				Language: "nb", AllCompanies: true, AllStructure: true}))
			return err
		},
		"rollcall.identity.v1.IdentityService/ResetServiceUserPassword": func(ctx context.Context, tn, _, m string) error {
			_, err := ids.ResetServiceUserPassword(ctx, bearer(m, &identityv1.ResetServiceUserPasswordRequest{TenantId: tn, UserId: adminBID}))
			return err
		},
		"rollcall.identity.v1.IdentityService/SetInitialPassword": func(ctx context.Context, tn, a, _ string) error {
			_, err := ids.SetInitialPassword(ctx, bearer(a, &identityv1.SetInitialPasswordRequest{TenantId: tn, UserId: adminBID,
				InvitationId: invitationB, Password: "sneaky password 123"}))
			return err
		},
		"rollcall.identity.v1.IdentityService/DeactivateUser": func(ctx context.Context, tn, a, _ string) error {
			_, err := ids.DeactivateUser(ctx, bearer(a, &identityv1.DeactivateUserRequest{TenantId: tn, UserId: adminBID,
				Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_DISMISSED}))
			return err
		},
		"rollcall.identity.v1.IdentityService/CreateAccessToken": func(ctx context.Context, tn, a, _ string) error {
			_, err := ids.CreateAccessToken(ctx, bearer(a, &identityv1.CreateAccessTokenRequest{TenantId: tn, UserId: adminBID}))
			return err
		},
		"rollcall.identity.v1.IdentityService/RevokeAccessToken": func(ctx context.Context, tn, a, _ string) error {
			_, err := ids.RevokeAccessToken(ctx, bearer(a, &identityv1.RevokeAccessTokenRequest{TenantId: tn, TokenId: tokenIDB}))
			return err
		},
		"rollcall.identity.v1.IdentityService/GetTenant": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := ids.GetTenant(ctx, bearer(a, &identityv1.GetTenantRequest{TenantId: tn}))
			return err
		},
		"rollcall.identity.v1.IdentityService/UpdateTenant": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := ids.UpdateTenant(ctx, bearer(a, &identityv1.UpdateTenantRequest{TenantId: tn, Name: proto.String("Mine now")}))
			return err
		},
		"rollcall.identity.v1.IdentityService/CreateStructureItem": func(ctx context.Context, tn, a, _ string) error {
			// In B; or in A under B's organisation as parent.
			_, err := ids.CreateStructureItem(ctx, bearer(a, &identityv1.CreateStructureItemRequest{TenantId: tn,
				Kind: identityv1.StructureKind_STRUCTURE_KIND_STRUCTURE_LEVEL, Name: "Sneaky", ParentId: orgB.Msg.GetItem().GetId()}))
			return err
		},
		"rollcall.identity.v1.IdentityService/ListStructureItems": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := ids.ListStructureItems(ctx, bearer(a, &identityv1.ListStructureItemsRequest{TenantId: tn, Kind: identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION}))
			return err
		},
		"rollcall.identity.v1.IdentityService/SetUserRole": func(ctx context.Context, tn, a, _ string) error {
			_, err := ids.SetUserRole(ctx, bearer(a, &identityv1.SetUserRoleRequest{TenantId: tn, UserId: adminBID, Role: identityv1.Role_ROLE_USER}))
			return err
		},
		"rollcall.identity.v1.IdentityService/AssignSponsor": func(ctx context.Context, tn, a, _ string) error {
			_, err := ids.AssignSponsor(ctx, bearer(a, &identityv1.AssignSponsorRequest{TenantId: tn, UserId: adminBID, SponsorUserId: adminBID}))
			return err
		},
		"rollcall.identity.v1.IdentityService/SetServiceUserStatus": func(ctx context.Context, tn, _, m string) error {
			_, err := ids.SetServiceUserStatus(ctx, bearer(m, &identityv1.SetServiceUserStatusRequest{TenantId: tn, UserId: adminBID,
				Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE}))
			return err
		},
		"rollcall.identity.v1.IdentityService/SetTwoFactor": func(ctx context.Context, tn, a, _ string) error {
			_, err := ids.SetTwoFactor(ctx, bearer(a, &identityv1.SetTwoFactorRequest{TenantId: tn, UserId: adminBID, Enabled: true}))
			return err
		},
		// invitation
		"rollcall.invitation.v1.InvitationService/CreateInvitation": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := inv.CreateInvitation(ctx, bearer(a, &invitationv1.CreateInvitationRequest{TenantId: tn,
				Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER, Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
				FirstName: "Sneaky", LastName: "Person", Email: "sneaky@example.com", CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER,
				Grants: &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, PermissionAreas: []string{"support"}}}))
			return err
		},
		"rollcall.invitation.v1.InvitationService/GetInvitation": func(ctx context.Context, tn, a, _ string) error {
			_, err := inv.GetInvitation(ctx, bearer(a, &invitationv1.GetInvitationRequest{TenantId: tn, InvitationId: invitationB}))
			return err
		},
		"rollcall.invitation.v1.InvitationService/ListInvitations": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := inv.ListInvitations(ctx, bearer(a, &invitationv1.ListInvitationsRequest{TenantId: tn}))
			return err
		},
		"rollcall.invitation.v1.InvitationService/RevokeInvitation": func(ctx context.Context, tn, a, _ string) error {
			_, err := inv.RevokeInvitation(ctx, bearer(a, &invitationv1.RevokeInvitationRequest{TenantId: tn, InvitationId: invitationB}))
			return err
		},
		"rollcall.invitation.v1.InvitationService/ResendInvitation": func(ctx context.Context, tn, a, _ string) error {
			_, err := inv.ResendInvitation(ctx, bearer(a, &invitationv1.ResendInvitationRequest{TenantId: tn, InvitationId: invitationB}))
			return err
		},
		"rollcall.invitation.v1.InvitationService/IssueNewCode": func(ctx context.Context, tn, a, _ string) error {
			_, err := inv.IssueNewCode(ctx, bearer(a, &invitationv1.IssueNewCodeRequest{TenantId: tn, InvitationId: invitationB}))
			return err
		},
		"rollcall.invitation.v1.InvitationService/GetInvitationSettings": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := inv.GetInvitationSettings(ctx, bearer(a, &invitationv1.GetInvitationSettingsRequest{TenantId: tn}))
			return err
		},
		"rollcall.invitation.v1.InvitationService/UpdateInvitationSettings": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := inv.UpdateInvitationSettings(ctx, bearer(a, &invitationv1.UpdateInvitationSettingsRequest{TenantId: tn,
				DefaultLifetime: durationpb.New(48 * time.Hour)}))
			return err
		},
		// integrator-policy
		"rollcall.integrator.v1.IntegratorPolicyService/GetActiveIntegrator": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := pol.GetActiveIntegrator(ctx, bearer(a, &integratorv1.GetActiveIntegratorRequest{TenantId: tn}))
			return err
		},
		"rollcall.integrator.v1.IntegratorPolicyService/DismissIntegrator": func(ctx context.Context, tn, a, _ string) error {
			_, err := pol.DismissIntegrator(ctx, bearer(a, &integratorv1.DismissIntegratorRequest{TenantId: tn, IntegratorUserId: adminBID}))
			return err
		},
		"rollcall.integrator.v1.IntegratorPolicyService/CheckAction": func(ctx context.Context, tn, a, _ string) error {
			_, err := pol.CheckAction(ctx, bearer(a, &integratorv1.CheckActionRequest{TenantId: tn, ActorUserId: adminBID,
				Action: integratorv1.Action_ACTION_DISMISS_EMPLOYEE, Resource: "users/" + adminBID}))
			return err
		},
		"rollcall.integrator.v1.IntegratorPolicyService/GetPolicy": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := pol.GetPolicy(ctx, bearer(a, &integratorv1.GetPolicyRequest{TenantId: tn}))
			return err
		},
		"rollcall.integrator.v1.IntegratorPolicyService/SetPolicy": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := pol.SetPolicy(ctx, bearer(a, &integratorv1.SetPolicyRequest{TenantId: tn, MaxActiveIntegrators: 3,
				OverflowMode: integratorv1.OverflowMode_OVERFLOW_MODE_ADMIN_CHOOSES}))
			return err
		},
		// sync
		"rollcall.sync.v1.SyncService/CreateConnection": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := syn.CreateConnection(ctx, bearer(a, &syncv1.CreateConnectionRequest{TenantId: tn,
				ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: key.APIKey, AuthorityConfirmed: true}))
			return err
		},
		"rollcall.sync.v1.SyncService/ListConnections": func(ctx context.Context, tn, a, _ string) error {
			if tn != tenantB {
				return errSkip
			}
			_, err := syn.ListConnections(ctx, bearer(a, &syncv1.ListConnectionsRequest{TenantId: tn}))
			return err
		},
		"rollcall.sync.v1.SyncService/RotateConnectionKey": func(ctx context.Context, tn, a, _ string) error {
			_, err := syn.RotateConnectionKey(ctx, bearer(a, &syncv1.RotateConnectionKeyRequest{TenantId: tn, ConnectionId: connectionB,
				ApiKey: key.APIKey, AuthorityConfirmed: true}))
			return err
		},
		"rollcall.sync.v1.SyncService/DeleteConnection": func(ctx context.Context, tn, a, _ string) error {
			_, err := syn.DeleteConnection(ctx, bearer(a, &syncv1.DeleteConnectionRequest{TenantId: tn, ConnectionId: connectionB}))
			return err
		},
		"rollcall.sync.v1.SyncService/PreviewFirstSync": func(ctx context.Context, tn, a, _ string) error {
			_, err := syn.PreviewFirstSync(ctx, bearer(a, &syncv1.PreviewFirstSyncRequest{TenantId: tn, ConnectionId: connectionB}))
			return err
		},
		"rollcall.sync.v1.SyncService/ApplyFirstSync": func(ctx context.Context, tn, a, _ string) error {
			_, err := syn.ApplyFirstSync(ctx, bearer(a, &syncv1.ApplyFirstSyncRequest{TenantId: tn, ConnectionId: connectionB,
				PreviewId: previewB, DefaultWinner: syncv1.SyncSide_SYNC_SIDE_ERP}))
			return err
		},
		"rollcall.sync.v1.SyncService/PreviewSynchronizeUsers": func(ctx context.Context, tn, a, _ string) error {
			_, err := syn.PreviewSynchronizeUsers(ctx, bearer(a, &syncv1.PreviewSynchronizeUsersRequest{TenantId: tn, ConnectionId: connectionB}))
			return err
		},
		"rollcall.sync.v1.SyncService/SynchronizeUsers": func(ctx context.Context, tn, a, _ string) error {
			_, err := syn.SynchronizeUsers(ctx, bearer(a, &syncv1.SynchronizeUsersRequest{TenantId: tn, ConnectionId: connectionB,
				PreviewId: previewB, DefaultWinner: syncv1.SyncSide_SYNC_SIDE_ERP}))
			return err
		},
		"rollcall.sync.v1.SyncService/GetSyncRun": func(ctx context.Context, tn, a, _ string) error {
			_, err := syn.GetSyncRun(ctx, bearer(a, &syncv1.GetSyncRunRequest{TenantId: tn, RunId: runIDB}))
			return err
		},
		"rollcall.sync.v1.SyncService/ConfirmSyncRun": func(ctx context.Context, tn, a, _ string) error {
			_, err := syn.ConfirmSyncRun(ctx, bearer(a, &syncv1.ConfirmSyncRunRequest{TenantId: tn, RunId: runIDB}))
			return err
		},
		"rollcall.sync.v1.SyncService/CancelSyncRun": func(ctx context.Context, tn, a, _ string) error {
			_, err := syn.CancelSyncRun(ctx, bearer(a, &syncv1.CancelSyncRunRequest{TenantId: tn, RunId: runIDB}))
			return err
		},
	}

	// Every method of every public service is in the table or says why
	// it names no tenant.
	for _, fd := range []protoreflect.FileDescriptor{identityv1.File_rollcall_identity_v1_service_proto,
		invitationv1.File_rollcall_invitation_v1_service_proto, integratorv1.File_rollcall_integrator_v1_service_proto,
		syncv1.File_rollcall_sync_v1_service_proto} {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				name := string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				_, inTable := calls[name]
				_, exempt := notTenantScoped[name]
				require.True(t, inTable != exempt, "%s: in the table or exempt (with a reason), not both, not neither", name)
			}
		}
	}

	refused := func(err error) bool {
		switch connect.CodeOf(err) {
		case connect.CodeNotFound, connect.CodePermissionDenied, connect.CodeInvalidArgument, connect.CodeUnauthenticated:
			return true
		}
		return false
	}
	n := 0
	for name, c := range calls {
		for _, as := range []struct{ who, admin, appManager string }{{"administrator", adminA, appManagerA}, {"application manager", appManagerA, appManagerA}} {
			for _, tn := range []string{tenantB, tenantA} {
				err := c(ctx, tn, as.admin, as.appManager)
				if errors.Is(err, errSkip) {
					continue
				}
				n++
				if err == nil && name == "rollcall.sync.v1.SyncService/DeleteConnection" && tn == tenantA {
					// Deleting is idempotent: A has no such connection,
					// so there is nothing to delete; B's stays (below).
					continue
				}
				require.Error(t, err, "%s as A's %s naming tenant %s", name, as.who, which(tn, tenantA))
				require.True(t, refused(err), "%s as A's %s naming tenant %s: %v", name, as.who, which(tn, tenantA), err)
				// A refusal of the request's form would prove nothing:
				// the requests are valid, only the ids are B's.
				require.NotContains(t, err.Error(), "validation error", "%s: the request itself must be valid; %v", name, err)
			}
		}
	}
	// The operator-only RPCs refuse an administrator.
	_, err = ids.CreateTenant(ctx, bearer(adminA, &identityv1.CreateTenantRequest{Name: "Sneaky AS", CompanyCode: "SNEAKY",
		Administrator: &identityv1.NewAdministrator{FirstName: "S", LastName: "N", Email: "s@sneaky.example"}}))
	require.True(t, refused(err), "%v", err)
	_, err = pol.RegisterPartner(ctx, bearer(adminA, &integratorv1.RegisterPartnerRequest{Name: "Sneaky", Emails: []string{"a@sneaky.example"}}))
	require.True(t, refused(err), "%v", err)
	_, err = pol.ListPartners(ctx, bearer(adminA, &integratorv1.ListPartnersRequest{}))
	require.True(t, refused(err), "%v", err)
	t.Logf("%d cross-tenant calls refused", n)

	// Nothing of B changed.
	u, err := ids.GetUser(ctx, bearer(adminB, &identityv1.GetUserRequest{TenantId: tenantB, UserId: adminBID}))
	require.NoError(t, err)
	require.Equal(t, identityv1.UserStatus_USER_STATUS_ACTIVE, u.Msg.GetUser().GetStatus())
	require.Equal(t, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, u.Msg.GetUser().GetRole())
	gt, err := ids.GetTenant(ctx, bearer(adminB, &identityv1.GetTenantRequest{TenantId: tenantB}))
	require.NoError(t, err)
	require.Equal(t, "Tenant B AS", gt.Msg.GetTenant().GetName())
	users, err := ids.ListUsers(ctx, bearer(adminB, &identityv1.ListUsersRequest{TenantId: tenantB, IncludeDeactivated: true}))
	require.NoError(t, err)
	require.Len(t, users.Msg.GetUsers(), 1, "no service user or other user was added to B")
	items, err := ids.ListStructureItems(ctx, bearer(adminB, &identityv1.ListStructureItemsRequest{TenantId: tenantB, Kind: identityv1.StructureKind_STRUCTURE_KIND_STRUCTURE_LEVEL}))
	require.NoError(t, err)
	require.Empty(t, items.Msg.GetItems())
	gi, err := inv.GetInvitation(ctx, bearer(adminB, &invitationv1.GetInvitationRequest{TenantId: tenantB, InvitationId: invitationB}))
	require.NoError(t, err)
	require.Equal(t, invitationv1.InvitationStatus_INVITATION_STATUS_PENDING, gi.Msg.GetInvitation().GetStatus())
	li, err := inv.ListInvitations(ctx, bearer(adminB, &invitationv1.ListInvitationsRequest{TenantId: tenantB}))
	require.NoError(t, err)
	require.Len(t, li.Msg.GetInvitations(), 1)
	conns, err := syn.ListConnections(ctx, bearer(adminB, &syncv1.ListConnectionsRequest{TenantId: tenantB}))
	require.NoError(t, err)
	require.Len(t, conns.Msg.GetConnections(), 1)
	gp, err := pol.GetPolicy(ctx, bearer(adminB, &integratorv1.GetPolicyRequest{TenantId: tenantB}))
	require.NoError(t, err)
	require.True(t, proto.Equal(policyB.Msg, gp.Msg), "B's integrator policy is unchanged")
	_, err = ids.GetTenant(ctx, bearer(adminB, &identityv1.GetTenantRequest{TenantId: tenantB}))
	require.NoError(t, err, "B's administrator's token still works")
}

// errSkip marks a call that only makes sense naming B itself.
var errSkip = connect.NewError(connect.CodeAborted, nil)

func which(tn, tenantA string) string {
	if tn == tenantA {
		return "A (with B's object ids)"
	}
	return "B"
}

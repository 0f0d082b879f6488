package proto_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
)

const (
	tenantID     = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a10"
	userID       = "5d2c1b0a-9e8f-4a7b-8c6d-1e2f3a4b5c6d"
	otherUserID  = "6e3d2c1b-0a9f-4b8c-9d7e-2f3a4b5c6d7e"
	invitationID = "7f4e3d2c-1b0a-4c9d-8e8f-3a4b5c6d7e8f"
	partnerID    = "8a5f4e3d-2c1b-4d0a-9f9e-4b5c6d7e8f9a"
	connectionID = "9b6a5f4e-3d2c-4e1b-8a0f-5c6d7e8f9a0b"
	runID        = "ac7b6a5f-4e3d-4f2c-9b1a-6d7e8f9a0b1c"
	orgID        = "bd8c7b6a-5f4e-4a3d-8c2b-7e8f9a0b1c2d"

	// uuidPattern is the one rule every UUID field carries: canonical,
	// lowercase (ids go into NATS subjects and Nats-Msg-Id).
	uuidPattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
	// token is a valid invitation token: 43 base64url characters, the last
	// one carrying 4 bits.
	token = "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c"
)

var now = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// validator compiles every rule of every rollcall message up front, so a rule
// that does not compile (a CEL typo, a bad regex) fails here rather than at
// the first message in production.
var validator = sync.OnceValues(func() (protovalidate.Validator, error) {
	return protovalidate.New(
		protovalidate.WithMessageDescriptors(rollcallMessages()...),
		protovalidate.WithDisableLazy(),
	)
})

func rollcallMessages() []protoreflect.MessageDescriptor {
	var descs []protoreflect.MessageDescriptor
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if strings.HasPrefix(string(mt.Descriptor().FullName()), "rollcall.") {
			descs = append(descs, mt.Descriptor())
		}
		return true
	})
	slices.SortFunc(descs, func(a, b protoreflect.MessageDescriptor) int {
		return strings.Compare(string(a.FullName()), string(b.FullName()))
	})
	return descs
}

func setup(t *testing.T) protovalidate.Validator {
	t.Helper()
	v, err := validator()
	if err != nil {
		t.Fatalf("compile validation rules: %v", err)
	}
	return v
}

// violation is one failed rule as a consumer sees it: where and which rule.
type violation struct{ field, rule string }

func violations(t *testing.T, v protovalidate.Validator, msg proto.Message) []violation {
	t.Helper()
	err := v.Validate(msg)
	if err == nil {
		return nil
	}
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("validate %T: want a ValidationError, got %v", msg, err)
	}
	out := make([]violation, 0, len(verr.Violations))
	for _, vi := range verr.Violations {
		out = append(out, violation{
			field: protovalidate.FieldPathString(vi.Proto.GetField()),
			rule:  vi.Proto.GetRuleId(),
		})
	}
	return out
}

func requireValid(t *testing.T, v protovalidate.Validator, msg proto.Message) {
	t.Helper()
	if got := violations(t, v, msg); len(got) > 0 {
		t.Fatalf("%T: want valid, got violations %v", msg, got)
	}
}

func requireViolation(t *testing.T, v protovalidate.Validator, msg proto.Message, want violation) {
	t.Helper()
	got := violations(t, v, msg)
	if !slices.Contains(got, want) {
		t.Fatalf("%T: want violation %+v, got %v", msg, want, got)
	}
}

// --- valid messages ---------------------------------------------------------

func inviter() *commonv1.Actor {
	return &commonv1.Actor{UserId: otherUserID, Name: "Erik Admin", Email: "erik@example.se"}
}

// customGrants is a member's custom level (seed 001).
func customGrants() *commonv1.Grants {
	return &commonv1.Grants{
		PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM,
		PermissionAreas: []string{"support", "invoices"},
		Scope: &commonv1.AccessScope{
			Organisations:     &commonv1.Selection{Ids: []string{orgID}},
			ProductCategories: &commonv1.Selection{All: true},
		},
	}
}

// integrationGrants is an integration user's grants (seed 000).
func integrationGrants() *commonv1.Grants {
	return &commonv1.Grants{
		PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM,
		AccessPackages:  &commonv1.AccessPackages{IntegrationUser: true, AllAdditionalPackages: true},
	}
}

// adminGrants is a main administrator's (and an integrator's) grants.
func adminGrants() *commonv1.Grants {
	return &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR}
}

func validFieldChanged() *hrv1.FieldChanged {
	return &hrv1.FieldChanged{
		TenantId:     tenantID,
		OccurredAt:   ts(now),
		ConnectionId: proto.String(connectionID),
		EmployeeId:   "emp-1042",
		HrVersion:    7,
		ChangedAt:    ts(now.Add(-2 * time.Second)),
		Operation:    hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED,
		Email: &hrv1.EmailChange{
			OldValue: proto.String("kari@old.example"),
			NewValue: proto.String("kari.nordmann@example.com"),
		},
		// Phone removed in HR: changed, and the new value is absent.
		Phone: &hrv1.PhoneChange{OldValue: proto.String("+4791234567")},
		EmploymentEndDate: &hrv1.DateChange{
			NewValue: &commonv1.Date{Year: 2026, Month: 2, Day: 28},
		},
		Address: &hrv1.AddressChange{
			NewValue: &hrv1.Address{
				Postaddress: proto.String("Storgata 1"),
				Zipcode:     proto.String("0155"),
				City:        proto.String("Oslo"),
				CountryCode: proto.String("NO"),
			},
		},
		// Identifications set to an empty list (not unset).
		Identifications: &hrv1.IdentificationsChange{NewValue: &hrv1.Identifications{}},
	}
}

// createdEmployee is a users-create: required fields, new values only.
func createdEmployee() *hrv1.FieldChanged {
	return &hrv1.FieldChanged{
		TenantId: tenantID, OccurredAt: ts(now), EmployeeId: "emp-2001", HrVersion: 1, ChangedAt: ts(now),
		Operation:  hrv1.EmployeeOperation_EMPLOYEE_OPERATION_CREATED,
		Email:      &hrv1.EmailChange{NewValue: proto.String("ola@example.com")},
		GivenName:  &hrv1.NameChange{NewValue: proto.String("Ola")},
		FamilyName: &hrv1.NameChange{NewValue: proto.String("Nordmann")},
		Phone:      &hrv1.PhoneChange{NewValue: proto.String("+4798765432")},
	}
}

// snapshotEmployee is a users-export: the full state, no old values.
func snapshotEmployee() *hrv1.FieldChanged {
	msg := createdEmployee()
	msg.Operation = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_SNAPSHOT
	msg.HrVersion = 12
	msg.EmploymentStartDate = &hrv1.DateChange{NewValue: &commonv1.Date{Year: 2020, Month: 8, Day: 1}}
	msg.Identifications = &hrv1.IdentificationsChange{NewValue: &hrv1.Identifications{
		Items: []*hrv1.Identification{{Id: "01017012345", CountryCode: "NO", Type: "national_id"}},
	}}
	return msg
}

func deletedEmployee() *hrv1.FieldChanged {
	return &hrv1.FieldChanged{
		TenantId: tenantID, OccurredAt: ts(now), EmployeeId: "emp-2001", HrVersion: 9, ChangedAt: ts(now),
		Operation: hrv1.EmployeeOperation_EMPLOYEE_OPERATION_DELETED,
	}
}

// validUserInvited is a member invitation with the code by SMS (seed 001).
func validUserInvited() *invitationv1.UserInvited {
	return &invitationv1.UserInvited{
		InvitationId: invitationID,
		TenantId:     tenantID,
		OccurredAt:   ts(now),
		Kind:         invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
		Origin:       commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		FirstName:    "Anna",
		LastName:     "Svensson",
		Email:        "anna.svensson@example.se",
		Mobile:       proto.String("+46701234567"),
		CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_SMS,
		Grants:       customGrants(),
		ExpiresAt:    ts(now.Add(7 * 24 * time.Hour)),
		Inviter:      inviter(),
	}
}

// integrationInvited is seed 000: from client administration, no mobile, no
// code, both packages.
func integrationInvited() *invitationv1.UserInvited {
	msg := validUserInvited()
	msg.Kind = invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION
	msg.Origin = commonv1.CreationOrigin_CREATION_ORIGIN_CLIENT_ADMINISTRATION
	msg.FirstName, msg.LastName, msg.Email = "Klarna", "Integrasjon", "klarna@selskap.example"
	msg.Mobile = nil
	msg.CodeDelivery = invitationv1.CodeDelivery_CODE_DELIVERY_NONE
	msg.Grants = integrationGrants()
	return msg
}

// integratorInvited is seed 003: email only, a partner, main administrator.
func integratorInvited() *invitationv1.UserInvited {
	msg := validUserInvited()
	msg.Kind = invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR
	msg.FirstName, msg.LastName, msg.Email = "", "", "dev@partner.example"
	msg.Mobile = nil
	msg.CodeDelivery = invitationv1.CodeDelivery_CODE_DELIVERY_NONE
	msg.PartnerId = proto.String(partnerID)
	msg.Grants = adminGrants()
	return msg
}

func validCreateInvitation() *invitationv1.CreateInvitationRequest {
	return &invitationv1.CreateInvitationRequest{
		TenantId:     tenantID,
		Kind:         invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
		Origin:       commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		FirstName:    "Anna",
		LastName:     "Svensson",
		Email:        "anna.svensson@example.se",
		CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER,
		Grants:       customGrants(),
		Lifetime:     durationpb.New(48 * time.Hour),
	}
}

// validInviteAccepted is a member who picked BankID.
func validInviteAccepted() *invitationv1.InviteAccepted {
	return &invitationv1.InviteAccepted{
		InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now), AcceptedAt: ts(now.Add(-time.Second)),
		Kind:        invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
		Origin:      commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		UserId:      userID,
		LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_BANKID,
		FirstName:   "Anna", LastName: "Svensson", Email: "anna.svensson@example.se",
		Grants:          customGrants(),
		Inviter:         inviter(),
		ExternalSubject: proto.String("bankid:198001011234"),
	}
}

func integrationAccepted() *invitationv1.InviteAccepted {
	msg := validInviteAccepted()
	msg.Kind = invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION
	msg.Origin = commonv1.CreationOrigin_CREATION_ORIGIN_CLIENT_ADMINISTRATION
	msg.LoginMethod, msg.ExternalSubject = invitationv1.LoginMethod_LOGIN_METHOD_PASSWORD, nil
	msg.FirstName, msg.LastName, msg.Email = "Klarna", "Integrasjon", "klarna@selskap.example"
	msg.Grants = integrationGrants()
	return msg
}

func integratorAccepted() *invitationv1.InviteAccepted {
	msg := validInviteAccepted()
	msg.Kind = invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR // BankID, as validInviteAccepted
	msg.FirstName, msg.LastName, msg.Email = "Ivan", "Petrov", "dev@partner.example"
	msg.PartnerId = proto.String(partnerID)
	msg.Grants = adminGrants()
	return msg
}

func validAcceptInvitation() *invitationv1.AcceptInvitationRequest {
	return &invitationv1.AcceptInvitationRequest{
		Token:       token,
		LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_PASSWORD,
		Password:    proto.String("correct horse battery staple"),
	}
}

func validInviteRevoked() *invitationv1.InviteRevoked {
	return &invitationv1.InviteRevoked{
		InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now),
		Kind:      invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
		Reason:    invitationv1.RevocationReason_REVOCATION_REASON_ADMIN,
		RevokedBy: inviter(),
	}
}

// personCreated is a member created from an accepted invitation.
func personCreated() *identityv1.UserCreated {
	return &identityv1.UserCreated{
		UserId: userID, TenantId: tenantID, OccurredAt: ts(now),
		Kind:   identityv1.UserKind_USER_KIND_PERSON,
		Origin: commonv1.CreationOrigin_CREATION_ORIGIN_USER_ADMINISTRATION,
		Profile: &identityv1.UserProfile{
			FirstName: "Anna", LastName: "Svensson", Email: "anna.svensson@example.se",
			Grants: customGrants(), CountsTowardSeatLimit: true,
		},
		SourceInvitationId: proto.String(invitationID),
	}
}

func integrationCreated() *identityv1.UserCreated {
	msg := personCreated()
	msg.Kind = identityv1.UserKind_USER_KIND_INTEGRATION
	msg.Origin = commonv1.CreationOrigin_CREATION_ORIGIN_CLIENT_ADMINISTRATION
	msg.Profile.FirstName, msg.Profile.LastName, msg.Profile.Email = "Klarna", "Integrasjon", "klarna@selskap.example"
	msg.Profile.Grants = integrationGrants()
	return msg
}

func integratorCreated() *identityv1.UserCreated {
	msg := personCreated()
	msg.Kind = identityv1.UserKind_USER_KIND_INTEGRATOR
	msg.Profile.Grants = adminGrants()
	msg.Profile.CountsTowardSeatLimit = false
	msg.Profile.IntegratorMarker = true
	msg.PartnerId = proto.String(partnerID)
	return msg
}

// firstAdministratorCreated is CreateTenant's main administrator.
func firstAdministratorCreated() *identityv1.UserCreated {
	msg := personCreated()
	msg.Origin = commonv1.CreationOrigin_CREATION_ORIGIN_TENANT_CREATION
	msg.SourceInvitationId = nil
	msg.Profile.Grants = adminGrants()
	return msg
}

func validUserDeactivated() *identityv1.UserDeactivated {
	return &identityv1.UserDeactivated{
		UserId: userID, TenantId: tenantID, OccurredAt: ts(now),
		Kind:                identityv1.UserKind_USER_KIND_PERSON,
		Reason:              identityv1.DeactivationReason_DEACTIVATION_REASON_ADMIN,
		DeactivatedByUserId: proto.String(otherUserID),
		FreedSeat:           true,
	}
}

func validServiceUserCreated() *identityv1.ServiceUserCreated {
	return &identityv1.ServiceUserCreated{
		UserId: userID, TenantId: tenantID, OccurredAt: ts(now), UserCode: "PAIE2026", ApplicationId: partnerID,
		Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, Language: "fr-CA",
		AllCompanies: true, AllStructure: true, CreatedByUserId: otherUserID,
	}
}

func validCreateServiceUser() *identityv1.CreateServiceUserRequest {
	return &identityv1.CreateServiceUserRequest{
		TenantId: tenantID, UserCode: "PAIE2026", ApplicationId: partnerID,
		Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, Language: "fr-CA",
		CompanyIds: []string{orgID}, StructureLevelIds: []string{runID},
	}
}

func validSetInitialPassword() *identityv1.SetInitialPasswordRequest {
	return &identityv1.SetInitialPasswordRequest{
		TenantId: tenantID, UserId: userID, InvitationId: invitationID, Password: "correct horse battery staple",
	}
}

func previousIntegrator() *integratorv1.IntegratorRef {
	return &integratorv1.IntegratorRef{UserId: otherUserID, PartnerId: partnerID, Email: "old@partner.example"}
}

func validIntegratorReplaced() *integratorv1.IntegratorReplaced {
	return &integratorv1.IntegratorReplaced{
		TenantId: tenantID, OccurredAt: ts(now),
		PreviousIntegrator: previousIntegrator(),
		NewIntegrator:      &integratorv1.IncomingIntegrator{InvitationId: invitationID, PartnerId: partnerID, Email: "dev@partner.example"},
	}
}

func validIntegratorDismissed() *integratorv1.IntegratorDismissed {
	return &integratorv1.IntegratorDismissed{
		TenantId: tenantID, OccurredAt: ts(now), Integrator: previousIntegrator(),
		DismissedByUserId: proto.String(userID), Reason: integratorv1.DismissalReason_DISMISSAL_REASON_ADMIN,
	}
}

func validEmployeeSynced() *syncv1.EmployeeSynced {
	return &syncv1.EmployeeSynced{
		TenantId: tenantID, OccurredAt: ts(now), ConnectionId: connectionID, EmployeeId: "emp-1042", ErpEmployeeId: "311",
		Direction: syncv1.SyncDirection_SYNC_DIRECTION_HR_TO_ERP, Action: syncv1.EmployeeSyncAction_EMPLOYEE_SYNC_ACTION_UPDATED,
		FieldsWritten: []hrv1.EmployeeField{hrv1.EmployeeField_EMPLOYEE_FIELD_EMAIL, hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE},
		HrVersion:     7, Latency: durationpb.New(850 * time.Millisecond),
	}
}

func validSyncFailed() *syncv1.SyncFailed {
	return &syncv1.SyncFailed{
		TenantId: tenantID, OccurredAt: ts(now), ConnectionId: connectionID, EmployeeId: proto.String("emp-1042"),
		HrVersion: proto.Uint64(7), Reason: syncv1.SyncFailureReason_SYNC_FAILURE_REASON_ERP_RATE_LIMITED,
		Retriable: true, Attempt: 2, ErpError: &syncv1.ErpError{HttpStatus: proto.Int32(429)},
	}
}

func validSyncRunCompleted() *syncv1.SyncRunCompleted {
	return &syncv1.SyncRunCompleted{
		TenantId: tenantID, OccurredAt: ts(now), ConnectionId: connectionID, RunId: runID,
		Kind: syncv1.SyncRunKind_SYNC_RUN_KIND_FIRST_SYNC, Status: syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED,
		StartedAt: ts(now.Add(-time.Minute)), Counts: &syncv1.SyncCounts{CreatedInErp: 3, UpdatedInErp: 12, Conflicts: 2},
		ReportSentTo: []string{"hr@example.com"},
	}
}

func validApplyFirstSync() *syncv1.ApplyFirstSyncRequest {
	return &syncv1.ApplyFirstSyncRequest{
		TenantId: tenantID, ConnectionId: connectionID, PreviewId: runID,
		DefaultWinner: syncv1.SyncSide_SYNC_SIDE_HR,
		Resolutions: []*syncv1.Resolution{
			{EmployeeId: "emp-1042", Field: hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE, Winner: syncv1.SyncSide_SYNC_SIDE_ERP},
			{EmployeeId: "emp-1042", Field: hrv1.EmployeeField_EMPLOYEE_FIELD_ADDRESS, Winner: syncv1.SyncSide_SYNC_SIDE_ERP},
			{EmployeeId: "emp-1043", Field: hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE, Winner: syncv1.SyncSide_SYNC_SIDE_ERP},
		},
		AddMissingToErp: true, AddMissingToHr: true,
		ReportRecipients: []string{"hr@example.com"},
	}
}

func validSynchronizeUsers() *syncv1.SynchronizeUsersRequest {
	return &syncv1.SynchronizeUsersRequest{
		TenantId: tenantID, ConnectionId: connectionID, PreviewId: runID,
		DefaultWinner: syncv1.SyncSide_SYNC_SIDE_ERP, AddMissingToHr: true,
		Resolutions: []*syncv1.Resolution{
			{EmployeeId: "emp-1042", Field: hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE, Winner: syncv1.SyncSide_SYNC_SIDE_HR},
		},
		MissingValues:    syncv1.MissingValues_MISSING_VALUES_WINNER,
		ReportRecipients: []string{"hr@example.com"},
	}
}

func validCreateConnection() *syncv1.CreateConnectionRequest {
	return &syncv1.CreateConnectionRequest{
		TenantId:           tenantID,
		ErpSystem:          syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE,
		ApiKey:             "k3y-0123456789abcdef",
		AuthorityConfirmed: true,
	}
}

// --- the rule table ---------------------------------------------------------

// ruleCase is one message checked against one rule: valid (want is nil) or
// refused with exactly that field path and rule id among its violations.
type ruleCase struct {
	rule string
	name string
	msg  func() proto.Message
	want *violation
}

// with builds a message from a valid one and a change.
func with[T proto.Message](base func() T, change func(T)) func() proto.Message {
	return func() proto.Message {
		m := base()
		change(m)
		return m
	}
}

func same[T proto.Message](base func() T) func() proto.Message {
	return func() proto.Message { return base() }
}

func ok(rule, name string, msg func() proto.Message) ruleCase {
	return ruleCase{rule: rule, name: name, msg: msg}
}

func bad(rule, name, field string, msg func() proto.Message) ruleCase {
	return ruleCase{rule: rule, name: name, msg: msg, want: &violation{field, rule}}
}

func ruleCases() []ruleCase {
	const (
		member      = invitationv1.InvitationKind_INVITATION_KIND_MEMBER
		integration = invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION
		integrator  = invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR
		sms         = invitationv1.CodeDelivery_CODE_DELIVERY_SMS
		toInviter   = invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER
		noCode      = invitationv1.CodeDelivery_CODE_DELIVERY_NONE
		bankID      = invitationv1.LoginMethod_LOGIN_METHOD_BANKID
		providerPr  = invitationv1.LoginMethod_LOGIN_METHOD_PROVIDER_PROFILE
		password    = invitationv1.LoginMethod_LOGIN_METHOD_PASSWORD
		existing    = invitationv1.LoginMethod_LOGIN_METHOD_EXISTING
		custom      = commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM
	)
	sel := func(all bool, ids ...string) func() *commonv1.Selection {
		return func() *commonv1.Selection { return &commonv1.Selection{All: all, Ids: ids} }
	}
	return []ruleCase{
		// common.v1
		ok("selection.all_excludes_ids", "All", same(sel(true))),
		ok("selection.all_excludes_ids", "SomeIDs", same(sel(false, orgID))),
		bad("selection.all_excludes_ids", "AllAndIDs", "", same(sel(true, orgID))),
		bad("selection.all_excludes_ids", "AllAndIDsInAnInvitation", "grants.scope.product_categories",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.Grants.Scope.ProductCategories.Ids = []string{orgID} })),

		ok("access_packages.all_excludes_list", "AllAdditional", func() proto.Message { return integrationGrants().AccessPackages }),
		ok("access_packages.all_excludes_list", "Listed", func() proto.Message {
			return &commonv1.AccessPackages{AdditionalPackages: []string{"payroll", "invoicing"}}
		}),
		bad("access_packages.all_excludes_list", "AllAndListed", "", func() proto.Message {
			return &commonv1.AccessPackages{AllAdditionalPackages: true, AdditionalPackages: []string{"payroll"}}
		}),

		ok("grants.main_administrator_has_no_areas", "MainAdministrator", same(adminGrants)),
		bad("grants.main_administrator_has_no_areas", "MainAdministratorWithAreas", "",
			with(adminGrants, func(m *commonv1.Grants) { m.PermissionAreas = []string{"support"} })),
		ok("grants.main_administrator_has_no_scope", "CustomWithScope", same(customGrants)),
		ok("grants.main_administrator_has_no_scope", "MainAdministratorWithApplicationLinks",
			with(adminGrants, func(m *commonv1.Grants) { m.Scope = &commonv1.AccessScope{ApplicationLinkIds: []string{runID}} })),
		bad("grants.main_administrator_has_no_scope", "MainAdministratorLimitedToAnOrganisation", "",
			with(adminGrants, func(m *commonv1.Grants) {
				m.Scope = &commonv1.AccessScope{Organisations: &commonv1.Selection{All: true}}
			})),
		bad("grants.main_administrator_has_no_scope", "MainAdministratorWithProductCategories", "",
			with(adminGrants, func(m *commonv1.Grants) {
				m.Scope = &commonv1.AccessScope{ProductCategories: &commonv1.Selection{All: true}}
			})),
		ok("grants.main_administrator_has_no_packages", "CustomWithPackages", same(integrationGrants)),
		bad("grants.main_administrator_has_no_packages", "MainAdministratorWithPackages", "",
			with(integrationGrants, func(m *commonv1.Grants) {
				m.PermissionLevel = commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR
			})),
		ok("grants.custom_grants_something", "Areas", same(customGrants)),
		ok("grants.custom_grants_something", "OneAdditionalPackage", func() proto.Message {
			return &commonv1.Grants{PermissionLevel: custom, AccessPackages: &commonv1.AccessPackages{AdditionalPackages: []string{"payroll"}}}
		}),
		bad("grants.custom_grants_something", "ScopeOnly", "",
			with(customGrants, func(m *commonv1.Grants) { m.PermissionAreas = nil })),
		bad("grants.custom_grants_something", "EmptyPackages", "", func() proto.Message {
			return &commonv1.Grants{PermissionLevel: custom, AccessPackages: &commonv1.AccessPackages{}}
		}),

		ok("date.valid_day", "LeapDay", func() proto.Message { return &commonv1.Date{Year: 2024, Month: 2, Day: 29} }),
		bad("date.valid_day", "NoLeapDay", "", func() proto.Message { return &commonv1.Date{Year: 2025, Month: 2, Day: 29} }),
		bad("date.valid_day", "April31InAChange", "employment_end_date.new_value",
			with(validFieldChanged, func(m *hrv1.FieldChanged) {
				m.EmploymentEndDate.NewValue = &commonv1.Date{Year: 2026, Month: 4, Day: 31}
			})),

		ok("name.not_blank", "Names", same(validUserInvited)),
		ok("name.not_blank", "EmptyForIntegrator", same(integratorInvited)),
		bad("name.not_blank", "BlankFirstName", "first_name",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.FirstName = "  \t" })),
		bad("name.not_blank", "NoBreakSpaceInviter", "inviter.name",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.Inviter.Name = "\u00a0\u2003" })),
		bad("name.not_blank", "BlankGivenNameInHR", "given_name.new_value",
			with(createdEmployee, func(m *hrv1.FieldChanged) { m.GivenName.NewValue = proto.String(" ") })),
		bad("name.not_blank", "BlankProfileName", "profile.last_name",
			with(personCreated, func(m *identityv1.UserCreated) { m.Profile.LastName = "   " })),

		ok("password.not_blank", "SetInitialPassword", same(validSetInitialPassword)),
		ok("password.not_blank", "AcceptWithPassword", same(validAcceptInvitation)),
		bad("password.not_blank", "SetInitialPasswordBlank", "password",
			with(validSetInitialPassword, func(m *identityv1.SetInitialPasswordRequest) { m.Password = strings.Repeat(" ", 16) })),
		bad("password.not_blank", "AcceptBlank", "password",
			with(validAcceptInvitation, func(m *invitationv1.AcceptInvitationRequest) { m.Password = proto.String(strings.Repeat("\t", 12)) })),

		// invitation.v1 UserInvited
		ok("user_invited.sms_needs_mobile", "SMSWithMobile", same(validUserInvited)),
		bad("user_invited.sms_needs_mobile", "SMSWithoutMobile", "",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.Mobile = nil })),
		ok("user_invited.member_needs_code", "ToInviterWithoutMobile",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.Mobile, m.CodeDelivery = nil, toInviter })),
		ok("user_invited.member_needs_code", "IntegrationWithoutCode", same(integrationInvited)),
		bad("user_invited.member_needs_code", "MemberWithoutCode", "",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.CodeDelivery = noCode })),
		ok("user_invited.names_required", "IntegratorWithoutNames", same(integratorInvited)),
		bad("user_invited.names_required", "MemberWithoutLastName", "",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.LastName = "" })),
		ok("user_invited.partner_iff_integrator", "IntegratorWithPartner", same(integratorInvited)),
		bad("user_invited.partner_iff_integrator", "IntegratorWithoutPartner", "",
			with(integratorInvited, func(m *invitationv1.UserInvited) { m.PartnerId = nil })),
		bad("user_invited.partner_iff_integrator", "MemberWithPartner", "",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.PartnerId = proto.String(partnerID) })),
		ok("user_invited.integration_packages", "BothPackages", same(integrationInvited)),
		bad("user_invited.integration_packages", "NoAdditionalPackages", "",
			with(integrationInvited, func(m *invitationv1.UserInvited) { m.Grants.AccessPackages.AllAdditionalPackages = false })),
		bad("user_invited.integration_packages", "NoIntegrationPackage", "",
			with(integrationInvited, func(m *invitationv1.UserInvited) { m.Grants.AccessPackages.IntegrationUser = false })),
		ok("user_invited.integrator_is_main_administrator", "MainAdministrator", same(integratorInvited)),
		bad("user_invited.integrator_is_main_administrator", "Custom", "",
			with(integratorInvited, func(m *invitationv1.UserInvited) { m.Grants = customGrants() })),
		ok("user_invited.lifetime", "OneHour",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.ExpiresAt = ts(now.Add(time.Hour)) })),
		bad("user_invited.lifetime", "Over30Days", "",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.ExpiresAt = ts(now.Add(31 * 24 * time.Hour)) })),
		bad("user_invited.lifetime", "UnderAnHour", "",
			with(validUserInvited, func(m *invitationv1.UserInvited) { m.ExpiresAt = ts(now.Add(30 * time.Minute)) })),

		// invitation.v1 InviteAccepted
		ok("invite_accepted.partner_iff_integrator", "Integrator", same(integratorAccepted)),
		bad("invite_accepted.partner_iff_integrator", "MemberWithPartner", "",
			with(validInviteAccepted, func(m *invitationv1.InviteAccepted) { m.PartnerId = proto.String(partnerID) })),
		ok("invite_accepted.existing_profile_login", "ExistingProfile",
			with(validInviteAccepted, func(m *invitationv1.InviteAccepted) {
				m.ExistingProfile, m.LoginMethod = true, existing
				m.ExternalSubject = nil
			})),
		bad("invite_accepted.existing_profile_login", "ExistingProfileWithBankID", "",
			with(validInviteAccepted, func(m *invitationv1.InviteAccepted) { m.ExistingProfile = true })),
		bad("invite_accepted.existing_profile_login", "ExistingWithoutProfile", "",
			with(validInviteAccepted, func(m *invitationv1.InviteAccepted) { m.LoginMethod = existing; m.ExternalSubject = nil })),
		ok("invite_accepted.member_login_method", "ProviderProfile",
			with(validInviteAccepted, func(m *invitationv1.InviteAccepted) { m.LoginMethod = providerPr })),
		bad("invite_accepted.member_login_method", "MemberWithPassword", "",
			with(validInviteAccepted, func(m *invitationv1.InviteAccepted) { m.LoginMethod = password; m.ExternalSubject = nil })),
		ok("invite_accepted.integration_password_login", "Password", same(integrationAccepted)),
		bad("invite_accepted.integration_password_login", "BankID", "",
			with(integrationAccepted, func(m *invitationv1.InviteAccepted) { m.LoginMethod = bankID })),
		bad("invite_accepted.integration_password_login", "ExistingProfile", "",
			with(integrationAccepted, func(m *invitationv1.InviteAccepted) { m.ExistingProfile, m.LoginMethod = true, existing })),
		ok("invite_accepted.integration_packages", "BothPackages", same(integrationAccepted)),
		bad("invite_accepted.integration_packages", "NoAdditionalPackages", "",
			with(integrationAccepted, func(m *invitationv1.InviteAccepted) { m.Grants.AccessPackages.AllAdditionalPackages = false })),
		ok("invite_accepted.integrator_is_main_administrator", "MainAdministrator", same(integratorAccepted)),
		bad("invite_accepted.integrator_is_main_administrator", "Custom", "",
			with(integratorAccepted, func(m *invitationv1.InviteAccepted) { m.Grants = customGrants() })),
		ok("invite_accepted.integrator_new_user", "BankID", same(integratorAccepted)),
		ok("invite_accepted.integrator_new_user", "ProviderProfile",
			with(integratorAccepted, func(m *invitationv1.InviteAccepted) { m.LoginMethod = providerPr })),
		bad("invite_accepted.integrator_new_user", "ExistingProfile", "",
			with(integratorAccepted, func(m *invitationv1.InviteAccepted) {
				m.ExistingProfile, m.LoginMethod, m.ExternalSubject = true, existing, nil
			})),
		bad("invite_accepted.integrator_new_user", "Password", "",
			with(integratorAccepted, func(m *invitationv1.InviteAccepted) { m.LoginMethod, m.ExternalSubject = password, nil })),
		ok("invite_accepted.accepted_before_recorded", "SameInstant",
			with(validInviteAccepted, func(m *invitationv1.InviteAccepted) { m.AcceptedAt = ts(now) })),
		bad("invite_accepted.accepted_before_recorded", "AcceptedLater", "",
			with(validInviteAccepted, func(m *invitationv1.InviteAccepted) { m.AcceptedAt = ts(now.Add(time.Second)) })),

		// invitation.v1 InviteRevoked
		ok("invite_revoked.admin_needs_actor", "Admin", same(validInviteRevoked)),
		bad("invite_revoked.admin_needs_actor", "AdminWithoutActor", "",
			with(validInviteRevoked, func(m *invitationv1.InviteRevoked) { m.RevokedBy = nil })),
		ok("invite_revoked.superseded_needs_invitation", "IntegratorReplaced",
			with(validInviteRevoked, func(m *invitationv1.InviteRevoked) {
				m.Kind, m.RevokedBy = integrator, nil
				m.Reason = invitationv1.RevocationReason_REVOCATION_REASON_INTEGRATOR_REPLACED
				m.SupersededByInvitationId = proto.String(runID)
			})),
		bad("invite_revoked.superseded_needs_invitation", "SupersededWithoutInvitation", "",
			with(validInviteRevoked, func(m *invitationv1.InviteRevoked) {
				m.Reason = invitationv1.RevocationReason_REVOCATION_REASON_SUPERSEDED
			})),

		// invitation.v1 CreateInvitationRequest
		ok("create_invitation.sms_needs_mobile", "SMSWithMobile",
			with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) {
				m.CodeDelivery, m.Mobile = sms, proto.String("+46701234567")
			})),
		bad("create_invitation.sms_needs_mobile", "SMSWithoutMobile", "",
			with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) { m.CodeDelivery = sms })),
		ok("create_invitation.member_needs_code", "ToInviter", same(validCreateInvitation)),
		bad("create_invitation.member_needs_code", "MemberWithoutCode", "",
			with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) { m.CodeDelivery = noCode })),
		ok("create_invitation.names_required", "IntegratorWithoutNames",
			with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) {
				m.Kind, m.FirstName, m.LastName, m.CodeDelivery, m.Grants = integrator, "", "", noCode, adminGrants()
			})),
		bad("create_invitation.names_required", "MemberWithoutFirstName", "",
			with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) { m.FirstName = "" })),
		ok("create_invitation.integration_packages", "BothPackages",
			with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) {
				m.Kind, m.CodeDelivery, m.Grants = integration, noCode, integrationGrants()
				m.Origin = commonv1.CreationOrigin_CREATION_ORIGIN_CLIENT_ADMINISTRATION
			})),
		bad("create_invitation.integration_packages", "OnlyIntegrationPackage", "",
			with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) {
				m.Kind, m.CodeDelivery, m.Grants = integration, noCode, integrationGrants()
				m.Grants.AccessPackages.AllAdditionalPackages = false
			})),
		ok("create_invitation.integrator_is_main_administrator", "MainAdministrator",
			with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) {
				m.Kind, m.CodeDelivery, m.Grants = integrator, noCode, adminGrants()
			})),
		bad("create_invitation.integrator_is_main_administrator", "Custom", "",
			with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) { m.Kind, m.CodeDelivery = integrator, noCode })),

		// invitation.v1 AcceptInvitationRequest
		ok("accept_invitation.password_iff_password_login", "Password", same(validAcceptInvitation)),
		ok("accept_invitation.password_iff_password_login", "BankIDWithCode",
			with(validAcceptInvitation, func(m *invitationv1.AcceptInvitationRequest) {
				m.LoginMethod, m.Password, m.Code = bankID, nil, "123456"
				m.LoginAssertion = &invitationv1.LoginAssertion{Provider: "bankid", Assertion: "signed.assertion"}
			})),
		ok("accept_invitation.assertion_unless_password", "Password", same(validAcceptInvitation)),
		ok("accept_invitation.assertion_unless_password", "BankIDWithAssertion",
			with(validAcceptInvitation, func(m *invitationv1.AcceptInvitationRequest) {
				m.LoginMethod, m.Password = bankID, nil
				m.LoginAssertion = &invitationv1.LoginAssertion{Provider: "bankid", Assertion: "signed.assertion"}
			})),
		bad("accept_invitation.assertion_unless_password", "BankIDWithoutAssertion", "",
			with(validAcceptInvitation, func(m *invitationv1.AcceptInvitationRequest) { m.LoginMethod, m.Password = bankID, nil })),
		bad("accept_invitation.assertion_unless_password", "PasswordWithAssertion", "",
			with(validAcceptInvitation, func(m *invitationv1.AcceptInvitationRequest) {
				m.LoginAssertion = &invitationv1.LoginAssertion{Provider: "bankid", Assertion: "x"}
			})),
		bad("accept_invitation.password_iff_password_login", "PasswordMissing", "",
			with(validAcceptInvitation, func(m *invitationv1.AcceptInvitationRequest) { m.Password = nil })),
		bad("accept_invitation.password_iff_password_login", "PasswordWithBankID", "",
			with(validAcceptInvitation, func(m *invitationv1.AcceptInvitationRequest) { m.LoginMethod = bankID })),

		ok("invite_accepted.external_subject_for_external_logins", "BankID", same(validInviteAccepted)),
		ok("invite_accepted.external_subject_for_external_logins", "Password", same(integrationAccepted)),
		bad("invite_accepted.external_subject_for_external_logins", "BankIDWithoutSubject", "",
			with(validInviteAccepted, func(m *invitationv1.InviteAccepted) { m.ExternalSubject = nil })),
		bad("invite_accepted.external_subject_for_external_logins", "PasswordWithSubject", "",
			with(integrationAccepted, func(m *invitationv1.InviteAccepted) { m.ExternalSubject = proto.String("x") })),

		// identity.v1
		ok("user_created.integrator_rules", "Integrator", same(integratorCreated)),
		ok("user_created.integrator_rules", "Person", same(personCreated)),
		bad("user_created.integrator_rules", "IntegratorWithoutMarker", "",
			with(integratorCreated, func(m *identityv1.UserCreated) { m.Profile.IntegratorMarker = false })),
		bad("user_created.integrator_rules", "IntegratorTakesASeat", "",
			with(integratorCreated, func(m *identityv1.UserCreated) { m.Profile.CountsTowardSeatLimit = true })),
		bad("user_created.integrator_rules", "PersonWithMarker", "",
			with(personCreated, func(m *identityv1.UserCreated) { m.Profile.IntegratorMarker = true })),
		ok("user_created.integrator_is_main_administrator", "MainAdministrator", same(integratorCreated)),
		bad("user_created.integrator_is_main_administrator", "Custom", "",
			with(integratorCreated, func(m *identityv1.UserCreated) { m.Profile.Grants = customGrants() })),
		ok("user_created.integration_packages", "BothPackages", same(integrationCreated)),
		bad("user_created.integration_packages", "NoAdditionalPackages", "",
			with(integrationCreated, func(m *identityv1.UserCreated) {
				m.Profile.Grants.AccessPackages.AllAdditionalPackages = false
			})),
		ok("user_created.origin_matches_source", "FirstAdministrator", same(firstAdministratorCreated)),
		ok("user_created.origin_matches_source", "FromClientAdministration", same(integrationCreated)),
		bad("user_created.origin_matches_source", "TenantCreationWithInvitation", "",
			with(firstAdministratorCreated, func(m *identityv1.UserCreated) { m.SourceInvitationId = proto.String(invitationID) })),
		bad("user_created.origin_matches_source", "InvitedWithoutInvitation", "",
			with(personCreated, func(m *identityv1.UserCreated) { m.SourceInvitationId = nil })),

		ok("user_deactivated.by_for_admin_actions", "Admin", same(validUserDeactivated)),
		bad("user_deactivated.by_for_admin_actions", "AdminWithoutActor", "",
			with(validUserDeactivated, func(m *identityv1.UserDeactivated) { m.DeactivatedByUserId = nil })),
		ok("user_deactivated.integrator_reasons", "IntegratorReplaced",
			with(validUserDeactivated, func(m *identityv1.UserDeactivated) {
				m.Kind, m.DeactivatedByUserId, m.FreedSeat = identityv1.UserKind_USER_KIND_INTEGRATOR, nil, false
				m.Reason = identityv1.DeactivationReason_DEACTIVATION_REASON_INTEGRATOR_REPLACED
			})),
		bad("user_deactivated.integrator_reasons", "PersonIntegratorDismissed", "",
			with(validUserDeactivated, func(m *identityv1.UserDeactivated) {
				m.Reason = identityv1.DeactivationReason_DEACTIVATION_REASON_INTEGRATOR_DISMISSED
			})),

		ok("service_user_created.companies", "AllCompanies", same(validServiceUserCreated)),
		ok("service_user_created.companies", "SomeCompanies",
			with(validServiceUserCreated, func(m *identityv1.ServiceUserCreated) { m.AllCompanies, m.CompanyIds = false, []string{orgID} })),
		bad("service_user_created.companies", "NoCompany", "",
			with(validServiceUserCreated, func(m *identityv1.ServiceUserCreated) { m.AllCompanies = false })),
		bad("service_user_created.companies", "AllAndSome", "",
			with(validServiceUserCreated, func(m *identityv1.ServiceUserCreated) { m.CompanyIds = []string{orgID} })),
		ok("service_user_created.structure", "AllStructure", same(validServiceUserCreated)),
		bad("service_user_created.structure", "AllAndSome", "",
			with(validServiceUserCreated, func(m *identityv1.ServiceUserCreated) { m.StructureLevelIds = []string{orgID} })),
		ok("create_service_user.companies", "SomeCompanies", same(validCreateServiceUser)),
		bad("create_service_user.companies", "NoCompany", "",
			with(validCreateServiceUser, func(m *identityv1.CreateServiceUserRequest) { m.CompanyIds = nil })),
		ok("create_service_user.structure", "SomeLevels", same(validCreateServiceUser)),
		bad("create_service_user.structure", "AllAndSome", "",
			with(validCreateServiceUser, func(m *identityv1.CreateServiceUserRequest) { m.AllStructure = true })),

		// integrator.v1
		ok("integrator_replaced.different_users", "NewNotYetAUser", same(validIntegratorReplaced)),
		ok("integrator_replaced.different_users", "NewIsAnotherUser",
			with(validIntegratorReplaced, func(m *integratorv1.IntegratorReplaced) { m.NewIntegrator.UserId = proto.String(userID) })),
		bad("integrator_replaced.different_users", "SameUser", "",
			with(validIntegratorReplaced, func(m *integratorv1.IntegratorReplaced) { m.NewIntegrator.UserId = proto.String(otherUserID) })),
		ok("integrator_dismissed.admin_needs_actor", "PartnerUnregistered",
			with(validIntegratorDismissed, func(m *integratorv1.IntegratorDismissed) {
				m.DismissedByUserId, m.Reason = nil, integratorv1.DismissalReason_DISMISSAL_REASON_PARTNER_UNREGISTERED
			})),
		bad("integrator_dismissed.admin_needs_actor", "AdminWithoutActor", "",
			with(validIntegratorDismissed, func(m *integratorv1.IntegratorDismissed) { m.DismissedByUserId = nil })),

		// hr.v1 change messages
		ok("email_change.has_a_value", "Changed", same(validFieldChanged)),
		bad("email_change.has_a_value", "Empty", "email",
			with(validFieldChanged, func(m *hrv1.FieldChanged) { m.Email = &hrv1.EmailChange{} })),
		ok("name_change.has_a_value", "Created", same(createdEmployee)),
		bad("name_change.has_a_value", "Empty", "family_name",
			with(validFieldChanged, func(m *hrv1.FieldChanged) { m.FamilyName = &hrv1.NameChange{} })),
		ok("phone_change.has_a_value", "Cleared", same(validFieldChanged)),
		bad("phone_change.has_a_value", "Empty", "phone",
			with(validFieldChanged, func(m *hrv1.FieldChanged) { m.Phone = &hrv1.PhoneChange{} })),
		ok("date_change.has_a_value", "Set", same(validFieldChanged)),
		bad("date_change.has_a_value", "Empty", "employment_start_date",
			with(validFieldChanged, func(m *hrv1.FieldChanged) { m.EmploymentStartDate = &hrv1.DateChange{} })),
		ok("address_change.has_a_value", "Set", same(validFieldChanged)),
		bad("address_change.has_a_value", "Empty", "address",
			with(validFieldChanged, func(m *hrv1.FieldChanged) { m.Address = &hrv1.AddressChange{} })),
		ok("identifications_change.has_a_value", "SetToEmptyList", same(validFieldChanged)),
		bad("identifications_change.has_a_value", "Empty", "identifications",
			with(validFieldChanged, func(m *hrv1.FieldChanged) { m.Identifications = &hrv1.IdentificationsChange{} })),

		// hr.v1 FieldChanged
		ok("field_changed.has_required_fields", "Created", same(createdEmployee)),
		ok("field_changed.has_required_fields", "Snapshot", same(snapshotEmployee)),
		bad("field_changed.has_required_fields", "CreatedWithoutEmail", "",
			with(createdEmployee, func(m *hrv1.FieldChanged) { m.Email = nil })),
		bad("field_changed.has_required_fields", "SnapshotWithoutFamilyName", "",
			with(snapshotEmployee, func(m *hrv1.FieldChanged) { m.FamilyName = nil })),
		ok("field_changed.created_has_no_old_values", "Created", same(createdEmployee)),
		ok("field_changed.created_has_no_old_values", "SnapshotMayCarryOldValues",
			with(snapshotEmployee, func(m *hrv1.FieldChanged) { m.Email.OldValue = proto.String("ola@old.example") })),
		bad("field_changed.created_has_no_old_values", "CreatedWithOldPhone", "",
			with(createdEmployee, func(m *hrv1.FieldChanged) { m.Phone.OldValue = proto.String("+4790000000") })),
		bad("field_changed.created_has_no_old_values", "CreatedWithOldAddress", "",
			with(createdEmployee, func(m *hrv1.FieldChanged) {
				m.Address = &hrv1.AddressChange{OldValue: &hrv1.Address{City: proto.String("Bergen")}}
			})),
		ok("field_changed.updated_has_a_change", "Updated", same(validFieldChanged)),
		bad("field_changed.updated_has_a_change", "NoChange", "",
			with(deletedEmployee, func(m *hrv1.FieldChanged) { m.Operation = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED })),
		ok("field_changed.deleted_has_no_change", "Deleted", same(deletedEmployee)),
		bad("field_changed.deleted_has_no_change", "DeletedWithChanges", "",
			with(validFieldChanged, func(m *hrv1.FieldChanged) { m.Operation = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_DELETED })),

		// sync.v1
		ok("employee_synced.hr_to_erp_has_version", "HRToERP", same(validEmployeeSynced)),
		ok("employee_synced.hr_to_erp_has_version", "ERPToHRWithoutVersion",
			with(validEmployeeSynced, func(m *syncv1.EmployeeSynced) {
				m.Direction, m.HrVersion, m.Latency, m.RunId = syncv1.SyncDirection_SYNC_DIRECTION_ERP_TO_HR, 0, nil, proto.String(runID)
			})),
		bad("employee_synced.hr_to_erp_has_version", "HRToERPWithoutVersion", "",
			with(validEmployeeSynced, func(m *syncv1.EmployeeSynced) { m.HrVersion = 0 })),
		ok("sync_failed.employee_or_run", "WholeRun",
			with(validSyncFailed, func(m *syncv1.SyncFailed) { m.EmployeeId, m.HrVersion, m.RunId = nil, nil, proto.String(runID) })),
		bad("sync_failed.employee_or_run", "Neither", "",
			with(validSyncFailed, func(m *syncv1.SyncFailed) { m.EmployeeId = nil })),
		ok("sync_run_completed.started_before_finished", "Completed", same(validSyncRunCompleted)),
		bad("sync_run_completed.started_before_finished", "StartedAfter", "",
			with(validSyncRunCompleted, func(m *syncv1.SyncRunCompleted) { m.StartedAt = ts(now.Add(time.Second)) })),
		ok("synchronize_users.one_resolution_per_field", "DistinctResolutions", same(validSynchronizeUsers)),
		bad("synchronize_users.one_resolution_per_field", "TwoForOneField", "",
			with(validSynchronizeUsers, func(m *syncv1.SynchronizeUsersRequest) {
				m.Resolutions = append(m.Resolutions, &syncv1.Resolution{
					EmployeeId: "emp-1042", Field: hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE, Winner: syncv1.SyncSide_SYNC_SIDE_ERP,
				})
			})),
		ok("apply_first_sync.one_resolution_per_field", "DistinctResolutions", same(validApplyFirstSync)),
		bad("apply_first_sync.one_resolution_per_field", "TwoForOneField", "",
			with(validApplyFirstSync, func(m *syncv1.ApplyFirstSyncRequest) {
				m.Resolutions = append(m.Resolutions, &syncv1.Resolution{
					EmployeeId: "emp-1042", Field: hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE, Winner: syncv1.SyncSide_SYNC_SIDE_HR,
				})
			})),
	}
}

// TestRules runs the rule table: every valid case passes every rule, every
// invalid case reports its rule at its field path.
func TestRules(t *testing.T) {
	t.Parallel()
	v := setup(t)
	for _, c := range ruleCases() {
		verdict := "Valid"
		if c.want != nil {
			verdict = "Invalid"
		}
		t.Run(c.rule+"/"+verdict+"/"+c.name, func(t *testing.T) {
			t.Parallel()
			if c.want == nil {
				requireValid(t, v, c.msg())
				return
			}
			requireViolation(t, v, c.msg(), *c.want)
		})
	}
}

// celRuleIDs lists the id of every CEL rule written in the rollcall schema,
// on messages and on fields.
func celRuleIDs() []string {
	var ids []string
	for _, md := range rollcallMessages() {
		if mr, ok := proto.GetExtension(md.Options(), validate.E_Message).(*validate.MessageRules); ok {
			for _, r := range mr.GetCel() {
				ids = append(ids, r.GetId())
			}
		}
		fields := md.Fields()
		for i := range fields.Len() {
			if fr, ok := proto.GetExtension(fields.Get(i).Options(), validate.E_Field).(*validate.FieldRules); ok {
				for _, r := range fr.GetCel() {
					ids = append(ids, r.GetId())
				}
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestEveryCELRuleHasCases keeps the table complete: each CEL rule id in the
// schema has at least one accepted and one refused example, and the table
// names no rule that does not exist.
func TestEveryCELRuleHasCases(t *testing.T) {
	t.Parallel()
	ids := celRuleIDs()
	if len(ids) == 0 {
		t.Fatal("no CEL rules found: descriptors lack their options")
	}
	valid, invalid := map[string]bool{}, map[string]bool{}
	for _, c := range ruleCases() {
		if !slices.Contains(ids, c.rule) {
			t.Errorf("case %s/%s: no CEL rule %q in the schema", c.rule, c.name, c.rule)
		}
		if c.want == nil {
			valid[c.rule] = true
		} else {
			invalid[c.rule] = true
		}
	}
	for _, id := range ids {
		if !valid[id] {
			t.Errorf("CEL rule %q has no valid case", id)
		}
		if !invalid[id] {
			t.Errorf("CEL rule %q has no invalid case", id)
		}
	}
}

// TestIDsAreLowercaseUUIDs checks that every validated id field of the schema
// carries the one canonical UUID rule (ids end up in NATS subjects and in
// Nats-Msg-Id, where "A" and "a" would be two different ids), except the HR
// and ERP employee ids, which belong to the other systems.
func TestIDsAreLowercaseUUIDs(t *testing.T) {
	t.Parallel()
	notUUID := []string{"employee_id", "erp_employee_id"}
	checked := 0
	for _, md := range rollcallMessages() {
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			name := string(fd.Name())
			isID := strings.HasSuffix(name, "_id") || strings.HasSuffix(name, "_ids")
			if fd.Kind() != protoreflect.StringKind || !isID || slices.Contains(notUUID, name) {
				continue
			}
			fr, ok := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
			if !ok || fr == nil || proto.Size(fr) == 0 {
				continue // response messages carry no rules
			}
			sr := fr.GetString()
			if fd.IsList() {
				sr = fr.GetRepeated().GetItems().GetString()
			}
			if sr.GetPattern() != uuidPattern || sr.GetUuid() {
				t.Errorf("%s: want string.pattern %q, got %v", fd.FullName(), uuidPattern, sr)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d id fields; the walk is broken", checked)
	}

	v := setup(t)
	msg := validUserInvited()
	msg.TenantId = strings.ToUpper(tenantID)
	requireViolation(t, v, msg, violation{"tenant_id", "string.pattern"})
	msg = validUserInvited()
	msg.Grants.Scope.Organisations = &commonv1.Selection{Ids: []string{"{" + orgID + "}"}}
	requireViolation(t, v, msg, violation{"grants.scope.organisations.ids[0]", "string.pattern"})
	replaced := validIntegratorReplaced()
	replaced.NewIntegrator.InvitationId = ""
	requireViolation(t, v, replaced, violation{"new_integrator.invitation_id", "string.pattern"})
}

func TestFieldChanged(t *testing.T) {
	t.Parallel()
	v := setup(t)

	t.Run("Valid", func(t *testing.T) {
		t.Parallel()
		requireValid(t, v, validFieldChanged())
	})
	t.Run("MissingTenantID", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.TenantId = ""
		requireViolation(t, v, msg, violation{"tenant_id", "string.pattern"})
	})
	t.Run("ZeroHRVersion", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.HrVersion = 0
		requireViolation(t, v, msg, violation{"hr_version", "uint64.gt"})
	})
	t.Run("MalformedNewEmail", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.Email.NewValue = proto.String("not-an-email")
		requireViolation(t, v, msg, violation{"email.new_value", "string.email"})
	})
	t.Run("EmailCannotBeCleared", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.Email.NewValue = nil
		requireViolation(t, v, msg, violation{"email.new_value", "required"})
	})
	t.Run("MissingOccurredAt", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.OccurredAt = nil
		requireViolation(t, v, msg, violation{"occurred_at", "required"})
	})
	t.Run("BadCountryCode", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.Address.NewValue.CountryCode = proto.String("Norway")
		requireViolation(t, v, msg, violation{"address.new_value.country_code", "string.pattern"})
	})
	t.Run("EmptyCountryCode", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.Address.NewValue.CountryCode = proto.String("")
		requireViolation(t, v, msg, violation{"address.new_value.country_code", "string.pattern"})
	})
	t.Run("EmptyCity", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.Address.NewValue.City = proto.String("")
		requireValid(t, v, msg)
	})
	t.Run("UnknownOperation", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.Operation = 99
		requireViolation(t, v, msg, violation{"operation", "enum.defined_only"})
	})
	// Presence survives the wire: a consumer can tell "not changed" (nil
	// change), "cleared" (change without new value) and "set to empty"
	// (present, empty value).
	t.Run("PresenceSurvivesTheWire", func(t *testing.T) {
		t.Parallel()
		b, err := proto.Marshal(validFieldChanged())
		if err != nil {
			t.Fatal(err)
		}
		var got hrv1.FieldChanged
		if err := proto.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.GivenName != nil {
			t.Error("given_name: want not changed (nil)")
		}
		if got.Phone == nil || got.Phone.NewValue != nil {
			t.Error("phone: want changed and cleared")
		}
		if got.Identifications.GetNewValue() == nil || len(got.Identifications.GetNewValue().GetItems()) != 0 {
			t.Error("identifications: want changed to an empty list, not unset")
		}
	})
}

// TestInvitations covers the standard (non-CEL) rules of the invitation flow.
func TestInvitations(t *testing.T) {
	t.Parallel()
	v := setup(t)

	cases := []struct {
		name string
		msg  func() proto.Message
		want *violation
	}{
		{"BadMobile", with(validUserInvited, func(m *invitationv1.UserInvited) { m.Mobile = proto.String("070-123 45 67") }),
			&violation{"mobile", "string.pattern"}},
		{"OriginUnset", with(validUserInvited, func(m *invitationv1.UserInvited) { m.Origin = 0 }),
			&violation{"origin", "enum.in"}},
		{"InvitationFromTenantCreation", with(validCreateInvitation, func(m *invitationv1.CreateInvitationRequest) {
			m.Origin = commonv1.CreationOrigin_CREATION_ORIGIN_TENANT_CREATION
		}), &violation{"origin", "enum.in"}},
		{"AcceptedOriginUnset", with(validInviteAccepted, func(m *invitationv1.InviteAccepted) { m.Origin = 0 }),
			&violation{"origin", "enum.in"}},
		{"UserCreatedOriginUnset", with(personCreated, func(m *identityv1.UserCreated) { m.Origin = 0 }),
			&violation{"origin", "enum.not_in"}},
		{"LockedWithoutCode", func() proto.Message {
			return &invitationv1.InviteLocked{InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now), Attempts: 5,
				CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_NONE, Inviter: inviter()}
		}, &violation{"code_delivery", "enum.in"}},
		{"TokenValid", func() proto.Message { return &invitationv1.VerifyCodeRequest{Token: token, Code: "1234"} }, nil},
		// 43 characters whose last one carries bits that 256 bits cannot have.
		{"TokenNot256Bits", func() proto.Message { return &invitationv1.VerifyCodeRequest{Token: token[:42] + "B"} },
			&violation{"token", "string.pattern"}},
		{"TokenTooLong", func() proto.Message { return &invitationv1.VerifyCodeRequest{Token: token + "A"} },
			&violation{"token", "string.pattern"}},
		{"PasswordTooShort", with(validSetInitialPassword, func(m *identityv1.SetInitialPasswordRequest) { m.Password = "short" }),
			&violation{"password", "string.min_len"}},
		{"PasswordNeedsInvitation", with(validSetInitialPassword, func(m *identityv1.SetInitialPasswordRequest) { m.InvitationId = "" }),
			&violation{"invitation_id", "string.pattern"}},
		{"IntegratorNeedsInvitation", with(validIntegratorReplaced, func(m *integratorv1.IntegratorReplaced) { m.NewIntegrator = nil }),
			&violation{"new_integrator", "required"}},
		{"PreviousIntegratorNeedsUser", with(validIntegratorReplaced, func(m *integratorv1.IntegratorReplaced) { m.PreviousIntegrator.UserId = "" }),
			&violation{"previous_integrator.user_id", "string.pattern"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.want == nil {
				requireValid(t, v, c.msg())
				return
			}
			requireViolation(t, v, c.msg(), *c.want)
		})
	}
}

func TestSync(t *testing.T) {
	t.Parallel()
	v := setup(t)

	t.Run("SynchronizeUsersValid", func(t *testing.T) {
		t.Parallel()
		requireValid(t, v, validSynchronizeUsers())
	})
	t.Run("SynchronizeUsersNeedsWinner", func(t *testing.T) {
		t.Parallel()
		msg := validSynchronizeUsers()
		msg.DefaultWinner = 0
		requireViolation(t, v, msg, violation{"default_winner", "enum.not_in"})
	})
	t.Run("SynchronizeUsersNeedsAPreview", func(t *testing.T) {
		t.Parallel()
		msg := validSynchronizeUsers()
		msg.PreviewId = ""
		requireViolation(t, v, msg, violation{"preview_id", "string.pattern"})
	})
	t.Run("RecipientsDefaultToTheAdmin", func(t *testing.T) {
		t.Parallel()
		msg := validSynchronizeUsers()
		msg.ReportRecipients = nil
		requireValid(t, v, msg)
		apply := validApplyFirstSync()
		apply.ReportRecipients = nil
		requireValid(t, v, apply)
		apply.ReportRecipients = []string{"not an address"}
		requireViolation(t, v, apply, violation{"report_recipients[0]", "string.email"})
	})
	t.Run("ReportSentToSomeone", func(t *testing.T) {
		t.Parallel()
		msg := validSyncRunCompleted()
		msg.ReportSentTo = nil
		requireViolation(t, v, msg, violation{"report_sent_to", "repeated.min_items"})
	})
	t.Run("RotateNeedsTheAuthorityAndAKey", func(t *testing.T) {
		t.Parallel()
		msg := &syncv1.RotateConnectionKeyRequest{TenantId: tenantID, ConnectionId: connectionID, ApiKey: "k3y-0123456789abcdef", AuthorityConfirmed: true}
		requireValid(t, v, msg)
		msg.AuthorityConfirmed = false
		requireViolation(t, v, msg, violation{"authority_confirmed", "bool.const"})
		msg.ApiKey = "short"
		requireViolation(t, v, msg, violation{"api_key", "string.min_len"})
	})
}

func TestCreateConnection(t *testing.T) {
	t.Parallel()
	v := setup(t)

	t.Run("Valid", func(t *testing.T) {
		t.Parallel()
		requireValid(t, v, validCreateConnection())
	})
	t.Run("AuthorityNotConfirmed", func(t *testing.T) {
		t.Parallel()
		msg := validCreateConnection()
		msg.AuthorityConfirmed = false
		requireViolation(t, v, msg, violation{"authority_confirmed", "bool.const"})
	})
	t.Run("MissingAPIKey", func(t *testing.T) {
		t.Parallel()
		msg := validCreateConnection()
		msg.ApiKey = ""
		requireViolation(t, v, msg, violation{"api_key", "string.min_len"})
	})
	t.Run("ForACompany", func(t *testing.T) {
		t.Parallel()
		msg := validCreateConnection()
		msg.CompanyId = proto.String(runID)
		requireValid(t, v, msg)
		msg.CompanyId = proto.String("ACME")
		requireViolation(t, v, msg, violation{"company_id", "string.pattern"})
	})
}

func TestListPageSize(t *testing.T) {
	t.Parallel()
	v := setup(t)
	req := func(n int32) *invitationv1.ListInvitationsRequest {
		return &invitationv1.ListInvitationsRequest{TenantId: tenantID, PageSize: n}
	}

	t.Run("ZeroMeansServerDefault", func(t *testing.T) {
		t.Parallel()
		requireValid(t, v, req(0))
	})
	t.Run("Max", func(t *testing.T) {
		t.Parallel()
		requireValid(t, v, req(500))
	})
	t.Run("OverMax", func(t *testing.T) {
		t.Parallel()
		requireViolation(t, v, req(501), violation{"page_size", "int32.gte_lte"})
	})
}

// TestSecretsAreMarkedDebugRedact pins the fields that carry secrets. Go's
// protobuf runtime does not redact them in String() by itself, so loggers
// (pkg/) must drop every field whose options say debug_redact; this test keeps
// that marker on the fields that need it.
func TestSecretsAreMarkedDebugRedact(t *testing.T) {
	t.Parallel()
	var got []string
	for _, md := range rollcallMessages() {
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts.GetDebugRedact() {
				got = append(got, string(fd.FullName()))
			}
		}
	}
	slices.Sort(got)
	want := []string{
		"rollcall.identity.v1.AuthenticateRequest.token",
		"rollcall.identity.v1.AuthenticateServiceUserRequest.token",
		"rollcall.identity.v1.CreateAccessTokenResponse.token",
		"rollcall.identity.v1.IssueJoinAssertionResponse.assertion",
		"rollcall.identity.v1.IssueServiceTokenRequest.password",
		"rollcall.identity.v1.IssueServiceTokenResponse.token",
		"rollcall.identity.v1.ServiceUserLetter.password",
		"rollcall.identity.v1.ServiceUserLetter.pdf",
		"rollcall.identity.v1.ServiceUserLetter.text",
		"rollcall.identity.v1.SetInitialPasswordRequest.password",
		"rollcall.identity.v1.SignInRequest.assertion",
		"rollcall.identity.v1.SignInRequest.password",
		"rollcall.identity.v1.SignInResponse.token",
		"rollcall.identity.v1.VerifyLoginRequest.assertion",
		"rollcall.invitation.v1.AcceptInvitationRequest.code",
		"rollcall.invitation.v1.AcceptInvitationRequest.password",
		"rollcall.invitation.v1.AcceptInvitationRequest.token",
		"rollcall.invitation.v1.LoginAssertion.assertion",
		"rollcall.invitation.v1.OpenInvitationRequest.token",
		"rollcall.invitation.v1.RequestNewCodeRequest.token",
		"rollcall.invitation.v1.VerifyCodeRequest.code",
		"rollcall.invitation.v1.VerifyCodeRequest.token",
		"rollcall.sync.v1.CreateConnectionRequest.api_key",
		"rollcall.sync.v1.RotateConnectionKeyRequest.api_key",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("debug_redact fields:\n got %v\nwant %v", got, want)
	}
}

// TestEveryEventHasAValidExample keeps one valid instance of every event, so
// the message-level rules are known to accept real data, not only to refuse.
// It fails when an event is added without an example here.
func TestEveryEventHasAValidExample(t *testing.T) {
	t.Parallel()
	v := setup(t)
	integrator := &integratorv1.IntegratorRef{UserId: userID, PartnerId: partnerID, Email: "dev@partner.example"}
	profile := integrationCreated().Profile
	examples := []proto.Message{
		validUserInvited(),
		integratorAccepted(),
		&invitationv1.InviteExpired{InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now), ExpiresAt: ts(now), Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER},
		&invitationv1.InviteRevoked{InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now), Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR, Reason: invitationv1.RevocationReason_REVOCATION_REASON_INTEGRATOR_REPLACED, SupersededByInvitationId: proto.String(runID)},
		&invitationv1.InviteLocked{InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now), Attempts: 5, CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER, Inviter: inviter()},
		integrationCreated(),
		&identityv1.UserUpdated{UserId: userID, TenantId: tenantID, OccurredAt: ts(now), ChangedFields: []identityv1.UserField{identityv1.UserField_USER_FIELD_MOBILE}, Profile: profile},
		&identityv1.UserDeactivated{UserId: userID, TenantId: tenantID, OccurredAt: ts(now), Kind: identityv1.UserKind_USER_KIND_INTEGRATOR, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_INTEGRATOR_REPLACED},
		validServiceUserCreated(),
		&identityv1.ServiceUserPasswordReset{UserId: userID, TenantId: tenantID, OccurredAt: ts(now), UserCode: "PAIE2026", ResetAt: ts(now), Permanent: true, ResetByUserId: otherUserID},
		&identityv1.ServiceUserStatusChanged{UserId: userID, TenantId: tenantID, OccurredAt: ts(now), UserCode: "PAIE2026", Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE, ChangedByUserId: otherUserID},
		&integratorv1.IntegratorAssigned{TenantId: tenantID, OccurredAt: ts(now), Integrator: integrator, InvitationId: invitationID},
		validIntegratorReplaced(),
		&integratorv1.IntegratorDismissed{TenantId: tenantID, OccurredAt: ts(now), Integrator: integrator, DismissedByUserId: proto.String(otherUserID), Reason: integratorv1.DismissalReason_DISMISSAL_REASON_ADMIN},
		&integratorv1.ActionDenied{TenantId: tenantID, OccurredAt: ts(now), ActorUserId: userID, Action: integratorv1.Action_ACTION_DISMISS_EMPLOYEE, Resource: "users/" + otherUserID, Reason: integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_RESTRICTION},
		validFieldChanged(),
		validEmployeeSynced(),
		validSyncFailed(),
		validSyncRunCompleted(),
	}
	covered := map[protoreflect.FullName]bool{}
	for _, msg := range examples {
		covered[msg.ProtoReflect().Descriptor().FullName()] = true
		t.Run(string(msg.ProtoReflect().Descriptor().Name()), func(t *testing.T) {
			t.Parallel()
			requireValid(t, v, msg)
		})
	}
	// An event is a top-level message of an events.proto with occurred_at.
	for _, md := range rollcallMessages() {
		if strings.HasSuffix(md.ParentFile().Path(), "/events.proto") && md.Fields().ByName("occurred_at") != nil && !covered[md.FullName()] {
			t.Errorf("event %s has no valid example", md.FullName())
		}
	}
}

// tokenAlphabet documents why the last token character is restricted: 256
// bits are 42 full base64url characters (252 bits) plus 4 bits, whose 2
// padding bits are zero.
func TestTokenPatternMatches256Bits(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$`)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i, c := range alphabet {
		want := i%4 == 0
		if got := re.MatchString(token[:42] + string(c)); got != want {
			t.Errorf("last character %q (value %d): match %v, want %v", c, i, got, want)
		}
	}
}

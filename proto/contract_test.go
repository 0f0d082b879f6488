package proto_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
)

var now = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// validator compiles every rule of every rollcall message up front, so a rule
// that does not compile (a CEL typo, a bad regex) fails here rather than at
// the first message in production.
var validator = sync.OnceValues(func() (protovalidate.Validator, error) {
	var descs []protoreflect.MessageDescriptor
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if strings.HasPrefix(string(mt.Descriptor().FullName()), "rollcall.") {
			descs = append(descs, mt.Descriptor())
		}
		return true
	})
	return protovalidate.New(
		protovalidate.WithMessageDescriptors(descs...),
		protovalidate.WithDisableLazy(),
	)
})

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

func validGrants() *commonv1.Grants {
	return &commonv1.Grants{
		PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM,
		PermissionAreas: []string{"support", "invoices"},
		Scope: &commonv1.AccessScope{
			OrganisationIds:   []string{partnerID},
			ProductCategories: &commonv1.Selection{All: true},
		},
	}
}

func validUserInvited() *invitationv1.UserInvited {
	return &invitationv1.UserInvited{
		InvitationId: invitationID,
		TenantId:     tenantID,
		OccurredAt:   ts(now),
		Kind:         invitationv1.InvitationKind_INVITATION_KIND_MEMBER,
		FirstName:    "Anna",
		LastName:     "Svensson",
		Email:        "anna.svensson@example.se",
		Mobile:       proto.String("+46701234567"),
		CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_SMS,
		Grants:       validGrants(),
		ExpiresAt:    ts(now.Add(7 * 24 * time.Hour)),
		Inviter:      &commonv1.Actor{UserId: userID, Name: "Erik Admin", Email: "erik@example.se"},
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
		requireViolation(t, v, msg, violation{"tenant_id", "string.uuid_empty"})
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
	t.Run("ImpossibleDate", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.EmploymentEndDate.NewValue = &commonv1.Date{Year: 2025, Month: 2, Day: 29}
		requireViolation(t, v, msg, violation{"employment_end_date.new_value", "date.valid_day"})
	})
	t.Run("BadCountryCode", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.Address.NewValue.CountryCode = proto.String("Norway")
		requireViolation(t, v, msg, violation{"address.new_value.country_code", "string.pattern"})
	})
	t.Run("DeleteCarriesNoChange", func(t *testing.T) {
		t.Parallel()
		msg := validFieldChanged()
		msg.Operation = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_DELETED
		requireViolation(t, v, msg, violation{"", "field_changed.deleted_has_no_change"})
	})
	t.Run("UpdateNeedsAChange", func(t *testing.T) {
		t.Parallel()
		msg := &hrv1.FieldChanged{
			TenantId: tenantID, OccurredAt: ts(now), EmployeeId: "e1", HrVersion: 1,
			ChangedAt: ts(now), Operation: hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED,
		}
		requireViolation(t, v, msg, violation{"", "field_changed.updated_has_a_change"})
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

func TestUserInvited(t *testing.T) {
	t.Parallel()
	v := setup(t)

	t.Run("Valid", func(t *testing.T) {
		t.Parallel()
		requireValid(t, v, validUserInvited())
	})
	t.Run("BadMobile", func(t *testing.T) {
		t.Parallel()
		msg := validUserInvited()
		msg.Mobile = proto.String("070-123 45 67")
		requireViolation(t, v, msg, violation{"mobile", "string.pattern"})
	})
	t.Run("SMSNeedsMobile", func(t *testing.T) {
		t.Parallel()
		msg := validUserInvited()
		msg.Mobile = nil
		requireViolation(t, v, msg, violation{"", "user_invited.sms_needs_mobile"})
	})
	t.Run("LifetimeOver30Days", func(t *testing.T) {
		t.Parallel()
		msg := validUserInvited()
		msg.ExpiresAt = ts(now.Add(31 * 24 * time.Hour))
		requireViolation(t, v, msg, violation{"", "user_invited.lifetime"})
	})
	t.Run("IntegrationUserNeedsPackage", func(t *testing.T) {
		t.Parallel()
		msg := validUserInvited()
		msg.Kind = invitationv1.InvitationKind_INVITATION_KIND_INTEGRATION
		requireViolation(t, v, msg, violation{"", "user_invited.integration_package"})
		msg.Grants.AccessPackages = &commonv1.AccessPackages{IntegrationUser: true, AllAdditionalPackages: true}
		requireValid(t, v, msg)
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
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		md := mt.Descriptor()
		if !strings.HasPrefix(string(md.FullName()), "rollcall.") {
			return true
		}
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts.GetDebugRedact() {
				got = append(got, string(fd.FullName()))
			}
		}
		return true
	})
	slices.Sort(got)
	want := []string{
		"rollcall.identity.v1.ServiceUserLetter.password",
		"rollcall.invitation.v1.AcceptInvitationRequest.code",
		"rollcall.invitation.v1.AcceptInvitationRequest.password",
		"rollcall.invitation.v1.AcceptInvitationRequest.token",
		"rollcall.invitation.v1.VerifyCodeRequest.code",
		"rollcall.invitation.v1.VerifyCodeRequest.token",
		"rollcall.sync.v1.CreateConnectionRequest.api_key",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("debug_redact fields:\n got %v\nwant %v", got, want)
	}
}

// TestEveryEventHasAValidExample keeps one valid instance of every event, so
// the message-level rules are known to accept real data, not only to refuse.
func TestEveryEventHasAValidExample(t *testing.T) {
	t.Parallel()
	v := setup(t)
	integrator := &integratorv1.IntegratorRef{UserId: userID, PartnerId: partnerID, Email: "dev@partner.example"}
	profile := &identityv1.UserProfile{
		FirstName: "Klarna", LastName: "Integrasjon", Email: "klarna@selskap.example",
		Grants:                &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_CUSTOM, AccessPackages: &commonv1.AccessPackages{IntegrationUser: true, AllAdditionalPackages: true}},
		CountsTowardSeatLimit: true,
	}
	accepted := &invitationv1.InviteAccepted{
		InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now), AcceptedAt: ts(now),
		Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR, UserId: userID,
		LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_PASSWORD, FirstName: "Ivan", LastName: "Petrov",
		Email: "dev@partner.example", PartnerId: proto.String(partnerID),
		Grants:  &commonv1.Grants{PermissionLevel: commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR},
		Inviter: &commonv1.Actor{UserId: otherUserID, Name: "Portal Admin", Email: "admin@example.ru"},
	}
	examples := []proto.Message{
		validUserInvited(),
		accepted,
		&invitationv1.InviteExpired{InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now), ExpiresAt: ts(now), Kind: invitationv1.InvitationKind_INVITATION_KIND_MEMBER},
		&invitationv1.InviteRevoked{InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now), Kind: invitationv1.InvitationKind_INVITATION_KIND_INTEGRATOR, Reason: invitationv1.RevocationReason_REVOCATION_REASON_INTEGRATOR_REPLACED, SupersededByInvitationId: proto.String(runID)},
		&invitationv1.InviteLocked{InvitationId: invitationID, TenantId: tenantID, OccurredAt: ts(now), Attempts: 5, CodeDelivery: invitationv1.CodeDelivery_CODE_DELIVERY_TO_INVITER, Inviter: accepted.Inviter},
		&identityv1.UserCreated{UserId: userID, TenantId: tenantID, OccurredAt: ts(now), Kind: identityv1.UserKind_USER_KIND_INTEGRATION, Profile: profile, SourceInvitationId: proto.String(invitationID)},
		&identityv1.UserUpdated{UserId: userID, TenantId: tenantID, OccurredAt: ts(now), ChangedFields: []identityv1.UserField{identityv1.UserField_USER_FIELD_MOBILE}, Profile: profile},
		&identityv1.UserDeactivated{UserId: userID, TenantId: tenantID, OccurredAt: ts(now), Kind: identityv1.UserKind_USER_KIND_INTEGRATOR, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_INTEGRATOR_REPLACED},
		&identityv1.ServiceUserCreated{UserId: userID, TenantId: tenantID, OccurredAt: ts(now), UserCode: "PAIE2026", ApplicationId: partnerID, Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, Language: "fr-CA", AllCompanies: true, AllStructure: true, CreatedByUserId: otherUserID},
		&identityv1.ServiceUserPasswordReset{UserId: userID, TenantId: tenantID, OccurredAt: ts(now), UserCode: "PAIE2026", ResetAt: ts(now), Permanent: true, ResetByUserId: otherUserID},
		&integratorv1.IntegratorAssigned{TenantId: tenantID, OccurredAt: ts(now), Integrator: integrator, InvitationId: invitationID},
		&integratorv1.IntegratorReplaced{TenantId: tenantID, OccurredAt: ts(now), PreviousIntegrator: &integratorv1.IntegratorRef{UserId: otherUserID, PartnerId: partnerID, Email: "old@partner.example"}, NewIntegrator: integrator, InvitationId: invitationID},
		&integratorv1.IntegratorDismissed{TenantId: tenantID, OccurredAt: ts(now), Integrator: integrator, DismissedByUserId: proto.String(otherUserID), Reason: integratorv1.DismissalReason_DISMISSAL_REASON_ADMIN},
		&integratorv1.ActionDenied{TenantId: tenantID, OccurredAt: ts(now), ActorUserId: userID, Action: integratorv1.Action_ACTION_DISMISS_EMPLOYEE, Resource: "users/" + otherUserID, Reason: integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_RESTRICTION},
		validFieldChanged(),
		&syncv1.EmployeeSynced{TenantId: tenantID, OccurredAt: ts(now), ConnectionId: connectionID, EmployeeId: "emp-1042", ErpEmployeeId: "311", Direction: syncv1.SyncDirection_SYNC_DIRECTION_HR_TO_ERP, Action: syncv1.EmployeeSyncAction_EMPLOYEE_SYNC_ACTION_UPDATED, FieldsWritten: []hrv1.EmployeeField{hrv1.EmployeeField_EMPLOYEE_FIELD_EMAIL, hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE}, HrVersion: 7, Latency: durationpb.New(850 * time.Millisecond)},
		&syncv1.SyncFailed{TenantId: tenantID, OccurredAt: ts(now), ConnectionId: connectionID, EmployeeId: proto.String("emp-1042"), HrVersion: proto.Uint64(7), Reason: syncv1.SyncFailureReason_SYNC_FAILURE_REASON_ERP_RATE_LIMITED, Retriable: true, Attempt: 2, ErpError: &syncv1.ErpError{HttpStatus: proto.Int32(429)}},
		&syncv1.SyncRunCompleted{TenantId: tenantID, OccurredAt: ts(now), ConnectionId: connectionID, RunId: runID, Kind: syncv1.SyncRunKind_SYNC_RUN_KIND_FIRST_SYNC, Status: syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, StartedAt: ts(now.Add(-time.Minute)), Counts: &syncv1.SyncCounts{CreatedInErp: 3, UpdatedInErp: 12, Conflicts: 2}, ReportSentTo: []string{"hr@example.com"}},
	}
	for _, msg := range examples {
		t.Run(string(msg.ProtoReflect().Descriptor().Name()), func(t *testing.T) {
			t.Parallel()
			requireValid(t, v, msg)
		})
	}
}

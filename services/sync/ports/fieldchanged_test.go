package ports_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/ports"
)

func s(v string) *string { return &v }

// fieldChangedSeeds are valid events of every operation (also the
// committed corpus under testdata/fuzz/FuzzFieldChanged).
func fieldChangedSeeds() []*hrv1.FieldChanged {
	at := timestamppb.New(now)
	created := &hrv1.FieldChanged{
		TenantId: tenantID, OccurredAt: at, EmployeeId: "emp-42", HrVersion: 1, ChangedAt: at,
		Operation: hrv1.EmployeeOperation_EMPLOYEE_OPERATION_CREATED,
		Email:     &hrv1.EmailChange{NewValue: s("kari@example.com")}, GivenName: &hrv1.NameChange{NewValue: s("Kari")},
		FamilyName: &hrv1.NameChange{NewValue: s("Nordmann")}, Phone: &hrv1.PhoneChange{NewValue: s("+4791234567")},
		EmploymentStartDate: &hrv1.DateChange{NewValue: &commonv1.Date{Year: 2024, Month: 2, Day: 29}},
		Address:             &hrv1.AddressChange{NewValue: &hrv1.Address{Postaddress: s("Storgata 1"), Zipcode: s("0155"), City: s("Oslo"), CountryCode: s("NO")}},
		Identifications:     &hrv1.IdentificationsChange{NewValue: &hrv1.Identifications{Items: []*hrv1.Identification{{Id: "01019012345", CountryCode: "NO", Type: "national_id"}}}},
	}
	updated := &hrv1.FieldChanged{
		TenantId: tenantID, OccurredAt: at, EmployeeId: "emp-42", HrVersion: 2, ChangedAt: at,
		Operation:         hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED,
		Phone:             &hrv1.PhoneChange{OldValue: s("+4791234567")},
		EmploymentEndDate: &hrv1.DateChange{NewValue: &commonv1.Date{Year: 2026, Month: 12, Day: 31}},
		Identifications:   &hrv1.IdentificationsChange{OldValue: created.Identifications.NewValue},
	}
	deleted := &hrv1.FieldChanged{
		TenantId: tenantID, OccurredAt: at, EmployeeId: "emp-42", HrVersion: 3, ChangedAt: at,
		Operation: hrv1.EmployeeOperation_EMPLOYEE_OPERATION_DELETED,
	}
	snapshot := proto.Clone(created).(*hrv1.FieldChanged)
	snapshot.Operation, snapshot.HrVersion = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_SNAPSHOT, 4
	snapshot.ConnectionId = s("5c0e0d1e-0000-4000-8000-000000000001")
	return []*hrv1.FieldChanged{created, updated, deleted, snapshot}
}

// FuzzFieldChanged feeds arbitrary bytes through the FieldChanged
// consumer's decoding and validation (bus.Typed, as the consumer runs it)
// and the translation into the domain's change: nothing panics, and every
// event that passes validation becomes a change the domain can apply,
// whose required fields are there, whose dates are real dates, which
// changes a fresh employee and has no second effect.
func FuzzFieldChanged(f *testing.F) {
	for _, ev := range fieldChangedSeeds() {
		data, err := proto.Marshal(ev)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte{0xff, 0xff, 0xff})
	today := now.Format(time.DateOnly)
	f.Fuzz(func(t *testing.T, data []byte) {
		var accepted bool
		h := bus.Typed(func(_ context.Context, _ *bus.Message, ev *hrv1.FieldChanged) error {
			accepted = true
			c := ports.ChangeFromProto(ev)
			require.Equal(t, ev.GetTenantId(), c.TenantID)
			require.Equal(t, ev.GetEmployeeId(), c.EmployeeID)
			require.Positive(t, c.Version)
			if c.Op == domain.OpCreated || c.Op == domain.OpSnapshot {
				require.NotEmpty(t, c.Values.Email)
				require.NotEmpty(t, c.Values.GivenName)
				require.NotEmpty(t, c.Values.FamilyName)
			}
			for _, d := range []string{c.Values.StartDate, c.Values.EndDate} {
				if d != "" {
					_, err := time.Parse(time.DateOnly, d)
					require.NoError(t, err, "a validated date is a real date")
				}
			}
			var st domain.HRState
			require.True(t, st.Apply(c.Change), "a valid change changes an employee never seen")
			require.False(t, st.Apply(c.Change), "the same change again has no effect")
			d := st.Desired(today)
			for _, f := range d.Managed {
				require.Positive(t, d.HRVersions[f])
			}
			if d.KeepIdentification {
				require.NotContains(t, d.Managed, erp.FieldInternationalID)
			}
			return nil
		})
		err := h(context.Background(), &bus.Message{Data: data, Type: bus.TypeOf(&hrv1.FieldChanged{})})
		if !accepted {
			require.True(t, bus.IsPermanent(err), "a bad event is refused for good (dead-lettered), got %v", err)
		}
	})
}

package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

var at = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func created(v uint64) domain.Change {
	return domain.Change{Op: domain.OpCreated, Version: v, ChangedAt: at,
		Fields: []domain.Field{domain.FieldEmail, domain.FieldGivenName, domain.FieldFamilyName},
		Values: domain.Values{Email: "kari@example.com", GivenName: "Kari", FamilyName: "Nordmann"}}
}

func update(v uint64, f domain.Field, vals domain.Values) domain.Change {
	return domain.Change{Op: domain.OpUpdated, Version: v, ChangedAt: at, Fields: []domain.Field{f}, Values: vals}
}

func TestApply(t *testing.T) {
	t.Parallel()
	t.Run("AnOlderChangeNeverOverwritesANewerOneWhateverTheOrder", func(t *testing.T) {
		t.Parallel()
		changes := []domain.Change{
			created(1),
			update(2, domain.FieldPhone, domain.Values{Phone: "+4790000002"}),
			update(3, domain.FieldPhone, domain.Values{Phone: "+4790000003"}),
			update(4, domain.FieldGivenName, domain.Values{GivenName: "Four"}),
		}
		orders := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}}
		for _, order := range orders {
			var s domain.HRState
			for _, i := range order {
				s.Apply(changes[i])
			}
			require.Equal(t, "+4790000003", s.Values.Phone, order)
			require.Equal(t, "Four", s.Values.GivenName, order)
			require.Equal(t, "Nordmann", s.Values.FamilyName, order)
			require.EqualValues(t, 4, s.Version, order)
			require.EqualValues(t, 3, s.Versions[domain.FieldPhone])
		}
	})
	t.Run("ADuplicateChangesNothing", func(t *testing.T) {
		t.Parallel()
		var s domain.HRState
		require.True(t, s.Apply(created(1)))
		u := update(2, domain.FieldPhone, domain.Values{Phone: "+4790000002"})
		require.True(t, s.Apply(u))
		require.False(t, s.Apply(u))
		require.False(t, s.Apply(created(1)))
	})
	t.Run("ASnapshotStatesEveryFieldAbsentMeansNoValue", func(t *testing.T) {
		t.Parallel()
		var s domain.HRState
		s.Apply(created(1))
		s.Apply(update(2, domain.FieldPhone, domain.Values{Phone: "+4790000002"}))
		s.Apply(domain.Change{Op: domain.OpSnapshot, Version: 5, ChangedAt: at, Values: domain.Values{Email: "new@example.com", GivenName: "K", FamilyName: "N"}})
		require.Empty(t, s.Values.Phone)
		require.Equal(t, "new@example.com", s.Values.Email)
		require.EqualValues(t, 5, s.Versions[domain.FieldAddress])
	})
	t.Run("RemovalAndRecreationFollowVersions", func(t *testing.T) {
		t.Parallel()
		var s domain.HRState
		s.Apply(created(1))
		s.Apply(domain.Change{Op: domain.OpDeleted, Version: 3, ChangedAt: at})
		require.True(t, s.Removed)
		s.Apply(update(2, domain.FieldPhone, domain.Values{Phone: "+4790000002"}))
		require.True(t, s.Removed, "an older update does not bring the employee back")
		s.Apply(created(4))
		require.False(t, s.Removed)
	})
}

func TestDesiredAndPlan(t *testing.T) {
	t.Parallel()
	t.Run("AddressSplitsAndOnlyStatedFieldsAreManaged", func(t *testing.T) {
		t.Parallel()
		var s domain.HRState
		s.Apply(created(1))
		s.Apply(update(2, domain.FieldAddress, domain.Values{Address: domain.Address{Postaddress: "Storgata 1", Zipcode: "0155", City: "Oslo", CountryCode: "NO"}}))
		d := s.Desired("2026-03-02")
		require.Equal(t, []erp.Field{erp.FieldEmail, erp.FieldFirstname, erp.FieldLastname, erp.FieldPostaddress, erp.FieldZipcode, erp.FieldCity, erp.FieldCountryCode}, d.Managed)
		require.Equal(t, "Storgata 1", d.Employee.Postaddress)
		require.Equal(t, "0155", d.Employee.Zipcode)
		require.Equal(t, "Oslo", d.Employee.City)
		require.Equal(t, "NO", d.Employee.CountryCode)
		require.EqualValues(t, 2, d.HRVersions[erp.FieldCity])

		have := erp.Employee{Email: "kari@example.com", Firstname: "Kari", Lastname: "Nordmann", Telefon: "+4711111111", City: "Oslo"}
		p := domain.PlanWrite(d, have)
		require.Equal(t, []erp.Field{erp.FieldPostaddress, erp.FieldZipcode, erp.FieldCountryCode}, p.Update, "only the difference; telefon is not HR's to touch yet")
		require.False(t, p.SetEnd)
	})
	t.Run("UnsetIdentificationIsLeftAndRecorded", func(t *testing.T) {
		t.Parallel()
		var s domain.HRState
		s.Apply(created(1))
		s.Apply(update(2, domain.FieldIdentifications, domain.Values{}))
		d := s.Desired("2026-03-02")
		require.True(t, d.KeepIdentification)
		require.NotContains(t, d.Managed, erp.FieldInternationalID)
		have := erp.Employee{Email: "kari@example.com", Firstname: "Kari", Lastname: "Nordmann", InternationalID: &erp.InternationalID{ID: "1", CountryCode: "NO", Type: "x"}}
		p := domain.PlanWrite(d, have)
		require.True(t, p.Empty())
		require.True(t, p.LeftIdentification)
		prov := p.Record(nil, d, at)
		require.Equal(t, domain.NoteIdentificationLeft, prov[erp.FieldInternationalID].Note)
	})
	t.Run("FirstIdentificationGoesToTheERP", func(t *testing.T) {
		t.Parallel()
		var s domain.HRState
		s.Apply(created(1))
		s.Apply(update(2, domain.FieldIdentifications, domain.Values{Identifications: []domain.Identification{{ID: "A", CountryCode: "NO", Type: "national_id"}, {ID: "B", CountryCode: "SE", Type: "passport"}}}))
		d := s.Desired("2026-03-02")
		require.Equal(t, &erp.InternationalID{ID: "A", CountryCode: "NO", Type: "national_id"}, d.Employee.InternationalID)
	})
	t.Run("RemovalEndsTodayWithAReasonUnlessHRHasAnEndDate", func(t *testing.T) {
		t.Parallel()
		var s domain.HRState
		s.Apply(created(1))
		s.Apply(domain.Change{Op: domain.OpDeleted, Version: 2, ChangedAt: at})
		d := s.Desired("2026-03-02")
		p := domain.PlanWrite(d, erp.Employee{Email: "kari@example.com", Firstname: "Kari", Lastname: "Nordmann"})
		require.True(t, p.SetEnd)
		require.Equal(t, "2026-03-02", p.Enddate)
		require.Equal(t, domain.ReasonRemoved, p.Reason)

		var e domain.HRState
		e.Apply(created(1))
		e.Apply(update(2, domain.FieldEndDate, domain.Values{EndDate: "2026-06-30"}))
		p = domain.PlanWrite(e.Desired("2026-03-02"), erp.Employee{})
		require.Equal(t, "2026-06-30", p.Enddate)
		require.Equal(t, domain.ReasonEnded, p.Reason)
		e.Apply(update(3, domain.FieldEndDate, domain.Values{}))
		p = domain.PlanWrite(e.Desired("2026-03-02"), erp.Employee{Enddate: "2026-06-30"})
		require.True(t, p.SetEnd)
		require.Empty(t, p.Enddate, "cleared in HR, cleared in the ERP")
		require.Empty(t, p.Reason)
	})
}

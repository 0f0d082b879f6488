package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

// pair is a matched employee: HR has phone and start date, the ERP another
// family name, a city and an identification.
func pair() domain.Item {
	h := hrRec("h1", "kari@example.com", "Kari", "Nordmann")
	h.Values.Phone, h.Values.StartDate = "+4791234567", "2024-01-15"
	e := erpRec("1", "kari@example.com", "Kari", "Hansen")
	e.City = "Oslo"
	e.InternationalID = &erp.InternationalID{ID: "010190", CountryCode: "NO", Type: "national_id"}
	return domain.Item{Kind: domain.Matched, HR: &h, ERP: &e}
}

var (
	F = domain.FieldFamilyName
	P = domain.FieldPhone
	S = domain.FieldStartDate
	A = domain.FieldAddress
	I = domain.FieldIdentifications
)

func TestPlanItem(t *testing.T) {
	t.Parallel()
	hrWins := domain.Decisions{DefaultWinner: domain.SideHR, Missing: domain.MissingFill}
	erpWins := domain.Decisions{DefaultWinner: domain.SideERP, Missing: domain.MissingFill}

	cases := []struct {
		name string
		item func() domain.Item
		d    domain.Decisions
		want domain.ItemPlan
	}{
		{"HRWinsConflictsAndMissingValuesFillBothWays", pair, hrWins, domain.ItemPlan{
			Action: domain.ActionUpdate, ToERP: []domain.Field{F, P, S}, ToHR: []domain.Field{A, I}, Overwrites: true, Conflicts: 1}},
		{"ERPWinsConflicts", pair, erpWins, domain.ItemPlan{
			Action: domain.ActionUpdate, ToERP: []domain.Field{P, S}, ToHR: []domain.Field{F, A, I}, Overwrites: true, Conflicts: 1}},
		{"APerFieldResolutionOverridesTheDefault", pair, domain.Decisions{DefaultWinner: domain.SideHR, Missing: domain.MissingFill,
			Resolutions: map[domain.ResolutionKey]domain.Side{{HRID: "h1", Field: F}: domain.SideERP}}, domain.ItemPlan{
			Action: domain.ActionUpdate, ToERP: []domain.Field{P, S}, ToHR: []domain.Field{F, A, I}, Overwrites: true, Conflicts: 1}},
		{"AResolutionOnAMissingValueClearsIt", pair, domain.Decisions{DefaultWinner: domain.SideHR, Missing: domain.MissingFill,
			Resolutions: map[domain.ResolutionKey]domain.Side{{HRID: "h1", Field: S}: domain.SideERP, {HRID: "h1", Field: A}: domain.SideHR}}, domain.ItemPlan{
			Action: domain.ActionUpdate, ToERP: []domain.Field{F, P, A}, ToHR: []domain.Field{S, I}, Overwrites: true, Conflicts: 1}},
		{"WinnerPolicyHRClearsTheERPsExtrasButNeverItsIdentification", pair,
			domain.Decisions{DefaultWinner: domain.SideHR, Missing: domain.MissingWinner}, domain.ItemPlan{
				Action: domain.ActionUpdate, ToERP: []domain.Field{F, P, S, A}, Overwrites: true, Conflicts: 1,
				Notes: []string{domain.NoteIdentificationKept}}},
		{"WinnerPolicyERPClearsHRsExtras", pair,
			domain.Decisions{DefaultWinner: domain.SideERP, Missing: domain.MissingWinner}, domain.ItemPlan{
				Action: domain.ActionUpdate, ToHR: []domain.Field{F, P, S, A, I}, Overwrites: true, Conflicts: 1}},
		{"OnlyFillingIsNoOverwrite", func() domain.Item {
			it := pair()
			it.ERP.Lastname = "Nordmann"
			return it
		}, hrWins, domain.ItemPlan{Action: domain.ActionUpdate, ToERP: []domain.Field{P, S}, ToHR: []domain.Field{A, I}}},
		{"RequiredValuesAreNeverCleared", func() domain.Item {
			it := pair()
			it.HR.Values = domain.Values{Email: "kari@example.com"} // HR lacks the names
			it.ERP.City, it.ERP.InternationalID, it.ERP.Lastname = "", nil, "Nordmann"
			return it
		}, domain.Decisions{DefaultWinner: domain.SideHR, Missing: domain.MissingWinner}, domain.ItemPlan{
			Action: domain.ActionNothing, Notes: []string{domain.NoteRequiredKept, domain.NoteRequiredKept}}},
		{"NoPhoneToHRWhenHRForbidsIt", func() domain.Item {
			it := pair()
			it.HR.Values.Phone, it.ERP.Telefon = "", "+4790000009"
			it.Flags = domain.FlagNoPhoneToHR
			return it
		}, erpWins, domain.ItemPlan{Action: domain.ActionUpdate, ToERP: []domain.Field{S}, ToHR: []domain.Field{F, A, I}, Overwrites: true, Conflicts: 1,
			Notes: []string{domain.NotePhoneNotToHR}}},
		{"EqualIsNothing", func() domain.Item {
			h := hrRec("h1", "kari@example.com", "Kari", "N")
			e := erpRec("1", "KARI@example.com", "Kari", "N")
			return domain.Item{Kind: domain.Matched, HR: &h, ERP: &e}
		}, hrWins, domain.ItemPlan{Action: domain.ActionNothing}},
		{"HROnlyIsCreatedInTheERPWhenChosen", func() domain.Item {
			h := hrRec("h1", "kari@example.com", "Kari", "N")
			h.Values.Phone = "+4791234567"
			return domain.Item{Kind: domain.HROnly, HR: &h}
		}, domain.Decisions{DefaultWinner: domain.SideHR, AddToERP: true}, domain.ItemPlan{
			Action: domain.ActionCreateInERP, ToERP: []domain.Field{domain.FieldEmail, domain.FieldGivenName, F, P}}},
		{"HROnlyIsLeftWhenNotChosen", func() domain.Item {
			h := hrRec("h1", "kari@example.com", "Kari", "N")
			return domain.Item{Kind: domain.HROnly, HR: &h}
		}, domain.Decisions{DefaultWinner: domain.SideHR, AddToHR: true}, domain.ItemPlan{Action: domain.ActionNothing}},
		{"HROnlyMissingANameIsSkipped", func() domain.Item {
			h := hrRec("h1", "kari@example.com", "", "N")
			return domain.Item{Kind: domain.HROnly, HR: &h, Flags: domain.FlagCannotCreate}
		}, domain.Decisions{AddToERP: true}, domain.ItemPlan{Action: domain.ActionSkip}},
		{"ERPOnlyIsCreatedInHRWithoutATakenPhone", func() domain.Item {
			e := erpRec("9", "y@example.com", "Y", "Y")
			e.Telefon, e.Startdate = "+4790000009", "2020-02-01"
			return domain.Item{Kind: domain.ERPOnly, ERP: &e, Flags: domain.FlagNoPhoneToHR}
		}, domain.Decisions{AddToHR: true}, domain.ItemPlan{
			Action: domain.ActionCreateInHR, ToHR: []domain.Field{domain.FieldEmail, domain.FieldGivenName, F, S}, Notes: []string{domain.NotePhoneNotToHR}}},
		{"ERPOnlyIsLeftWhenNotChosen", func() domain.Item {
			e := erpRec("9", "y@example.com", "Y", "Y")
			return domain.Item{Kind: domain.ERPOnly, ERP: &e}
		}, domain.Decisions{AddToERP: true}, domain.ItemPlan{Action: domain.ActionNothing}},
		{"ARuleViolationSkips", func() domain.Item {
			it := pair()
			it.Flags = domain.FlagSkip
			return it
		}, hrWins, domain.ItemPlan{Action: domain.ActionSkip}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			it := c.item()
			require.Equal(t, c.want, domain.PlanItem(&it, c.d))
		})
	}
}

func TestWritingValuesAcrossTheMap(t *testing.T) {
	t.Parallel()
	v := domain.Values{
		Email: "kari@example.com", GivenName: "Kari", FamilyName: "N", Phone: "+4791234567", EndDate: "2026-01-31",
		Address:         domain.Address{Postaddress: "Storgata 1", Zipcode: "0155", City: "Oslo", CountryCode: "NO"},
		Identifications: []domain.Identification{{ID: "P1", CountryCode: "NO", Type: "passport"}, {ID: "X", CountryCode: "SE", Type: "id"}},
	}
	e := erp.Employee{ID: "1", Email: "old@example.com", Firstname: "Old", Telefon: "+4700000000"}
	fields := domain.ToERP(&e, v, []domain.Field{domain.FieldEmail, A, I, domain.FieldEndDate})
	require.Equal(t, []erp.Field{erp.FieldEmail, erp.FieldPostaddress, erp.FieldZipcode, erp.FieldCity, erp.FieldCountryCode, erp.FieldInternationalID, erp.FieldEnddate}, fields)
	require.Equal(t, erp.Employee{ID: "1", Email: "kari@example.com", Firstname: "Old", Telefon: "+4700000000", Enddate: "2026-01-31",
		Postaddress: "Storgata 1", Zipcode: "0155", City: "Oslo", CountryCode: "NO",
		InternationalID: &erp.InternationalID{ID: "P1", CountryCode: "NO", Type: "passport"}}, e)

	// The ERP's identification replaces HR's first and keeps HR's others.
	hv := v
	hv.Copy(I, domain.FromERP(erp.Employee{InternationalID: &erp.InternationalID{ID: "N9", CountryCode: "NO", Type: "national_id"}}))
	require.Equal(t, []domain.Identification{{ID: "N9", CountryCode: "NO", Type: "national_id"}, {ID: "X", CountryCode: "SE", Type: "id"}}, hv.Identifications)
	hv.Copy(I, domain.Values{})
	require.Empty(t, hv.Identifications)
	hv.Copy(P, domain.Values{Phone: "+4799999999"})
	require.Equal(t, "+4799999999", hv.Phone)
}

func TestOverThreshold(t *testing.T) {
	t.Parallel()
	require.False(t, domain.OverThreshold(20, 100, 20), "exactly the threshold goes on")
	require.True(t, domain.OverThreshold(21, 100, 20))
	require.True(t, domain.OverThreshold(1, 1, 0))
	require.False(t, domain.OverThreshold(0, 0, 20))
}

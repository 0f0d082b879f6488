package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

func hrRec(id, email, given, family string) domain.HRRecord {
	return domain.HRRecord{ID: id, Version: 3, Values: domain.Values{Email: email, GivenName: given, FamilyName: family}}
}

func erpRec(id, email, first, last string) erp.Employee {
	return erp.Employee{ID: id, Email: email, Firstname: first, Lastname: last}
}

func kinds(c domain.Comparison) map[string]domain.ItemKind {
	out := map[string]domain.ItemKind{}
	for _, it := range c.Items {
		k := ""
		if it.HR != nil {
			k += it.HR.ID
		}
		k += "/"
		if it.ERP != nil {
			k += it.ERP.ID
		}
		out[k] = it.Kind
	}
	return out
}

func TestCompare(t *testing.T) {
	t.Parallel()

	t.Run("MatchesByEmailIgnoringCaseAndSpaces", func(t *testing.T) {
		t.Parallel()
		c := domain.Compare(
			[]domain.HRRecord{hrRec("h1", "Kari@Example.com", "Kari", "N"), hrRec("h2", "ola@example.com", "Ola", "N")},
			[]erp.Employee{erpRec("1", " kari@example.COM", "Kari", "N"), erpRec("2", "per@example.com", "Per", "N")}, nil)
		require.Equal(t, map[string]domain.ItemKind{"h1/1": domain.Matched, "h2/": domain.HROnly, "/2": domain.ERPOnly}, kinds(c))
		require.Equal(t, domain.Totals{HR: 2, ERP: 2, Matched: 1, MissingInERP: 1, MissingInHR: 1, Unchanged: 1}, c.Totals)
	})
	t.Run("AnEarlierLinkWinsOverTheEmail", func(t *testing.T) {
		t.Parallel()
		// HR changed Kari's email; the link still pairs her with ERP 1, so
		// the email shows as a conflict instead of two strangers.
		c := domain.Compare(
			[]domain.HRRecord{hrRec("h1", "kari.new@example.com", "Kari", "N")},
			[]erp.Employee{erpRec("1", "kari@example.com", "Kari", "N")}, map[string]string{"h1": "1"})
		require.Equal(t, map[string]domain.ItemKind{"h1/1": domain.Matched}, kinds(c))
		require.Equal(t, 1, c.Totals.Conflicts)
		require.Equal(t, 1, c.Totals.EmployeesWithConflicts)
		// A link to an ERP employee that is gone falls back to the email.
		c = domain.Compare([]domain.HRRecord{hrRec("h1", "kari@example.com", "Kari", "N")},
			[]erp.Employee{erpRec("7", "kari@example.com", "Kari", "N")}, map[string]string{"h1": "1"})
		require.Equal(t, map[string]domain.ItemKind{"h1/7": domain.Matched}, kinds(c))
	})
	t.Run("ConflictsAndMissingValuesPerField", func(t *testing.T) {
		t.Parallel()
		h := hrRec("h1", "kari@example.com", "Kari", "Nordmann")
		h.Values.Phone = "+4791234567"
		h.Values.StartDate = "2024-01-15"
		h.Values.Identifications = []domain.Identification{{ID: "010190", CountryCode: "NO", Type: "national_id"}, {ID: "P1", CountryCode: "NO", Type: "passport"}}
		e := erpRec("1", "KARI@example.com", "Kari", "Hansen")
		e.Telefon = "+47 912 34 567"
		e.City = "Oslo"
		e.InternationalID = &erp.InternationalID{ID: "010190", CountryCode: "NO", Type: "national_id"}
		c := domain.Compare([]domain.HRRecord{h}, []erp.Employee{e}, nil)
		hv, ev := c.Items[0].HRValues(), c.Items[0].ERPValues()
		require.Equal(t, []domain.Diff{
			{Field: domain.FieldFamilyName, Kind: domain.Conflict},
			{Field: domain.FieldStartDate, Kind: domain.MissingInERP},
			{Field: domain.FieldAddress, Kind: domain.MissingInHR},
		}, domain.Differences(&hv, &ev), "email case, phone spacing and HR's second identification are no difference")
		require.Equal(t, "Oslo", ev.Show(domain.FieldAddress))
		require.Equal(t, "NO national_id 010190", hv.Show(domain.FieldIdentifications))
		require.Equal(t, domain.Totals{HR: 1, ERP: 1, Matched: 1, Conflicts: 1, EmployeesWithConflicts: 1, MissingValues: 2}, c.Totals)
	})
	t.Run("SharedEmailsInHRAreSkippedWithTheirERPMatch", func(t *testing.T) {
		t.Parallel()
		c := domain.Compare(
			[]domain.HRRecord{hrRec("h1", "kari@example.com", "Kari", "A"), hrRec("h2", "KARI@example.com", "Kari", "B"), hrRec("h3", "ola@example.com", "Ola", "C")},
			[]erp.Employee{erpRec("1", "kari@example.com", "Kari", "A"), erpRec("3", "ola@example.com", "Ola", "C")}, nil)
		require.Equal(t, map[string]domain.ItemKind{"h1/": domain.HROnly, "h2/": domain.HROnly, "h3/3": domain.Matched, "/1": domain.ERPOnly}, kinds(c))
		for _, it := range c.Items {
			require.Equal(t, it.Email() != "ola@example.com", it.Flags&domain.FlagSkip != 0, it.Email())
		}
		require.Len(t, c.Violations, 2)
		for _, v := range c.Violations {
			require.Equal(t, domain.DuplicateEmailInHR, v.Kind)
			require.Equal(t, domain.FieldEmail, v.Field)
		}
		require.Equal(t, domain.Totals{HR: 3, ERP: 2, Matched: 1, Unchanged: 1, Violations: 2}, c.Totals, "skipped items are not counted as missing")
	})
	t.Run("SharedEmailsInTheERPAreSkipped", func(t *testing.T) {
		t.Parallel()
		c := domain.Compare([]domain.HRRecord{hrRec("h1", "kari@example.com", "Kari", "A")},
			[]erp.Employee{erpRec("1", "kari@example.com", "Kari", "A"), erpRec("2", "Kari@Example.com", "Kari", "B")}, nil)
		require.Len(t, c.Violations, 2)
		require.Equal(t, domain.DuplicateEmailInERP, c.Violations[0].Kind)
		for _, it := range c.Items {
			require.NotZero(t, it.Flags&domain.FlagSkip)
		}
	})
	t.Run("SharedPhonesInHRBlockPhonesToHR", func(t *testing.T) {
		t.Parallel()
		a, b, x := hrRec("h1", "a@example.com", "A", "A"), hrRec("h2", "b@example.com", "B", "B"), hrRec("h3", "x@example.com", "X", "X")
		a.Values.Phone, b.Values.Phone, x.Values.Phone = "+4790000001", "+47 900 00 001", "+4790000009"
		y := erpRec("9", "y@example.com", "Y", "Y")
		y.Telefon = "+4790000009" // HR's X has it
		c := domain.Compare([]domain.HRRecord{a, b, x}, []erp.Employee{y}, nil)
		var phones []string
		for _, v := range c.Violations {
			require.Equal(t, domain.DuplicatePhoneInHR, v.Kind)
			phones = append(phones, v.Value)
		}
		require.Equal(t, []string{"+4790000001", "+47 900 00 001", "+4790000009"}, phones)
		require.NotZero(t, c.Items[0].Flags&domain.FlagNoPhoneToHR)
		require.NotZero(t, c.Items[1].Flags&domain.FlagNoPhoneToHR)
		require.Zero(t, c.Items[2].Flags&domain.FlagNoPhoneToHR, "X's own phone is not shared")
		require.NotZero(t, c.Items[3].Flags&domain.FlagNoPhoneToHR, "Y would take X's phone in HR")
		require.Zero(t, c.Items[0].Flags&domain.FlagSkip, "still synchronised")
	})
	t.Run("MissingRequiredValues", func(t *testing.T) {
		t.Parallel()
		c := domain.Compare(
			[]domain.HRRecord{hrRec("h1", "", "No", "Email"), hrRec("h2", "nogiven@example.com", "", "N"), hrRec("h3", "m@example.com", "", "M")},
			[]erp.Employee{erpRec("3", "m@example.com", "Mia", "M")}, nil)
		require.Len(t, c.Violations, 2)
		require.NotZero(t, c.Items[0].Flags&domain.FlagSkip, "no email: cannot be matched")
		require.NotZero(t, c.Items[1].Flags&domain.FlagCannotCreate)
		require.Zero(t, c.Items[1].Flags&domain.FlagSkip, "shown as missing in the ERP")
		require.Zero(t, c.Items[2].Flags, "a matched one gets the name from the ERP")
		require.Equal(t, 1, c.Totals.MissingInERP)
	})
}

package domain

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"rollcall.dev/services/sync/erp"
)

// Side is one side of a connection; the numbers are sync.v1.SyncSide's.
type Side int

// The sides.
const (
	SideHR  Side = 1
	SideERP Side = 2
)

// HRRecord is an HR employee as a synchronisation reads it.
type HRRecord struct {
	ID        string
	Version   uint64
	CompanyID string
	Values    Values
}

// FromERP expresses an ERP employee in HR's terms (seed 004's table read
// backwards): the address joined from its four parts, the one
// internationalID as a one-item list.
func FromERP(e erp.Employee) Values {
	v := Values{
		Email: e.Email, GivenName: e.Firstname, FamilyName: e.Lastname, Phone: e.Telefon,
		StartDate: e.Startdate, EndDate: e.Enddate,
		Address: Address{Postaddress: e.Postaddress, Zipcode: e.Zipcode, City: e.City, CountryCode: e.CountryCode},
	}
	if id := e.InternationalID; id != nil {
		v.Identifications = []Identification{{ID: id.ID, CountryCode: id.CountryCode, Type: id.Type}}
	}
	return v
}

// ToERP writes the listed HR fields of v onto e (the other fields of e are
// left) and returns the ERP fields they fill. The ERP holds one
// identification: HR's first.
func ToERP(e *erp.Employee, v Values, fields []Field) []erp.Field {
	var out []erp.Field
	for _, f := range fields {
		switch f {
		case FieldEmail:
			e.Email = v.Email
		case FieldGivenName:
			e.Firstname = v.GivenName
		case FieldFamilyName:
			e.Lastname = v.FamilyName
		case FieldPhone:
			e.Telefon = v.Phone
		case FieldStartDate:
			e.Startdate = v.StartDate
		case FieldEndDate:
			e.Enddate = v.EndDate
		case FieldAddress:
			e.Postaddress, e.Zipcode, e.City, e.CountryCode = v.Address.Postaddress, v.Address.Zipcode, v.Address.City, v.Address.CountryCode
		case FieldIdentifications:
			e.InternationalID = nil
			if len(v.Identifications) > 0 {
				id := v.Identifications[0]
				e.InternationalID = &erp.InternationalID{ID: id.ID, CountryCode: id.CountryCode, Type: id.Type}
			}
		}
		out = append(out, ERPFields[f]...)
	}
	return out
}

// Copy sets field f of v to from's value. For the identifications, the
// ERP's one replaces HR's first and HR's others stay (from is in the ERP's
// terms, with at most one).
func (v *Values) Copy(f Field, from Values) {
	if f != FieldIdentifications {
		v.copyField(f, &from)
		return
	}
	switch {
	case len(from.Identifications) == 0:
		v.Identifications = nil
	case len(v.Identifications) == 0:
		v.Identifications = slices.Clone(from.Identifications)
	default:
		v.Identifications = append([]Identification{from.Identifications[0]}, v.Identifications[1:]...)
	}
}

// normPhone drops the spaces, dashes and brackets people type in numbers:
// any white space (a copied number often holds no-break spaces or a tab),
// so a blank left at an end once a bracket or dash is gone counts as little
// as one inside.
func normPhone(s string) string {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c > ' ' && c < utf8.RuneSelf && c != '-' && c != '(' && c != ')'
	}
	if plain {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, s)
}

// Has reports whether v has a value for f.
func (v *Values) Has(f Field) bool {
	switch f {
	case FieldEmail:
		return strings.TrimSpace(v.Email) != ""
	case FieldGivenName:
		return strings.TrimSpace(v.GivenName) != ""
	case FieldFamilyName:
		return strings.TrimSpace(v.FamilyName) != ""
	case FieldPhone:
		return strings.TrimSpace(v.Phone) != ""
	case FieldStartDate:
		return v.StartDate != ""
	case FieldEndDate:
		return v.EndDate != ""
	case FieldAddress:
		a := v.Address
		return strings.TrimSpace(a.Postaddress+a.Zipcode+a.City+a.CountryCode) != ""
	case FieldIdentifications:
		return len(v.Identifications) > 0
	}
	return false
}

// Same reports whether a and b hold the same value for f, as the two
// systems mean it: emails compared case-insensitively, phones without the
// spaces people type, surrounding spaces ignored, the identifications by
// HR's first (the one the ERP holds).
func Same(f Field, a, b *Values) bool {
	t := strings.TrimSpace
	switch f {
	case FieldEmail:
		return strings.EqualFold(t(a.Email), t(b.Email))
	case FieldGivenName:
		return t(a.GivenName) == t(b.GivenName)
	case FieldFamilyName:
		return t(a.FamilyName) == t(b.FamilyName)
	case FieldPhone:
		return normPhone(t(a.Phone)) == normPhone(t(b.Phone))
	case FieldStartDate:
		return a.StartDate == b.StartDate
	case FieldEndDate:
		return a.EndDate == b.EndDate
	case FieldAddress:
		x, y := a.Address, b.Address
		return t(x.Postaddress) == t(y.Postaddress) && t(x.Zipcode) == t(y.Zipcode) && t(x.City) == t(y.City) &&
			strings.EqualFold(t(x.CountryCode), t(y.CountryCode))
	case FieldIdentifications:
		if len(a.Identifications) == 0 || len(b.Identifications) == 0 {
			return len(a.Identifications) == len(b.Identifications)
		}
		return a.Identifications[0] == b.Identifications[0]
	}
	return true
}

// Show formats v's value of f for an admin ("" when none).
func (v *Values) Show(f Field) string {
	switch f {
	case FieldEmail:
		return v.Email
	case FieldGivenName:
		return v.GivenName
	case FieldFamilyName:
		return v.FamilyName
	case FieldPhone:
		return v.Phone
	case FieldStartDate:
		return v.StartDate
	case FieldEndDate:
		return v.EndDate
	case FieldAddress:
		a := v.Address
		var parts []string
		if a.Postaddress != "" {
			parts = append(parts, a.Postaddress)
		}
		if z := strings.TrimSpace(a.Zipcode + " " + a.City); z != "" {
			parts = append(parts, z)
		}
		if a.CountryCode != "" {
			parts = append(parts, a.CountryCode)
		}
		return strings.Join(parts, ", ")
	case FieldIdentifications:
		if len(v.Identifications) == 0 {
			return ""
		}
		id := v.Identifications[0]
		return id.CountryCode + " " + id.Type + " " + id.ID
	}
	return ""
}

// DiffKind says how a field differs between the two sides.
type DiffKind int

// Diff kinds.
const (
	// Conflict: both sides have a value, and they differ.
	Conflict DiffKind = iota + 1
	// MissingInHR: only the ERP has a value.
	MissingInHR
	// MissingInERP: only HR has a value.
	MissingInERP
)

// Diff is one field that differs.
type Diff struct {
	Field Field
	Kind  DiffKind
}

// Differences lists the fields whose values differ between HR's and the
// ERP's, in HRFields order.
func Differences(hr, erpv *Values) []Diff {
	var out []Diff
	for _, f := range HRFields {
		if Same(f, hr, erpv) {
			continue
		}
		h, e := hr.Has(f), erpv.Has(f)
		switch {
		case h && e:
			out = append(out, Diff{Field: f, Kind: Conflict})
		case h:
			out = append(out, Diff{Field: f, Kind: MissingInERP})
		case e:
			out = append(out, Diff{Field: f, Kind: MissingInHR})
		}
	}
	return out
}

// ItemKind says where an employee was found.
type ItemKind int

// Item kinds.
const (
	// Matched: on both sides (by an earlier sync's link, or by email).
	Matched ItemKind = iota + 1
	// HROnly: in HR, not in the ERP.
	HROnly
	// ERPOnly: in the ERP, not in HR.
	ERPOnly
)

// Flags mark what rule violations mean for an item.
type Flags uint8

// Item flags.
const (
	// FlagSkip: the item breaks a rule that keeps it out of the run.
	FlagSkip Flags = 1 << iota
	// FlagNoPhoneToHR: HR must not get a phone for this employee (it is,
	// or would become, shared with another HR employee).
	FlagNoPhoneToHR
	// FlagCannotCreate: required values are missing, so the employee
	// cannot be created on the other side.
	FlagCannotCreate
)

// Item is one employee of a comparison: HR's record, the ERP's, or both.
type Item struct {
	Kind  ItemKind
	HR    *HRRecord
	ERP   *erp.Employee
	Flags Flags
}

// HRValues and ERPValues are the item's values in HR's terms (zero when
// that side has none).
func (it *Item) HRValues() Values {
	if it.HR == nil {
		return Values{}
	}
	return it.HR.Values
}

// ERPValues is the ERP's record in HR's terms.
func (it *Item) ERPValues() Values {
	if it.ERP == nil {
		return Values{}
	}
	return FromERP(*it.ERP)
}

// Email is the item's email, for matching and to show.
func (it *Item) Email() string {
	if it.HR != nil {
		return it.HR.Values.Email
	}
	if it.ERP != nil {
		return it.ERP.Email
	}
	return ""
}

// Name is the item's full name, to show.
func (it *Item) Name() string {
	if it.HR != nil {
		return strings.TrimSpace(it.HR.Values.GivenName + " " + it.HR.Values.FamilyName)
	}
	if it.ERP != nil {
		return strings.TrimSpace(it.ERP.Firstname + " " + it.ERP.Lastname)
	}
	return ""
}

// ViolationKind is a rule the data breaks; the numbers are
// sync.v1.RuleViolationKind's.
type ViolationKind int

// Violation kinds.
const (
	DuplicateEmailInHR   ViolationKind = 1
	DuplicatePhoneInHR   ViolationKind = 2
	DuplicateEmailInERP  ViolationKind = 3
	MissingRequiredValue ViolationKind = 4
)

// Violation details: why each rule violation matters, and what the run
// does about it.
const (
	DetailDuplicateEmailInHR  = "HR employees share this email (HR and the ERP require it unique): left out until HR fixes it"
	DetailDuplicateEmailInERP = "ERP employees share this email: left out until the ERP is fixed"
	DetailDuplicatePhoneInHR  = "HR employees share this phone (HR requires it unique): synchronised, but no phone is written to HR for them"
	DetailERPPhoneTakenInHR   = "the ERP's phone belongs to another HR employee (HR requires it unique): it is not written to HR"
	DetailNoEmail             = "no email: cannot be matched or created; left out"
	DetailRequiredMissing     = "a required value is missing: cannot be created on the other side"
)

// ViolationDetails lists every Detail a comparison gives (so a translation
// of them can be checked for completeness).
var ViolationDetails = []string{
	DetailDuplicateEmailInHR, DetailDuplicateEmailInERP, DetailDuplicatePhoneInHR, DetailERPPhoneTakenInHR,
	DetailNoEmail, DetailRequiredMissing,
}

// Violation is one employee breaking one rule.
type Violation struct {
	Kind ViolationKind
	// Item is the index of the item in Comparison.Items.
	Item   int
	Field  Field
	Value  string
	Detail string
}

// Totals count a comparison's findings.
type Totals struct {
	HR, ERP, Matched, Conflicts, EmployeesWithConflicts, MissingValues, MissingInERP, MissingInHR, Violations int
	// Unchanged are matched employees equal on both sides.
	Unchanged int
}

// Comparison is both sides laid side by side.
type Comparison struct {
	Items      []Item
	Violations []Violation
	Totals     Totals
}

// Compare matches HR's employees with the ERP's — first by an earlier
// sync's links (HR id -> ERP id), then by email, case-insensitively — and
// finds the rule violations: emails shared within one side (those
// employees are skipped: no one can tell which is which), phones shared in
// HR (HR requires them unique: no phone is written to HR for them, nor an
// ERP phone another HR employee has), and missing required values (those
// cannot be created on the other side).
//
// Items come in HR's order, then the ERP-only ones in the ERP's order, so
// the same input always gives the same comparison.
func Compare(hrs []HRRecord, erps []erp.Employee, links map[string]string) Comparison {
	c := Comparison{Items: make([]Item, 0, len(hrs)+len(erps)/8)}
	c.Totals.HR, c.Totals.ERP = len(hrs), len(erps)

	erpIdx := make(map[string]int, len(erps))
	erpByEmail := make(map[string][]int, len(erps))
	for i := range erps {
		erpIdx[erps[i].ID] = i
		if k := emailKey(erps[i].Email); k != "" {
			erpByEmail[k] = append(erpByEmail[k], i)
		}
	}
	hrByEmail := make(map[string][]int, len(hrs))
	hrByPhone := make(map[string][]int)
	for i := range hrs {
		if k := emailKey(hrs[i].Values.Email); k != "" {
			hrByEmail[k] = append(hrByEmail[k], i)
		}
		if p := normPhone(strings.TrimSpace(hrs[i].Values.Phone)); p != "" {
			hrByPhone[p] = append(hrByPhone[p], i)
		}
	}

	erpTaken := make([]bool, len(erps))
	erpItem := make([]int, len(erps)) // item index of a taken ERP employee
	hrItem := make([]int, len(hrs))
	violate := func(kind ViolationKind, item int, f Field, value, detail string) {
		c.Violations = append(c.Violations, Violation{Kind: kind, Item: item, Field: f, Value: value, Detail: detail})
	}

	for i := range hrs {
		h := &hrs[i]
		it := Item{Kind: HROnly, HR: h}
		if id, ok := links[h.ID]; ok {
			if j, ok := erpIdx[id]; ok && !erpTaken[j] {
				it.Kind, it.ERP, erpTaken[j] = Matched, &erps[j], true
			}
		}
		if it.Kind != Matched {
			k := emailKey(h.Values.Email)
			if k != "" && len(hrByEmail[k]) == 1 && len(erpByEmail[k]) == 1 && !erpTaken[erpByEmail[k][0]] {
				j := erpByEmail[k][0]
				it.Kind, it.ERP, erpTaken[j] = Matched, &erps[j], true
			}
		}
		hrItem[i] = len(c.Items)
		if it.ERP != nil {
			erpItem[erpIdx[it.ERP.ID]] = len(c.Items)
		}
		c.Items = append(c.Items, it)
	}
	for j := range erps {
		if erpTaken[j] {
			continue
		}
		erpItem[j] = len(c.Items)
		c.Items = append(c.Items, Item{Kind: ERPOnly, ERP: &erps[j]})
	}

	// Shared emails: every employee involved that is not already paired by
	// a link is skipped, on both sides. (Walked in each side's order, so
	// the violations come out in a stable order.)
	for i := range hrs {
		k := emailKey(hrs[i].Values.Email)
		if len(hrByEmail[k]) < 2 {
			continue
		}
		n := hrItem[i]
		if c.Items[n].Kind != Matched {
			c.Items[n].Flags |= FlagSkip
		}
		violate(DuplicateEmailInHR, n, FieldEmail, hrs[i].Values.Email, DetailDuplicateEmailInHR)
		for _, j := range erpByEmail[k] {
			if m := erpItem[j]; c.Items[m].Kind == ERPOnly {
				c.Items[m].Flags |= FlagSkip
			}
		}
	}
	for j := range erps {
		k := emailKey(erps[j].Email)
		if len(erpByEmail[k]) < 2 {
			continue
		}
		n := erpItem[j]
		if c.Items[n].Kind != Matched {
			c.Items[n].Flags |= FlagSkip
		}
		violate(DuplicateEmailInERP, n, FieldEmail, erps[j].Email, DetailDuplicateEmailInERP)
		for _, i := range hrByEmail[k] {
			if m := hrItem[i]; c.Items[m].Kind == HROnly {
				c.Items[m].Flags |= FlagSkip
			}
		}
	}
	// Shared phones in HR.
	for i := range hrs {
		p := normPhone(strings.TrimSpace(hrs[i].Values.Phone))
		if len(hrByPhone[p]) < 2 {
			continue
		}
		n := hrItem[i]
		c.Items[n].Flags |= FlagNoPhoneToHR
		violate(DuplicatePhoneInHR, n, FieldPhone, hrs[i].Values.Phone, DetailDuplicatePhoneInHR)
	}
	// An ERP phone that HR gives another employee cannot be written to HR.
	for n := range c.Items {
		it := &c.Items[n]
		if it.ERP == nil || it.Flags&FlagNoPhoneToHR != 0 {
			continue
		}
		p := normPhone(strings.TrimSpace(it.ERP.Telefon))
		if p == "" {
			continue
		}
		for _, i := range hrByPhone[p] {
			if it.HR != &hrs[i] {
				it.Flags |= FlagNoPhoneToHR
				violate(DuplicatePhoneInHR, n, FieldPhone, it.ERP.Telefon, DetailERPPhoneTakenInHR)
				break
			}
		}
	}
	// Missing required values.
	for n := range c.Items {
		it := &c.Items[n]
		if it.Flags&FlagSkip != 0 {
			continue
		}
		v := it.HRValues()
		if it.Kind == ERPOnly {
			v = it.ERPValues()
		}
		for _, f := range []Field{FieldEmail, FieldGivenName, FieldFamilyName} {
			if v.Has(f) {
				continue
			}
			if f == FieldEmail || it.Kind == Matched {
				// No email: it cannot be matched or created; a matched
				// employee missing a name gets it from the other side.
				if f == FieldEmail {
					it.Flags |= FlagSkip
					violate(MissingRequiredValue, n, f, "", DetailNoEmail)
				}
				continue
			}
			it.Flags |= FlagCannotCreate
			violate(MissingRequiredValue, n, f, "", DetailRequiredMissing)
		}
	}

	for n := range c.Items {
		it := &c.Items[n]
		if it.Flags&FlagSkip != 0 {
			continue
		}
		switch it.Kind {
		case Matched:
			c.Totals.Matched++
			h, e := it.HRValues(), it.ERPValues()
			conflicts := 0
			diffs := Differences(&h, &e)
			for _, d := range diffs {
				if d.Kind == Conflict {
					conflicts++
				} else {
					c.Totals.MissingValues++
				}
			}
			c.Totals.Conflicts += conflicts
			if conflicts > 0 {
				c.Totals.EmployeesWithConflicts++
			}
			if len(diffs) == 0 {
				c.Totals.Unchanged++
			}
		case HROnly:
			c.Totals.MissingInERP++
		case ERPOnly:
			c.Totals.MissingInHR++
		}
	}
	c.Totals.Violations = len(c.Violations)
	return c
}

func emailKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

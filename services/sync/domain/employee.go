package domain

import (
	"slices"
	"time"

	"rollcall.dev/services/sync/erp"
)

// Field is a supported HR field; the numbers are hr.v1.EmployeeField's.
type Field int

// The supported HR fields (seed 004).
const (
	FieldEmail           Field = 1
	FieldGivenName       Field = 2
	FieldFamilyName      Field = 3
	FieldPhone           Field = 4
	FieldStartDate       Field = 5
	FieldEndDate         Field = 6
	FieldAddress         Field = 7
	FieldIdentifications Field = 8
)

// HRFields lists the supported HR fields in order.
var HRFields = []Field{FieldEmail, FieldGivenName, FieldFamilyName, FieldPhone, FieldStartDate, FieldEndDate, FieldAddress, FieldIdentifications}

// ERPFields maps each HR field to the ERP fields it fills (seed 004's
// table): the address is split into four.
var ERPFields = map[Field][]erp.Field{
	FieldEmail:           {erp.FieldEmail},
	FieldGivenName:       {erp.FieldFirstname},
	FieldFamilyName:      {erp.FieldLastname},
	FieldPhone:           {erp.FieldTelefon},
	FieldStartDate:       {erp.FieldStartdate},
	FieldEndDate:         {erp.FieldEnddate},
	FieldAddress:         {erp.FieldPostaddress, erp.FieldZipcode, erp.FieldCity, erp.FieldCountryCode},
	FieldIdentifications: {erp.FieldInternationalID},
}

// HRFieldOf is the HR field an ERP field comes from.
func HRFieldOf(f erp.Field) Field {
	for hf, fs := range ERPFields {
		if slices.Contains(fs, f) {
			return hf
		}
	}
	return 0
}

// Operation is what happened in HR.
type Operation int

// Operations; the numbers are hr.v1.EmployeeOperation's.
const (
	OpCreated  Operation = 1
	OpUpdated  Operation = 2
	OpDeleted  Operation = 3
	OpSnapshot Operation = 4
)

// Address is a postal address; "" is no value.
type Address struct {
	Postaddress string `json:"postaddress,omitempty"`
	Zipcode     string `json:"zipcode,omitempty"`
	City        string `json:"city,omitempty"`
	CountryCode string `json:"countryCode,omitempty"`
}

// Identification is an identity document or number.
type Identification struct {
	ID          string `json:"id"`
	CountryCode string `json:"countryCode"`
	Type        string `json:"type"`
}

// Values are an employee's supported HR fields; "" and nil are no value.
// Dates are YYYY-MM-DD.
type Values struct {
	Email           string           `json:"email,omitempty"`
	GivenName       string           `json:"givenName,omitempty"`
	FamilyName      string           `json:"familyName,omitempty"`
	Phone           string           `json:"phone,omitempty"`
	StartDate       string           `json:"startDate,omitempty"`
	EndDate         string           `json:"endDate,omitempty"`
	Address         Address          `json:"address"`
	Identifications []Identification `json:"identifications,omitempty"`
}

func (v *Values) copyField(f Field, from *Values) {
	switch f {
	case FieldEmail:
		v.Email = from.Email
	case FieldGivenName:
		v.GivenName = from.GivenName
	case FieldFamilyName:
		v.FamilyName = from.FamilyName
	case FieldPhone:
		v.Phone = from.Phone
	case FieldStartDate:
		v.StartDate = from.StartDate
	case FieldEndDate:
		v.EndDate = from.EndDate
	case FieldAddress:
		v.Address = from.Address
	case FieldIdentifications:
		v.Identifications = slices.Clone(from.Identifications)
	}
}

// Change is one FieldChanged, translated.
type Change struct {
	Op        Operation
	Version   uint64
	ChangedAt time.Time
	// Fields are the fields present in the event (for a snapshot: ignored,
	// every field is stated).
	Fields []Field
	// Values hold the new values of Fields.
	Values Values
}

// HRState is what the sync service knows of one employee in HR: the value
// of every field, each with the HR version that set it.
type HRState struct {
	Values Values `json:"values"`
	// Versions holds, per field, the HR version of its value (0: HR never
	// said anything about it, so the ERP's value is left alone).
	Versions map[Field]uint64 `json:"versions"`
	// ChangedAt holds, per field, when HR changed it.
	ChangedAt map[Field]time.Time `json:"changedAt"`
	// Removed is whether the employee was deleted in HR, as of
	// ExistenceVersion.
	Removed          bool   `json:"removed"`
	ExistenceVersion uint64 `json:"existenceVersion"`
	// Version is the highest HR version applied.
	Version uint64 `json:"version"`
}

// Apply merges c field by field: a field takes c's value only when c is newer
// than what set it. It reports whether anything changed (false for a
// duplicate or a change older than everything it touches).
func (s *HRState) Apply(c Change) bool {
	if s.Versions == nil {
		s.Versions = map[Field]uint64{}
	}
	if s.ChangedAt == nil {
		s.ChangedAt = map[Field]time.Time{}
	}
	changed := false
	if c.Version > s.ExistenceVersion {
		removed := c.Op == OpDeleted
		if removed != s.Removed || s.ExistenceVersion == 0 {
			changed = true
		}
		s.Removed, s.ExistenceVersion = removed, c.Version
	}
	fields := c.Fields
	if c.Op == OpSnapshot {
		fields = HRFields
	}
	if c.Op == OpDeleted {
		fields = nil
	}
	for _, f := range fields {
		if c.Version <= s.Versions[f] {
			continue
		}
		s.Values.copyField(f, &c.Values)
		s.Versions[f] = c.Version
		s.ChangedAt[f] = c.ChangedAt
		changed = true
	}
	if changed && c.Version > s.Version {
		s.Version = c.Version
	}
	return changed
}

// Known reports whether HR ever created the employee (an update of an
// employee never created is known too: HR's creation may have been missed).
func (s *HRState) Known() bool { return s.ExistenceVersion > 0 }

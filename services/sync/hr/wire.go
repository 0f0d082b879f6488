package hr

import (
	"rollcall.dev/services/sync/domain"
)

// User is an employee as the HR API spells it in JSON — the same shape the
// HR webhook delivers (ports.WebhookUser), so one vocabulary covers both
// directions. Absent or null fields have no value.
type User struct {
	ID                  string           `json:"id,omitempty"`
	Version             uint64           `json:"version,omitempty"`
	CompanyID           string           `json:"companyId,omitempty"`
	Email               string           `json:"email,omitempty"`
	GivenName           string           `json:"givenName,omitempty"`
	FamilyName          string           `json:"familyName,omitempty"`
	Phone               string           `json:"phone,omitempty"`
	EmploymentStartDate string           `json:"employmentStartDate,omitempty"`
	EmploymentEndDate   string           `json:"employmentEndDate,omitempty"`
	Address             *Address         `json:"address,omitempty"`
	Identifications     []Identification `json:"identifications,omitempty"`
}

// Address is a user's postal address.
type Address struct {
	Street      string `json:"street,omitempty"`
	PostalCode  string `json:"postalCode,omitempty"`
	City        string `json:"city,omitempty"`
	CountryCode string `json:"countryCode,omitempty"`
}

// Identification is an identity document or number.
type Identification struct {
	ID          string `json:"id"`
	CountryCode string `json:"countryCode"`
	Type        string `json:"type"`
}

// FieldNames are the JSON names of the supported fields, as in the
// webhook's changedFields.
var FieldNames = map[domain.Field]string{
	domain.FieldEmail: "email", domain.FieldGivenName: "givenName", domain.FieldFamilyName: "familyName",
	domain.FieldPhone: "phone", domain.FieldStartDate: "employmentStartDate", domain.FieldEndDate: "employmentEndDate",
	domain.FieldAddress: "address", domain.FieldIdentifications: "identifications",
}

// Employee converts u.
func (u User) Employee() Employee {
	e := Employee{ID: u.ID, Version: u.Version, CompanyID: u.CompanyID, Values: domain.Values{
		Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, Phone: u.Phone,
		StartDate: u.EmploymentStartDate, EndDate: u.EmploymentEndDate,
	}}
	if a := u.Address; a != nil {
		e.Address = domain.Address{Postaddress: a.Street, Zipcode: a.PostalCode, City: a.City, CountryCode: a.CountryCode}
	}
	for _, id := range u.Identifications {
		e.Identifications = append(e.Identifications, domain.Identification(id))
	}
	return e
}

// UserOf converts e.
func UserOf(e Employee) User {
	u := User{
		ID: e.ID, Version: e.Version, CompanyID: e.CompanyID, Email: e.Email, GivenName: e.GivenName,
		FamilyName: e.FamilyName, Phone: e.Phone, EmploymentStartDate: e.StartDate, EmploymentEndDate: e.EndDate,
		Address: addressOf(e.Address),
	}
	for _, id := range e.Identifications {
		u.Identifications = append(u.Identifications, Identification(id))
	}
	return u
}

func addressOf(a domain.Address) *Address {
	if a == (domain.Address{}) {
		return nil
	}
	return &Address{Street: a.Postaddress, PostalCode: a.Zipcode, City: a.City, CountryCode: a.CountryCode}
}

// Patch is the body of an update: the listed fields of v, each null when v
// has no value for it (HR clears it).
func Patch(v domain.Values, fields []domain.Field) map[string]any {
	u := UserOf(Employee{Values: v})
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		name := FieldNames[f]
		var val any
		switch f {
		case domain.FieldEmail:
			val = nonEmpty(u.Email)
		case domain.FieldGivenName:
			val = nonEmpty(u.GivenName)
		case domain.FieldFamilyName:
			val = nonEmpty(u.FamilyName)
		case domain.FieldPhone:
			val = nonEmpty(u.Phone)
		case domain.FieldStartDate:
			val = nonEmpty(u.EmploymentStartDate)
		case domain.FieldEndDate:
			val = nonEmpty(u.EmploymentEndDate)
		case domain.FieldAddress:
			if u.Address != nil {
				val = u.Address
			}
		case domain.FieldIdentifications:
			if len(u.Identifications) > 0 {
				val = u.Identifications
			}
		default:
			continue
		}
		out[name] = val
	}
	return out
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

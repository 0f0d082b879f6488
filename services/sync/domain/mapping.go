package domain

import (
	"time"

	"rollcall.dev/services/sync/erp"
)

// Reasons given to the ERP with an end date (it requires one).
const (
	ReasonEnded   = "Employment ended in HR"
	ReasonRemoved = "Removed from HR"
)

// Desired is the ERP record HR's state asks for.
type Desired struct {
	Employee erp.Employee
	// Managed are the ERP fields HR decides, in erp.Fields order: those
	// whose HR field HR has stated. The others are left as the ERP has them.
	Managed []erp.Field
	// KeepIdentification: HR has no identification, and the ERP's
	// internationalID cannot be unset, so it is left (seed 004).
	KeepIdentification bool
	// EndReason goes with a non-empty end date.
	EndReason string
	// HRVersions gives, per managed ERP field, the HR version of its value.
	HRVersions map[erp.Field]uint64
}

// Desired maps HR's state onto the ERP's fields (seed 004's table). A
// removed employee gets an end date: HR's own, or today.
func (s *HRState) Desired(today string) Desired {
	v := s.Values
	d := Desired{
		Employee: erp.Employee{
			Email: v.Email, Firstname: v.GivenName, Lastname: v.FamilyName, Telefon: v.Phone,
			Startdate: v.StartDate, Enddate: v.EndDate, Postaddress: v.Address.Postaddress,
			Zipcode: v.Address.Zipcode, City: v.Address.City, CountryCode: v.Address.CountryCode,
		},
		HRVersions: map[erp.Field]uint64{},
		EndReason:  ReasonEnded,
	}
	if len(v.Identifications) > 0 {
		id := v.Identifications[0] // the ERP holds one; HR's first wins
		d.Employee.InternationalID = &erp.InternationalID{ID: id.ID, CountryCode: id.CountryCode, Type: id.Type}
	}
	for _, f := range erp.Fields {
		hf := HRFieldOf(f)
		ver := s.Versions[hf]
		if f == erp.FieldEnddate && s.Removed {
			if d.Employee.Enddate == "" {
				d.Employee.Enddate = today
			}
			d.EndReason = ReasonRemoved
			if ver < s.ExistenceVersion {
				ver = s.ExistenceVersion
			}
		}
		if ver == 0 {
			continue
		}
		if f == erp.FieldInternationalID && d.Employee.InternationalID == nil {
			d.KeepIdentification = true
			continue
		}
		d.Managed = append(d.Managed, f)
		d.HRVersions[f] = ver
	}
	return d
}

// Plan is what to write to bring the ERP to Desired: only what differs.
type Plan struct {
	// Update are the fields to write with Connector.Update.
	Update []erp.Field
	// SetEnd: write Enddate (with Reason) through Connector.SetEndDate.
	SetEnd  bool
	Enddate string
	Reason  string
	// Unchanged are managed fields the ERP already has.
	Unchanged []erp.Field
	// LeftIdentification: HR unset the identification and the ERP still
	// has one; it is left as it is.
	LeftIdentification bool
}

// Written lists the fields the plan writes.
func (p Plan) Written() []erp.Field {
	out := append([]erp.Field(nil), p.Update...)
	if p.SetEnd {
		out = append(out, erp.FieldEnddate)
	}
	return out
}

// Empty reports whether nothing needs writing.
func (p Plan) Empty() bool { return len(p.Update) == 0 && !p.SetEnd }

// PlanWrite compares the desired record with the ERP's and lists the
// differences.
func PlanWrite(d Desired, have erp.Employee) Plan {
	var p Plan
	for _, f := range d.Managed {
		if d.Employee.Get(f) == have.Get(f) {
			p.Unchanged = append(p.Unchanged, f)
			continue
		}
		if f == erp.FieldEnddate {
			p.SetEnd, p.Enddate = true, d.Employee.Enddate
			if p.Enddate != "" {
				p.Reason = d.EndReason
			}
			continue
		}
		p.Update = append(p.Update, f)
	}
	p.LeftIdentification = d.KeepIdentification && have.InternationalID != nil
	return p
}

// Provenance says which system last wrote an ERP field's value, when, and
// at which HR version.
type Provenance struct {
	System    string    `json:"system"` // "hr" (written by the sync) or "erp" (found there)
	At        time.Time `json:"at"`
	HRVersion uint64    `json:"hrVersion,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// Provenance systems.
const (
	SystemHR  = "hr"
	SystemERP = "erp"
)

// NoteIdentificationLeft records that an unset identification was left.
const NoteIdentificationLeft = "HR unset the identifications; the ERP cannot unset internationalID, so its value was left"

// Record updates prov after p was carried out at now.
func (p Plan) Record(prov map[erp.Field]Provenance, d Desired, now time.Time) map[erp.Field]Provenance {
	if prov == nil {
		prov = map[erp.Field]Provenance{}
	}
	for _, f := range p.Written() {
		prov[f] = Provenance{System: SystemHR, At: now, HRVersion: d.HRVersions[f]}
	}
	for _, f := range p.Unchanged {
		if cur, ok := prov[f]; !ok || cur.HRVersion < d.HRVersions[f] {
			prov[f] = Provenance{System: SystemERP, At: now, HRVersion: d.HRVersions[f], Note: "the ERP already had HR's value"}
		}
	}
	if p.LeftIdentification {
		prov[erp.FieldInternationalID] = Provenance{System: SystemERP, At: now, Note: NoteIdentificationLeft}
	}
	return prov
}

package domain

// MissingPolicy says what happens to a value set on one side only; the
// numbers are sync.v1.MissingValues'.
type MissingPolicy int

// Missing-value policies.
const (
	// MissingFill copies the value to the side that lacks it (the default:
	// filling never loses a value).
	MissingFill MissingPolicy = 1
	// MissingWinner applies the winning side's state: a value the winner
	// lacks is cleared on the other side.
	MissingWinner MissingPolicy = 2
)

// ResolutionKey names one employee's field.
type ResolutionKey struct {
	HRID  string
	Field Field
}

// Decisions are the admin's choices on a preview (seed 004, step 3).
type Decisions struct {
	// DefaultWinner wins every conflict not in Resolutions.
	DefaultWinner Side
	// Resolutions override the winner per employee (HR id) and field; they
	// apply to missing values too (the winner's state applies).
	Resolutions map[ResolutionKey]Side
	// Missing is the policy for missing values not in Resolutions.
	Missing MissingPolicy
	// AddToERP creates HR-only employees in the ERP; AddToHR creates
	// ERP-only employees in HR.
	AddToERP, AddToHR bool
}

// Action is what a run does with one item.
type Action int

// Actions.
const (
	// ActionNothing: equal on both sides, or not chosen (an HR-only
	// employee while AddToERP is off).
	ActionNothing Action = iota + 1
	// ActionUpdate: write fields to one side or both.
	ActionUpdate
	// ActionCreateInERP: create the HR employee in the ERP.
	ActionCreateInERP
	// ActionCreateInHR: create the ERP employee in HR.
	ActionCreateInHR
	// ActionSkip: left out by a rule violation.
	ActionSkip
)

// ItemPlan is what a run does with one item.
type ItemPlan struct {
	Action Action
	// ToERP are the HR fields whose HR value is written to the ERP; ToHR
	// those whose ERP value is written to HR. For a create, the fields the
	// new record gets.
	ToERP, ToHR []Field
	// Overwrites: an existing value is replaced or cleared (the run's
	// threshold counts these employees).
	Overwrites bool
	// Conflicts is the number of conflicting fields the decisions resolved.
	Conflicts int
	// Notes say what was left and why (shown in the report).
	Notes []string
}

// Note texts.
const (
	NoteIdentificationKept = "internationalID cannot be unset in the ERP: left as the ERP has it"
	NotePhoneNotToHR       = "the phone is not written to HR: another HR employee has it (HR requires it unique)"
	NoteRequiredKept       = "a required value cannot be cleared: left as it is"
)

// PlanNotes lists every note a plan gives (so a translation of them can be
// checked for completeness).
var PlanNotes = []string{NoteIdentificationKept, NotePhoneNotToHR, NoteRequiredKept}

func (d Decisions) winner(hrID string, f Field) (Side, bool) {
	if s, ok := d.Resolutions[ResolutionKey{HRID: hrID, Field: f}]; ok {
		return s, true
	}
	return d.DefaultWinner, false
}

// PlanItem decides what a run does with it under d. It depends only on the
// item (as the preview saw it) and d, so a run resumed after a crash plans
// exactly what it planned before.
func PlanItem(it *Item, d Decisions) ItemPlan {
	if it.Flags&FlagSkip != 0 {
		return ItemPlan{Action: ActionSkip}
	}
	switch it.Kind {
	case HROnly:
		if !d.AddToERP {
			return ItemPlan{Action: ActionNothing}
		}
		if it.Flags&FlagCannotCreate != 0 {
			return ItemPlan{Action: ActionSkip}
		}
		v := it.HRValues()
		p := ItemPlan{Action: ActionCreateInERP}
		for _, f := range HRFields {
			if v.Has(f) {
				p.ToERP = append(p.ToERP, f)
			}
		}
		return p
	case ERPOnly:
		if !d.AddToHR {
			return ItemPlan{Action: ActionNothing}
		}
		if it.Flags&FlagCannotCreate != 0 {
			return ItemPlan{Action: ActionSkip}
		}
		v := it.ERPValues()
		p := ItemPlan{Action: ActionCreateInHR}
		for _, f := range HRFields {
			if !v.Has(f) {
				continue
			}
			if f == FieldPhone && it.Flags&FlagNoPhoneToHR != 0 {
				p.Notes = append(p.Notes, NotePhoneNotToHR)
				continue
			}
			p.ToHR = append(p.ToHR, f)
		}
		return p
	}
	h, e := it.HRValues(), it.ERPValues()
	p := ItemPlan{Action: ActionNothing}
	for _, diff := range Differences(&h, &e) {
		f := diff.Field
		w, explicit := d.winner(it.HR.ID, f)
		to := Side(0) // the side written
		switch diff.Kind {
		case Conflict:
			to = other(w)
		case MissingInERP: // HR has it
			to = SideERP
			if w == SideERP && (explicit || d.Missing == MissingWinner) {
				to = SideHR // the ERP's "no value" wins: clear it in HR
			}
		case MissingInHR: // the ERP has it
			to = SideHR
			if w == SideHR && (explicit || d.Missing == MissingWinner) {
				to = SideERP // HR's "no value" wins: clear it in the ERP
			}
		}
		clearing := (to == SideERP && !h.Has(f)) || (to == SideHR && !e.Has(f))
		switch {
		case clearing && (f == FieldEmail || f == FieldGivenName || f == FieldFamilyName):
			p.Notes = append(p.Notes, NoteRequiredKept)
			continue
		case clearing && to == SideERP && f == FieldIdentifications:
			p.Notes = append(p.Notes, NoteIdentificationKept)
			continue
		case to == SideHR && f == FieldPhone && it.Flags&FlagNoPhoneToHR != 0 && e.Has(f):
			p.Notes = append(p.Notes, NotePhoneNotToHR)
			continue
		}
		if to == SideERP {
			p.ToERP = append(p.ToERP, f)
		} else {
			p.ToHR = append(p.ToHR, f)
		}
		if diff.Kind == Conflict {
			p.Conflicts++
		}
		if diff.Kind == Conflict || clearing {
			p.Overwrites = true
		}
	}
	if len(p.ToERP) > 0 || len(p.ToHR) > 0 {
		p.Action = ActionUpdate
	}
	return p
}

func other(s Side) Side {
	if s == SideHR {
		return SideERP
	}
	return SideHR
}

// OverThreshold reports whether affected employees out of total exceed
// percent of them (the run then waits for the admin's confirmation).
func OverThreshold(affected, total, percent int) bool {
	return total > 0 && affected*100 > percent*total
}

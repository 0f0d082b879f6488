package domain

import (
	"fmt"
	"slices"
	"time"
)

// OverflowMode is what happens when a tenant is at its limit and another
// integrator is invited (numbered as the contract's OverflowMode).
type OverflowMode int

// Overflow modes.
const (
	// ReplaceCurrent (seed 003, the default): inviting another integrator
	// automatically dismisses the current one.
	ReplaceCurrent OverflowMode = 1
	// AdminChooses: nobody is dismissed automatically; a newcomer accepted
	// over the limit waits until an administrator dismisses someone.
	AdminChooses OverflowMode = 2
)

// MaxLimit is the most integrators a policy may allow at once.
const MaxLimit = 10

// Policy is a tenant's integrator policy.
type Policy struct {
	MaxActive int
	Overflow  OverflowMode
	UpdatedAt time.Time // zero: never set (the defaults)
	UpdatedBy string
}

// DefaultPolicy is seed 003: one active integrator, replaced on invitation.
func DefaultPolicy() Policy { return Policy{MaxActive: 1, Overflow: ReplaceCurrent} }

// State is where an integrator stands.
type State string

// States. Active and Waiting are current; the others are ended.
const (
	Active     State = "active"
	Waiting    State = "waiting"
	Replaced   State = "replaced"
	Dismissed  State = "dismissed"
	Superseded State = "superseded"
)

// Current reports whether the state is active or waiting.
func (s State) Current() bool { return s == Active || s == Waiting }

// DismissalReason is why an integrator's access ended (numbered as the
// contract's DismissalReason).
type DismissalReason int

// Dismissal reasons.
const (
	ReasonAdmin               DismissalReason = 1
	ReasonPartnerUnregistered DismissalReason = 2
	ReasonSuperseded          DismissalReason = 3
	// ReasonReplaced is not a contract DismissalReason: a replacement is
	// announced with IntegratorReplaced.
	ReasonReplaced DismissalReason = 100
)

// Integrator is one accepted integrator invitation of a tenant.
type Integrator struct {
	InvitationID string
	UserID       string
	PartnerID    string
	Email        string
	State        State
	InvitedAt    time.Time // when his invitation was made: the newer wins
	Since        time.Time // active or waiting since
	EndedAt      time.Time
	EndReason    DismissalReason
	EndedBy      string // the administrator, when one dismissed him
	Note         string
}

// Invitation is an integrator invitation the tenant made
// (invitation.v1.UserInvited of kind INTEGRATOR).
type Invitation struct {
	TenantID     string
	InvitationID string
	PartnerID    string
	Email        string // lowercase
	InvitedAt    time.Time
}

// Acceptance is an accepted integrator invitation
// (invitation.v1.InviteAccepted of kind INTEGRATOR).
type Acceptance struct {
	Invitation
	UserID     string
	AcceptedAt time.Time
}

// Tenant is the aggregate the invariant lives in: its policy and its
// current integrators. The store loads it under the tenant's row lock.
type Tenant struct {
	ID     string
	Policy Policy
	// Integrators are the tenant's integrator records, current and ended,
	// plus any added by this change.
	Integrators []*Integrator
	// Invitation is the recorded integrator invitation the change is about,
	// when the store was asked to load one and it exists.
	Invitation *Invitation
	// NewInvitation is an invitation to record with this change.
	NewInvitation *Invitation
	// PartnerLive says the partner the change is about (an acceptance's)
	// is registered and not revoked. The store reads it under a lock that
	// revocation waits for (and that waits for revocation), so an
	// acceptance and a revocation of its partner never both miss each
	// other. False, the zero value, is the safe answer: the integrator is
	// not let in.
	PartnerLive   bool
	PolicyChanged bool

	events []Event
}

// Events returns what changed, in order.
func (t *Tenant) Events() []Event { return t.events }

// ActiveCount counts active integrators.
func (t *Tenant) ActiveCount() int { return len(t.inState(Active)) }

// inState lists integrators in state s, oldest first (by Since, then
// invitation time), so "the current one" is well defined with several.
func (t *Tenant) inState(s State) []*Integrator {
	var out []*Integrator
	for _, in := range t.Integrators {
		if in.State == s {
			out = append(out, in)
		}
	}
	slices.SortStableFunc(out, func(a, b *Integrator) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return a.InvitedAt.Compare(b.InvitedAt)
	})
	return out
}

// SamePerson reports whether an invitation to partnerID's address email
// is to this integrator again: the same partner's same address is the same
// person, whichever user he accepts as (identity makes a new user for each
// accepted integrator invitation).
func (in *Integrator) SamePerson(partnerID, email string) bool {
	return in.PartnerID == partnerID && in.Email == email
}

// activeSelf returns the active integrator an invitation to partnerID's
// address email is to again, if any.
func (t *Tenant) activeSelf(partnerID, email string) *Integrator {
	for _, in := range t.inState(Active) {
		if in.SamePerson(partnerID, email) {
			return in
		}
	}
	return nil
}

// waitingSelf returns the waiting integrator an invitation to partnerID's
// address email is to again, if any.
func (t *Tenant) waitingSelf(partnerID, email string) *Integrator {
	for _, in := range t.inState(Waiting) {
		if in.SamePerson(partnerID, email) {
			return in
		}
	}
	return nil
}

// Current returns the current (active or waiting) integrator with userID.
func (t *Tenant) Current(userID string) *Integrator {
	for _, in := range t.Integrators {
		if in.UserID == userID && in.State.Current() {
			return in
		}
	}
	return nil
}

// Invited applies seed 003 to a new integrator invitation: under
// ReplaceCurrent, when the tenant is at its limit, the longest-serving
// active integrator whose own invitation is older is dismissed at once
// (IntegratorReplaced). Re-inviting an active integrator's own address is
// not "another integrator" and dismisses nobody (his acceptance supersedes
// his own assignment, see Accepted). Under AdminChooses nothing
// happens until the newcomer accepts. An invitation already recorded
// (t.Invitation) was applied before: nothing happens again.
func (t *Tenant) Invited(inv Invitation, now time.Time) {
	if t.Invitation != nil {
		return
	}
	t.NewInvitation = &inv
	if t.Policy.Overflow != ReplaceCurrent {
		return
	}
	if t.activeSelf(inv.PartnerID, inv.Email) != nil {
		return
	}
	for t.ActiveCount() >= t.Policy.MaxActive {
		prev := t.oldestActiveInvitedBefore(inv.InvitedAt)
		if prev == nil {
			return // every active integrator came from a newer invitation
		}
		t.end(prev, Replaced, ReasonReplaced, "", now)
		t.events = append(t.events, IntegratorReplaced{Previous: *prev, New: Incoming{Invitation: inv}})
	}
}

func (t *Tenant) oldestActiveInvitedBefore(at time.Time) *Integrator {
	for _, in := range t.inState(Active) {
		if in.InvitedAt.Before(at) {
			return in
		}
	}
	return nil
}

// Accepted makes the invitee an integrator of the tenant:
//   - below the limit he becomes active (IntegratorAssigned);
//   - at the limit under ReplaceCurrent (his invitation's replacement did
//     not take place, e.g. two pending invitations accepted close together)
//     the newer invitation wins: if his is newer than an active
//     integrator's, that one is replaced (IntegratorReplaced) and he is
//     assigned; otherwise he is dismissed at once (IntegratorDismissed,
//     reason SUPERSEDED), so his access never opens;
//   - at the limit under AdminChooses he waits.
//
// An integrator of a partner that is not registered, or whose
// certification was withdrawn (t.PartnerLive false), is ended at once
// (IntegratorDismissed, reason PARTNER_UNREGISTERED) and never assigned:
// revocation dismisses the partner's current integrators, and one who
// accepts after it must not slip in behind it.
//
// An active integrator re-invited to his own address (same partner and
// email) who accepts, as a new user, takes his own previous assignment's
// place in every mode (IntegratorReplaced naming his old and new user, then
// IntegratorAssigned): he is one integrator and never counts twice against
// the limit, nor pushes someone else out. If his active assignment came
// from the newer invitation, the older one's acceptance is SUPERSEDED.
//
// A waiting integrator (AdminChooses) re-invited to his own address who
// accepts takes his own place in the queue, keeping how long he has waited:
// the older of the two acceptances is SUPERSEDED (IntegratorDismissed), so
// he waits once and is let in once.
//
// An invitation already accepted (whatever became of its integrator since,
// e.g. dismissed) and a user who is already a current integrator of the
// tenant change nothing: a redelivered or republished acceptance never
// brings a dismissed integrator back.
func (t *Tenant) Accepted(acc Acceptance, now time.Time) {
	if t.Current(acc.UserID) != nil {
		return
	}
	for _, in := range t.Integrators {
		if in.InvitationID == acc.InvitationID {
			return
		}
	}
	in := &Integrator{
		InvitationID: acc.InvitationID, UserID: acc.UserID, PartnerID: acc.PartnerID, Email: acc.Email,
		InvitedAt: acc.InvitedAt, Since: now,
	}
	t.Integrators = append(t.Integrators, in)
	if !t.PartnerLive {
		t.end(in, Dismissed, ReasonPartnerUnregistered, "", now)
		t.events = append(t.events, IntegratorDismissed{Integrator: *in, Reason: ReasonPartnerUnregistered})
		return
	}
	if self := t.activeSelf(acc.PartnerID, acc.Email); self != nil {
		if !self.InvitedAt.Before(acc.InvitedAt) {
			t.supersede(in, now)
			return
		}
		t.replace(self, in, acc, now)
		return
	}
	if self := t.waitingSelf(acc.PartnerID, acc.Email); self != nil {
		if !self.InvitedAt.Before(acc.InvitedAt) {
			t.supersede(in, now)
			return
		}
		// He takes his own place in the queue: one person waits once,
		// and re-inviting him does not send him to the back.
		t.supersede(self, now)
		in.State, in.Since = Waiting, self.Since
		return
	}
	if t.ActiveCount() < t.Policy.MaxActive {
		t.assign(in)
		return
	}
	if t.Policy.Overflow == AdminChooses {
		in.State = Waiting
		return
	}
	prev := t.oldestActiveInvitedBefore(acc.InvitedAt)
	if prev == nil {
		t.supersede(in, now)
		return
	}
	t.replace(prev, in, acc, now)
}

// replace ends prev for the newcomer in and assigns him.
func (t *Tenant) replace(prev, in *Integrator, acc Acceptance, now time.Time) {
	t.end(prev, Replaced, ReasonReplaced, "", now)
	t.events = append(t.events, IntegratorReplaced{Previous: *prev, New: Incoming{Invitation: acc.Invitation, UserID: acc.UserID}})
	t.assign(in)
}

// supersede ends a newcomer whose invitation lost to a newer one.
func (t *Tenant) supersede(in *Integrator, now time.Time) {
	t.end(in, Superseded, ReasonSuperseded, "", now)
	t.events = append(t.events, IntegratorDismissed{Integrator: *in, Reason: ReasonSuperseded})
}

func (t *Tenant) assign(in *Integrator) {
	in.State = Active
	t.events = append(t.events, IntegratorAssigned{Integrator: *in})
}

func (t *Tenant) end(in *Integrator, s State, reason DismissalReason, by string, now time.Time) {
	in.State, in.EndedAt, in.EndReason, in.EndedBy = s, now, reason, by
}

// Dismiss is an administrator ending an integrator's access: the active
// one, or (under AdminChooses) one who waits. Dismissing an active one lets
// the longest-waiting integrator in.
func (t *Tenant) Dismiss(userID, by, note string, now time.Time) (*Integrator, error) {
	in := t.Current(userID)
	if in == nil {
		return nil, ErrNotIntegrator
	}
	t.end(in, Dismissed, ReasonAdmin, by, now)
	in.Note = note
	t.events = append(t.events, IntegratorDismissed{Integrator: *in, Reason: ReasonAdmin, By: by, Note: note})
	t.promote(now)
	return in, nil
}

// PartnerRevoked dismisses the tenant's current integrators of a partner
// whose certification was withdrawn.
func (t *Tenant) PartnerRevoked(partnerID string, now time.Time) int {
	n := 0
	for _, in := range t.Integrators {
		if in.PartnerID == partnerID && in.State.Current() {
			t.end(in, Dismissed, ReasonPartnerUnregistered, "", now)
			t.events = append(t.events, IntegratorDismissed{Integrator: *in, Reason: ReasonPartnerUnregistered})
			n++
		}
	}
	t.promote(now)
	return n
}

// promote lets waiting integrators in, longest-waiting first, while there
// is room.
func (t *Tenant) promote(now time.Time) []*Integrator {
	var out []*Integrator
	for _, w := range t.inState(Waiting) {
		if t.ActiveCount() >= t.Policy.MaxActive {
			break
		}
		w.Since = now
		t.assign(w)
		out = append(out, w)
	}
	return out
}

// SetPolicy changes the limit and the overflow mode. Lowering the limit
// below the active integrators is refused (the administrator dismisses one
// first: nobody is dismissed behind his back); raising it lets waiting
// integrators in; switching to ReplaceCurrent while some still wait after
// that is refused, since that mode has no waiting.
func (t *Tenant) SetPolicy(maxActive int, mode OverflowMode, by string, now time.Time) ([]*Integrator, error) {
	if maxActive < 1 || maxActive > MaxLimit {
		return nil, fieldErr("max_active_integrators", "must be 1 to %d", MaxLimit)
	}
	if mode != ReplaceCurrent && mode != AdminChooses {
		return nil, fieldErr("overflow_mode", "must be REPLACE_CURRENT or ADMIN_CHOOSES")
	}
	if n := t.ActiveCount(); maxActive < n {
		return nil, fmt.Errorf("%w: %d integrators are active; dismiss %d before lowering the limit to %d",
			ErrPrecondition, n, n-maxActive, maxActive)
	}
	old := t.Policy
	t.Policy = Policy{MaxActive: maxActive, Overflow: mode, UpdatedAt: now, UpdatedBy: by}
	promoted := t.promote(now)
	if mode == ReplaceCurrent {
		if w := t.inState(Waiting); len(w) > 0 {
			t.Policy = old
			return nil, fmt.Errorf("%w: %d integrators are waiting; dismiss them or raise the limit before switching to REPLACE_CURRENT",
				ErrPrecondition, len(w))
		}
	}
	t.PolicyChanged = true
	return promoted, nil
}

// Event is something that happened to a tenant's integrators.
type Event interface{ isEvent() }

// Incoming is the integrator who takes the place of a replaced one: known
// by his invitation, and by his user once he accepted.
type Incoming struct {
	Invitation
	UserID string
}

// IntegratorAssigned: he is now active.
type IntegratorAssigned struct{ Integrator Integrator }

// IntegratorReplaced: Previous was dismissed for New.
type IntegratorReplaced struct {
	Previous Integrator
	New      Incoming
}

// IntegratorDismissed: his access is closed.
type IntegratorDismissed struct {
	Integrator Integrator
	Reason     DismissalReason
	By         string
	Note       string
}

func (IntegratorAssigned) isEvent()  {}
func (IntegratorReplaced) isEvent()  {}
func (IntegratorDismissed) isEvent() {}

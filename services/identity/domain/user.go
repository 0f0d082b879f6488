package domain

import (
	"regexp"
	"slices"
	"time"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
)

// Kind is what a user is for (values as identity.v1.UserKind).
type Kind int32

// Kinds.
const (
	KindPerson      Kind = 1
	KindIntegration Kind = 2
	KindService     Kind = 3
	KindIntegrator  Kind = 4
)

// Role is what a user may do in the tenant's administration (values as
// identity.v1.Role).
type Role int32

// Roles.
const (
	RoleMainAdministrator  Role = 1
	RoleSuperuser          Role = 2
	RoleApplicationManager Role = 3
	RoleUser               Role = 4
)

// Status is a user's state.
type Status string

// Statuses. Identity learns of users when their invitation is accepted, so
// it never holds an invited user: the invitation service owns that state.
const (
	StatusActive      Status = "active"
	StatusDeactivated Status = "deactivated"
	// StatusWaiting is an integrator who accepted his invitation but whom
	// integrator-policy has not assigned (yet): under its ADMIN_CHOOSES
	// overflow mode he waits for an administrator to choose him. He has no
	// access at all until IntegratorAssigned.
	StatusWaiting Status = "waiting"
)

// Reason is why a user was deactivated (values as identity.v1.DeactivationReason).
type Reason int32

// Deactivation reasons.
const (
	ReasonDismissed           Reason = 1
	ReasonLeft                Reason = 2
	ReasonIntegratorReplaced  Reason = 3
	ReasonIntegratorDismissed Reason = 4
	ReasonAdmin               Reason = 5
)

// Origins (values as common.v1.CreationOrigin).
const (
	OriginUserAdministration   int32 = 1
	OriginClientAdministration int32 = 2
	OriginTenantCreation       int32 = 3
)

// Login methods (values as invitation.v1.LoginMethod).
const (
	LoginBankID          int32 = 1
	LoginProviderProfile int32 = 2
	LoginPassword        int32 = 3
	LoginExisting        int32 = 4
)

// ServiceDetails is what only a service user has (seed 002).
type ServiceDetails struct {
	UserCode          string
	ApplicationID     string
	Active            bool
	Language          string
	AllCompanies      bool
	CompanyIDs        []string
	AllStructure      bool
	StructureLevelIDs []string
}

// User is a user of one tenant.
type User struct {
	TenantID, ID       string
	Kind               Kind
	Origin             int32
	Status             Status
	Role               Role
	FirstName          string
	LastName           string
	Email              string
	Mobile             string
	Grants             *commonv1.Grants
	Integrator         bool
	PartnerID          string
	CountsSeat         bool
	SponsorUserID      string // integration users: the human who answers for them
	NeedsSponsor       bool   // the sponsor was deactivated: name a new one
	SourceInvitationID string
	TwoFactor          bool // people: two-factor authentication required in this tenant
	// Unannounced is true only for an integrator inserted while waiting:
	// UserCreated is published when he is assigned.
	Unannounced bool
	LoginMethod int32 // how this membership was accepted (EXISTING: with a profile from another tenant)
	// Login is the person's credential, shared by all his memberships (nil:
	// he has none, e.g. a tenant's first administrator who uses tokens).
	// Saving the user never writes it: credentials change only through the
	// store's credential methods.
	Login           *Credential
	Service         *ServiceDetails
	CreatedByUserID string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DeactivatedAt   time.Time
	Version         int64

	events []Event
}

// Credential is how a person signs in, whichever tenant he signs in to: it
// belongs to the user id, not to one membership, so an existing profile who
// joins another tenant signs in there with the login he already has.
type Credential struct {
	UserID       string
	Method       int32  // LoginBankID, LoginProviderProfile or LoginPassword
	Subject      string // the login provider's stable subject
	LoginEmail   string // password logins of people and integration users
	PasswordHash string // argon2id PHC string
}

// PasswordHash is the user's password hash ("" when he has none).
func (u *User) PasswordHash() string {
	if u.Login == nil {
		return ""
	}
	return u.Login.PasswordHash
}

// Event is something that happened to a user, to be published.
type Event interface{ isEvent() }

// Created is a new person, integration or integrator user.
type Created struct{}

// identity.v1.UserField values used in UserUpdated.
const (
	FieldGrants    int32 = 5
	FieldSeat      int32 = 6
	FieldRole      int32 = 8
	FieldTwoFactor int32 = 9
)

// Updated lists the changed fields (identity.v1.UserField values).
type Updated struct {
	Fields []int32
	By     string
}

// Deactivated is a user losing access.
type Deactivated struct {
	Reason    Reason
	By        string
	FreedSeat bool
}

// ServiceCreated is a new service user.
type ServiceCreated struct{}

// ServiceStatusChanged is a service user deactivated or reactivated by an
// application manager (its Service.Active is the new status).
type ServiceStatusChanged struct {
	By string
}

// PasswordReset is a service user's new password.
type PasswordReset struct {
	By string
	At time.Time
}

func (Created) isEvent()        {}
func (Updated) isEvent()        {}
func (Deactivated) isEvent()    {}
func (ServiceCreated) isEvent() {}
func (PasswordReset) isEvent()  {}

func (ServiceStatusChanged) isEvent() {}

// Events returns what happened since the user was loaded, and forgets it.
func (u *User) Events() []Event {
	ev := u.events
	u.events = nil
	return ev
}

// Record adds an event (for changes made outside the methods here).
func (u *User) Record(e Event) { u.events = append(u.events, e) }

// Name is the display name.
func (u *User) Name() string {
	if u.Kind == KindService && u.Service != nil {
		return u.Service.UserCode
	}
	return u.FirstName + " " + u.LastName
}

// Active reports whether the user may act.
func (u *User) Active() bool { return u.Status == StatusActive }

// TakesSeat is the seat rule (seed 003 and the plan): people count;
// integrators, integration users and service users do not.
func TakesSeat(k Kind) bool { return k == KindPerson }

// RoleFor is the role a user gets from invited grants: main administrators
// administer; everyone else starts as an ordinary user, and a main
// administrator can make them superuser or application manager.
func RoleFor(g *commonv1.Grants) Role {
	if g.GetPermissionLevel() == commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR {
		return RoleMainAdministrator
	}
	return RoleUser
}

// Deactivate takes the user's access away. Deactivating a deactivated user
// changes nothing and records nothing; a waiting integrator, who never had
// access since his last announcement, is deactivated without an event.
func (u *User) Deactivate(reason Reason, by string, now time.Time) bool {
	if u.Status == StatusDeactivated {
		return false
	}
	wasActive := u.Status == StatusActive
	u.Status = StatusDeactivated
	u.DeactivatedAt = now
	u.UpdatedAt = now
	if wasActive {
		u.events = append(u.events, Deactivated{Reason: reason, By: by, FreedSeat: u.CountsSeat})
	}
	return true
}

// Wait puts an integrator whose invitation was accepted in the waiting
// state: no access until Assign.
func (u *User) Wait(now time.Time) {
	u.Status, u.DeactivatedAt, u.UpdatedAt = StatusWaiting, time.Time{}, now
}

// Assign opens a waiting integrator's access (integrator-policy assigned
// him): UserCreated the first time, UserUpdated when he comes back. Only a
// waiting user changes; it reports whether he did.
func (u *User) Assign(now time.Time) bool {
	if u.Status != StatusWaiting {
		return false
	}
	u.Status, u.UpdatedAt = StatusActive, now
	if u.Unannounced {
		u.Unannounced = false
		u.events = append(u.events, Created{})
	} else {
		u.events = append(u.events, Updated{Fields: []int32{FieldGrants, FieldSeat, FieldRole}})
	}
	return true
}

// Actor is who calls an admin RPC: an authenticated, active user.
type Actor struct {
	TenantID   string
	UserID     string
	Kind       Kind
	Role       Role
	Grants     *commonv1.Grants
	Integrator bool
	Name       string
	Email      string
}

// Administers reports whether the actor may administer users at all: main
// administrators (integrators are main administrators) and superusers.
func (a Actor) Administers() bool {
	return a.Role == RoleMainAdministrator || a.Role == RoleSuperuser
}

// MayManageStructure is the rule for the tenant's structure, plan and
// language: main administrators only.
func (a Actor) MayManageStructure() error {
	if a.Role != RoleMainAdministrator {
		return Forbidden("actor", "only a main administrator may change the tenant's structure and plan")
	}
	return nil
}

// MayManageServiceUsers is seed 002: only an application manager creates
// service users or resets their passwords.
func (a Actor) MayManageServiceUsers() error {
	if a.Role != RoleApplicationManager {
		return Forbidden("actor", "only an application manager may create or reset service users")
	}
	return nil
}

// MayRead is the rule for reading users: administrators, superusers and
// application managers (who need to see service users).
func (a Actor) MayRead() error {
	if a.Administers() || a.Role == RoleApplicationManager {
		return nil
	}
	return Forbidden("actor", "only administrators may read users")
}

// MayDeactivate is the rule for deactivating target: administrators may; a
// superuser only users whose grants lie within his own; nobody deactivates
// himself. (The integrator carve-out is decided by integrator-policy.)
func (a Actor) MayDeactivate(target *User) error {
	if !a.Administers() {
		return Forbidden("actor", "only administrators and superusers may deactivate users")
	}
	if target.ID == a.UserID {
		return Forbidden("user_id", "you cannot deactivate yourself")
	}
	if a.Role == RoleSuperuser && (target.Role == RoleMainAdministrator || target.Role == RoleSuperuser || !Covers(a.Grants, target.Grants)) {
		return Forbidden("user_id", "a superuser may only deactivate users whose access lies within his own")
	}
	if target.Kind == KindIntegrator {
		return Forbidden("user_id", "integrators are dismissed through the integrator-policy service (DismissIntegrator)")
	}
	return nil
}

// MaySetTwoFactor is the rule for a person's two-factor setting: the same
// as for deactivating him (administrators; a superuser only for people whose
// access lies within his own), except that anyone who may administer may
// set his own. Only people have the setting. (Turning it off is guarded for
// integrators by integrator-policy, seed 003.)
func (a Actor) MaySetTwoFactor(target *User) error {
	if !a.Administers() {
		return Forbidden("actor", "only administrators and superusers may change two-factor authentication")
	}
	if target.Kind != KindPerson {
		return Invalid("user_id", "two-factor authentication is a setting of people only, not of integration, service or integrator users")
	}
	if !target.Active() {
		return Forbidden("user_id", "the user is not active")
	}
	if a.Role == RoleSuperuser && target.ID != a.UserID &&
		(target.Role == RoleMainAdministrator || target.Role == RoleSuperuser || !Covers(a.Grants, target.Grants)) {
		return Forbidden("user_id", "a superuser may only change the two-factor authentication of people whose access lies within his own")
	}
	return nil
}

// Covers reports whether holder's grants include everything in g.
func Covers(holder, g *commonv1.Grants) bool {
	main := commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR
	if holder.GetPermissionLevel() == main {
		return true
	}
	if g.GetPermissionLevel() == main {
		return false
	}
	for _, a := range g.GetPermissionAreas() {
		if !slices.Contains(holder.GetPermissionAreas(), a) {
			return false
		}
	}
	hs, ts := holder.GetScope(), g.GetScope()
	for _, p := range [][2]*commonv1.Selection{
		{hs.GetOrganisations(), ts.GetOrganisations()}, {hs.GetCustomers(), ts.GetCustomers()},
		{hs.GetCostCentres(), ts.GetCostCentres()}, {hs.GetProductCategories(), ts.GetProductCategories()},
	} {
		if !selectionCovers(p[0], p[1]) {
			return false
		}
	}
	hp, tp := holder.GetAccessPackages(), g.GetAccessPackages()
	if tp.GetIntegrationUser() && !hp.GetIntegrationUser() {
		return false
	}
	if hp.GetAllAdditionalPackages() {
		return true
	}
	if tp.GetAllAdditionalPackages() {
		return false
	}
	for _, k := range tp.GetAdditionalPackages() {
		if !slices.Contains(hp.GetAdditionalPackages(), k) {
			return false
		}
	}
	return true
}

func selectionCovers(h, s *commonv1.Selection) bool {
	if h.GetAll() {
		return true
	}
	if s.GetAll() {
		return false
	}
	for _, id := range s.GetIds() {
		if !slices.Contains(h.GetIds(), id) {
			return false
		}
	}
	return true
}

var userCode = regexp.MustCompile(`^[A-Za-z0-9]{6,10}$`)

// CheckUserCode is seed 002: 6 to 10 letters or digits.
func CheckUserCode(code string) error {
	if !userCode.MatchString(code) {
		return Invalid("user_code", "must be 6 to 10 letters (A-Z, a-z) or digits, got %d characters", len([]rune(code)))
	}
	return nil
}

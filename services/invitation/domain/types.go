package domain

import (
	"slices"
	"time"
)

// Kind is who is invited.
type Kind int

const (
	KindMember      Kind = iota + 1 // a person (seed 001)
	KindIntegration                 // a neutral integration user (seed 000)
	KindIntegrator                  // a certified partner (seed 003)
)

func (k Kind) String() string {
	switch k {
	case KindMember:
		return "member"
	case KindIntegration:
		return "integration"
	case KindIntegrator:
		return "integrator"
	}
	return "unknown"
}

// Origin is where the administrator created the invitation (seed 000).
type Origin int

const (
	OriginUserAdministration Origin = iota + 1
	OriginClientAdministration
)

// CodeDelivery is who receives the one-time code (seed 001).
type CodeDelivery int

const (
	CodeBySMS     CodeDelivery = iota + 1 // to the invitee's mobile
	CodeToInviter                         // "send the one-time code to me"
	CodeNone                              // integration users and integrators: the link alone
)

// LoginMethod is how the invitee will sign in (seed 001).
type LoginMethod int

const (
	LoginBankID LoginMethod = iota + 1
	LoginProviderProfile
	LoginPassword // integration users set a password through the link (seed 000)
	LoginExisting // an existing profile signs in with its existing method
)

// Status is where an invitation is in its life.
type Status string

const (
	StatusPending  Status = "pending"
	StatusAccepted Status = "accepted"
	StatusExpired  Status = "expired"
	StatusRevoked  Status = "revoked"
	StatusLocked   Status = "locked"
)

// Statuses lists every status, for filters.
var Statuses = []Status{StatusPending, StatusAccepted, StatusExpired, StatusRevoked, StatusLocked}

// PermissionLevel is the role granted (seed 001: "Behörighetsnivå").
type PermissionLevel int

const (
	LevelMainAdministrator PermissionLevel = iota + 1
	LevelCustom
)

// Selection is "all of them, or these ones".
type Selection struct {
	All bool
	IDs []string
}

// within reports whether s grants nothing that held does not.
func (s *Selection) within(held *Selection) bool {
	switch {
	case s == nil:
		return true // grants nothing at this level
	case held == nil:
		return !s.All && len(s.IDs) == 0
	case held.All:
		return true
	case s.All:
		return false
	}
	for _, id := range s.IDs {
		if !slices.Contains(held.IDs, id) {
			return false
		}
	}
	return true
}

// Scope is what a custom-level user may see (seed 001: "Välj åtkomst").
type Scope struct {
	Organisations     *Selection
	Customers         *Selection
	CostCentres       *Selection
	ProductCategories *Selection
	ApplicationLinks  []string
}

// Packages are access packages (seed 000: "Integrasjonsbruker" and the
// "Tilleggspakker").
type Packages struct {
	IntegrationUser       bool
	AllAdditionalPackages bool
	Additional            []string
}

// Grants is everything a user may do: level, areas, scope and packages.
type Grants struct {
	Level    PermissionLevel
	Areas    []string // e.g. "support", "invoices"
	Scope    Scope
	Packages *Packages
}

// Role is the inviting actor's role in the tenant.
type Role int

const (
	RoleMainAdministrator Role = iota + 1
	RoleSuperuser
	RoleApplicationManager
	RoleUser
)

// Actor is who asks: the user, their role and grants in the tenant, and
// whether they are the tenant's integrator.
type Actor struct {
	TenantID   string
	UserID     string
	Name       string
	Email      string
	Role       Role
	Grants     Grants
	Integrator bool
}

// Policy is the tenant's invitation settings.
type Policy struct {
	// Lifetime of an invitation link; DefaultLifetime when zero. Allowed
	// between MinLifetime and MaxLifetime.
	Lifetime time.Duration
}

// Limits of the design's security rules.
const (
	DefaultLifetime  = 7 * 24 * time.Hour
	MinLifetime      = time.Hour
	MaxLifetime      = 30 * 24 * time.Hour
	CodeDigits       = 6
	CodeValidity     = 10 * time.Minute
	MaxCodeAttempts  = 5
	CodeRequestEvery = time.Minute // an invitee may ask for a new code once a minute
	CodeRequestsMax  = 5           // and at most this many times per invitation before the inviter must re-issue
)

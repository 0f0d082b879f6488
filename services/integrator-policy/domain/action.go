package domain

import "regexp"

// Action is a guarded administrative action (numbered as the contract's
// Action). Every one of them is refused to integrators.
type Action int

// Guarded actions.
const (
	ActionCreateAdministrator Action = 1
	ActionGrantAdministrator  Action = 2
	ActionDismissEmployee     Action = 3
	ActionDisableTwoFactor    Action = 4
)

// Denial is which rule refused an action (numbered as the contract's
// DenialReason); 0 means allowed.
type Denial int

// Denials.
const (
	Allowed            Denial = 0
	DenyIntegratorRule Denial = 1 // an active integrator's carve-out
	// DenyIntegratorInactive: a dismissed, replaced or waiting integrator,
	// or one this service has no record of in the tenant.
	DenyIntegratorInactive Denial = 2
)

var resourcePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*/[A-Za-z0-9._:-]+$`)

// Decide says whether actor may take action: seed 003 gives the integrator
// admin rights but not to create administrators (main administrator or
// superuser, new or granted), dismiss employees or turn off employees'
// two-factor authentication. last is the actor's latest integrator record
// in the tenant, nil when there is none. A waiting or ended integrator is
// refused every guarded action, and so is an actor with no record: the
// callers (identity, the invitation service) ask only about users they know
// as integrators, so an unknown one is an integrator this service lost
// track of (restored data, an acceptance not applied yet), and being
// unknown must not lift his carve-outs.
func Decide(last *Integrator, action Action, resource string) (Denial, string, error) {
	if action < ActionCreateAdministrator || action > ActionDisableTwoFactor {
		return 0, "", fieldErr("action", "is not a guarded action")
	}
	if !resourcePattern.MatchString(resource) || len(resource) > 256 {
		return 0, "", fieldErr("resource", `must be "<type>/<id>", e.g. "users/3f0c..."`)
	}
	switch {
	case last == nil:
		return DenyIntegratorInactive, "you are not known as an active integrator of this tenant", nil
	case last.State == Active:
		return DenyIntegratorRule, denialText[action], nil
	default:
		return DenyIntegratorInactive, "you are no longer this tenant's active integrator", nil
	}
}

var denialText = map[Action]string{
	ActionCreateAdministrator: "an integrator may not create administrators",
	ActionGrantAdministrator:  "an integrator may not make anyone an administrator",
	ActionDismissEmployee:     "an integrator may not dismiss employees",
	ActionDisableTwoFactor:    "an integrator may not turn off an employee's two-factor authentication",
}

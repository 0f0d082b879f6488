package domain

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Invitation is one invitation and everything it will grant.
type Invitation struct {
	ID           string
	TenantID     string
	Kind         Kind
	Origin       Origin
	FirstName    string
	LastName     string
	Email        string
	Mobile       string // E.164, required when the code goes by SMS
	CodeDelivery CodeDelivery
	Grants       Grants
	Language     string // the tenant's language for messages
	PartnerID    string // integrators: the registered partner the email belongs to
	Inviter      Actor

	Status    Status
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	Lifetime  time.Duration // the link's lifetime, reused by Resend

	CodeHash       []byte
	CodeExpiresAt  time.Time
	CodeAttempts   int       // wrong attempts on the current code
	CodeRequests   int       // codes the invitee asked for since the inviter's last
	LastCodeSentAt time.Time // for the invitee's rate limit

	AcceptedAt      time.Time
	UserID          string // the user it became (new or existing profile)
	LoginMethod     LoginMethod
	ExternalSubject string // the login provider's subject (BankID, provider profile)
	RevokedAt       time.Time
	RevokeReason    RevokeReason
	RevokedBy       Actor  // zero for system revocations (integrator replaced)
	SupersededBy    string // the invitation that replaced this one, if any

	// Version is the optimistic-concurrency counter stores compare and bump.
	Version int64

	// TraceParent is the W3C traceparent of the request that created it
	// (observability only: later changes link their spans to it).
	TraceParent string

	events []Event
}

// RevokeReason says why an invitation was withdrawn.
type RevokeReason int

const (
	RevokedByAdmin RevokeReason = iota + 1
	RevokedIntegratorReplaced
	RevokedSuperseded
)

// Event is a state change the app layer publishes.
type Event interface{ isEvent() }

// Invited, Accepted, Expired, Revoked and Locked are the invitation's events.
type (
	Invited struct {
		Token Token
		Code  Code
	} // the secrets exist only here, for delivery
	Accepted struct{ ExistingProfile bool }
	Expired  struct{}
	Revoked  struct{ Reason RevokeReason }
	Locked   struct{ Attempts int }
	// CodeIssued is a fresh code for delivery (resend, inviter re-issue,
	// invitee request); not published as an event, only delivered.
	CodeIssued struct{ Code Code }
	// LinkIssued is a fresh link for delivery (resend).
	LinkIssued struct{ Token Token }
)

func (Invited) isEvent()    {}
func (Accepted) isEvent()   {}
func (Expired) isEvent()    {}
func (Revoked) isEvent()    {}
func (Locked) isEvent()     {}
func (CodeIssued) isEvent() {}
func (LinkIssued) isEvent() {}

// Events returns and clears what happened since the last call.
func (inv *Invitation) Events() []Event {
	ev := inv.events
	inv.events = nil
	return ev
}

// PendingEvents returns what happened since the last Events call, without
// clearing it.
func (inv *Invitation) PendingEvents() []Event { return slices.Clone(inv.events) }

func (inv *Invitation) record(e Event) { inv.events = append(inv.events, e) }

// NewInvitation is the admin's form.
type NewInvitation struct {
	ID           string // chosen by the caller (a UUID)
	TenantID     string
	Kind         Kind
	Origin       Origin
	FirstName    string
	LastName     string
	Email        string
	Mobile       string
	CodeDelivery CodeDelivery
	Grants       Grants
	Language     string
	PartnerID    string // set by the caller after the partner check
}

var (
	e164      = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	areaKey   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	languages = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// Create checks the form and the actor's right to send it, then makes a
// pending invitation with a fresh token (and code, when the kind needs one).
func Create(form NewInvitation, by Actor, policy Policy, key CodeKey, now time.Time) (*Invitation, error) {
	if err := validateForm(form); err != nil {
		return nil, err
	}
	if err := MayInvite(by, form.Kind, form.Grants); err != nil {
		return nil, err
	}
	lifetime, err := policy.lifetime()
	if err != nil {
		return nil, err
	}
	inv := &Invitation{
		ID: form.ID, TenantID: form.TenantID, Kind: form.Kind, Origin: form.Origin,
		FirstName: strings.TrimSpace(form.FirstName), LastName: strings.TrimSpace(form.LastName),
		Email: strings.ToLower(strings.TrimSpace(form.Email)), Mobile: form.Mobile,
		CodeDelivery: form.CodeDelivery, Grants: form.Grants, Language: form.Language,
		PartnerID: form.PartnerID, Inviter: by,
		Status: StatusPending, CreatedAt: now, ExpiresAt: now.Add(lifetime), Lifetime: lifetime,
	}
	tok, err := inv.newLink()
	if err != nil {
		return nil, err
	}
	ev := Invited{Token: tok}
	if inv.CodeDelivery != CodeNone {
		if ev.Code, err = inv.newCode(key, now); err != nil {
			return nil, err
		}
	}
	inv.record(ev)
	return inv, nil
}

func (p Policy) lifetime() (time.Duration, error) {
	if p.Lifetime == 0 {
		return DefaultLifetime, nil
	}
	return p.Lifetime, ValidateLifetime(p.Lifetime)
}

// ValidateLifetime checks a tenant's lifetime setting: 1 hour to 30 days.
func ValidateLifetime(l time.Duration) error {
	if l < MinLifetime || l > MaxLifetime {
		return invalid("lifetime", "must be between 1 hour and 30 days, got %s", l)
	}
	return nil
}

func blank(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }

func validateForm(f NewInvitation) error {
	switch {
	case f.ID == "":
		return invalid("invitation_id", "is required")
	case f.TenantID == "":
		return invalid("tenant_id", "is required")
	case f.Kind < KindMember || f.Kind > KindIntegrator:
		return invalid("kind", "must be member, integration or integrator")
	case f.Origin != OriginUserAdministration && f.Origin != OriginClientAdministration:
		return invalid("origin", "must be user administration or client administration")
	}
	addr, err := mail.ParseAddress(f.Email)
	if err != nil || addr.Address != strings.TrimSpace(f.Email) || addr.Name != "" {
		return invalid("email", "is not a valid email address")
	}
	if f.Kind != KindIntegrator && (blank(f.FirstName) || blank(f.LastName)) {
		if blank(f.FirstName) {
			return invalid("first_name", "is required")
		}
		return invalid("last_name", "is required")
	}
	if f.Mobile != "" && !e164.MatchString(f.Mobile) {
		return invalid("mobile", "must be in E.164 form, e.g. +4791234567")
	}
	if f.Language != "" && !languages.MatchString(f.Language) {
		return invalid("language", "is not a language tag")
	}
	switch f.Kind {
	case KindMember:
		// Seed 001: the code goes by SMS, or to the inviter when the
		// invitee has no SMS.
		if err := personCodeDelivery(f.CodeDelivery, f.Mobile, "mobile"); err != nil {
			return err
		}
	case KindIntegration:
		// Seed 000: the integration user package and every additional one.
		if p := f.Grants.Packages; p == nil || !p.IntegrationUser || !p.AllAdditionalPackages {
			return invalid("grants.access_packages", "an integration user needs the integration user package and all additional packages")
		}
		if f.Grants.Level != LevelCustom {
			return invalid("grants.permission_level", "an integration user has the custom level with its access packages")
		}
		if f.CodeDelivery != CodeNone {
			return invalid("code_delivery", "an integration user sets a password through the link; no one-time code")
		}
	case KindIntegrator:
		// Seed 003: admin rights (carve-outs enforced by integrator policy).
		if f.Grants.Level != LevelMainAdministrator {
			return invalid("grants.permission_level", "an integrator has administrator rights")
		}
		if f.CodeDelivery != CodeNone {
			return invalid("code_delivery", "an integrator is invited by email alone")
		}
		if f.PartnerID == "" {
			return invalid("email", "is not the address of a registered partner")
		}
	}
	return validateGrants(f.Grants)
}

func validateGrants(g Grants) error {
	switch g.Level {
	case LevelMainAdministrator:
		if len(g.Areas) > 0 {
			return invalid("grants.permission_areas", "a main administrator has every area; send none")
		}
		s := g.Scope
		if s.Organisations != nil || s.Customers != nil || s.CostCentres != nil || s.ProductCategories != nil {
			return invalid("grants.scope", "a main administrator sees the whole tenant; send no scope")
		}
		if g.Packages != nil {
			return invalid("grants.access_packages", "a main administrator has every package; send none")
		}
	case LevelCustom:
		if len(g.Areas) == 0 && (g.Packages == nil || (!g.Packages.IntegrationUser && !g.Packages.AllAdditionalPackages && len(g.Packages.Additional) == 0)) {
			return invalid("grants.permission_areas", "a custom level must grant at least one area or access package")
		}
	default:
		return invalid("grants.permission_level", "must be main administrator or custom")
	}
	for i, a := range g.Areas {
		if !areaKey.MatchString(a) {
			return invalid(fmt.Sprintf("grants.permission_areas[%d]", i), "is not an area key")
		}
		if slices.Contains(g.Areas[:i], a) {
			return invalid(fmt.Sprintf("grants.permission_areas[%d]", i), "is repeated")
		}
	}
	return nil
}

// MayInvite is the actor rule: only main administrators and superusers
// invite (seed 001), nobody grants more than they hold, and an integrator
// never creates an administrator (seed 003).
func MayInvite(by Actor, kind Kind, g Grants) error {
	if by.Role != RoleMainAdministrator && by.Role != RoleSuperuser {
		return forbidden("actor", "only administrators and superusers may invite")
	}
	if by.Integrator && g.Level == LevelMainAdministrator {
		return forbidden("grants.permission_level", "an integrator cannot create administrators")
	}
	if by.Integrator && kind == KindIntegrator {
		return forbidden("kind", "an integrator cannot invite integrators")
	}
	return Within(g, by.Grants)
}

// Within reports, as a field error, the first thing g grants that held does
// not. A main administrator holds everything.
func Within(g, held Grants) error {
	if held.Level == LevelMainAdministrator {
		return nil
	}
	if g.Level == LevelMainAdministrator {
		return forbidden("grants.permission_level", "you cannot grant the main administrator level, which you do not hold")
	}
	for i, a := range g.Areas {
		if !slices.Contains(held.Areas, a) {
			return forbidden(fmt.Sprintf("grants.permission_areas[%d]", i), "you cannot grant the area %q, which you do not hold", a)
		}
	}
	checks := []struct {
		field     string
		got, have *Selection
	}{
		{"grants.scope.organisations", g.Scope.Organisations, held.Scope.Organisations},
		{"grants.scope.customers", g.Scope.Customers, held.Scope.Customers},
		{"grants.scope.cost_centres", g.Scope.CostCentres, held.Scope.CostCentres},
		{"grants.scope.product_categories", g.Scope.ProductCategories, held.Scope.ProductCategories},
	}
	for _, c := range checks {
		if !c.got.within(c.have) {
			return forbidden(c.field, "you cannot grant access beyond your own")
		}
	}
	for i, l := range g.Scope.ApplicationLinks {
		if !slices.Contains(held.Scope.ApplicationLinks, l) {
			return forbidden(fmt.Sprintf("grants.scope.application_link_ids[%d]", i), "you cannot grant an application link you do not have")
		}
	}
	if p := g.Packages; p != nil {
		h := held.Packages
		if h == nil {
			h = &Packages{}
		}
		if p.IntegrationUser && !h.IntegrationUser {
			return forbidden("grants.access_packages.integration_user", "you cannot grant a package you do not hold")
		}
		if p.AllAdditionalPackages && !h.AllAdditionalPackages {
			return forbidden("grants.access_packages.all_additional_packages", "you cannot grant packages you do not hold")
		}
		for i, a := range p.Additional {
			if !h.AllAdditionalPackages && !slices.Contains(h.Additional, a) {
				return forbidden(fmt.Sprintf("grants.access_packages.additional_packages[%d]", i), "you cannot grant a package you do not hold")
			}
		}
	}
	return nil
}

func (inv *Invitation) newLink() (Token, error) {
	tok, err := NewToken()
	if err != nil {
		return "", err
	}
	h, err := tok.Hash()
	if err != nil {
		return "", err
	}
	inv.TokenHash = h
	return tok, nil
}

func (inv *Invitation) newCode(key CodeKey, now time.Time) (Code, error) {
	c, err := NewCode()
	if err != nil {
		return "", err
	}
	inv.CodeHash = key.hash(inv.ID, c)
	inv.CodeExpiresAt = now.Add(CodeValidity)
	inv.LastCodeSentAt = now
	// Wrong attempts are not reset here: a code the invitee asks for keeps
	// the count, or asking would be a way round the lock.
	return c, nil
}

// expireIfDue moves a live invitation past its lifetime to expired.
func (inv *Invitation) expireIfDue(now time.Time) {
	if (inv.Status == StatusPending || inv.Status == StatusLocked) && !now.Before(inv.ExpiresAt) {
		inv.Status = StatusExpired
		inv.record(Expired{})
	}
}

// Expire is the sweeper's transition; it reports whether anything changed.
func (inv *Invitation) Expire(now time.Time) bool {
	before := inv.Status
	inv.expireIfDue(now)
	return inv.Status != before
}

// Open is the invitee following the link: the token must match and the
// invitation be pending (a locked invitation still opens, to say so).
// Every failure is ErrInvalidToken.
func (inv *Invitation) Open(tok Token, now time.Time) error {
	if !tok.Matches(inv.TokenHash) {
		return ErrInvalidToken
	}
	inv.expireIfDue(now)
	if inv.Status != StatusPending && inv.Status != StatusLocked {
		return ErrInvalidToken
	}
	return nil
}

// NeedsCode reports whether accepting takes a one-time code.
func (inv *Invitation) NeedsCode() bool {
	return inv.CodeDelivery == CodeBySMS || inv.CodeDelivery == CodeToInviter
}

// VerifyCode checks a code the invitee typed. A wrong code counts; the
// MaxCodeAttempts-th wrong one locks the invitation (an event).
func (inv *Invitation) VerifyCode(tok Token, c Code, key CodeKey, now time.Time) error {
	if err := inv.Open(tok, now); err != nil {
		return err
	}
	if !inv.NeedsCode() {
		return nil
	}
	if inv.Status == StatusLocked {
		return ErrLocked
	}
	if !now.Before(inv.CodeExpiresAt) {
		return ErrCodeExpired
	}
	if !key.matches(inv.ID, c, inv.CodeHash) {
		inv.CodeAttempts++
		if inv.CodeAttempts >= MaxCodeAttempts {
			inv.Status = StatusLocked
			inv.record(Locked{Attempts: inv.CodeAttempts})
			return ErrLocked
		}
		return &WrongCodeError{AttemptsLeft: MaxCodeAttempts - inv.CodeAttempts}
	}
	return nil
}

// Acceptance is how the invitee finishes.
type Acceptance struct {
	Token           Token
	Code            Code
	Method          LoginMethod
	ExistingUserID  string // with LoginExisting: the profile that signed in
	ExternalSubject string // BankID or provider profile subject
	NewUserID       string // the id a new user gets (chosen by the caller)
	// FirstName and LastName, when the invitation had none (integrators are
	// invited by email alone) or the invitee corrects them.
	FirstName string
	LastName  string
}

// Accept finishes the invitation: the token and, when needed, the code must
// be right, and the login method must suit the kind (seeds 000, 001, 003).
// The token is single use: afterwards it is just an invalid token.
func (inv *Invitation) Accept(a Acceptance, key CodeKey, now time.Time) error {
	if err := inv.VerifyCode(a.Token, a.Code, key, now); err != nil {
		return err
	}
	if inv.Status == StatusLocked {
		return ErrLocked
	}
	if err := inv.allowMethod(a); err != nil {
		return err
	}
	first, last, err := inv.names(a)
	if err != nil {
		return err
	}
	inv.FirstName, inv.LastName = first, last
	inv.Status = StatusAccepted
	inv.AcceptedAt = now
	inv.LoginMethod = a.Method
	inv.ExternalSubject = a.ExternalSubject
	inv.UserID = a.NewUserID
	if a.Method == LoginExisting {
		inv.UserID = a.ExistingUserID
	}
	inv.CodeHash = nil
	inv.record(Accepted{ExistingProfile: a.Method == LoginExisting})
	return nil
}

// CheckAcceptance runs the checks of Accept that need neither the code nor
// the login provider's answer: the method suits the kind and the names are
// there. Callers run it before spending a single-use login assertion, so an
// answer that was bound to fail does not cost the invitee his sign-in.
func (inv *Invitation) CheckAcceptance(method LoginMethod, firstName, lastName string) error {
	if allowed := inv.LoginMethods(); !slices.Contains(allowed, method) {
		return fmt.Errorf("%w: %s invitations sign in with %v", ErrLoginMethod, inv.Kind, allowed)
	}
	_, _, err := inv.names(Acceptance{FirstName: firstName, LastName: lastName})
	return err
}

// names are the accepted user's names: the invitation's, or the invitee's
// when he gives them (integrators are invited by email alone).
func (inv *Invitation) names(a Acceptance) (first, last string, err error) {
	first, last = inv.FirstName, inv.LastName
	if !blank(a.FirstName) {
		first = strings.TrimSpace(a.FirstName)
	}
	if !blank(a.LastName) {
		last = strings.TrimSpace(a.LastName)
	}
	if blank(first) {
		return "", "", invalid("first_name", "is required: the invitation has none")
	}
	if blank(last) {
		return "", "", invalid("last_name", "is required: the invitation has none")
	}
	return first, last, nil
}

// LoginMethods are the ways this invitation's invitee may sign in.
//
// An integrator always becomes a user of his own in the tenant, never an
// existing profile: an existing member of the tenant who accepted an
// integrator invitation would keep his membership as an ordinary
// administrator without the integrator marker, escape the one-integrator
// limit, and could not be dismissed as the integrator (seed 003). He signs
// in with BankID or his provider profile, as on any other client's portal.
func (inv *Invitation) LoginMethods() []LoginMethod {
	switch inv.Kind {
	case KindMember:
		return []LoginMethod{LoginBankID, LoginProviderProfile, LoginExisting}
	case KindIntegrator:
		return []LoginMethod{LoginBankID, LoginProviderProfile}
	case KindIntegration:
		return []LoginMethod{LoginPassword} // a neutral user never borrows a person's profile
	}
	return nil
}

func (inv *Invitation) allowMethod(a Acceptance) error {
	if err := inv.CheckAcceptance(a.Method, a.FirstName, a.LastName); err != nil {
		return err
	}
	switch a.Method {
	case LoginExisting:
		if a.ExistingUserID == "" {
			return invalid("user_id", "an existing profile must be signed in")
		}
	case LoginBankID, LoginProviderProfile:
		if a.ExternalSubject == "" {
			return invalid("external_subject", "the login provider did not name the user")
		}
		fallthrough
	default:
		if a.NewUserID == "" {
			return invalid("user_id", "a new user needs an id")
		}
	}
	return nil
}

func (inv *Invitation) live(now time.Time) error {
	inv.expireIfDue(now)
	if inv.Status != StatusPending && inv.Status != StatusLocked {
		return ErrNotPending
	}
	return nil
}

// Resend gives the invitee a new link (the old one dies), the invitation's
// lifetime afresh, and a new code when the kind has one; it also unlocks.
// Only a live (pending or locked) invitation can be resent.
//
// delivery, when not nil, changes how the one-time code goes this time
// (and after): a person's invitation between SMS and to the inviter (SMS
// needs the invitation's mobile number); an integration user's or an
// integrator's invitation has no code, so only "none" is accepted.
func (inv *Invitation) Resend(key CodeKey, now time.Time, delivery *CodeDelivery) error {
	if err := inv.live(now); err != nil {
		return err
	}
	if delivery != nil && *delivery != inv.CodeDelivery {
		if err := inv.changeCodeDelivery(*delivery); err != nil {
			return err
		}
	}
	lifetime, err := Policy{Lifetime: inv.Lifetime}.lifetime()
	if err != nil {
		return err
	}
	tok, err := inv.newLink()
	if err != nil {
		return err
	}
	inv.ExpiresAt = now.Add(lifetime)
	inv.record(LinkIssued{Token: tok})
	if inv.NeedsCode() {
		if err := inv.reissueCode(key, now); err != nil {
			return err
		}
	}
	return nil
}

func (inv *Invitation) changeCodeDelivery(d CodeDelivery) error {
	if inv.Kind != KindMember {
		return invalid("code_delivery", "only a person's invitation has a one-time code to send another way")
	}
	if err := personCodeDelivery(d, inv.Mobile, "code_delivery"); err != nil {
		return err
	}
	inv.CodeDelivery = d
	return nil
}

// personCodeDelivery is seed 001's rule for a person's one-time code: by
// SMS (to a mobile number), or to the inviter when the invitee has no SMS.
// A missing number is reported on mobileField (the form's mobile, or the
// code_delivery asked for when the invitation has none).
func personCodeDelivery(d CodeDelivery, mobile, mobileField string) error {
	switch d {
	case CodeBySMS:
		if mobile == "" && mobileField == "mobile" {
			return invalid("mobile", "is required when the one-time code goes by SMS")
		}
		if mobile == "" {
			return invalid(mobileField, "the invitation has no mobile number to send the code to by SMS")
		}
	case CodeToInviter:
	default:
		return invalid("code_delivery", "a person's invitation needs the one-time code by SMS or sent to you")
	}
	return nil
}

// IssueCode is the inviter sending a new code: it unlocks a locked
// invitation and resets the invitee's request allowance.
func (inv *Invitation) IssueCode(key CodeKey, now time.Time) error {
	if err := inv.live(now); err != nil {
		return err
	}
	if !inv.NeedsCode() {
		return invalid("code_delivery", "this invitation has no one-time code")
	}
	return inv.reissueCode(key, now)
}

func (inv *Invitation) reissueCode(key CodeKey, now time.Time) error {
	c, err := inv.newCode(key, now)
	if err != nil {
		return err
	}
	inv.CodeRequests = 0
	inv.CodeAttempts = 0 // the inviter's decision resets the count and unlocks
	inv.Status = StatusPending
	inv.record(CodeIssued{Code: c})
	return nil
}

// RequestCode is the invitee asking for a new code: at most once a minute
// and CodeRequestsMax times; never for a locked invitation (the inviter
// decides then).
func (inv *Invitation) RequestCode(tok Token, key CodeKey, now time.Time) error {
	if err := inv.Open(tok, now); err != nil {
		return err
	}
	if !inv.NeedsCode() {
		return invalid("code_delivery", "this invitation has no one-time code")
	}
	if inv.Status == StatusLocked {
		return ErrLocked
	}
	if inv.CodeRequests >= CodeRequestsMax {
		return &RateLimitError{}
	}
	if wait := inv.LastCodeSentAt.Add(CodeRequestEvery).Sub(now); wait > 0 {
		return &RateLimitError{RetryAfter: int64((wait + time.Second - 1) / time.Second)}
	}
	c, err := inv.newCode(key, now)
	if err != nil {
		return err
	}
	inv.CodeRequests++
	inv.record(CodeIssued{Code: c})
	return nil
}

// Revoke withdraws a live invitation: by an administrator (by names them),
// or by the system when another invitation supersedes it (supersededBy).
func (inv *Invitation) Revoke(reason RevokeReason, by Actor, supersededBy string, now time.Time) error {
	if reason == RevokedByAdmin && by.UserID == "" {
		return invalid("revoked_by", "an administrator's revocation names the administrator")
	}
	if err := inv.live(now); err != nil {
		return err
	}
	inv.Status = StatusRevoked
	inv.RevokedAt = now
	inv.RevokeReason = reason
	inv.RevokedBy = by
	inv.SupersededBy = supersededBy
	inv.CodeHash = nil
	inv.record(Revoked{Reason: reason})
	return nil
}

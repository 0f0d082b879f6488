package messages

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Kind is what the invitee becomes when the invitation is accepted.
type Kind int

const (
	// KindMember is a person invited with name, email and mobile; they
	// confirm with a one-time code and sign in with a profile, BankID or a
	// provider profile.
	KindMember Kind = iota
	// KindIntegration is a neutral integration user, not tied to a real
	// person; the link lets whoever holds its mailbox set a password.
	KindIntegration
	// KindIntegrator is a certified partner invited to configure the tenant,
	// with administrator rights minus a few carve-outs.
	KindIntegrator
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
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) valid() bool { return k >= KindMember && k <= KindIntegrator }

// CodeDelivery is how a member's one-time code reaches them. It only changes
// the text for KindMember; the other kinds have no one-time code.
type CodeDelivery int

const (
	// CodeBySMS sends the code by SMS to the invitee's mobile.
	CodeBySMS CodeDelivery = iota
	// CodeToInviter emails the code to the inviting administrator, who
	// passes it on (the invitee has no SMS).
	CodeToInviter
	// CodeNone means the invitation needs no one-time code.
	CodeNone
)

func (d CodeDelivery) String() string {
	switch d {
	case CodeBySMS:
		return "sms"
	case CodeToInviter:
		return "to-inviter"
	case CodeNone:
		return "none"
	}
	return fmt.Sprintf("CodeDelivery(%d)", int(d))
}

func (d CodeDelivery) valid() bool { return d >= CodeBySMS && d <= CodeNone }

// Invitation is what the texts are made from.
type Invitation struct {
	Language     string    // BCP 47 tag of the tenant's language; unknown or empty means English
	Kind         Kind      // what the invitee becomes
	TenantName   string    // the client / portal / company the invitee joins; required
	InviteeName  string    // may be empty (integrators are identified by email)
	InviterName  string    // required when CodeDelivery is CodeToInviter (and for CodeToInviterEmail)
	InviterEmail string    // optional; shown next to the inviter's name
	AcceptURL    string    // absolute http(s) link carrying the single-use token; required
	ExpiresAt    time.Time // required; shown in Location
	Location     *time.Location
	CodeDelivery CodeDelivery
}

// Email is a rendered message: a one-line subject and two bodies.
type Email struct {
	Subject, Text, HTML string
}

// ErrInvalid is wrapped by every *FieldError.
var ErrInvalid = errors.New("invalid message input")

// FieldError names the input that cannot be rendered and why. It never
// contains the value itself (the accept URL carries a token, a code is a
// secret).
type FieldError struct {
	Field  string // e.g. "AcceptURL", "TenantName", "code"
	Reason string
}

func (e *FieldError) Error() string { return "messages: " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, reason string) error { return &FieldError{Field: field, Reason: reason} }

// clean makes a value safe for a single line: control characters (CR, LF,
// tabs, NUL...) and Unicode line/paragraph separators become spaces, runs of
// spaces collapse, and the ends are trimmed.
func clean(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// checkURL accepts only absolute http or https URLs with a host.
func checkURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return fieldErr("AcceptURL", "is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return fieldErr("AcceptURL", "must be an absolute https or http URL")
	}
	return nil
}

// checkCode accepts exactly six ASCII digits.
func checkCode(code string) error {
	if len(code) != 6 {
		return fieldErr("code", "must be 6 digits")
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return fieldErr("code", "must be 6 digits")
		}
	}
	return nil
}

func checkValidFor(d time.Duration) error {
	if d < time.Second {
		return fieldErr("validFor", "must be at least one second")
	}
	return nil
}

// prepared is an Invitation that passed validation, with its values cleaned.
type prepared struct {
	lang        *language
	kind        Kind
	delivery    CodeDelivery
	tenant      string
	invitee     string
	inviter     string // name, or the email when there is no name
	inviterFull string // "Name (email)", name or email; "" when neither
	acceptURL   string
	expires     time.Time
	loc         *time.Location
}

func prepare(inv Invitation, needURL bool) (prepared, error) {
	p := prepared{
		lang:     lookup(inv.Language),
		kind:     inv.Kind,
		delivery: inv.CodeDelivery,
		tenant:   clean(inv.TenantName),
		invitee:  clean(inv.InviteeName),
		expires:  inv.ExpiresAt,
		loc:      inv.Location,
	}
	if !inv.Kind.valid() {
		return p, fieldErr("Kind", "unknown kind "+inv.Kind.String())
	}
	if !inv.CodeDelivery.valid() {
		return p, fieldErr("CodeDelivery", "unknown delivery "+inv.CodeDelivery.String())
	}
	if p.tenant == "" {
		return p, fieldErr("TenantName", "is required")
	}
	if needURL {
		if err := checkURL(inv.AcceptURL); err != nil {
			return p, err
		}
		p.acceptURL = inv.AcceptURL
		if inv.ExpiresAt.IsZero() {
			return p, fieldErr("ExpiresAt", "is required")
		}
	}
	name := clean(inv.InviterName)
	email := clean(inv.InviterEmail)
	if email != "" {
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email {
			return p, fieldErr("InviterEmail", "must be a plain email address")
		}
	}
	p.inviter = name
	switch {
	case name != "" && email != "":
		p.inviterFull = name + " (" + email + ")"
	case name != "":
		p.inviterFull = name
	default:
		p.inviterFull = email
		p.inviter = email
	}
	if p.loc == nil {
		p.loc = time.UTC
	}
	return p, nil
}

// InvitationEmail renders the email to the invitee: who invited them, to
// which tenant, until when, the link, and what happens next for the kind of
// invitation (the one-time code and the choice of sign-in for a member,
// setting a password for an integration user, the integrator's rights and
// their limits for an integrator).
//
// TenantName, an absolute http(s) AcceptURL and ExpiresAt are required, and
// so is InviterName (the invitee is told who will give them the code) when a
// member's code goes to the inviter. The error is a *FieldError.
func InvitationEmail(inv Invitation) (Email, error) {
	p, err := prepare(inv, true)
	if err != nil {
		return Email{}, err
	}
	if p.kind == KindMember && p.delivery == CodeToInviter && clean(inv.InviterName) == "" {
		return Email{}, fieldErr("InviterName", "is required when the one-time code goes to the inviter")
	}
	return invitationEmail(p)
}

// CodeToInviterEmail renders the email to the inviting administrator who
// chose to receive the one-time code instead of the invitee getting it by
// SMS: the code to pass on to the invitee, and for how long it is valid.
//
// TenantName, InviterName and InviteeName are required (the administrator
// must know who the code is for); AcceptURL and ExpiresAt are not used, so
// the invitee's link is never sent to the administrator. code must be six
// digits and validFor at least a second. The error is a *FieldError.
func CodeToInviterEmail(lang string, inv Invitation, code string, validFor time.Duration) (Email, error) {
	inv.Language = lang
	p, err := prepare(inv, false)
	if err != nil {
		return Email{}, err
	}
	if clean(inv.InviterName) == "" {
		return Email{}, fieldErr("InviterName", "is required")
	}
	if p.invitee == "" {
		return Email{}, fieldErr("InviteeName", "is required")
	}
	if err := checkCode(code); err != nil {
		return Email{}, err
	}
	if err := checkValidFor(validFor); err != nil {
		return Email{}, err
	}
	return codeEmail(p, code, validFor)
}

// CodeSMS returns the SMS that carries a one-time code, e.g. "Your one-time
// code for Acme: 123456. Valid for 10 minutes. Never share it.". It fits one
// SMS segment (160 GSM-7 characters, or 70 UCS-2 characters for Russian or a
// tenant name outside GSM-7) by shortening a long tenant name, never below
// a readable length.
//
// It panics if code is not six ASCII digits, tenantName is empty or validFor
// is under a second: codes and lifetimes come from the service itself, so
// that is a programming error. Use CheckedCodeSMS for input not known to be
// valid.
func CodeSMS(lang, code, tenantName string, validFor time.Duration) string {
	s, err := CheckedCodeSMS(lang, code, tenantName, validFor)
	if err != nil {
		panic(err)
	}
	return s
}

// CheckedCodeSMS is CodeSMS returning a *FieldError instead of panicking.
func CheckedCodeSMS(lang, code, tenantName string, validFor time.Duration) (string, error) {
	if err := checkCode(code); err != nil {
		return "", err
	}
	tenant := clean(tenantName)
	if tenant == "" {
		return "", fieldErr("tenantName", "is required")
	}
	if err := checkValidFor(validFor); err != nil {
		return "", err
	}
	return codeSMS(lookup(lang), code, tenant, validFor), nil
}

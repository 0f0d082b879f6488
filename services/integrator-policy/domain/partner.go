package domain

import (
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Partner is a certified integration partner and its verified addresses.
type Partner struct {
	ID           string
	Name         string
	Emails       []string // lowercase
	Domains      []string // lowercase, no leading "@"
	RegisteredAt time.Time
	RevokedAt    time.Time // zero while registered
}

// Revoked reports whether the partner's certification was withdrawn.
func (p Partner) Revoked() bool { return !p.RevokedAt.IsZero() }

// Match is how an email matched a partner.
type Match int

// Matches, numbered as the contract's PartnerMatch.
const (
	MatchNone   Match = 0
	MatchEmail  Match = 1
	MatchDomain Match = 2
)

// NormalizeEmail checks an address and returns it lowercase. Emails are
// compared case-insensitively as a whole: registries and people write the
// local part in any case, and no mailbox provider in practice tells
// "Dev@x" from "dev@x".
func NormalizeEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fieldErr(field, "is not an email address")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", fieldErr(field, "is not an email address")
	}
	if _, err := NormalizeDomain(field, s[at+1:]); err != nil {
		return "", fieldErr(field, "is not an email address (bad domain)")
	}
	return strings.ToLower(s), nil
}

// DomainOf is the domain part of a normalized email.
func DomainOf(email string) string { return email[strings.LastIndexByte(email, '@')+1:] }

// NormalizeDomain checks a domain (e.g. "integra.example") and returns it
// lowercase. A domain matches exactly: a partner verified for
// "integra.example" does not own "dev.integra.example".
func NormalizeDomain(field, s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return "", fieldErr(field, "is not a domain name")
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fieldErr(field, "is not a domain name")
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return "", fieldErr(field, "is not a domain name (use punycode for international names)")
			}
		}
	}
	return d, nil
}

// NewPartner checks a registration: a name and at least one verified email
// or domain, each well-formed and listed once.
func NewPartner(id, name string, emails, domains []string, now time.Time) (Partner, error) {
	p := Partner{ID: id, Name: strings.TrimSpace(name), RegisteredAt: now}
	if p.Name == "" || len(p.Name) > 200 {
		return Partner{}, fieldErr("name", "must be 1 to 200 characters")
	}
	if len(emails) == 0 && len(domains) == 0 {
		return Partner{}, fieldErr("emails", "give at least one verified email address or domain")
	}
	for i, e := range emails {
		n, err := NormalizeEmail(indexed("emails", i), e)
		if err != nil {
			return Partner{}, err
		}
		if slices.Contains(p.Emails, n) {
			return Partner{}, fieldErr(indexed("emails", i), "is listed twice")
		}
		p.Emails = append(p.Emails, n)
	}
	for i, d := range domains {
		n, err := NormalizeDomain(indexed("domains", i), d)
		if err != nil {
			return Partner{}, err
		}
		if slices.Contains(p.Domains, n) {
			return Partner{}, fieldErr(indexed("domains", i), "is listed twice")
		}
		p.Domains = append(p.Domains, n)
	}
	return p, nil
}

func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

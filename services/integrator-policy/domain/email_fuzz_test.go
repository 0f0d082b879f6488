package domain_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"rollcall.dev/services/integrator-policy/domain"
)

func requireFieldError(t *testing.T, err error, field, input string) {
	t.Helper()
	var fe *domain.FieldError
	if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("%q: %v is not a field error on %s", input, err, field)
	}
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// FuzzNormalizeEmail checks the form partner emails are registered and
// matched in: an accepted address comes out trimmed and lowercase, is
// accepted again unchanged (idempotent), is found whatever the ASCII case it
// is typed in, and its domain part is a domain NormalizeDomain keeps as it
// is (the key a partner's verified domain is matched by). A refusal is a
// field error on the field named.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"Dev@Integra.Example", " dev@integra.example ", "a.b+c@x-y.example", "x@localhost", "A <x@y.example>",
		"x@y_z.example", "x@-y.example", "x@y..example", "\"a b\"@x.example", "\"a@b\"@x.example", "a@b@x.example",
		"ÅSE@x.example", "\u212a@x.example", "İ@x.example", "x@X.EXAMPLE.", "x@[192.0.2.1]", "(comment)x@y.example",
		"x@y.example (comment)", "x\x00@y.example", "x\xff@y.example", "=?utf-8?q?x?=@y.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := domain.NormalizeEmail("emails[3]", s)
		if err != nil {
			requireFieldError(t, err, "emails[3]", s)
			return
		}
		if n != strings.ToLower(strings.TrimSpace(s)) {
			t.Fatalf("NormalizeEmail(%q) = %q", s, n)
		}
		if again, err := domain.NormalizeEmail("email", n); err != nil || again != n {
			t.Fatalf("NormalizeEmail(%q) = %q, then %q, %v", s, n, again, err)
		}
		if up, err := domain.NormalizeEmail("email", asciiUpper(n)); err != nil || up != n {
			t.Fatalf("%q normalizes to %q, its upper case %q to %q, %v", s, n, asciiUpper(n), up, err)
		}
		at := strings.LastIndexByte(n, '@')
		if at <= 0 || strings.ContainsAny(n, " \t\r\n<>") {
			t.Fatalf("NormalizeEmail(%q) = %q is no plain address", s, n)
		}
		d := domain.DomainOf(n)
		if nd, err := domain.NormalizeDomain("domain", d); err != nil || nd != d {
			t.Fatalf("the domain %q of %q normalizes to %q, %v", d, n, nd, err)
		}
	})
}

var hostname = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// FuzzNormalizeDomain checks a partner's verified domain: an accepted one is
// a lowercase host name of at least two labels (the documented rule, written
// out as a regular expression), at most 253 characters, is accepted again
// unchanged, and "someone@" it is an address whose domain is it exactly.
func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{
		"integra.example", "Integra.Example.", " integra.example ", "dev.integra.example", "localhost", "xn--bcher-kva.example",
		"bücher.example", "-a.example", "a-.example", "a..example", ".example", "a.example..", "a_b.example", "1.2.3.4",
		strings.Repeat("a", 63) + ".example", strings.Repeat("a", 64) + ".example", strings.Repeat("a.", 127) + "a", "\u212a.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := domain.NormalizeDomain("domains[0]", s)
		if err != nil {
			requireFieldError(t, err, "domains[0]", s)
			return
		}
		if !hostname.MatchString(d) || len(d) > 253 {
			t.Fatalf("NormalizeDomain(%q) = %q is not a host name", s, d)
		}
		if d != strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), ".")) {
			t.Fatalf("NormalizeDomain(%q) = %q", s, d)
		}
		if again, err := domain.NormalizeDomain("domain", d); err != nil || again != d {
			t.Fatalf("NormalizeDomain(%q) = %q, then %q, %v", s, d, again, err)
		}
		e, err := domain.NormalizeEmail("email", "someone@"+d)
		if err != nil || domain.DomainOf(e) != d {
			t.Fatalf("someone@%s: %q, %v", d, e, err)
		}
	})
}

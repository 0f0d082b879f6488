package domain_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"rollcall.dev/services/sync/domain"
)

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// FuzzSameContact checks how HR's and the ERP's emails and phone numbers
// are compared: a value is the same as itself, the comparison is symmetric,
// an email is the same in any ASCII case and with blanks around it, and a
// phone number is the same with the spaces, dashes and brackets people type
// put in anywhere (any white space counts as a space: copied numbers hold
// no-break spaces). Two numbers that differ in a digit are never the same.
func FuzzSameContact(f *testing.F) {
	f.Add("Kari@Example.com", "+47 912 34 567", "+4791234567", 3, byte('-'))
	f.Add("", "", "", 0, byte(' '))
	f.Add(" a@b.c ", "(+47) 91-23-45-67", "+4791234568", 1, byte('('))
	f.Add("ſ@x.example", "+47\u00a091234567", "+47 9123456", 9, byte(')'))
	f.Add("a@b.c", "+47\u00a0912\t34 567", "+4791234567", 0, byte('-'))
	f.Fuzz(func(t *testing.T, email, phone, other string, pos int, sep byte) {
		if !strings.ContainsRune(" -()", rune(sep)) {
			sep = ' '
		}
		if pos < 0 {
			pos = -pos
		}
		pos %= len(phone) + 1
		for pos < len(phone) && !utf8.RuneStart(phone[pos]) {
			pos++ // people type separators between characters
		}
		a := &domain.Values{Email: email, Phone: phone}
		b := &domain.Values{Email: " " + upperASCII(email) + "\t", Phone: phone[:pos] + string(sep) + phone[pos:]}
		c := &domain.Values{Email: other, Phone: other}
		for _, fld := range []domain.Field{domain.FieldEmail, domain.FieldPhone} {
			if !domain.Same(fld, a, a) {
				t.Fatalf("%v: %q is not the same as itself", fld, a.Show(fld))
			}
			if !domain.Same(fld, a, b) || !domain.Same(fld, b, a) {
				t.Fatalf("%v: %q and %q differ", fld, a.Show(fld), b.Show(fld))
			}
			if domain.Same(fld, a, c) != domain.Same(fld, c, a) {
				t.Fatalf("%v: comparing %q and %q is not symmetric", fld, a.Show(fld), c.Show(fld))
			}
		}
		digits := func(s string) string {
			return strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, s)
		}
		if digits(phone) != digits(other) && domain.Same(domain.FieldPhone, a, c) {
			t.Fatalf("%q and %q have other digits but are the same number", phone, other)
		}
		strip := func(s string) string {
			return strings.Map(func(r rune) rune {
				if unicode.IsSpace(r) || r == '-' || r == '(' || r == ')' {
					return -1
				}
				return r
			}, s)
		}
		if utf8.ValidString(phone+other) && (strip(phone) == strip(other)) != domain.Same(domain.FieldPhone, a, c) {
			t.Fatalf("%q and %q: same number %v", phone, other, domain.Same(domain.FieldPhone, a, c))
		}
	})
}

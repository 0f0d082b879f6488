package app

import (
	"errors"
	"strings"
	"testing"

	"buf.build/go/protovalidate"

	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/identity/domain"
)

// FuzzLoginKey checks the normal forms identity keeps emails and failed
// attempts under: normEmail and loginKey are idempotent; a user code's key
// is its lowercase; an email the invitation contract accepts keeps being
// one after normEmail; and, since attempts on user codes and on emails
// share one namespace, no user code has the key of such an email.
func FuzzLoginKey(f *testing.F) {
	for _, s := range [][2]string{
		{"Kiosk01", "Kari.Nordmann@Example.COM"}, {"ROBOT01", " kari@example.com "}, {"\u212aiosk01", "\u212a@example.com"},
		{"abc", "İ@example.com"}, {"", ""}, {"Robot01", "Robot01"}, {"ẞtraße1", "ẞ@example.com"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, code, email string) {
		for _, s := range []string{code, email} {
			if k := loginKey(s); loginKey(k) != k {
				t.Fatalf("loginKey(%q) = %q is not idempotent", s, k)
			}
			if n := normEmail(s); normEmail(n) != n {
				t.Fatalf("normEmail(%q) = %q is not idempotent", s, n)
			}
		}
		ev := &invitationv1.InviteAccepted{Email: email}
		emailOK := !hasFieldViolation(protovalidate.Validate(ev), "email")
		if emailOK && hasFieldViolation(protovalidate.Validate(&invitationv1.InviteAccepted{Email: normEmail(email)}), "email") {
			t.Fatalf("%q is a contract email, normEmail made %q of it", email, normEmail(email))
		}
		if domain.CheckUserCode(code) != nil {
			return
		}
		if loginKey(code) != strings.ToLower(code) {
			t.Fatalf("loginKey(%q) = %q", code, loginKey(code))
		}
		if emailOK && loginKey(code) == loginKey(email) {
			t.Fatalf("user code %q and email %q share the attempt key %q", code, email, loginKey(code))
		}
	})
}

func hasFieldViolation(err error, field string) bool {
	var ve *protovalidate.ValidationError
	if err == nil || !errors.As(err, &ve) {
		return false
	}
	for _, v := range ve.Violations {
		if protovalidate.FieldPathString(v.Proto.GetField()) == field {
			return true
		}
	}
	return false
}

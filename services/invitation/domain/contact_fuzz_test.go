package domain_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/mail"
	"strings"
	"testing"

	"buf.build/go/protovalidate"

	"rollcall.dev/pkg/notify"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/services/invitation/domain"
)

func hasViolation(err error, field string) bool {
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, v := range ve.Violations {
		if protovalidate.FieldPathString(v.Proto.GetField()) == field {
			return true
		}
	}
	return false
}

// FuzzInviteeContact sends any email and mobile through Create (a member's
// invitation, the code by SMS when there is a mobile). An accepted email is
// one plain address, kept trimmed and lowercase, and accepted again as it
// was kept (idempotent); the mailer can send to it; when the request
// contract let it through, the UserInvited and InviteAccepted events carry
// it validly (identity and integrator-policy would otherwise dead-letter
// the acceptance). A mobile is accepted exactly when it is an E.164 number
// as the SMS sender and the contract define it. Refusals are field errors.
func FuzzInviteeContact(f *testing.F) {
	for _, s := range [][2]string{
		{"kari@example.com", "+4791234567"}, {" Kari.Nordmann@Example.COM ", ""}, {"Kari <kari@example.com>", "+46701234567"},
		{"kari@example", "+6831234"}, {"\"kari nordmann\"@example.com", "+123456789012345"}, {"kari@[192.0.2.1]", "+1234567890123456"},
		{"kari@@example.com", "+0123456789"}, {"kari@example.com\r\nBcc: x@y.z", "4791234567"}, {"kåri@example.com", "+47 912 34 567"},
		{"kari..n@example.com", "+4791234567\n"}, {"\u212a@example.com", "+٤٧٩١٢٣٤٥٦٧"}, {"", "+"}, {"a@b.c", "++4791234567"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, email, mobile string) {
		form := memberForm()
		form.Email, form.Mobile = email, mobile
		if mobile == "" {
			form.CodeDelivery = domain.CodeToInviter
		}
		inv, err := domain.Create(form, admin(), domain.Policy{}, key, t0)
		var fe *domain.FieldError
		if err != nil {
			if !errors.As(err, &fe) || (fe.Field != "email" && fe.Field != "mobile") || !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("Create(%q, %q) = %v, want a field error on email or mobile", email, mobile, err)
			}
			if fe.Field == "mobile" && mobile != "" && notify.IsE164(mobile) {
				t.Fatalf("the E.164 number %q was refused: %v", mobile, err)
			}
			return
		}
		if mobile != "" && !notify.IsE164(mobile) {
			t.Fatalf("accepted the mobile %q, which is no E.164 number", mobile)
		}
		if mobile != "" {
			if err := (notify.SMS{To: inv.Mobile, Text: "123456"}).Validate(); err != nil {
				t.Fatalf("accepted the mobile %q, which cannot get an SMS: %v", mobile, err)
			}
		}
		if inv.Email != strings.ToLower(strings.TrimSpace(email)) {
			t.Fatalf("Create kept %q as %q", email, inv.Email)
		}
		if a, err := mail.ParseAddress(inv.Email); err != nil || a.Name != "" || a.Address != inv.Email {
			t.Fatalf("Create kept %q as %q, which is no plain address (%v)", email, inv.Email, err)
		}
		again := memberForm()
		again.Email, again.Mobile, again.CodeDelivery = inv.Email, inv.Mobile, form.CodeDelivery
		if inv2, err := domain.Create(again, admin(), domain.Policy{}, key, t0); err != nil || inv2.Email != inv.Email {
			t.Fatalf("%q was kept as %q, which Create then refuses: %v", email, inv.Email, err)
		}
		if err := (notify.Email{To: []string{inv.Email}, Text: "x"}).Validate(); err != nil {
			t.Fatalf("accepted %q, which the mailer refuses: %v", email, err)
		}
		req := &invitationv1.CreateInvitationRequest{Email: email}
		if hasViolation(protovalidate.Validate(req), "email") {
			return // Connect refuses it before Create sees it
		}
		if err := protovalidate.Validate(&invitationv1.UserInvited{Email: inv.Email}); hasViolation(err, "email") {
			t.Fatalf("the request's %q is kept as %q, which UserInvited refuses: %v", email, inv.Email, err)
		}
		if err := protovalidate.Validate(&invitationv1.InviteAccepted{Email: inv.Email}); hasViolation(err, "email") {
			t.Fatalf("the request's %q is kept as %q, which InviteAccepted refuses: %v", email, inv.Email, err)
		}
	})
}

// FuzzVerifyCode types any code on a fresh invitation: exactly the code it
// was sent is right; anything else is a wrong code that counts.
func FuzzVerifyCode(f *testing.F) {
	for _, s := range []string{"", "000000", "123456", "12345", "1234567", "12345a", "１２３４５６", " 123456", "123456\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		inv, err := domain.Create(memberForm(), admin(), domain.Policy{}, key, t0)
		if err != nil {
			t.Fatal(err)
		}
		ev := inv.Events()[0].(domain.Invited)
		err = inv.VerifyCode(ev.Token, domain.Code(typed), key, t0)
		if typed == string(ev.Code) {
			if err != nil {
				t.Fatalf("the right code %q: %v", typed, err)
			}
			return
		}
		var wrong *domain.WrongCodeError
		if !errors.As(err, &wrong) || inv.CodeAttempts != 1 {
			t.Fatalf("code %q (sent %q): %v, %d attempts", typed, ev.Code, err, inv.CodeAttempts)
		}
		if err := inv.VerifyCode(ev.Token, ev.Code, key, t0); err != nil {
			t.Fatalf("the right code after a wrong one: %v", err)
		}
	})
}

// FuzzTokenTamper makes a link token of any 32 bytes: it hashes to their
// SHA-256 and matches, and a token with any one character changed either is
// no token or hashes differently, so never opens the invitation (the
// encoding is canonical: no two spellings of one token).
func FuzzTokenTamper(f *testing.F) {
	f.Add(make([]byte, domain.TokenBytes), 0, byte('B'))
	f.Add([]byte(strings.Repeat("\xff", domain.TokenBytes)), 42, byte('8'))
	f.Add([]byte("0123456789abcdef0123456789abcdef"), 42, byte('_'))
	f.Add([]byte("0123456789abcdef0123456789abcdef"), 10, byte('='))
	f.Fuzz(func(t *testing.T, raw []byte, pos int, c byte) {
		if len(raw) != domain.TokenBytes {
			return
		}
		tok := domain.Token(base64.RawURLEncoding.EncodeToString(raw))
		h, err := tok.Hash()
		sum := sha256.Sum256(raw)
		if err != nil || string(h) != string(sum[:]) || !tok.Matches(sum[:]) {
			t.Fatalf("token %q: hash %x, %v", tok, h, err)
		}
		if pos < 0 {
			pos = -pos
		}
		pos %= len(tok)
		if tok[pos] == c {
			return
		}
		b := []byte(tok)
		b[pos] = c
		other := domain.Token(b)
		if h2, err := other.Hash(); err == nil && string(h2) == string(h) {
			t.Fatalf("%q and %q hash the same", tok, other)
		}
		if other.Matches(h) {
			t.Fatalf("%q opens the invitation of %q", other, tok)
		}
	})
}

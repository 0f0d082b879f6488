package messages_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/services/invitation/adapters/messages"
)

func sixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FuzzCodeSMS checks the one-time code's SMS for any code, tenant name and
// language: it is written exactly when the code is six ASCII digits and the
// tenant has a name; then the text carries the code as it is, holds no line
// break or NUL a name could smuggle in beyond the template's own, and is an
// SMS the sender accepts.
func FuzzCodeSMS(f *testing.F) {
	for _, s := range [][3]string{
		{"nb", "123456", "Acme AS"}, {"sv", "000000", "Ä\r\nB"}, {"en", "12345", "Acme"}, {"xx", "1234567", "Acme"},
		{"fr", "12345a", "Acme"}, {"ru", "１２３４５６", "Acme"}, {"nb-NO", "123456", " \t\n"}, {"", "123456", "A\u2028B\x00C"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, lang, code, tenant string) {
		text, err := messages.CheckedCodeSMS(lang, code, tenant, 10*time.Minute)
		if !sixDigits(code) {
			var fe *messages.FieldError
			if !errors.As(err, &fe) || fe.Field != "code" {
				t.Fatalf("code %q: %v", code, err)
			}
			return
		}
		if blank := strings.TrimFunc(tenant, isBlank) == ""; blank != (err != nil) {
			t.Fatalf("code %q, tenant %q: %v", code, tenant, err)
		}
		if err != nil {
			var fe *messages.FieldError
			if !errors.As(err, &fe) || fe.Field != "tenantName" {
				t.Fatalf("tenant %q: %v", tenant, err)
			}
			return
		}
		if !strings.Contains(text, code) {
			t.Fatalf("the SMS %q does not carry the code %q", text, code)
		}
		reference, err := messages.CheckedCodeSMS(lang, code, "T", 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(text, "\n") != strings.Count(reference, "\n") || strings.ContainsAny(text, "\r\x00\u2028\u2029") {
			t.Fatalf("tenant %q brought a line break into %q", tenant, text)
		}
		if err := (notify.SMS{To: "+4791234567", Text: text}).Validate(); err != nil {
			t.Fatalf("the SMS %q cannot be sent: %v", text, err)
		}
	})
}

// isBlank is what a name cannot consist of alone: control characters,
// white space, line and paragraph separators.
func isBlank(r rune) bool {
	return unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029'
}

// FuzzInvitationEmail renders the invitation email for any names and
// inviter email: the subject is one line and, with the inviter's address
// as sender, the mailer accepts the message (no header injection through a
// name); an inviter email is used only when it is one plain address.
func FuzzInvitationEmail(f *testing.F) {
	for _, s := range [][4]string{
		{"Acme AS", "Kari Nordmann", "Ada Admin", "ada@example.com"},
		{"Acme\r\nBcc: evil@example.com", "Kari", "Ada\nAdmin", ""},
		{"Acme", "", "", "Ada <ada@example.com>"},
		{"Acme", "K", "A", "ada@example.com\r\nBcc: evil@example.com"},
		{"=?utf-8?q?Acme?=", "\u2028", "\x00", "ada@example"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	expires := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, tenant, invitee, inviter, inviterEmail string) {
		inv := messages.Invitation{
			Language: "nb", Kind: messages.KindMember, TenantName: tenant, InviteeName: invitee, InviterName: inviter,
			InviterEmail: inviterEmail, AcceptURL: "https://rollcall.example/accept?token=abc", ExpiresAt: expires,
			CodeDelivery: messages.CodeBySMS,
		}
		e, err := messages.InvitationEmail(inv)
		if err != nil {
			var fe *messages.FieldError
			if !errors.As(err, &fe) || (fe.Field != "TenantName" && fe.Field != "InviterEmail") {
				t.Fatalf("%+v: %v", inv, err)
			}
			return
		}
		if strings.ContainsAny(e.Subject, "\r\n\x00") {
			t.Fatalf("subject %q has a line break", e.Subject)
		}
		if !strings.Contains(e.Text, inv.AcceptURL) {
			t.Fatalf("the text does not carry the link")
		}
		if err := (notify.Email{To: []string{"kari@example.com"}, Subject: e.Subject, Text: e.Text, HTML: e.HTML}).Validate(); err != nil {
			t.Fatalf("the mailer refuses %q: %v", e.Subject, err)
		}
	})
}

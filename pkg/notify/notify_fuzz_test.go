package notify

import (
	"bytes"
	"mime"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
)

var e164Rule = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// FuzzIsE164 checks the number rule every SMS goes through against its
// documented form ('+', then 7 to 15 digits, the first not 0: the same
// pattern the invitation contract uses), and that a number it accepts is a
// valid recipient and sender while anything else is refused as recipient.
func FuzzIsE164(f *testing.F) {
	for _, s := range []string{
		"+4791234567", "+46701234567", "+6831234", "+123456789012345", "+1234567890123456", "+0123456789",
		"4791234567", "+47 912 34 567", "+", "", "+47912345６7", "+4791234567\n", "++4791234567", "+٤٧٩١٢٣٤٥٦٧",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := IsE164(s)
		if want := e164Rule.MatchString(s); ok != want {
			t.Fatalf("IsE164(%q) = %v, the documented rule says %v", s, ok, want)
		}
		err := SMS{To: s, Text: "Koden din er 123456"}.Validate()
		if (err == nil) != ok {
			t.Fatalf("SMS to %q: %v", s, err)
		}
		if ok {
			if err := (SMS{To: "+4791234567", Text: "x", Sender: s}).Validate(); err != nil {
				t.Fatalf("sender %q refused: %v", s, err)
			}
		}
	})
}

// ws folds runs of blanks into one space and trims them: header folding
// and reading do, and a mail program shows them so.
func ws(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
}

var headerNameRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,75}$`)

// FuzzEmailValidate checks that what Email.Validate accepts is what the
// SMTP mailer writes, unchanged and without injection: the message built
// from it parses back with the same recipient, the same subject and the
// extra header with its value, and no header the caller did not ask for.
// Addresses, subjects and header values with a line break, and header names
// outside letters, digits and '-', are refused.
func FuzzEmailValidate(f *testing.F) {
	f.Add("kari@example.com", "Invitasjon til Acme", "X-Rollcall-Invitation-Id", "0b7c7a2e")
	f.Add("Kari Nordmann <kari@example.com>", "Æøå — invitation", "X-Id", "")
	f.Add("\"Nordmann, Kari\" <kari@example.com>", "s", "X-Id", "v")
	f.Add("kari@example.com\r\nBcc: evil@example.com", "s", "X-Id", "v")
	f.Add("kari@example.com", "s\r\nBcc: evil@example.com", "X-Id", "v")
	f.Add("kari@example.com", "s", "Bcc", "evil@example.com")
	f.Add("kari@example.com", "s", "X-Id", "v\nBcc: evil@example.com")
	f.Add("kari@example.com", "s", "X Id", "v")
	f.Add("kari@.example.com", "s", "-X", "v")
	f.Add("=?utf-8?q?evil?= <kari@example.com>", "=?utf-8?q?hi?=", "X-Id", "=?utf-8?q?v?=")
	f.Add("kåri@exämple.com", "s", "X-Id", "v")
	f.Fuzz(func(t *testing.T, to, subject, hname, hvalue string) {
		e := Email{From: "Rollcall <no-reply@rollcall.example>", To: []string{to}, Subject: subject, Text: "Hei!",
			Headers: map[string]string{hname: hvalue}}
		if err := e.Validate(); err != nil {
			return
		}
		if strings.ContainsAny(to+subject+hvalue, "\r\n") {
			t.Fatalf("accepted a line break: %q %q %q", to, subject, hvalue)
		}
		if !headerNameRule.MatchString(hname) || reservedHeaders[strings.ToLower(hname)] {
			t.Fatalf("accepted the header name %q", hname)
		}
		addr, err := mail.ParseAddress(to)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", to, err)
		}
		msg, err := buildMsg(e)
		if err != nil {
			t.Fatalf("Validate accepted %+v, the mailer refused it: %v", e, err)
		}
		var raw bytes.Buffer
		if _, err := msg.WriteTo(&raw); err != nil {
			t.Fatalf("write: %v", err)
		}
		m, err := mail.ReadMessage(&raw)
		if err != nil {
			t.Fatalf("the message built from %+v does not parse: %v", e, err)
		}
		got, err := m.Header.AddressList("To")
		if err != nil || len(got) != 1 || got[0].Address != addr.Address {
			t.Fatalf("To %q was written as %q (%v)", to, m.Header.Get("To"), err)
		}
		// Text that itself looks like an RFC 2047 encoded word ("=?utf-8?q?..?=")
		// goes out as it is and a mail program shows it decoded; it can
		// change what is shown, never which headers there are (checked below).
		dec := new(mime.WordDecoder)
		if s, err := dec.DecodeHeader(m.Header.Get("Subject")); (err != nil || ws(s) != ws(subject)) && !strings.Contains(subject, "=?") {
			t.Fatalf("Subject %q was written as %q, reads %q (%v)", subject, m.Header.Get("Subject"), s, err)
		}
		key := textproto.CanonicalMIMEHeaderKey(hname)
		if s, err := dec.DecodeHeader(m.Header.Get(key)); (err != nil || ws(s) != ws(hvalue)) && !strings.Contains(hvalue, "=?") {
			t.Fatalf("%s %q was written as %q, reads %q (%v)", hname, hvalue, m.Header.Get(key), s, err)
		}
		for k := range m.Header {
			switch k {
			case "From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding", key:
			default:
				t.Fatalf("header %s appeared (to %q, subject %q, %s: %q)", k, to, subject, hname, hvalue)
			}
		}
	})
}

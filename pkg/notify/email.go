package notify

import (
	"context"
	"net/mail"
	"strings"
)

// Email is one message to send. Text is required; when HTML is set too, the
// message is multipart/alternative with both.
type Email struct {
	// From is the sender, "addr@example.com" or "Name <addr@example.com>".
	// Empty means the mailer's default sender.
	From string
	// To holds the recipients, in the same forms as From. At least one.
	To      []string
	Subject string
	Text    string
	HTML    string
	// Headers adds extra header fields, e.g. X-Rollcall-Invitation-Id.
	// Names are letters, digits and '-'; the fields this package writes
	// itself (From, To, Subject, Date, MIME and Content-* fields, ...) are
	// refused so they cannot be overridden.
	Headers map[string]string
}

// Mailer sends email. Errors wrap ErrInvalid, ErrPermanent or ErrTransient.
type Mailer interface {
	SendEmail(ctx context.Context, e Email) error
}

// reservedHeaders are written by the mailer from Email's fields or by the
// MIME encoder; letting Headers set them would allow spoofing or a broken
// message.
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "sender": true, "reply-to": true,
	"subject": true, "date": true, "message-id": true, "mime-version": true,
	"content-type": true, "content-transfer-encoding": true, "content-disposition": true,
	"return-path": true, "received": true, "dkim-signature": true,
}

// Validate reports why e cannot be sent, wrapping ErrInvalid. An empty From
// is accepted (the mailer fills in its default). Error texts name the field
// and its position, never the address itself.
func (e Email) Validate() error {
	if e.From != "" {
		if err := checkAddress(e.From); err != nil {
			return invalidf("from: %s", err)
		}
	}
	if len(e.To) == 0 {
		return invalidf("no recipient")
	}
	for i, to := range e.To {
		if err := checkAddress(to); err != nil {
			return invalidf("to[%d]: %s", i, err)
		}
	}
	if hasLineBreak(e.Subject) {
		return invalidf("subject contains a line break (header injection)")
	}
	if strings.TrimSpace(e.Text) == "" {
		return invalidf("empty text body")
	}
	for name, value := range e.Headers {
		if !validHeaderName(name) {
			return invalidf("header name %q is not letters, digits and '-'", name)
		}
		if reservedHeaders[strings.ToLower(name)] {
			return invalidf("header %s is set by the mailer, not through Headers", name)
		}
		if hasLineBreak(value) {
			return invalidf("header %s value contains a line break (header injection)", name)
		}
	}
	return nil
}

type reason string

func (r reason) Error() string { return string(r) }

// checkAddress accepts one RFC 5322 address, with or without display name.
func checkAddress(s string) error {
	if strings.TrimSpace(s) == "" {
		return reason("empty address")
	}
	if hasLineBreak(s) {
		return reason("address contains a line break (header injection)")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return reason("malformed address")
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || domain == "" || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return reason("malformed address")
	}
	return nil
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

// validHeaderName is deliberately stricter than RFC 5322's ftext: every
// header Rollcall needs fits, and nothing odd reaches a relay.
func validHeaderName(name string) bool {
	if name == "" || len(name) > 76 || name[0] == '-' {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
		default:
			return false
		}
	}
	return true
}

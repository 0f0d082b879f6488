package mailsink

import (
	"io"
	"time"

	"github.com/emersion/go-smtp"
)

// backend accepts every session without authentication: see the package doc.
type backend struct{ s *Sink }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Sink
	from string
	to   []string
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := parseEmail(raw)
	m.Kind = KindEmail
	m.To = append([]string{}, x.to...)
	if m.From == "" {
		m.From = x.from
	}
	m.ReceivedAt = time.Now().UTC()
	x.s.add(m)
	return nil
}

func (x *session) Reset() {
	x.from = ""
	x.to = nil
}

func (x *session) Logout() error { return nil }

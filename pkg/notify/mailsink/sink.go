package mailsink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"rollcall.dev/pkg/notify"
)

// Message kinds.
const (
	KindEmail = "email"
	KindSMS   = "sms"
)

var (
	// ErrClosed is returned by Wait and by the SMS sender once the sink is
	// closed.
	ErrClosed = errors.New("mailsink: closed")
	// ErrNotFound is returned by Message for an unknown id.
	ErrNotFound = errors.New("mailsink: message not found")
)

// Message is one captured email or SMS.
type Message struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // "email" or "sms"
	// From is the From header as written (decoded), or the envelope sender
	// when there is none; for an SMS, its Sender.
	From string `json:"from"`
	// To holds the envelope recipients (RCPT TO, so Bcc shows too) as bare
	// addresses; for an SMS, the number.
	To      []string `json:"to"`
	Subject string   `json:"subject,omitempty"`
	// Date is the message's Date header, zero when absent or unparsable.
	Date time.Time `json:"date,omitzero"`
	Text string    `json:"text"`
	HTML string    `json:"html,omitempty"`
	// Headers holds the top-level header fields, canonical names, first
	// value, RFC 2047 words decoded.
	Headers    map[string]string `json:"headers,omitempty"`
	ReceivedAt time.Time         `json:"receivedAt"`

	seq uint64
}

// Options configures Start.
type Options struct {
	// SMTPAddr is the address the SMTP server listens on; default
	// "127.0.0.1:0" (a free port; read it back with Sink.SMTPAddr).
	SMTPAddr string
	// MaxMessages bounds the store; the oldest is dropped. Default 1000.
	MaxMessages int
	// MaxMessageBytes bounds one email; default 10 MiB.
	MaxMessageBytes int64
	// Logger receives the SMTP server's errors; default: discarded.
	Logger *slog.Logger
}

// Sink is a running mail catcher. Its methods are safe for concurrent use.
type Sink struct {
	opts   Options
	server *smtp.Server
	ln     net.Listener
	served chan struct{}

	mu      sync.Mutex
	msgs    []Message // oldest first
	seq     uint64
	changed chan struct{} // closed and replaced on every change
	closed  bool

	closeOnce sync.Once
	closeErr  error
}

// Start listens on opts.SMTPAddr and serves SMTP until Close. ctx bounds
// only the start-up; stop the sink with Close.
func Start(ctx context.Context, opts Options) (*Sink, error) {
	if opts.SMTPAddr == "" {
		opts.SMTPAddr = "127.0.0.1:0"
	}
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = 1000
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 10 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.SMTPAddr)
	if err != nil {
		return nil, fmt.Errorf("mailsink: listen smtp: %w", err)
	}
	s := &Sink{opts: opts, ln: ln, served: make(chan struct{}), changed: make(chan struct{})}

	srv := smtp.NewServer(backend{s})
	srv.Domain = "rollcall-mailsink"
	srv.MaxMessageBytes = opts.MaxMessageBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = slogLogger{opts.Logger}
	s.server = srv

	go func() {
		defer close(s.served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			opts.Logger.Error("mailsink: smtp server stopped", "error", err)
		}
	}()
	return s, nil
}

// SMTPAddr is the host:port the SMTP server listens on.
func (s *Sink) SMTPAddr() string { return s.ln.Addr().String() }

// SMTPHostPort splits SMTPAddr for an SMTP client's configuration.
func (s *Sink) SMTPHostPort() (string, int) {
	host, port, _ := net.SplitHostPort(s.SMTPAddr())
	p, _ := strconv.Atoi(port)
	return host, p
}

// Close stops the SMTP server, waiting for open sessions until ctx ends and
// then cutting them. It wakes every Wait with ErrClosed. Messages stay
// readable. Calling it again does nothing and returns the first result.
func (s *Sink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.notifyLocked()
		s.mu.Unlock()

		err := s.server.Shutdown(ctx)
		if err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			_ = s.server.Close()
		} else {
			err = nil
		}
		// Serve registers the listener from its own goroutine, so a Close
		// right after Start can run before it is known to the server.
		_ = s.ln.Close()
		<-s.served
		s.closeErr = err
	})
	return s.closeErr
}

// add stores m, dropping the oldest beyond MaxMessages.
func (s *Sink) add(m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	m.seq = s.seq
	m.ID = strconv.FormatUint(s.seq, 10)
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = time.Now().UTC()
	}
	if m.To == nil {
		m.To = []string{}
	}
	s.msgs = append(s.msgs, m)
	if over := len(s.msgs) - s.opts.MaxMessages; over > 0 {
		clear(s.msgs[:over])
		s.msgs = append(s.msgs[:0:0], s.msgs[over:]...)
	}
	s.notifyLocked()
	return m
}

func (s *Sink) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Messages returns the stored messages, newest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[len(s.msgs)-1-i] = m.clone()
	}
	return out
}

// Message returns the message with the given id, or ErrNotFound.
func (s *Sink) Message(id string) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if m.ID == id {
			return m.clone(), nil
		}
	}
	return Message{}, ErrNotFound
}

// Clear drops every stored message. Ids keep counting up.
func (s *Sink) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.msgs)
	s.msgs = s.msgs[:0]
	s.notifyLocked()
}

// Wait returns the oldest stored message, or the first to arrive, for which
// match returns true (nil matches anything). It returns ctx's error when ctx
// ends first, and ErrClosed when the sink closes.
func (s *Sink) Wait(ctx context.Context, match func(Message) bool) (Message, error) {
	var seen uint64
	for {
		s.mu.Lock()
		var fresh []Message
		for _, m := range s.msgs {
			if m.seq > seen {
				fresh = append(fresh, m.clone())
				seen = m.seq
			}
		}
		closed, changed := s.closed, s.changed
		s.mu.Unlock()
		// match runs without the lock, so it may call the sink.
		for _, m := range fresh {
			if match == nil || match(m) {
				return m, nil
			}
		}
		if closed {
			return Message{}, ErrClosed
		}
		select {
		case <-ctx.Done():
			return Message{}, ctx.Err()
		case <-changed:
		}
	}
}

func (m Message) clone() Message {
	m.To = append([]string{}, m.To...)
	if m.Headers != nil {
		h := make(map[string]string, len(m.Headers))
		for k, v := range m.Headers {
			h[k] = v
		}
		m.Headers = h
	}
	return m
}

// SentTo reports whether addr (an email address or phone number) is among
// m's recipients, ignoring case.
func (m Message) SentTo(addr string) bool {
	addr = strings.TrimSpace(addr)
	for _, to := range m.To {
		if strings.EqualFold(to, addr) {
			return true
		}
	}
	return false
}

// SMSSender returns a notify.SMSSender that stores each valid SMS as a
// message of kind "sms". Invalid ones fail with notify.ErrInvalid, as a real
// provider would refuse them. Wrap it with notify.InstrumentSMS like any
// provider.
func (s *Sink) SMSSender() notify.SMSSender { return smsSender{s} }

type smsSender struct{ s *Sink }

func (x smsSender) SendSMS(ctx context.Context, m notify.SMS) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	x.s.mu.Lock()
	closed := x.s.closed
	x.s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	x.s.add(Message{Kind: KindSMS, From: m.Sender, To: []string{m.To}, Text: m.Text})
	return nil
}

type slogLogger struct{ l *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) { l.l.Warn(fmt.Sprintf(format, v...)) }
func (l slogLogger) Println(v ...any)               { l.l.Warn(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// TLS modes for SMTPConfig.TLS.
const (
	TLSNone     = "none"     // plain text; development sinks only (Mailpit, mailsink)
	TLSStartTLS = "starttls" // plain connect, then STARTTLS, which is required
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS)
)

// DefaultSMTPTimeout bounds one send when SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 15 * time.Second

// SMTPConfig says how to reach the SMTP relay. Its String, GoString and
// LogValue hide the password, so it can be logged or printed as a whole.
type SMTPConfig struct {
	Host string
	// Port defaults by TLS mode: 25 for none, 587 for starttls, 465 for tls.
	Port int
	// Username and Password enable SMTP AUTH; both or neither. They need a
	// TLS mode other than none.
	Username string
	Password string
	// TLS is "none", "starttls" (the default when empty) or "tls".
	TLS string
	// From is the default sender, used when Email.From is empty. Required.
	From string
	// Timeout bounds one send (dial, each command and the reply); the
	// caller's context deadline, when earlier, wins. Default 15s.
	Timeout time.Duration
	// HelloName is the EHLO name; empty means the machine's host name.
	HelloName string
}

func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSNone:
			c.Port = 25
		case TLSImplicit:
			c.Port = 465
		default:
			c.Port = 587
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultSMTPTimeout
	}
	return c
}

// Validate reports what is wrong with the configuration (after defaults),
// wrapping ErrInvalid. Its messages never contain the password.
func (c SMTPConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if strings.TrimSpace(c.Host) == "" || strings.ContainsAny(c.Host, " \t\r\n/") {
		errs = append(errs, errors.New("host is empty or malformed"))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", c.Port))
	}
	switch c.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		errs = append(errs, fmt.Errorf("tls %q is not none, starttls or tls", c.TLS))
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, errors.New("username and password go together"))
	}
	if c.Username != "" && c.TLS == TLSNone {
		errs = append(errs, errors.New("credentials would travel in clear text: use tls or starttls"))
	}
	if c.From == "" {
		errs = append(errs, errors.New("from (default sender) is required"))
	} else if err := checkAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("from: %w", err))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout is negative"))
	}
	if strings.ContainsAny(c.HelloName, " \t\r\n") {
		errs = append(errs, errors.New("hello name contains white space"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: smtp config: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// String describes the configuration with the password redacted.
func (c SMTPConfig) String() string {
	pw := ""
	if c.Password != "" {
		pw = "REDACTED"
	}
	return fmt.Sprintf("SMTPConfig{Host:%s Port:%d Username:%s Password:%s TLS:%s From:%s Timeout:%s HelloName:%s}",
		c.Host, c.Port, c.Username, pw, c.TLS, c.From, c.Timeout, c.HelloName)
}

// GoString keeps %#v from printing the password.
func (c SMTPConfig) GoString() string { return "notify." + c.String() }

// LogValue keeps slog from printing the password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host), slog.Int("port", c.Port), slog.String("username", c.Username),
		slog.Bool("password_set", c.Password != ""), slog.String("tls", c.TLS), slog.String("from", c.From),
		slog.Duration("timeout", c.Timeout), slog.String("hello_name", c.HelloName),
	)
}

// SMTPMailer sends each Email over a new SMTP connection (dial, EHLO,
// STARTTLS/AUTH as configured, one transaction, QUIT). It is safe for
// concurrent use; there is no pool to drain, so it has no Close.
type SMTPMailer struct {
	cfg SMTPConfig
}

var _ Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer checks cfg and returns a mailer for it.
func NewSMTPMailer(cfg SMTPConfig) (*SMTPMailer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Build a client once so option errors surface at start-up, not per send.
	if _, err := cfg.client(cfg.Timeout); err != nil {
		return nil, fmt.Errorf("%w: smtp config: %w", ErrInvalid, err)
	}
	return &SMTPMailer{cfg: cfg}, nil
}

// Config returns the configuration in use, defaults applied.
func (m *SMTPMailer) Config() SMTPConfig { return m.cfg }

func (c SMTPConfig) client(timeout time.Duration) (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithTimeout(timeout)}
	switch c.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	if c.HelloName != "" {
		opts = append(opts, gomail.WithHELO(c.HelloName))
	}
	if c.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	return gomail.NewClient(c.Host, opts...)
}

// SendEmail validates e and delivers it. The error wraps ErrInvalid (nothing
// was sent), ErrPermanent (an SMTP 5xx reply) or ErrTransient (a 4xx reply,
// a network error, a timeout or ctx ending).
func (m *SMTPMailer) SendEmail(ctx context.Context, e Email) (err error) {
	ctx, span := tracer().Start(ctx, "notify.email", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("notify.channel", channelEmail),
			attribute.Int("notify.recipients", len(e.To)),
			attribute.Bool("notify.email.html", e.HTML != ""),
			attribute.String("server.address", m.cfg.Host),
			attribute.Int("server.port", m.cfg.Port),
		))
	defer span.End()
	defer func() { finish(span, channelEmail, err) }()

	if e.From == "" {
		e.From = m.cfg.From
	}
	if err := e.Validate(); err != nil {
		return err
	}
	msg, err := buildMsg(e)
	if err != nil {
		return err
	}

	timeout := m.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return fmt.Errorf("%w: notify: send email: %w", ErrTransient, context.DeadlineExceeded)
		}
		timeout = min(timeout, left)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: notify: send email: %w", ErrTransient, err)
	}
	client, err := m.cfg.client(timeout)
	if err != nil {
		return fmt.Errorf("%w: notify: smtp client: %w", ErrInvalid, err)
	}

	start := time.Now()
	err = client.DialAndSendWithContext(ctx, msg)
	metricSendSeconds.WithLabelValues(channelEmail).Observe(time.Since(start).Seconds())
	if err != nil {
		code, class := classifySMTP(err)
		if code != 0 {
			span.SetAttributes(attribute.Int("smtp.reply_code", code))
		}
		return fmt.Errorf("%w: notify: send email via %s: %w", class, net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port)), err)
	}
	return nil
}

func buildMsg(e Email) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	// Validate has checked the addresses; go-mail re-parses them with the
	// same parser, so these only fail on a disagreement between the two.
	if err := msg.From(e.From); err != nil {
		return nil, invalidf("from: malformed address")
	}
	if err := msg.To(e.To...); err != nil {
		return nil, invalidf("to: malformed address")
	}
	msg.Subject(e.Subject)
	msg.SetDate()
	msg.SetMessageID()
	for name, value := range e.Headers {
		msg.SetGenHeader(gomail.Header(textproto.CanonicalMIMEHeaderKey(name)), value)
	}
	msg.SetBodyString(gomail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}
	return msg, nil
}

// classifySMTP finds the server's reply code in err and maps it to a class:
// 5xx is permanent, everything else (4xx, no reply at all) transient.
func classifySMTP(err error) (int, error) {
	code := 0
	var se *gomail.SendError
	var te *textproto.Error
	switch {
	case errors.As(err, &se):
		code = se.ErrorCode()
		if code == 0 && !se.IsTemp() && se.Reason == gomail.ErrNoUnencoded {
			return 0, ErrPermanent
		}
	case errors.As(err, &te):
		code = te.Code
	}
	if code >= 500 && code < 600 {
		return code, ErrPermanent
	}
	return code, ErrTransient
}

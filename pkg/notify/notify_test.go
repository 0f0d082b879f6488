package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/notify/mailsink"
	"rollcall.dev/pkg/testkit"
)

const password = "s3cret-Hunter2"

type bundle struct {
	mailer *notify.SMTPMailer
	sink   *mailsink.Sink
	api    string // base URL of the sink's HTTP handler
}

func setup(t *testing.T) bundle {
	t.Helper()
	sink, err := mailsink.Start(context.Background(), mailsink.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sink.Close(context.Background())) })
	srv := httptest.NewServer(http.StripPrefix("/mail", sink.Handler()))
	t.Cleanup(srv.Close)
	host, port := sink.SMTPHostPort()
	m, err := notify.NewSMTPMailer(notify.SMTPConfig{
		Host: host, Port: port, TLS: notify.TLSNone, From: "Rollcall <noreply@rollcall.test>",
		Timeout: 5 * time.Second, HelloName: "notify-test",
	})
	require.NoError(t, err)
	return bundle{mailer: m, sink: sink, api: srv.URL + "/mail"}
}

// mailerTo returns a mailer for a server at addr.
func mailerTo(t *testing.T, addr string, timeout time.Duration) *notify.SMTPMailer {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	m, err := notify.NewSMTPMailer(notify.SMTPConfig{Host: host, Port: p, TLS: notify.TLSNone, From: "noreply@rollcall.test", Timeout: timeout})
	require.NoError(t, err)
	return m
}

func validEmail() notify.Email {
	return notify.Email{To: []string{"ola@example.no"}, Subject: "Hei", Text: "Hei Ola"}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	}
	return resp.StatusCode
}

// countingListener accepts TCP connections and counts them, answering
// nothing: a send that reaches the network shows up in accepted.
type countingListener struct {
	ln       net.Listener
	accepted atomic.Int64
}

func newCountingListener(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &countingListener{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted.Add(1)
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return c
}

// rejectingServer is an SMTP server whose RCPT answers with err.
func rejectingServer(t *testing.T, rcptErr error) string {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return rejectSession{rcptErr}, nil
	}))
	srv.Domain = "reject.test"
	srv.ErrorLog = nopLogger{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

type rejectSession struct{ rcptErr error }

func (rejectSession) Mail(string, *smtp.MailOptions) error   { return nil }
func (s rejectSession) Rcpt(string, *smtp.RcptOptions) error { return s.rcptErr }
func (rejectSession) Data(r io.Reader) error                 { _, err := io.Copy(io.Discard, r); return err }
func (rejectSession) Reset()                                 {}
func (rejectSession) Logout() error                          { return nil }

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

// sentTotal reads rollcall_notify_sent_total from the default registry.
func sentTotal(t *testing.T, channel, outcome string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "rollcall_notify_sent_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["channel"] == channel && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestSMTPMailer(t *testing.T) {
	t.Parallel()

	t.Run("SendsMultipartUTF8ThatTheSinkShows", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		e := notify.Email{
			To:      []string{"Åse Ødegård <Ase@Example.no>", "ivan@example.ru"},
			Subject: "Invitasjon: blåbærsyltetøy ÆØÅ — Приглашение в Rollcall",
			Text:    "Hei Åse! Du er invitert (æøå).\nЗдравствуйте, Иван! Ваш код: 123456.\n",
			HTML:    "<p>Hei Åse! Du er invitert (æøå).</p>\n<p>Здравствуйте, Иван! <b>123456</b></p>",
			Headers: map[string]string{"X-Rollcall-Invitation-Id": "inv-42", "x-rollcall-tenant": "Tenant Ærø"},
		}
		before := sentTotal(t, "email", "ok")
		require.NoError(t, b.mailer.SendEmail(ctx, e))
		require.GreaterOrEqual(t, sentTotal(t, "email", "ok")-before, 1.0)

		var list []mailsink.Message
		require.Equal(t, http.StatusOK, getJSON(t, b.api+"/api/messages?to=ASE@example.NO", &list))
		require.Len(t, list, 1)
		got := list[0]
		require.Equal(t, mailsink.KindEmail, got.Kind)
		require.Equal(t, e.Subject, got.Subject)
		require.Equal(t, e.Text, got.Text)
		require.Equal(t, e.HTML, got.HTML)
		require.Equal(t, []string{"Ase@Example.no", "ivan@example.ru"}, got.To)
		require.Contains(t, got.From, "noreply@rollcall.test", "the mailer's default sender")
		require.Equal(t, "inv-42", got.Headers["X-Rollcall-Invitation-Id"])
		require.Equal(t, "Tenant Ærø", got.Headers["X-Rollcall-Tenant"])
		require.Contains(t, got.Headers["Content-Type"], "multipart/alternative")
		require.WithinDuration(t, time.Now(), got.Date, time.Minute)
		require.NotEmpty(t, got.ID)

		var one mailsink.Message
		require.Equal(t, http.StatusOK, getJSON(t, b.api+"/api/messages/"+got.ID, &one))
		require.Equal(t, got.Subject, one.Subject)
	})

	t.Run("RefusesHeaderInjectionBeforeAnyNetworkIO", func(t *testing.T) {
		t.Parallel()
		cl := newCountingListener(t)
		m := mailerTo(t, cl.ln.Addr().String(), 2*time.Second)
		for name, mutate := range map[string]func(*notify.Email){
			"SubjectCRLF": func(e *notify.Email) { e.Subject = "Hei\r\nBcc: victim@example.com" },
			"SubjectLF":   func(e *notify.Email) { e.Subject = "Hei\nBcc: victim@example.com" },
			"HeaderValueCRLF": func(e *notify.Email) {
				e.Headers = map[string]string{"X-Rollcall-Invitation-Id": "1\r\nBcc: victim@example.com"}
			},
			"HeaderNameSpace":    func(e *notify.Email) { e.Headers = map[string]string{"X-Bad Name": "1"} },
			"HeaderNameColon":    func(e *notify.Email) { e.Headers = map[string]string{"Bcc:X": "1"} },
			"HeaderNameReserved": func(e *notify.Email) { e.Headers = map[string]string{"bcc": "victim@example.com"} },
			"RecipientCRLF":      func(e *notify.Email) { e.To = []string{"ola@example.no\r\nBcc: victim@example.com"} },
			"FromCRLF":           func(e *notify.Email) { e.From = "a@example.no\nBcc: victim@example.com" },
		} {
			e := validEmail()
			mutate(&e)
			err := m.SendEmail(context.Background(), e)
			require.ErrorIs(t, err, notify.ErrInvalid, name)
			require.NotContains(t, err.Error(), "victim", name)
		}
		time.Sleep(50 * time.Millisecond)
		require.Zero(t, cl.accepted.Load(), "no connection may be opened for an invalid message")
	})

	t.Run("RefusesMalformedRecipientsAndEmptyText", func(t *testing.T) {
		t.Parallel()
		cl := newCountingListener(t)
		m := mailerTo(t, cl.ln.Addr().String(), 2*time.Second)
		for name, mutate := range map[string]func(*notify.Email){
			"NoRecipient":      func(e *notify.Email) { e.To = nil },
			"EmptyRecipient":   func(e *notify.Email) { e.To = []string{""} },
			"NotAnAddress":     func(e *notify.Email) { e.To = []string{"not-an-address"} },
			"NoDomain":         func(e *notify.Email) { e.To = []string{"ola@"} },
			"TwoInOne":         func(e *notify.Email) { e.To = []string{"a@example.no, b@example.no"} },
			"SecondMalformed":  func(e *notify.Email) { e.To = []string{"a@example.no", "b@@example.no"} },
			"MalformedFrom":    func(e *notify.Email) { e.From = "rollcall" },
			"EmptyText":        func(e *notify.Email) { e.Text = "" },
			"WhitespaceText":   func(e *notify.Email) { e.Text = " \n\t" },
			"HTMLWithoutText":  func(e *notify.Email) { e.Text = ""; e.HTML = "<p>hi</p>" },
			"HeaderNameEmpty":  func(e *notify.Email) { e.Headers = map[string]string{"": "x"} },
			"HeaderNameNonASC": func(e *notify.Email) { e.Headers = map[string]string{"X-Ærø": "x"} },
		} {
			e := validEmail()
			mutate(&e)
			require.ErrorIs(t, m.SendEmail(context.Background(), e), notify.ErrInvalid, name)
		}
		time.Sleep(50 * time.Millisecond)
		require.Zero(t, cl.accepted.Load())
	})

	t.Run("Rcpt550IsPermanent", func(t *testing.T) {
		t.Parallel()
		addr := rejectingServer(t, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
		before := sentTotal(t, "email", "permanent")
		err := mailerTo(t, addr, 5*time.Second).SendEmail(context.Background(), validEmail())
		require.ErrorIs(t, err, notify.ErrPermanent)
		require.NotErrorIs(t, err, notify.ErrTransient)
		require.False(t, notify.IsTransient(err))
		require.Contains(t, err.Error(), "550")
		require.GreaterOrEqual(t, sentTotal(t, "email", "permanent")-before, 1.0)
	})

	t.Run("Rcpt451IsTransient", func(t *testing.T) {
		t.Parallel()
		addr := rejectingServer(t, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"})
		err := mailerTo(t, addr, 5*time.Second).SendEmail(context.Background(), validEmail())
		require.Error(t, err)
		require.NotErrorIs(t, err, notify.ErrPermanent)
		require.NotErrorIs(t, err, notify.ErrInvalid)
		require.ErrorIs(t, err, notify.ErrTransient)
		require.True(t, notify.IsTransient(err))
	})

	t.Run("ClosedPortIsTransientWithinTimeout", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		const timeout = 2 * time.Second
		start := time.Now()
		err = mailerTo(t, addr, timeout).SendEmail(context.Background(), validEmail())
		require.ErrorIs(t, err, notify.ErrTransient)
		require.True(t, notify.IsTransient(err))
		require.Less(t, time.Since(start), timeout+time.Second)
	})

	t.Run("SilentServerIsTransientWithinTimeout", func(t *testing.T) {
		t.Parallel()
		cl := newCountingListener(t) // accepts, never greets
		const timeout = 300 * time.Millisecond
		start := time.Now()
		err := mailerTo(t, cl.ln.Addr().String(), timeout).SendEmail(context.Background(), validEmail())
		require.ErrorIs(t, err, notify.ErrTransient)
		require.Less(t, time.Since(start), timeout+2*time.Second)
	})

	t.Run("ContextDeadlineShortensTheTimeout", func(t *testing.T) {
		t.Parallel()
		cl := newCountingListener(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := mailerTo(t, cl.ln.Addr().String(), time.Minute).SendEmail(ctx, validEmail())
		require.ErrorIs(t, err, notify.ErrTransient)
		require.Less(t, time.Since(start), 3*time.Second)
	})
}

func TestSMTPConfig(t *testing.T) {
	t.Parallel()

	ok := notify.SMTPConfig{Host: "smtp.example.com", Username: "rollcall", Password: password, From: "noreply@rollcall.test"}

	t.Run("DefaultsByTLSMode", func(t *testing.T) {
		t.Parallel()
		m, err := notify.NewSMTPMailer(ok)
		require.NoError(t, err)
		require.Equal(t, notify.TLSStartTLS, m.Config().TLS)
		require.Equal(t, 587, m.Config().Port)
		require.Equal(t, notify.DefaultSMTPTimeout, m.Config().Timeout)
		c := ok
		c.TLS = notify.TLSImplicit
		m, err = notify.NewSMTPMailer(c)
		require.NoError(t, err)
		require.Equal(t, 465, m.Config().Port)
	})

	t.Run("ValidateRefusesBadConfig", func(t *testing.T) {
		t.Parallel()
		for name, mutate := range map[string]func(*notify.SMTPConfig){
			"NoHost":            func(c *notify.SMTPConfig) { c.Host = "" },
			"HostWithSpace":     func(c *notify.SMTPConfig) { c.Host = "smtp example" },
			"PortTooBig":        func(c *notify.SMTPConfig) { c.Port = 70000 },
			"UnknownTLS":        func(c *notify.SMTPConfig) { c.TLS = "ssl" },
			"UserNoPassword":    func(c *notify.SMTPConfig) { c.Password = "" },
			"CredentialsNoTLS":  func(c *notify.SMTPConfig) { c.TLS = notify.TLSNone },
			"NoFrom":            func(c *notify.SMTPConfig) { c.From = "" },
			"MalformedFrom":     func(c *notify.SMTPConfig) { c.From = "noreply" },
			"NegativeTimeout":   func(c *notify.SMTPConfig) { c.Timeout = -time.Second },
			"HelloNameInjected": func(c *notify.SMTPConfig) { c.HelloName = "x\r\nMAIL FROM:<a@b>" },
		} {
			c := ok
			mutate(&c)
			err := c.Validate()
			require.ErrorIs(t, err, notify.ErrInvalid, name)
			require.NotContains(t, err.Error(), password, name)
			_, err = notify.NewSMTPMailer(c)
			require.ErrorIs(t, err, notify.ErrInvalid, name)
		}
		require.NoError(t, ok.Validate())
	})

	t.Run("NeverPrintsThePassword", func(t *testing.T) {
		t.Parallel()
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "smtp", ok)
		for _, s := range []string{
			ok.String(), fmt.Sprint(ok), fmt.Sprintf("%v %+v %#v %s", ok, ok, ok, ok), fmt.Sprintf("%v", &ok), logged.String(),
		} {
			require.NotContains(t, s, password)
			require.Contains(t, s, "smtp.example.com")
		}
		require.Contains(t, logged.String(), `"password_set":true`)
	})

	t.Run("AuthFailureDoesNotLeakThePassword", func(t *testing.T) {
		t.Parallel()
		// A STARTTLS-mandatory send to a plain server fails before AUTH;
		// whatever the failure, the password is not in it.
		addr := rejectingServer(t, nil)
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		c := ok
		c.Host, c.Port, c.Timeout = host, p, 2*time.Second
		m, err := notify.NewSMTPMailer(c)
		require.NoError(t, err)
		err = m.SendEmail(context.Background(), validEmail())
		require.Error(t, err)
		require.NotContains(t, err.Error(), password)
	})
}

func TestSMS(t *testing.T) {
	t.Parallel()

	t.Run("ValidateE164AndText", func(t *testing.T) {
		t.Parallel()
		valid := []notify.SMS{
			{To: "+4791234567", Text: "Koden din er 123456"},
			{To: "+79161234567", Text: "Ваш код: 123456", Sender: "Rollcall"},
			{To: "+12025550123", Text: "x", Sender: "+4791234567"},
		}
		for _, s := range valid {
			require.NoError(t, s.Validate(), s.To)
		}
		invalid := map[string]notify.SMS{
			"NoPlus":        {To: "4791234567", Text: "x"},
			"LeadingZero":   {To: "+0791234567", Text: "x"},
			"Spaces":        {To: "+47 912 34 567", Text: "x"},
			"TooLong":       {To: "+1234567890123456", Text: "x"},
			"TooShort":      {To: "+47", Text: "x"},
			"Empty":         {To: "", Text: "x"},
			"EmptyText":     {To: "+4791234567", Text: ""},
			"BlankText":     {To: "+4791234567", Text: "  \n"},
			"SenderTooLong": {To: "+4791234567", Text: "x", Sender: "RollcallInvites"},
			"SenderSymbols": {To: "+4791234567", Text: "x", Sender: "Roll call!"},
		}
		for name, s := range invalid {
			err := s.Validate()
			require.ErrorIs(t, err, notify.ErrInvalid, name)
			if s.To != "" {
				require.NotContains(t, err.Error(), s.To, name)
			}
		}
	})

	t.Run("InstrumentedSinkSenderStoresIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		sender := notify.InstrumentSMS(b.sink.SMSSender())
		before := sentTotal(t, "sms", "ok")
		require.NoError(t, sender.SendSMS(context.Background(), notify.SMS{To: "+4791234567", Text: "Koden din: 424242", Sender: "Rollcall"}))
		require.GreaterOrEqual(t, sentTotal(t, "sms", "ok")-before, 1.0)
		require.ErrorIs(t, sender.SendSMS(context.Background(), notify.SMS{To: "91234567", Text: "x"}), notify.ErrInvalid)

		var list []mailsink.Message
		require.Equal(t, http.StatusOK, getJSON(t, b.api+"/api/messages?to=%2B4791234567", &list))
		require.Len(t, list, 1)
		require.Equal(t, mailsink.KindSMS, list[0].Kind)
		require.Equal(t, "Koden din: 424242", list[0].Text)
		require.Equal(t, "Rollcall", list[0].From)
	})

	t.Run("InstrumentClassifiesProviderErrors", func(t *testing.T) {
		t.Parallel()
		s := notify.SMS{To: "+4791234567", Text: "x"}
		err := notify.InstrumentSMS(smsFunc(func(context.Context, notify.SMS) error { return errors.New("provider timeout") })).SendSMS(context.Background(), s)
		require.ErrorIs(t, err, notify.ErrTransient)
		err = notify.InstrumentSMS(smsFunc(func(context.Context, notify.SMS) error {
			return notify.Permanent(errors.New("number unreachable"))
		})).SendSMS(context.Background(), s)
		require.ErrorIs(t, err, notify.ErrPermanent)
		require.NotErrorIs(t, err, notify.ErrTransient)
		called := false
		err = notify.InstrumentSMS(smsFunc(func(context.Context, notify.SMS) error { called = true; return nil })).
			SendSMS(context.Background(), notify.SMS{To: "+47", Text: "x"})
		require.ErrorIs(t, err, notify.ErrInvalid)
		require.False(t, called, "invalid SMS never reaches the provider")
	})
}

type smsFunc func(context.Context, notify.SMS) error

func (f smsFunc) SendSMS(ctx context.Context, s notify.SMS) error { return f(ctx, s) }

// The only test here that installs global OpenTelemetry state.
func TestEmailSpanCarriesCountsNotAddresses(t *testing.T) {
	_, rec := testkit.Tracing(t)
	b := setup(t)
	e := validEmail()
	e.To = []string{"ola@example.no", "kari@example.no"}
	require.NoError(t, b.mailer.SendEmail(context.Background(), e))
	addr := rejectingServer(t, &smtp.SMTPError{Code: 550, Message: "no such user ola@example.no"})
	require.ErrorIs(t, mailerTo(t, addr, 5*time.Second).SendEmail(context.Background(), e), notify.ErrPermanent)

	var outcomes []string
	for _, s := range rec.Ended() {
		if s.Name() != "notify.email" {
			continue
		}
		require.Equal(t, "client", strings.ToLower(s.SpanKind().String()))
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.String()
			require.NotContains(t, kv.Value.String(), "@", "no address in %s", kv.Key)
		}
		require.Equal(t, "2", attrs["notify.recipients"])
		require.NotContains(t, s.Status().Description, "@")
		for _, ev := range s.Events() {
			for _, kv := range ev.Attributes {
				require.NotContains(t, kv.Value.String(), "@")
			}
		}
		outcomes = append(outcomes, attrs["notify.outcome"])
	}
	require.ElementsMatch(t, []string{"ok", "permanent"}, outcomes)
}

func TestHTTPSMSClassifiesAnswers(t *testing.T) {
	t.Parallel()
	var got []notify.HTTPSMSRequest
	var auth []string
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m notify.HTTPSMSRequest
		_ = json.NewDecoder(r.Body).Decode(&m)
		got = append(got, m)
		auth = append(auth, r.Header.Get("Authorization"))
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	gw, err := notify.NewHTTPSMS(srv.URL, "gw-token", 0)
	require.NoError(t, err)
	msg := notify.SMS{To: "+4791234567", Text: "hei", Sender: "Rollcall"}
	require.NoError(t, gw.SendSMS(ctx, msg))
	require.Equal(t, []notify.HTTPSMSRequest{{To: "+4791234567", Text: "hei", Sender: "Rollcall"}}, got)
	require.Equal(t, []string{"Bearer gw-token"}, auth)

	for code, permanent := range map[int]bool{400: true, 401: true, 422: true, 429: false, 500: false, 503: false} {
		status = code
		err := gw.SendSMS(ctx, msg)
		require.Error(t, err, "%d", code)
		require.Equal(t, !permanent, notify.IsTransient(err), "%d: %v", code, err)
	}
	// Invalid messages never reach the gateway.
	n := len(got)
	require.ErrorIs(t, gw.SendSMS(ctx, notify.SMS{To: "0047", Text: "x"}), notify.ErrInvalid)
	require.Len(t, got, n)
	srv.Close()
	require.True(t, notify.IsTransient(gw.SendSMS(ctx, msg)))
	_, err = notify.NewHTTPSMS("gateway.example/sms", "", 0)
	require.ErrorIs(t, err, notify.ErrInvalid)
}

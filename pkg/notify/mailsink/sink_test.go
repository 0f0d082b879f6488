package mailsink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/notify/mailsink"
)

type bundle struct {
	sink *mailsink.Sink
	base string // the handler, mounted under /dev/mail
}

func setup(t *testing.T, opts mailsink.Options) bundle {
	t.Helper()
	sink, err := mailsink.Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sink.Close(context.Background())) })
	mux := http.NewServeMux()
	mux.Handle("/dev/mail/", http.StripPrefix("/dev/mail", sink.Handler()))
	mux.Handle("/dev/mail", http.StripPrefix("/dev/mail", sink.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return bundle{sink: sink, base: srv.URL + "/dev/mail"}
}

func (b bundle) list(t *testing.T, query string) []mailsink.Message {
	t.Helper()
	resp, err := http.Get(b.base + "/api/messages" + query)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	var out []mailsink.Message
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func (b bundle) sms(t *testing.T, to, text string) {
	t.Helper()
	require.NoError(t, b.sink.SMSSender().SendSMS(context.Background(), notify.SMS{To: to, Text: text}))
}

// sendRaw delivers a hand-written message with go-smtp's client, so the
// parser is tested on encodings other than go-mail's.
func sendRaw(t *testing.T, addr string, from string, to []string, raw string) {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	c, err := smtp.Dial(addr) // plain text: the sink offers no STARTTLS
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SendMail(from, to, strings.NewReader(raw)))
	require.NoError(t, c.Quit())
}

func TestSink(t *testing.T) {
	t.Parallel()

	t.Run("ParsesBase64QuotedPrintableAndNestedParts", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{})
		sendRaw(t, b.sink.SMTPAddr(), "bounce@rollcall.test", []string{"kari@example.no", "hidden@example.no"}, `From: =?utf-8?q?R=C3=B8llcall?= <noreply@rollcall.test>
To: kari@example.no
Subject: =?UTF-8?B?0J/RgNC40LPQu9Cw0YjQtdC90LjQtQ==?= og =?iso-8859-1?q?bl=E5b=E6r?=
Date: Tue, 02 Jan 2024 15:04:05 +0100
MIME-Version: 1.0
X-Rollcall-Invitation-Id: inv-7
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hei Kari, bl=C3=A5b=C3=A6r og =C3=B8l. Dette er en lang linje som er brutt=
 med myk linjeskift.
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+0J/RgNC40LLQtdGCLCDQmtCw0YDQuCE8L3A+
--inner--
--outer
Content-Type: text/plain; charset=utf-8
Content-Disposition: attachment; filename="notes.txt"

not the body
--outer--
`)
		msgs := b.list(t, "")
		require.Len(t, msgs, 1)
		m := msgs[0]
		require.Equal(t, "Приглашение og blåbær", m.Subject)
		require.Equal(t, "Røllcall <noreply@rollcall.test>", m.From)
		require.Equal(t, []string{"kari@example.no", "hidden@example.no"}, m.To, "envelope recipients, Bcc included")
		require.Equal(t, "Hei Kari, blåbær og øl. Dette er en lang linje som er brutt med myk linjeskift.", m.Text)
		require.Equal(t, "<p>Привет, Кари!</p>", m.HTML)
		require.Equal(t, "inv-7", m.Headers["X-Rollcall-Invitation-Id"])
		require.Equal(t, time.Date(2024, 1, 2, 14, 4, 5, 0, time.UTC), m.Date)
		require.WithinDuration(t, time.Now(), m.ReceivedAt, time.Minute)
	})

	t.Run("KeepsWhatItCannotParse", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{})
		sendRaw(t, b.sink.SMTPAddr(), "a@rollcall.test", []string{"b@example.no"}, "Subject: broken\nContent-Type: multipart/alternative; boundary=\"x\"\n\n--x\nContent-Type: text/plain\n\nunterminated")
		m, err := b.sink.Wait(context.Background(), nil)
		require.NoError(t, err)
		require.Equal(t, "broken", m.Subject)
		require.NotEmpty(t, m.Headers["X-Mailsink-Parse-Error"])
		require.Contains(t, m.Text, "unterminated")
	})

	t.Run("SMSIsVisibleOverHTTP", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{})
		b.sms(t, "+4791234567", "Engangskode: 123456")
		require.ErrorIs(t, b.sink.SMSSender().SendSMS(context.Background(), notify.SMS{To: "091234567", Text: "x"}), notify.ErrInvalid)
		msgs := b.list(t, "")
		require.Len(t, msgs, 1)
		require.Equal(t, mailsink.KindSMS, msgs[0].Kind)
		require.Equal(t, []string{"+4791234567"}, msgs[0].To)
		require.Equal(t, "Engangskode: 123456", msgs[0].Text)

		resp, err := http.Get(b.base + "/api/messages/" + msgs[0].ID)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var one mailsink.Message
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&one))
		require.Equal(t, msgs[0].ID, one.ID)

		resp, err = http.Get(b.base + "/api/messages/does-not-exist")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})

	t.Run("FiltersByRecipientIgnoringCase", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{})
		sendRaw(t, b.sink.SMTPAddr(), "a@rollcall.test", []string{"Kari.Nordmann@Example.no"}, "Subject: one\n\nhei")
		sendRaw(t, b.sink.SMTPAddr(), "a@rollcall.test", []string{"ola@example.no"}, "Subject: two\n\nhei")
		b.sms(t, "+4791234567", "kode")
		require.Len(t, b.list(t, ""), 3)
		got := b.list(t, "?to="+url.QueryEscape("kari.nordmann@EXAMPLE.NO"))
		require.Len(t, got, 1)
		require.Equal(t, "one", got[0].Subject)
		got = b.list(t, "?to="+url.QueryEscape("+4791234567"))
		require.Len(t, got, 1)
		require.Equal(t, mailsink.KindSMS, got[0].Kind)
		require.Empty(t, b.list(t, "?to=nobody@example.no"))
		require.NotNil(t, b.list(t, "?to=nobody@example.no"), "an empty list is [], not null")
	})

	t.Run("NewestFirstAndDeleteClears", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{})
		b.sms(t, "+4791234567", "first")
		b.sms(t, "+4791234567", "second")
		msgs := b.list(t, "")
		require.Equal(t, []string{"second", "first"}, []string{msgs[0].Text, msgs[1].Text})
		req, err := http.NewRequest(http.MethodDelete, b.base+"/api/messages", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		require.Empty(t, b.list(t, ""))
		b.sms(t, "+4791234567", "third")
		require.NotEqual(t, msgs[0].ID, b.list(t, "")[0].ID, "ids are not reused after a clear")
	})

	t.Run("MaxMessagesDropsTheOldest", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{MaxMessages: 3})
		for i := range 5 {
			b.sms(t, "+4791234567", fmt.Sprintf("msg %d", i))
		}
		msgs := b.sink.Messages()
		require.Len(t, msgs, 3)
		require.Equal(t, []string{"msg 4", "msg 3", "msg 2"}, []string{msgs[0].Text, msgs[1].Text, msgs[2].Text})
	})

	t.Run("WaitReturnsWhenAMatchArrives", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{})
		b.sms(t, "+4791234567", "not this one")
		got := make(chan mailsink.Message, 1)
		errc := make(chan error, 1)
		go func() {
			m, err := b.sink.Wait(context.Background(), func(m mailsink.Message) bool { return m.SentTo("ola@example.no") })
			errc <- err
			got <- m
		}()
		time.Sleep(50 * time.Millisecond)
		b.sms(t, "+4791234568", "nor this")
		sendRaw(t, b.sink.SMTPAddr(), "a@rollcall.test", []string{"OLA@example.no"}, "Subject: yours\n\nhei")
		require.NoError(t, <-errc)
		require.Equal(t, "yours", (<-got).Subject)

		// Already stored: returns at once.
		m, err := b.sink.Wait(context.Background(), func(m mailsink.Message) bool { return m.Text == "not this one" })
		require.NoError(t, err)
		require.Equal(t, "not this one", m.Text)
	})

	t.Run("WaitRespectsContextAndClose", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := b.sink.Wait(ctx, func(mailsink.Message) bool { return false })
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 2*time.Second)

		errc := make(chan error, 1)
		go func() {
			_, err := b.sink.Wait(context.Background(), func(mailsink.Message) bool { return false })
			errc <- err
		}()
		time.Sleep(50 * time.Millisecond)
		require.NoError(t, b.sink.Close(context.Background()))
		require.ErrorIs(t, <-errc, mailsink.ErrClosed)
	})

	t.Run("CloseIsIdempotentAndStopsSMTP", func(t *testing.T) {
		t.Parallel()
		sink, err := mailsink.Start(context.Background(), mailsink.Options{})
		require.NoError(t, err)
		addr := sink.SMTPAddr()
		require.NoError(t, sink.SMSSender().SendSMS(context.Background(), notify.SMS{To: "+4791234567", Text: "x"}))
		require.NoError(t, sink.Close(context.Background()))
		require.NoError(t, sink.Close(context.Background()))
		_, err = net.DialTimeout("tcp", addr, time.Second)
		require.Error(t, err, "the SMTP port is closed")
		require.ErrorIs(t, sink.SMSSender().SendSMS(context.Background(), notify.SMS{To: "+4791234567", Text: "y"}), mailsink.ErrClosed)
		require.Len(t, sink.Messages(), 1, "messages stay readable")
	})

	t.Run("PageEscapesEverything", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{})
		b.sms(t, "+4791234567", `<script>alert("sms")</script>`)
		sendRaw(t, b.sink.SMTPAddr(), "a@rollcall.test", []string{"b@example.no"}, `Subject: <img src=x onerror=alert(1)>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

plain
--b
Content-Type: text/html; charset=utf-8

<p>hi</p>"><script>alert("html")</script>
--b--
`)
		resp, err := http.Get(b.base + "/")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
		page := string(body)
		require.NotContains(t, page, "<script")
		require.NotContains(t, page, "<img")
		require.Contains(t, page, "&lt;script&gt;alert(&#34;sms&#34;)&lt;/script&gt;")
		require.Contains(t, page, `sandbox=""`)
		require.Contains(t, page, `href="api/messages"`, "links are relative, so any prefix works")
	})

	t.Run("MountedWithoutTrailingSlashRedirectsUnderThePrefix", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mailsink.Options{})
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(b.base)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "/dev/mail/", loc.Path)

		resp, err = http.Get(b.base)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// The sink doubles as an HTTP SMS gateway, and notify.HTTPSMS is its client.
func TestSMSGatewayOverHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sink, err := mailsink.Start(ctx, mailsink.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	srv := httptest.NewServer(http.StripPrefix("/dev/mail", sink.Handler()))
	t.Cleanup(srv.Close)

	gw, err := notify.NewHTTPSMS(srv.URL+"/dev/mail/api/sms", "", 0)
	require.NoError(t, err)
	require.NoError(t, gw.SendSMS(ctx, notify.SMS{To: "+4791234567", Text: "Kode: 123456"}))
	m, err := sink.Wait(ctx, func(m mailsink.Message) bool { return m.SentTo("+4791234567") })
	require.NoError(t, err)
	require.Equal(t, "Kode: 123456", m.Text)

	// Refused by the gateway: permanent, not retried.
	res, err := http.Post(srv.URL+"/dev/mail/api/sms", "application/json", strings.NewReader(`{"to":"12345","text":"x"}`))
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, err = http.Post(srv.URL+"/dev/mail/api/sms", "application/json", strings.NewReader(`not json`))
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
}

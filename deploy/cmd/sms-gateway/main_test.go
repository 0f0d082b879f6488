package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/notify/mailsink"
)

// The invitation service's own SMS client (notify.HTTPSMS) sends through
// the stand-in, and the SMS arrives as an email at a real SMTP server.
func TestSMSGatewayMailsEachSMS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sink, err := mailsink.Start(ctx, mailsink.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	gw := httptest.NewServer(Handler(sink.SMTPAddr(), slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(gw.Close)

	sms, err := notify.NewHTTPSMS(gw.URL+"/sms", "", 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, sms.SendSMS(ctx, notify.SMS{To: "+4791234567", Text: "Koden din er 123456.\nHilsen Demo AS", Sender: "DemoAS"}))

	m, err := sink.Wait(ctx, func(m mailsink.Message) bool { return m.SentTo("+4791234567@" + MailDomain) })
	require.NoError(t, err)
	require.Equal(t, "SMS to +4791234567", m.Subject)
	require.Contains(t, m.From, "SMS from DemoAS")
	require.Contains(t, m.Text, "Koden din er 123456.")
	require.Contains(t, m.Text, "Hilsen Demo AS")

	t.Run("RefusesAMalformedRequestPermanently", func(t *testing.T) {
		for _, body := range []string{`{"to":"not a number","text":"x"}`, `{"to":"+4791234567","text":" "}`, `nope`} {
			resp, err := http.Post(gw.URL, "application/json", strings.NewReader(body))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
		}
	})
	t.Run("AnswersHealthz", func(t *testing.T) {
		resp, err := http.Get(gw.URL + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("SMTPDownIsRetriable", func(t *testing.T) {
		down := httptest.NewServer(Handler("127.0.0.1:1", slog.New(slog.NewTextHandler(io.Discard, nil))))
		defer down.Close()
		resp, err := http.Post(down.URL, "application/json", strings.NewReader(`{"to":"+4791234567","text":"x"}`))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	})
}

package mailsink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/notify/mailsink"
)

// A service sends an invitation by email and a one-time code by SMS; the
// dev sink catches both and shows them over HTTP.
func Example() {
	ctx := context.Background()
	sink, err := mailsink.Start(ctx, mailsink.Options{}) // 127.0.0.1, a free port
	if err != nil {
		panic(err)
	}
	defer sink.Close(ctx) //nolint:errcheck // example

	// In `rollcall dev` the handler is mounted on the dev HTTP server.
	mux := http.NewServeMux()
	mux.Handle("/dev/mail/", http.StripPrefix("/dev/mail", sink.Handler()))
	web := httptest.NewServer(mux)
	defer web.Close()

	host, port := sink.SMTPHostPort()
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{
		Host: host, Port: port, TLS: notify.TLSNone, From: "Rollcall <noreply@rollcall.test>", Timeout: 5 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	err = mailer.SendEmail(ctx, notify.Email{
		To:      []string{"kari@example.no"},
		Subject: "Du er invitert til Rollcall",
		Text:    "Hei Kari! Åpne lenken for å bli med.",
		HTML:    "<p>Hei Kari! <a href=\"https://rollcall.test/i/abc\">Åpne lenken</a> for å bli med.</p>",
		Headers: map[string]string{"X-Rollcall-Invitation-Id": "inv-1"},
	})
	fmt.Println("email sent:", err == nil)

	sms := notify.InstrumentSMS(sink.SMSSender())
	err = sms.SendSMS(ctx, notify.SMS{To: "+4791234567", Text: "Engangskoden din er 123456", Sender: "Rollcall"})
	fmt.Println("sms sent:", err == nil)

	got, _ := sink.Wait(ctx, func(m mailsink.Message) bool { return m.Kind == mailsink.KindEmail && m.SentTo("kari@example.no") })
	fmt.Println(got.Subject, "|", got.Text, "|", got.Headers["X-Rollcall-Invitation-Id"])

	resp, err := http.Get(web.URL + "/dev/mail/api/messages")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var all []mailsink.Message
	_ = json.NewDecoder(resp.Body).Decode(&all)
	for _, m := range all { // newest first
		fmt.Println(m.Kind, m.To)
	}
	// Output:
	// email sent: true
	// sms sent: true
	// Du er invitert til Rollcall | Hei Kari! Åpne lenken for å bli med. | inv-1
	// sms [+4791234567]
	// email [kari@example.no]
}

package notify_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/notify/mailsink"
)

// The caller decides what to do with a failed send from its class alone.
func ExampleSMTPMailer_SendEmail() {
	ctx := context.Background()
	sink, _ := mailsink.Start(ctx, mailsink.Options{})
	defer sink.Close(ctx) //nolint:errcheck // example
	host, port := sink.SMTPHostPort()
	mailer, _ := notify.NewSMTPMailer(notify.SMTPConfig{
		Host: host, Port: port, TLS: notify.TLSNone, From: "noreply@rollcall.test", Timeout: 5 * time.Second,
	})

	for _, e := range []notify.Email{
		{To: []string{"ola@example.no"}, Subject: "Velkommen", Text: "Hei Ola!"},
		{To: []string{"ola@example.no"}, Subject: "Velkommen\r\nBcc: someone@example.com", Text: "Hei Ola!"},
	} {
		err := mailer.SendEmail(ctx, e)
		switch {
		case err == nil:
			fmt.Println("sent")
		case errors.Is(err, notify.ErrInvalid), errors.Is(err, notify.ErrPermanent):
			fmt.Println("give up:", errors.Is(err, notify.ErrInvalid))
		default:
			fmt.Println("retry later")
		}
	}
	fmt.Println(len(sink.Messages()), "message in the sink")
	// Output:
	// sent
	// give up: true
	// 1 message in the sink
}

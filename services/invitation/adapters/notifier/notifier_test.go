package notifier_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/notify/mailsink"
	"rollcall.dev/services/invitation/adapters/notifier"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
)

func setup(t *testing.T) (*notifier.Notifier, *mailsink.Sink) {
	t.Helper()
	sink, err := mailsink.Start(context.Background(), mailsink.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	host, port := sink.SMTPHostPort()
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{Host: host, Port: port, TLS: notify.TLSNone, From: "Rollcall <no-reply@rollcall.example>", Timeout: 5 * time.Second})
	require.NoError(t, err)
	n, err := notifier.New(mailer, notify.InstrumentSMS(sink.SMSSender()), "http://localhost:8080/invitation")
	require.NoError(t, err)
	return n, sink
}

func invitation(delivery domain.CodeDelivery) *domain.Invitation {
	return &domain.Invitation{
		ID: "7d0c2a5e-1f3b-4a2d-8c9e-0f1e2d3c4b5a", TenantID: "t", Kind: domain.KindMember, FirstName: "Karin", LastName: "Svensson",
		Email: "karin@example.se", Mobile: "+46701234567", CodeDelivery: delivery, Language: "sv",
		Inviter:   domain.Actor{Name: "Ada Admin", Email: "ada@example.com"},
		ExpiresAt: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
	}
}

var tenant = app.Tenant{ID: "t", Name: "Nordlys AB", Language: "sv"}

func wait(t *testing.T, sink *mailsink.Sink, match func(mailsink.Message) bool) mailsink.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := sink.Wait(ctx, match)
	require.NoError(t, err)
	return m
}

func TestNotifier(t *testing.T) {
	t.Parallel()

	t.Run("LinkByEmailAndCodeBySMSInTheTenantsLanguage", func(t *testing.T) {
		t.Parallel()
		n, sink := setup(t)
		tok, err := domain.NewToken()
		require.NoError(t, err)
		require.NoError(t, n.Invitation(context.Background(), tenant, invitation(domain.CodeBySMS), tok, "123456"))
		mail := wait(t, sink, func(m mailsink.Message) bool { return m.Kind == mailsink.KindEmail && m.SentTo("karin@example.se") })
		require.Contains(t, mail.Text, "http://localhost:8080/invitation#token="+string(tok))
		require.Contains(t, mail.Text, "Nordlys AB")
		require.Contains(t, strings.ToLower(mail.Text), "inbjudan", "Swedish, as the tenant")
		require.NotContains(t, mail.Text, "123456", "the code never travels with the link")
		require.Equal(t, "7d0c2a5e-1f3b-4a2d-8c9e-0f1e2d3c4b5a", mail.Headers["X-Rollcall-Invitation-Id"])
		sms := wait(t, sink, func(m mailsink.Message) bool { return m.Kind == mailsink.KindSMS })
		require.Equal(t, []string{"+46701234567"}, sms.To)
		require.Contains(t, sms.Text, "123456")
	})

	t.Run("CodeToTheInviter", func(t *testing.T) {
		t.Parallel()
		n, sink := setup(t)
		tok, err := domain.NewToken()
		require.NoError(t, err)
		require.NoError(t, n.Invitation(context.Background(), tenant, invitation(domain.CodeToInviter), tok, "654321"))
		toInviter := wait(t, sink, func(m mailsink.Message) bool { return m.SentTo("ada@example.com") })
		require.Contains(t, toInviter.Text, "654321")
		require.Contains(t, toInviter.Text, "Karin Svensson")
		require.NotContains(t, toInviter.Text, string(tok), "the inviter gets the code, not the link")
		for _, m := range sink.Messages() {
			require.NotEqual(t, mailsink.KindSMS, m.Kind)
		}
	})

	t.Run("RefusesBadConfiguration", func(t *testing.T) {
		t.Parallel()
		_, err := notifier.New(nil, nil, "http://localhost/x")
		require.Error(t, err)
		n, _ := setup(t)
		for _, u := range []string{"", "localhost:8080/x", "ftp://x/y", "http://x/y#frag"} {
			_, err := notifier.New(n.Mail, n.SMS, u)
			require.Error(t, err, u)
		}
	})

	t.Run("AFailedSendIsAnError", func(t *testing.T) {
		t.Parallel()
		n, sink := setup(t)
		require.NoError(t, sink.Close(context.Background()))
		tok, _ := domain.NewToken()
		err := n.Invitation(context.Background(), tenant, invitation(domain.CodeBySMS), tok, "123456")
		require.Error(t, err)
		require.True(t, notify.IsTransient(err), "a closed server is worth retrying: %v", err)
	})

	t.Run("APermanentRefusalNamesTheField", func(t *testing.T) {
		t.Parallel()
		refuse := notify.Permanent(errors.New("550 5.1.1 no such user"))
		for name, c := range map[string]struct {
			mail, sms error
			delivery  domain.CodeDelivery
			field     string
		}{
			"InviteesAddress": {mail: refuse, delivery: domain.CodeBySMS, field: "email"},
			"InviteesNumber":  {sms: refuse, delivery: domain.CodeBySMS, field: "mobile"},
		} {
			n, err := notifier.New(failingMailer{c.mail}, failingSMS{c.sms}, "http://localhost:8080/invitation")
			require.NoError(t, err)
			tok, _ := domain.NewToken()
			err = n.Invitation(context.Background(), tenant, invitation(c.delivery), tok, "123456")
			var fe *domain.FieldError
			require.ErrorAs(t, err, &fe, name)
			require.Equal(t, c.field, fe.Field, name)
			require.ErrorIs(t, err, domain.ErrInvalid, name)
			require.NotContains(t, err.Error(), "no such user", "the server's words stay out of the answer")
		}
		n, err := notifier.New(failingMailer{refuse}, failingSMS{}, "http://localhost:8080/invitation")
		require.NoError(t, err)
		err = n.Code(context.Background(), tenant, invitation(domain.CodeToInviter), "123456")
		var fe *domain.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "code_delivery", fe.Field)
	})
}

type failingMailer struct{ err error }

func (m failingMailer) SendEmail(context.Context, notify.Email) error { return m.err }

type failingSMS struct{ err error }

func (s failingSMS) SendSMS(context.Context, notify.SMS) error { return s.err }

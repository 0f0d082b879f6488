// Package notifier delivers the invitation service's links and one-time codes:
// the texts from adapters/messages, in the tenant's language, over the
// notify package's email and SMS senders (SMTP in every environment; the SMS
// provider is a stand-in until a real one is configured).
//
// It is not a queue: the app layer calls it inside the transaction that
// records the change, so a delivery that fails writes nothing.
package notifier

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/services/invitation/adapters/messages"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
)

// Notifier implements app.Notifier.
type Notifier struct {
	Mail notify.Mailer
	SMS  notify.SMSSender
	// AcceptURL is the invitee's page; the token goes into its fragment
	// (#token=...), which browsers never send to servers or write to logs.
	AcceptURL string
}

var _ app.Notifier = (*Notifier)(nil)

// New checks the configuration.
func New(mail notify.Mailer, sms notify.SMSSender, acceptURL string) (*Notifier, error) {
	u, err := url.Parse(acceptURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return nil, fmt.Errorf("notifier: accept URL must be an absolute http(s) URL without a fragment, got %q", acceptURL)
	}
	if mail == nil || sms == nil {
		return nil, errors.New("notifier: a mailer and an SMS sender are required")
	}
	return &Notifier{Mail: mail, SMS: sms, AcceptURL: acceptURL}, nil
}

func (n *Notifier) message(t app.Tenant, inv *domain.Invitation, tok domain.Token) messages.Invitation {
	lang := inv.Language
	if lang == "" {
		lang = t.Language
	}
	return messages.Invitation{
		Language:     lang,
		Kind:         kind(inv.Kind),
		TenantName:   t.Name,
		InviteeName:  fullName(inv),
		InviterName:  inv.Inviter.Name,
		InviterEmail: inv.Inviter.Email,
		AcceptURL:    n.AcceptURL + "#token=" + string(tok),
		ExpiresAt:    inv.ExpiresAt,
		CodeDelivery: delivery(inv.CodeDelivery),
	}
}

// Invitation sends the link to the invitee, then the code on its channel.
func (n *Notifier) Invitation(ctx context.Context, t app.Tenant, inv *domain.Invitation, tok domain.Token, code domain.Code) error {
	m := n.message(t, inv, tok)
	mail, err := messages.InvitationEmail(m)
	if err != nil {
		return fmt.Errorf("notifier: invitation email: %w", err)
	}
	if err := n.Mail.SendEmail(ctx, notify.Email{
		To: []string{inv.Email}, Subject: mail.Subject, Text: mail.Text, HTML: mail.HTML,
		Headers: map[string]string{"X-Rollcall-Invitation-Id": inv.ID},
	}); err != nil {
		return refused("email", "the mail server refused the invitee's address for good", fmt.Errorf("notifier: invitation email: %w", err))
	}
	if code == "" {
		return nil
	}
	return n.Code(ctx, t, inv, code)
}

// Code sends a one-time code by SMS to the invitee, or by email to the
// inviting administrator ("send the one-time code to me", seed 001).
func (n *Notifier) Code(ctx context.Context, t app.Tenant, inv *domain.Invitation, code domain.Code) error {
	lang := inv.Language
	if lang == "" {
		lang = t.Language
	}
	switch inv.CodeDelivery {
	case domain.CodeBySMS:
		text, err := messages.CheckedCodeSMS(lang, string(code), t.Name, domain.CodeValidity)
		if err != nil {
			return fmt.Errorf("notifier: code SMS: %w", err)
		}
		if err := n.SMS.SendSMS(ctx, notify.SMS{To: inv.Mobile, Text: text}); err != nil {
			return refused("mobile", "the SMS provider refused the number for good", fmt.Errorf("notifier: code SMS: %w", err))
		}
	case domain.CodeToInviter:
		mail, err := messages.CodeToInviterEmail(lang, n.message(t, inv, ""), string(code), domain.CodeValidity)
		if err != nil {
			return fmt.Errorf("notifier: code email to the inviter: %w", err)
		}
		if err := n.Mail.SendEmail(ctx, notify.Email{
			To: []string{inv.Inviter.Email}, Subject: mail.Subject, Text: mail.Text, HTML: mail.HTML,
			Headers: map[string]string{"X-Rollcall-Invitation-Id": inv.ID},
		}); err != nil {
			return refused("code_delivery", "the mail server refused your own address for good; send the code by SMS instead", fmt.Errorf("notifier: code email to the inviter: %w", err))
		}
	}
	return nil
}

func fullName(inv *domain.Invitation) string {
	switch {
	case inv.FirstName == "":
		return inv.LastName
	case inv.LastName == "":
		return inv.FirstName
	}
	return inv.FirstName + " " + inv.LastName
}

func kind(k domain.Kind) messages.Kind {
	switch k {
	case domain.KindIntegration:
		return messages.KindIntegration
	case domain.KindIntegrator:
		return messages.KindIntegrator
	}
	return messages.KindMember
}

func delivery(d domain.CodeDelivery) messages.CodeDelivery {
	switch d {
	case domain.CodeBySMS:
		return messages.CodeBySMS
	case domain.CodeToInviter:
		return messages.CodeToInviter
	}
	return messages.CodeNone
}

// refused turns a permanent refusal (an SMTP 5xx, an SMS provider's 4xx)
// into a field error the admin can act on: retrying will not help, fixing
// the address will. Anything else stays a failure worth a retry.
func refused(field, reason string, err error) error {
	if errors.Is(err, notify.ErrPermanent) || errors.Is(err, notify.ErrInvalid) {
		return domain.Invalid(field, "%s; check it (nothing was saved)", reason)
	}
	return err
}

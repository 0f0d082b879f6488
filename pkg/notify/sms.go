package notify

import (
	"context"
	"strings"
	"time"
	"unicode"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// SMS is one text message.
type SMS struct {
	// To is the recipient in E.164 form: '+', country code, number, at most
	// 15 digits in all (e.g. +4791234567).
	To string
	// Text is the message; it must not be blank.
	Text string
	// Sender is the optional originator shown on the phone: an E.164 number
	// or an alphanumeric sender id of at most 11 letters and digits. Empty
	// means the provider's default.
	Sender string
}

// SMSSender delivers SMS through a provider. Implementations return errors
// wrapping ErrInvalid or ErrPermanent when retrying cannot help (see
// Permanent); any other error is treated as transient.
type SMSSender interface {
	SendSMS(ctx context.Context, s SMS) error
}

// Validate reports why s cannot be sent, wrapping ErrInvalid. Error texts
// never contain the number.
func (s SMS) Validate() error {
	if !IsE164(s.To) {
		return invalidf("to: not an E.164 number")
	}
	if strings.TrimSpace(s.Text) == "" {
		return invalidf("empty text")
	}
	if strings.ContainsRune(s.Text, 0) {
		return invalidf("text contains NUL")
	}
	if s.Sender != "" && !IsE164(s.Sender) && !validSenderID(s.Sender) {
		return invalidf("sender: neither E.164 nor 1-11 letters and digits")
	}
	return nil
}

// IsE164 reports whether s is '+' followed by 7 to 15 digits, the first not
// 0. (The shortest numbers in use, e.g. Niue's, have 7 digits with the
// country code; ITU-T E.164 caps them at 15.)
func IsE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for _, c := range s[2:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func validSenderID(s string) bool {
	if len(s) > 11 {
		return false
	}
	hasLetter := false
	for _, r := range s {
		if r > unicode.MaxASCII || (!unicode.IsLetter(r) && !unicode.IsDigit(r)) {
			return false
		}
		hasLetter = hasLetter || unicode.IsLetter(r)
	}
	return hasLetter
}

// InstrumentSMS wraps a provider so every send is validated first (ErrInvalid
// before the provider sees it), runs in a "notify.sms" client span and is
// counted in the channel="sms" metrics. Errors the provider returns that are
// neither ErrInvalid nor ErrPermanent are wrapped with ErrTransient. Wrap the
// provider once, where the service is wired.
func InstrumentSMS(next SMSSender) SMSSender { return instrumentedSMS{next: next} }

type instrumentedSMS struct{ next SMSSender }

func (i instrumentedSMS) SendSMS(ctx context.Context, s SMS) (err error) {
	ctx, span := tracer().Start(ctx, "notify.sms", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("notify.channel", channelSMS), attribute.Int("notify.sms.text_length", len([]rune(s.Text)))))
	defer span.End()
	defer func() { finish(span, channelSMS, err) }()

	if err := s.Validate(); err != nil {
		return err
	}
	start := time.Now()
	err = i.next.SendSMS(ctx, s)
	metricSendSeconds.WithLabelValues(channelSMS).Observe(time.Since(start).Seconds())
	if err != nil && IsTransient(err) {
		err = transient(err)
	}
	if err != nil {
		return wrapf("notify: send sms: %w", err)
	}
	return nil
}

// finish records the outcome on the span and in the counter. The span status
// carries the outcome class, not the error text, which may hold addresses.
func finish(span trace.Span, channel string, err error) {
	o := outcome(err)
	metricSent.WithLabelValues(channel, o).Inc()
	span.SetAttributes(attribute.String("notify.outcome", o))
	if err != nil {
		span.SetStatus(codes.Error, o)
	}
}

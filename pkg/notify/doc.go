// Package notify sends Rollcall's outgoing messages: email over SMTP and SMS
// through a provider.
//
// It is for delivering one message at a time on behalf of a service (the
// invitation service's links, one-time codes and reports). Every send is
// validated first, so a header-injection attempt, a malformed address or a
// number that is not E.164 fails with ErrInvalid before any network I/O. A
// failed send is classified so the caller knows what to do with it:
//
//   - ErrInvalid: the input is wrong; retrying the same message cannot help.
//   - ErrPermanent: the server refused it for good (an SMTP 5xx reply, or an
//     SMS provider saying so); do not retry.
//   - ErrTransient: anything else (an SMTP 4xx reply, a refused or dropped
//     connection, a timeout, a cancelled context); retry with back-off.
//
// Each send is a client span ("notify.email", "notify.sms") carrying counts,
// never addresses or phone numbers, and is counted in
// rollcall_notify_sent_total{channel,outcome} with its latency in
// rollcall_notify_send_duration_seconds{channel}.
//
// It is not a queue and does not retry: delivery is driven by the caller's
// outbox or consumer, which owns the retry policy and the "exactly once"
// bookkeeping. It does not render templates; callers pass finished text (and
// optionally HTML). The SMTPMailer opens a new connection per message, which
// is simple and robust for the low volume of invitation mail; a pooled
// connection is not worth its failure modes here.
//
// For development and tests, package mailsink runs an SMTP server and an SMS
// stand-in that keep every message in memory and show it over HTTP.
package notify

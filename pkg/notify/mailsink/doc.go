// Package mailsink is a development mail catcher: an SMTP server and an SMS
// stand-in that keep every message in memory and show it over HTTP.
//
// It is what `rollcall dev` points the invitation service at, and what tests
// send to, so invitation links and one-time codes can be read back without a
// real mail relay or SMS provider. Email arrives over real SMTP (so the whole
// client path is exercised); SMS is captured through SMSSender. Both land in
// one store, newest first, bounded by Options.MaxMessages.
//
// It is for development only and not for anything reachable from outside:
// the SMTP server accepts mail from anyone without authentication or TLS,
// relays nothing, and the HTTP handler has no access control. Bind it to a
// loopback address. In docker-compose, Mailpit plays the same role (SMTP on
// 1025, UI on 8025) and SMS are logged by the stand-in provider instead.
package mailsink

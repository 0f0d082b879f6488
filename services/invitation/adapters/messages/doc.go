// Package messages renders the texts the invitation service sends, in the
// tenant's language: the invitation email to the invitee (member, integration
// user or integrator), the SMS carrying a one-time code, and the email that
// hands the one-time code to the inviting administrator when the invitee has
// no SMS ("send the one-time code to me").
//
// Languages are Norwegian Bokmål (nb; "no" and "nn" map to it), Swedish (sv),
// French (fr), Russian (ru) and English (en). A BCP 47 tag is matched
// case-insensitively by its primary subtag ("sv-FI" is Swedish); anything else,
// including the empty tag, falls back to English. Every user-visible string,
// month name and plural form comes from the language's table; dates are shown
// in the invitation's location (UTC unless set) with the zone abbreviation.
// Emails come as a subject, a plain-text body and an HTML body rendered with
// html/template, so names and tenant names are always escaped; CR, LF and other
// control characters in values are replaced by spaces, so a value cannot break
// out of a subject line.
//
// It is not where invitations, tokens or codes are made or checked: it receives
// an accept URL that already carries the single-use token and a code that has
// already been generated, and it never puts either into an error. Nor does it
// send anything: the SMTP and SMS adapters deliver what it returns.
package messages

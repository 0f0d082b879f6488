package bus

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// storableSubject is what the NATS server itself takes as a literal publish
// subject and, on recovering a file store, does not call corrupt (no NUL,
// no invalid UTF-8 or U+FFFD).
func storableSubject(s string) bool {
	return server.IsValidPublishSubject(s) && !strings.ContainsRune(s, 0) &&
		utf8.ValidString(s) && !strings.ContainsRune(s, utf8.RuneError)
}

// FuzzValidSubject checks the outbox's last gate before a publish: every
// subject ValidSubject accepts is one the NATS server accepts and can store,
// it is a literal (it matches itself and nothing with a different token),
// and its tokens re-join to it.
func FuzzValidSubject(f *testing.F) {
	for _, s := range []string{
		"invitation.v1.0b7c7a2e-5c3e-4a59-9b1c-2f3c4d5e6f70.invitation.1f2e3d4c-5b6a-4789-8abc-def012345678.created",
		"hr.v1.t.employee.emp-42.changed", "deadletter.HR.sync-hr-field-changed", "a", "a.b",
		"", ".", "a.", ".a", "a..b", "a.*.b", "a.>", "a b", "a\tb", "a\fb", "a\x00b", "a\xffb", "a\uFFFDb", "a*b", "é.ü",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidSubject(s) != nil {
			return
		}
		if !storableSubject(s) {
			t.Fatalf("ValidSubject accepted %q, which the NATS server refuses or calls corrupt", s)
		}
		tokens := strings.Split(s, ".")
		if strings.Join(tokens, ".") != s {
			t.Fatalf("%q does not re-join from its tokens", s)
		}
		if !subjectMatches(s, s) {
			t.Fatalf("%q does not match itself", s)
		}
		if !subjectMatches(tokens[0]+".>", s) && len(tokens) > 1 {
			t.Fatalf("%q does not match %s.>", s, tokens[0])
		}
		for i := range tokens {
			wild := append([]string(nil), tokens...)
			wild[i] = "*"
			if !subjectMatches(strings.Join(wild, "."), s) {
				t.Fatalf("%q does not match with token %d as *", s, i)
			}
			other := append([]string(nil), tokens...)
			other[i] += "x"
			if subjectMatches(s, strings.Join(other, ".")) {
				t.Fatalf("%q matches a subject with token %d changed", s, i)
			}
		}
		if subjectMatches(s, s+".x") || subjectMatches(s+".x", s) {
			t.Fatalf("%q matches a longer or shorter subject", s)
		}
	})
}

// FuzzSubjectToken checks Token, which makes any string one subject token:
// the result is one non-empty token the server accepts, Token is idempotent,
// and a string that already is a safe token passes unchanged.
func FuzzSubjectToken(f *testing.F) {
	for _, s := range []string{
		"0b7c7a2e-5c3e-4a59-9b1c-2f3c4d5e6f70", "sync-hr-field-changed", "HR", "", ".", "a.b", "*", ">", "a b",
		"\t\r\n", "\f", "\x00", "\xff", "\uFFFD", "ø", "a.*.>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := Token(s)
		if strings.Contains(tok, ".") {
			t.Fatalf("Token(%q) = %q has a dot", s, tok)
		}
		if err := ValidSubject("x." + tok + ".y"); err != nil {
			t.Fatalf("Token(%q) = %q is not a valid token: %v", s, tok, err)
		}
		if !storableSubject("x." + tok + ".y") {
			t.Fatalf("Token(%q) = %q is refused by the NATS server", s, tok)
		}
		if again := Token(tok); again != tok {
			t.Fatalf("Token is not idempotent: %q -> %q -> %q", s, tok, again)
		}
		if s != "" && !strings.Contains(s, ".") && ValidSubject(s) == nil && tok != s {
			t.Fatalf("a safe token %q was changed to %q", s, tok)
		}
	})
}

// FuzzDeadLetterSubject checks that a dead letter's subject, for any stream
// and consumer name, is three tokens on the dead-letter stream that give the
// stream and consumer back (as tokens).
func FuzzDeadLetterSubject(f *testing.F) {
	f.Add(StreamHR, "sync-hr-field-changed")
	f.Add(StreamIntegrator, "identity-integrator-events")
	f.Add("", "")
	f.Add("A.B", "c d*>")
	f.Add("\x00", "\xff")
	f.Fuzz(func(t *testing.T, stream, consumer string) {
		s := DeadLetterSubject(stream, consumer)
		if err := ValidSubject(s); err != nil {
			t.Fatalf("DeadLetterSubject(%q, %q) = %q: %v", stream, consumer, s, err)
		}
		if got := streamOfSubject(s); got != StreamDeadLetter {
			t.Fatalf("%q is on stream %s", s, got)
		}
		tokens := strings.Split(s, ".")
		if len(tokens) != 3 || tokens[0] != DeadLetterPrefix || tokens[1] != Token(stream) || tokens[2] != Token(consumer) {
			t.Fatalf("DeadLetterSubject(%q, %q) = %q", stream, consumer, s)
		}
	})
}

// FuzzDeadLetterHeaders reads a dead letter whose original message carried
// any headers, including forged rollcall-dlq-* and Nats-* ones in another
// case: what the operator sees (and what Replay uses) is what the runner
// wrote when it parked it, never what the publisher sent, and none of the
// broker's own headers is kept.
func FuzzDeadLetterHeaders(f *testing.F) {
	f.Add("Rollcall-Dlq-Subject", "evil.subject", "hr.v1.t.employee.e.changed", "bad payload", uint64(7), uint64(3))
	f.Add("ROLLCALL-DLQ-STREAM-SEQ", "1", "a", "", uint64(0), uint64(0))
	f.Add("Nats-Msg-Id", "x", "a.b", "r\r\nx", uint64(1<<63), uint64(1))
	f.Add("rollcall-dlq-reason", "forged", "a", "real", uint64(2), uint64(2))
	f.Fuzz(func(t *testing.T, forgedKey, forgedValue, subject, reason string, seq, deliveries uint64) {
		if forgedKey == "" {
			return
		}
		h := nats.Header{}
		h[forgedKey] = []string{forgedValue}
		h["Nats-Sequence"] = []string{"99"}
		// As deadLetterer.send writes them over the original's headers.
		parked := time.Date(2026, 3, 1, 12, 0, 0, 123, time.UTC)
		h = copyHeaders(h)
		h.Set(HeaderDLQReason, reason)
		h.Set(HeaderDLQSubject, subject)
		h.Set(HeaderDLQStream, StreamHR)
		h.Set(HeaderDLQStreamSeq, strconv.FormatUint(seq, 10))
		h.Set(HeaderDLQConsumer, "c")
		h.Set(HeaderDLQDeliveries, strconv.FormatUint(deliveries, 10))
		h.Set(HeaderDLQTime, parked.Format(time.RFC3339Nano))
		d := deadLetterFromRaw(&jetstream.RawStreamMsg{Sequence: 5, Header: h, Subject: "deadletter.HR.c"})
		if d.Reason != reason || d.OriginalSubject != subject || d.OriginalStream != StreamHR || d.Consumer != "c" {
			t.Fatalf("forged %q: %q got %+v", forgedKey, forgedValue, d)
		}
		if d.OriginalSeq != seq || d.Deliveries != deliveries || !d.ParkedAt.Equal(parked) {
			t.Fatalf("forged %q: %q: seq %d deliveries %d at %v", forgedKey, forgedValue, d.OriginalSeq, d.Deliveries, d.ParkedAt)
		}
		for k := range d.Header {
			if strings.HasPrefix(strings.ToLower(k), "nats-") {
				t.Fatalf("broker header %q kept", k)
			}
		}
	})
}

// FuzzHeaderCarrier checks the trace carrier that reads headers in any
// case: after Set, Get in any case returns the value, and exactly one key
// of that name (lowercase) is left.
func FuzzHeaderCarrier(f *testing.F) {
	f.Add("Traceparent", "traceparent", "TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Add("ce-id", "Ce-Id", "CE-ID", "")
	f.Add("K", "\u212a", "k", "v") // the Kelvin sign folds to k
	f.Fuzz(func(t *testing.T, existing, key, lookup, value string) {
		h := nats.Header{existing: {"old"}, "other": {"o"}}
		c := HeaderCarrier(h)
		c.Set(key, value)
		if got := c.Get(key); got != value {
			t.Fatalf("Get(%q) after Set = %q, want %q", key, got, value)
		}
		if got := c.Get(strings.ToUpper(key)); got != value && strings.EqualFold(strings.ToUpper(key), key) {
			t.Fatalf("Get(%q) after Set(%q) = %q, want %q", strings.ToUpper(key), key, got, value)
		}
		n := 0
		for _, k := range c.Keys() {
			if strings.EqualFold(k, key) {
				n++
				if k != strings.ToLower(key) {
					t.Fatalf("key %q left beside %q", k, strings.ToLower(key))
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d keys for %q", n, key)
		}
		if !strings.EqualFold(lookup, key) && !strings.EqualFold(lookup, existing) && !strings.EqualFold(lookup, "other") && c.Get(lookup) != "" {
			t.Fatalf("Get(%q) found a value for a key never set", lookup)
		}
	})
}

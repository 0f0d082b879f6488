package ports_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/bus"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/ports"
)

// FuzzDeliveryTamper signs any body, then changes one byte of the body,
// the timestamp header, the signature header or the secret: a delivery
// that verified no longer does (ErrBadSignature, or ErrBadTimestamp when
// the timestamp no longer reads as a number), unless the change left the
// timestamp the same number (e.g. a leading zero or '+').
func FuzzDeliveryTamper(f *testing.F) {
	for i, body := range []string{
		`{"topic":"users-update","data":{"users":[{"id":"u1","version":4,"phone":null,"changedFields":["phone"]}]}}`,
		`{}`, ``, "\x00\xff",
	} {
		for part := range 4 {
			f.Add([]byte(body), uint8(part), i*7, byte('0'+i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, part uint8, pos int, c byte) {
		secret := append([]byte(nil), fuzzSecret...)
		ts := strconv.FormatInt(now.Unix(), 10)
		sig := ports.Sign(secret, now, body)
		if err := ports.VerifyDelivery(secret, ts, sig, body, now, 5*time.Minute); err != nil {
			t.Fatalf("a fresh signature fails: %v", err)
		}
		if pos < 0 {
			pos = -pos
		}
		change := func(b []byte) bool {
			if len(b) == 0 || b[pos%len(b)] == c {
				return false
			}
			b[pos%len(b)] = c
			return true
		}
		tb, sb := []byte(ts), []byte(sig)
		var changed bool
		switch part % 4 {
		case 0:
			body = append([]byte(nil), body...)
			changed = change(body)
		case 1:
			changed = change(tb)
		case 2:
			changed = change(sb)
		case 3:
			changed = change(secret)
		}
		if !changed {
			return
		}
		err := ports.VerifyDelivery(secret, string(tb), string(sb), body, now, 5*time.Minute)
		if part%4 == 1 {
			if n, perr := strconv.ParseInt(strings.TrimSpace(string(tb)), 10, 64); perr == nil && n == now.Unix() {
				if err != nil {
					t.Fatalf("timestamp %q (the same second) refused: %v", tb, err)
				}
				return
			}
			if !errors.Is(err, ports.ErrBadSignature) && !errors.Is(err, ports.ErrBadTimestamp) {
				t.Fatalf("timestamp %q instead of %q: %v", tb, ts, err)
			}
			return
		}
		if !errors.Is(err, ports.ErrBadSignature) {
			t.Fatalf("part %d changed at %d to %q: %v", part%4, pos, c, err)
		}
	})
}

// FuzzFieldChangedSubject decodes any payload as a FieldChanged the way the
// consumer does; for every event that validates, the subject it must
// arrive on is a valid NATS subject of six tokens that gives its tenant and
// employee back and is captured by the consumer's filter (an event whose
// ids could not be one token would be dead-lettered as arriving on the
// wrong subject, whatever subject it came on).
func FuzzFieldChangedSubject(f *testing.F) {
	for _, ev := range fieldChangedSeeds() {
		data, err := proto.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev *hrv1.FieldChanged
		h := bus.Typed(func(_ context.Context, _ *bus.Message, e *hrv1.FieldChanged) error { ev = e; return nil })
		if h(context.Background(), &bus.Message{Data: data}) != nil {
			return
		}
		s := ports.FieldChangedSubject(ev.GetTenantId(), ev.GetEmployeeId())
		if err := bus.ValidSubject(s); err != nil {
			t.Fatalf("employee %q of tenant %q: %v", ev.GetEmployeeId(), ev.GetTenantId(), err)
		}
		tok := strings.Split(s, ".")
		filter := strings.Split(ports.FieldChangedSubjects, ".")
		if len(tok) != len(filter) || tok[2] != ev.GetTenantId() || tok[4] != ev.GetEmployeeId() {
			t.Fatalf("subject %q does not give tenant %q and employee %q back", s, ev.GetTenantId(), ev.GetEmployeeId())
		}
		for i := range filter {
			if filter[i] != "*" && filter[i] != tok[i] {
				t.Fatalf("subject %q is not captured by %s", s, ports.FieldChangedSubjects)
			}
		}
	})
}

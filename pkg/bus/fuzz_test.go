package bus_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
)

// FuzzTypedHandler feeds arbitrary payloads and headers, as any upstream
// could publish, through the decoding path of every consumer: it must never
// panic, and it must either accept a message that decodes and validates or
// refuse it as permanent (so it is dead-lettered, not retried forever).
func FuzzTypedHandler(f *testing.F) {
	valid, _ := proto.Marshal(timestamppb.Now())
	f.Add([]byte{}, "rollcall.hr.v1.FieldChanged", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Add([]byte{0xff, 0xff}, "", "garbage")
	f.Add(valid, "rollcall.hr.v1.FieldChanged", "")
	f.Add([]byte("\x0a\x24not-a-uuid-at-all-but-the-right-len!!"), "rollcall.hr.v1.FieldChanged", "")

	h := bus.Typed(func(context.Context, *bus.Message, *hrv1.FieldChanged) error { return nil })
	f.Fuzz(func(t *testing.T, data []byte, typ, traceparent string) {
		hdr := nats.Header{}
		bus.HeaderCarrier(hdr).Set("traceparent", traceparent)
		err := h(context.Background(), &bus.Message{Data: data, Type: typ, Header: hdr})
		if err != nil && !bus.IsPermanent(err) {
			t.Fatalf("decode failure must be permanent, got %v", err)
		}
		if err == nil {
			var ev hrv1.FieldChanged
			if uerr := proto.Unmarshal(data, &ev); uerr != nil {
				t.Fatalf("accepted an undecodable payload: %v", uerr)
			}
		}
	})
}

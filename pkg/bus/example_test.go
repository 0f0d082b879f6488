package bus_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"rollcall.dev/pkg/bus"
)

// A producer publishes an event; a durable consumer handles it and a
// malformed message is parked in the dead-letter stream with its reason.
func Example() {
	dir, _ := os.MkdirTemp("", "bus-example")
	defer os.RemoveAll(dir)
	ns, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	ns.Start()
	defer ns.Shutdown()
	ns.ReadyForConnections(5 * time.Second)
	nc, _ := nats.Connect(ns.ClientURL())
	defer nc.Close()
	js, _ := bus.NewJetStream(nc)
	ctx := context.Background()
	_, _ = bus.EnsureStreams(ctx, js, bus.StreamOptions{})

	handled := make(chan string, 1)
	runner, _ := bus.NewRunner(nc, js, nil, bus.ConsumerConfig{
		Stream: bus.StreamSync, Durable: "example",
		Handler: bus.Typed(func(_ context.Context, _ *bus.Message, ev *wrapperspb.StringValue) error {
			handled <- ev.GetValue()
			return nil
		}),
	})
	_ = runner.Start(ctx)
	defer runner.Stop(ctx) //nolint:errcheck // example

	ev, _ := bus.NewEvent("/rollcall/example", "sync.v1.tenant.employee.e1.synced", "employee/e1", wrapperspb.String("hello"))
	pub := bus.NewPublisher(js)
	_, _ = pub.Publish(ctx, ev)
	fmt.Println("handled:", <-handled)

	bad, _ := bus.NewEvent("/rollcall/example", "sync.v1.tenant.employee.e2.synced", "employee/e2", wrapperspb.String(""))
	bad.Data = []byte{0xff}
	_, _ = pub.Publish(ctx, bad)
	for {
		dls, _ := bus.ListDeadLetters(ctx, js, 0, 10)
		if len(dls) > 0 {
			fmt.Println("dead-lettered from:", dls[0].OriginalSubject)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output:
	// handled: hello
	// dead-lettered from: sync.v1.tenant.employee.e2.synced
}

// A batch consumer stores the events that arrived together in one go and
// answers for each: here the empty one is refused for good (dead-lettered
// on its own) while the others are acked.
func ExampleTypedBatch() {
	dir, _ := os.MkdirTemp("", "bus-example")
	defer os.RemoveAll(dir)
	ns, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	ns.Start()
	defer ns.Shutdown()
	ns.ReadyForConnections(5 * time.Second)
	nc, _ := nats.Connect(ns.ClientURL())
	defer nc.Close()
	js, _ := bus.NewJetStream(nc)
	ctx := context.Background()
	_, _ = bus.EnsureStreams(ctx, js, bus.StreamOptions{})

	pub := bus.NewPublisher(js)
	for _, v := range []string{"a", "", "b"} {
		ev, _ := bus.NewEvent("/rollcall/example", "sync.v1.tenant.employee.e1.synced", "employee/e1", wrapperspb.String(v))
		_, _ = pub.Publish(ctx, ev)
	}
	stored := make(chan []string, 3)
	runner, _ := bus.NewRunner(nc, js, nil, bus.ConsumerConfig{
		Stream: bus.StreamSync, Durable: "example-batch",
		BatchHandler: bus.TypedBatch(func(_ context.Context, ms []*bus.Message, evs []*wrapperspb.StringValue) []error {
			errs := make([]error, len(ms))
			var batch []string
			for i, ev := range evs {
				if ev.GetValue() == "" {
					errs[i] = bus.Permanentf("empty value")
					continue
				}
				batch = append(batch, ev.GetValue()) // one transaction for all of them
			}
			stored <- batch
			return errs
		}),
	})
	_ = runner.Start(ctx)
	defer runner.Stop(ctx) //nolint:errcheck // example

	var got []string
	for len(got) < 2 {
		got = append(got, <-stored...)
	}
	fmt.Println("stored:", got)
	for {
		dls, _ := bus.ListDeadLetters(ctx, js, 0, 10)
		if len(dls) > 0 {
			fmt.Println("dead-lettered:", strings.TrimPrefix(dls[0].Reason, bus.ErrPermanent.Error()+": "))
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output:
	// stored: [a b]
	// dead-lettered: empty value
}

package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
)

// BenchmarkRunnerVsRawConsume measures, in one run: a bare JetStream pull
// consumer that acks every message (the baseline), and the Runner with a
// Typed handler (decode, type check, protovalidate, span, metrics, ack) over
// the same messages. Compare the ratio runner/raw across machines.
func BenchmarkRunnerVsRawConsume(b *testing.B) {
	const perIter = 2000
	n := testkit.NewNATS(b)
	ctx := context.Background()
	pub := bus.NewPublisher(n.JS)
	events := make([]bus.Event, perIter)
	var rawDur, runDur time.Duration
	iter := 0
	stream, err := n.JS.Stream(ctx, bus.StreamSync)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		iter++
		if err := stream.Purge(ctx); err != nil {
			b.Fatal(err)
		}
		for i := range events {
			ev, err := bus.NewEvent("/bench", fmt.Sprintf("sync.v1.bench.e%d.x", i%16), "e", wrapperspb.String("payload"))
			if err != nil {
				b.Fatal(err)
			}
			events[i] = ev
		}
		if err := errors.Join(pub.PublishBatch(ctx, events, nil)...); err != nil {
			b.Fatal(err)
		}

		// Baseline: a plain durable consumer that acks each message.
		cons, err := n.JS.CreateOrUpdateConsumer(ctx, bus.StreamSync, jetstream.ConsumerConfig{
			Durable: fmt.Sprintf("raw-%d", iter), AckPolicy: jetstream.AckExplicitPolicy,
		})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		count := 0
		start := time.Now()
		cc, err := cons.Consume(func(m jetstream.Msg) {
			_ = m.Ack()
			if count++; count == perIter {
				close(done)
			}
		}, jetstream.PullMaxMessages(16))
		if err != nil {
			b.Fatal(err)
		}
		<-done
		rawDur += time.Since(start)
		cc.Stop()

		// The Runner over the same messages.
		got := make(chan struct{}, perIter)
		r, err := bus.NewRunner(n.Conn, n.JS, nil, bus.ConsumerConfig{
			Stream: bus.StreamSync, Durable: fmt.Sprintf("runner-%d", iter),
			Handler: bus.Typed(func(context.Context, *bus.Message, *wrapperspb.StringValue) error {
				got <- struct{}{}
				return nil
			}),
		})
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if err := r.Start(ctx); err != nil {
			b.Fatal(err)
		}
		for range perIter {
			<-got
		}
		runDur += time.Since(start)
		_ = r.Stop(ctx)
	}
	msgs := float64(iter * perIter)
	raw := msgs / rawDur.Seconds()
	run := msgs / runDur.Seconds()
	b.ReportMetric(raw, "raw-consume-msg/s")
	b.ReportMetric(run, "runner-msg/s")
	b.ReportMetric(run/raw, "runner/raw")
}

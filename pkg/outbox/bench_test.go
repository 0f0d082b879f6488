package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/pkg/testkit"
)

// BenchmarkRelayVsRawPublish measures, in one run on one machine:
//   - raw: async JetStream publishes of pre-built messages with acks (the
//     ceiling any relay can reach on this broker);
//   - append: writing events to the outbox, 50 per transaction;
//   - relay: the relay draining those rows to JetStream and marking them.
//
// The figures that compare across machines are the ratios relay/raw and
// append/raw. The relay sends at most one event per aggregate at a time (its
// ordering guarantee), so few busy aggregates cost more than many quiet ones:
// the sub-benchmarks spread the same events over 16 and over 1000 aggregates.
func BenchmarkRelayVsRawPublish(b *testing.B) {
	for _, aggregates := range []int{16, 1000} {
		b.Run(fmt.Sprintf("aggregates=%d", aggregates), func(b *testing.B) { benchRelay(b, aggregates) })
	}
}

func benchRelay(b *testing.B, aggregates int) {
	const perIter = 2000
	n := testkit.NewNATS(b)
	pool := testkit.NewDB(b, nil)
	ctx := context.Background()
	payload, _ := proto.Marshal(wrapperspb.String("a typical small event payload of some tens of bytes"))
	var rawDur, appendDur, relayDur time.Duration
	iter := 0
	for b.Loop() {
		iter++
		// Baseline: raw async publish with acks.
		start := time.Now()
		futures := make([]jetstream.PubAckFuture, 0, perIter)
		for i := range perIter {
			m := nats.NewMsg(fmt.Sprintf("sync.v1.bench.raw.%d.x", i%16))
			m.Data = payload
			m.Header.Set(nats.MsgIdHdr, fmt.Sprintf("raw-%d-%d", iter, i))
			f, err := n.JS.PublishMsgAsync(m)
			if err != nil {
				b.Fatal(err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
		rawDur += time.Since(start)

		start = time.Now()
		for t := 0; t < perIter; t += 50 {
			err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
				for i := t; i < t+50; i++ {
					agg := fmt.Sprintf("agg-%d", i%aggregates)
					if _, err := outbox.Append(ctx, tx, "/bench", outbox.Record{Subject: "sync.v1.bench." + agg + ".x", Aggregate: agg, Event: wrapperspb.String("a typical small event payload of some tens of bytes")}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		appendDur += time.Since(start)

		relay := outbox.NewRelay(pool, bus.NewPublisher(n.JS), nil, outbox.RelayConfig{Service: "bench", BatchSize: 500})
		start = time.Now()
		total := 0
		for total < perIter {
			got, err := relay.RelayOnce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			total += got
		}
		relayDur += time.Since(start)
	}
	events := float64(iter * perIter)
	raw := events / rawDur.Seconds()
	app := events / appendDur.Seconds()
	rel := events / relayDur.Seconds()
	b.ReportMetric(raw, "raw-publish-ev/s")
	b.ReportMetric(app, "outbox-append-ev/s")
	b.ReportMetric(rel, "relay-ev/s")
	b.ReportMetric(rel/raw, "relay/raw")
	b.ReportMetric(app/raw, "append/raw")
}

package bus

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// When a message runs out of deliveries through ack-wait expiry (the process
// holding it died), the server only emits an advisory. The runner listens for
// it and parks the message. This drives a real advisory from the server: two
// "processes" fetch the message and die without acking.
func TestMaxDeliveriesAdvisoryDeadLetters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	require.NoError(t, err)
	ns.Start()
	t.Cleanup(ns.Shutdown)
	require.True(t, ns.ReadyForConnections(10*time.Second))
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := NewJetStream(nc)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = EnsureStreams(ctx, js, StreamOptions{})
	require.NoError(t, err)

	cfg := ConsumerConfig{
		Stream: StreamSync, Durable: "crashy", MaxDeliver: 2, AckWait: 300 * time.Millisecond,
		FilterSubjects: []string{"sync.v1.crash.>"},
		Handler:        func(context.Context, *Message) error { return nil },
	}
	require.NoError(t, cfg.setDefaults())
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable: cfg.Durable, FilterSubjects: cfg.FilterSubjects, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: cfg.AckWait, MaxDeliver: cfg.MaxDeliver,
	})
	require.NoError(t, err)

	// Only the advisory side of a runner: it must not consume itself.
	r, err := NewRunner(nc, js, nil)
	require.NoError(t, err)
	sub, err := nc.Subscribe(maxDeliveriesAdvisory(cfg.Stream, cfg.Durable), r.onMaxDeliveries(ctx, &cfg))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe(); r.wg.Wait() })

	ev := Event{ID: "evt-crash-1", Type: "t", Source: "/s", Subject: "sync.v1.crash.e1.x", Data: []byte("payload")}
	msg, err := ev.Msg(ctx)
	require.NoError(t, err)
	_, err = js.PublishMsg(ctx, msg)
	require.NoError(t, err)

	for range cfg.MaxDeliver {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		require.NoError(t, err)
		n := 0
		for range batch.Messages() {
			n++ // "process dies": no ack
		}
		require.Equal(t, 1, n)
		time.Sleep(cfg.AckWait + 100*time.Millisecond)
	}
	// Nudge the server to notice the last expiry.
	_, _ = cons.Fetch(1, jetstream.FetchMaxWait(500*time.Millisecond))

	var dls []DeadLetter
	require.Eventually(t, func() bool {
		dls, err = ListDeadLetters(ctx, js, 0, 10)
		require.NoError(t, err)
		return len(dls) == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "evt-crash-1", dls[0].EventID)
	require.Equal(t, "sync.v1.crash.e1.x", dls[0].OriginalSubject)
	require.Equal(t, "crashy", dls[0].Consumer)
	require.EqualValues(t, 2, dls[0].Deliveries)
	require.True(t, strings.HasPrefix(dls[0].Reason, "not acknowledged after 2 deliveries"), dls[0].Reason)
	require.Equal(t, []byte("payload"), dls[0].Data)
	_ = os.RemoveAll(dir)
}

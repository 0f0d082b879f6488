package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"rollcall.dev/pkg/bus"
)

// NATS is an embedded JetStream server and a client connected to it.
type NATS struct {
	Server *server.Server
	URL    string
	Conn   *nats.Conn
	JS     jetstream.JetStream
	dir    string
}

// NewNATS starts an embedded JetStream server on a random port with its store
// in a temporary directory, connects to it, and creates Rollcall's streams.
// Everything is shut down when the test ends.
func NewNATS(t testing.TB) *NATS {
	t.Helper()
	n := &NATS{dir: t.TempDir()}
	n.start(t)
	t.Cleanup(func() { n.shutdown() })
	return n
}

func (n *NATS) start(t testing.TB) {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  n.dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		t.Fatalf("testkit: nats server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatalf("testkit: nats server not ready")
	}
	n.Server = srv
	n.URL = srv.ClientURL()
	nc, err := nats.Connect(n.URL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("testkit: nats connect: %v", err)
	}
	js, err := bus.NewJetStream(nc)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	n.Conn, n.JS = nc, js
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := bus.EnsureStreams(ctx, js, bus.StreamOptions{}); err != nil {
		t.Fatalf("testkit: streams: %v", err)
	}
}

// Connect opens another client connection (closed at test end).
func (n *NATS) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(n.URL)
	if err != nil {
		t.Fatalf("testkit: nats connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := bus.NewJetStream(nc)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return nc, js
}

func (n *NATS) shutdown() {
	if n.Conn != nil {
		n.Conn.Close()
	}
	if n.Server != nil {
		n.Server.Shutdown()
		n.Server.WaitForShutdown()
	}
}

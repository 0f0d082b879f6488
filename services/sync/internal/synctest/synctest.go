// Package synctest wires the sync service's real parts for tests and
// benchmarks: a fresh Postgres database, embedded JetStream, the stand-in
// ERP over real HTTP, the FieldChanged consumer, the propagator and the
// outbox relay. It is test support, not production wiring (module.go).
package synctest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/testkit"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erp/tso"
	"rollcall.dev/services/sync/erpsim"
	"rollcall.dev/services/sync/keyring"
	"rollcall.dev/services/sync/migrations"
	"rollcall.dev/services/sync/ports"
)

// ConnectionID is the connection the stack's resolver serves.
const ConnectionID = "5c0e0d1e-0000-4000-8000-000000000001"

// Options tune the stack.
type Options struct {
	// Tenants served by the ERP (default: every tenant).
	Tenants []string
	// Coalesce window (default 0).
	Coalesce time.Duration
	// ERPTimeout (default 500ms).
	ERPTimeout time.Duration
	// Concurrency of the propagator (default 4).
	Concurrency int
	// BurstHold of the propagator (default 0: off).
	BurstHold time.Duration
	// NoPropagator leaves the propagator stopped (the test drives it).
	NoPropagator bool
	// NoConsumer leaves the FieldChanged consumer stopped until
	// StartConsumer (changes published meanwhile wait in the stream).
	NoConsumer bool
	// AckWait of the FieldChanged consumer (default: the consumer's).
	AckWait time.Duration
	// OnWrite is passed to the stand-in ERP.
	OnWrite func(e erp.Employee)
	// Log (default: discarded).
	Log *slog.Logger
	// WrapDB, when set, wraps the pool the store uses (tests that watch
	// or hold the store's transactions).
	WrapDB func(*pgxpool.Pool) postgres.DB
	// Connections serves real-time sync from the connections admins create
	// (app.Resolver) instead of one static ERP account: see NewRuns.
	Connections bool
}

// Stack is the running service parts.
type Stack struct {
	Pool *pgxpool.Pool
	// DBURL is the test database's URL (for a process of its own).
	DBURL     string
	NATS      *testkit.NATS
	Sim       *erpsim.Server
	SimURL    string
	Store     *postgres.Store
	Service   *app.Service
	Prop      *app.Propagator
	Resolver  *erp.StaticResolver
	Publisher *bus.Publisher
	// Keys seal the connections' API keys (Options.Connections).
	Keys *keyring.Keyring
	// Connections is the resolver of Options.Connections.
	Connections *app.Resolver
	// ERPTimeout is the connectors' request timeout.
	ERPTimeout time.Duration
	// Log is the stack's logger.
	Log *slog.Logger

	runner *bus.Runner
}

// TestKeys is a keyring for tests (version 1).
const TestKeys = "1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// Dialer makes 24SevenOffice connectors to a stand-in: the service's own.
type Dialer = tso.Dialer

// New starts a stack; everything stops when the test ends.
func New(t testing.TB, o Options) *Stack {
	t.Helper()
	if o.ERPTimeout <= 0 {
		o.ERPTimeout = 500 * time.Millisecond
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Stack{}
	s.Pool, s.DBURL = testkit.NewDBWithURL(t, migrations.FS)
	s.NATS = testkit.NewNATS(t)
	s.Sim = erpsim.New(erpsim.Options{APIKeys: []string{"test-key"}, OnWrite: o.OnWrite})
	srv := httptest.NewServer(s.Sim)
	t.Cleanup(srv.Close)
	s.SimURL = srv.URL
	client, err := tso.New(tso.Config{BaseURL: srv.URL, APIKey: "test-key", Timeout: o.ERPTimeout})
	if err != nil {
		t.Fatal(err)
	}
	s.Resolver = &erp.StaticResolver{Conn: erp.Connection{ID: ConnectionID, Connector: erp.Instrument(client, "24sevenoffice")}, AllTenants: len(o.Tenants) == 0, Tenants: map[string]bool{}}
	for _, tn := range o.Tenants {
		s.Resolver.Tenants[tn] = true
	}
	s.Publisher = bus.NewPublisher(s.NATS.JS)
	relay := outbox.NewRelay(s.Pool, s.Publisher, o.Log, outbox.RelayConfig{Service: "sync", PollInterval: 20 * time.Millisecond})
	var db postgres.DB = s.Pool
	if o.WrapDB != nil {
		db = o.WrapDB(s.Pool)
	}
	s.Store = postgres.New(db, "/rollcall/sync")
	s.Store.Published = relay.Kick
	s.ERPTimeout, s.Log = o.ERPTimeout, o.Log
	var resolver erp.Resolver = s.Resolver
	if o.Connections {
		if s.Keys, err = keyring.Parse(TestKeys); err != nil {
			t.Fatal(err)
		}
		s.Store.Keys = s.Keys
		s.Connections = &app.Resolver{Store: s.Store, Dialer: Dialer{BaseURL: srv.URL, Timeout: o.ERPTimeout}, TTL: 50 * time.Millisecond}
		resolver = s.Connections
	}
	s.Prop = &app.Propagator{
		Store: s.Store, Resolver: resolver, Log: o.Log, Concurrency: o.Concurrency, Lease: 10 * time.Second,
		Poll: 50 * time.Millisecond, BackoffBase: 50 * time.Millisecond, BackoffMax: 400 * time.Millisecond,
		BurstHold: o.BurstHold,
	}
	s.Service = &app.Service{Store: s.Store, Resolver: resolver, Coalesce: o.Coalesce, Due: s.Prop.KickAfter, Burst: s.Prop.Burst}
	consumers := ports.FieldChangedConsumers(s.Service)
	for i := range consumers {
		consumers[i].Backoff = []time.Duration{50 * time.Millisecond}
		consumers[i].MaxDeliver = 3
		if o.AckWait > 0 {
			consumers[i].AckWait = o.AckWait
		}
	}
	runner, err := bus.NewRunner(s.NATS.Conn, s.NATS.JS, o.Log, consumers...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := relay.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !o.NoPropagator {
		if err := s.Prop.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.runner = runner
	if !o.NoConsumer {
		s.StartConsumer(t)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = runner.Stop(sctx)
		_ = s.Prop.Stop(sctx)
		relay.Stop()
	})
	return s
}

// StartConsumer starts the FieldChanged consumer (Options.NoConsumer).
func (s *Stack) StartConsumer(t testing.TB) {
	t.Helper()
	if err := s.runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Publish sends ev as HR would, on its employee's subject, with a fresh
// event id; it returns the id.
func (s *Stack) Publish(t testing.TB, ev *hrv1.FieldChanged) string {
	t.Helper()
	return s.PublishWithID(t, ev, "")
}

// Event is ev as HR sends it: a CloudEvent on its employee's subject with a
// fresh event id.
func Event(ev *hrv1.FieldChanged) (bus.Event, error) {
	return bus.NewEvent("/test/hr", ports.FieldChangedSubject(ev.GetTenantId(), ev.GetEmployeeId()), "employee/"+ev.GetEmployeeId(), ev)
}

// PublishWithID publishes ev with a given event id ("" for a fresh one).
func (s *Stack) PublishWithID(t testing.TB, ev *hrv1.FieldChanged, id string) string {
	t.Helper()
	e, err := Event(ev)
	if err != nil {
		t.Fatal(err)
	}
	if id != "" {
		e.ID = id
	}
	if _, err := s.Publisher.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

// PublishRaw sends arbitrary bytes on subject with a FieldChanged ce-type.
func (s *Stack) PublishRaw(t testing.TB, subject string, data []byte, msg proto.Message) {
	t.Helper()
	e, err := bus.NewEvent("/test/hr", subject, "x", msg)
	if err != nil {
		t.Fatal(err)
	}
	if data != nil {
		e.Data = data
	}
	if _, err := s.Publisher.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

var seq atomic.Int64

// Unique returns a unique string for emails and ids.
func Unique() string { return fmt.Sprintf("%d%03d", time.Now().UnixNano()%1e10, seq.Add(1)%1000) }

// Date builds a Date.
func Date(y, m, d int) *commonv1.Date {
	return &commonv1.Date{Year: int32(y), Month: int32(m), Day: int32(d)}
}

// Created is a FieldChanged creating employee id with the required fields.
func Created(tenant, id string, version uint64, email, given, family string) *hrv1.FieldChanged {
	now := time.Now()
	return &hrv1.FieldChanged{
		TenantId: tenant, OccurredAt: timestamppb.New(now), EmployeeId: id, HrVersion: version,
		ChangedAt: timestamppb.New(now), Operation: hrv1.EmployeeOperation_EMPLOYEE_OPERATION_CREATED,
		Email: &hrv1.EmailChange{NewValue: &email}, GivenName: &hrv1.NameChange{NewValue: &given},
		FamilyName: &hrv1.NameChange{NewValue: &family},
	}
}

// Updated is a FieldChanged updating employee id; set the changes on it.
func Updated(tenant, id string, version uint64) *hrv1.FieldChanged {
	now := time.Now()
	return &hrv1.FieldChanged{
		TenantId: tenant, OccurredAt: timestamppb.New(now), EmployeeId: id, HrVersion: version,
		ChangedAt: timestamppb.New(now), Operation: hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED,
	}
}

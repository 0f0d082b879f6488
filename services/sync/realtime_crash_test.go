package syncsvc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/bus"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erp/tso"
	"rollcall.dev/services/sync/erpsim"
	"rollcall.dev/services/sync/internal/synctest"
	"rollcall.dev/services/sync/ports"
)

// TestRealtimeCrashHelperProcess is the service of
// TestAKilledServiceLosesNoChangeAndCreatesNoEmployeeTwice: the FieldChanged
// consumer and the propagator, in a process of its own so the test can kill
// it outright (SIGKILL: batches in flight neither committed nor acked,
// ERP writes not recorded).
func TestRealtimeCrashHelperProcess(t *testing.T) {
	if os.Getenv("SYNC_RT_CRASH_HELPER") != "1" {
		t.Skip("run by TestAKilledServiceLosesNoChangeAndCreatesNoEmployeeTwice")
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := pgxpool.New(ctx, os.Getenv("SYNC_RT_CRASH_DB"))
	require.NoError(t, err)
	nc, err := nats.Connect(os.Getenv("SYNC_RT_CRASH_NATS"))
	require.NoError(t, err)
	js, err := bus.NewJetStream(nc)
	require.NoError(t, err)
	client, err := tso.New(tso.Config{BaseURL: os.Getenv("SYNC_RT_CRASH_ERP"), APIKey: "test-key", Timeout: 5 * time.Second})
	require.NoError(t, err)
	resolver := &erp.StaticResolver{Conn: erp.Connection{ID: synctest.ConnectionID, Connector: client}, AllTenants: true}
	store := postgres.New(pool, "/rollcall/sync") // the test's relay publishes the events
	prop := &app.Propagator{Store: store, Resolver: resolver, Log: log, Concurrency: 8, Lease: 2 * time.Second,
		Poll: 20 * time.Millisecond, BackoffBase: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
	svc := &app.Service{Store: store, Resolver: resolver, Coalesce: 5 * time.Millisecond, Due: prop.KickAfter}
	consumers := ports.FieldChangedConsumers(svc)
	for i := range consumers {
		consumers[i].Backoff = []time.Duration{50 * time.Millisecond}
		consumers[i].AckWait = time.Second // what the killed process had taken comes back soon
	}
	runner, err := bus.NewRunner(nc, js, log, consumers...)
	require.NoError(t, err)
	require.NoError(t, prop.Start(ctx))
	require.NoError(t, runner.Start(ctx))
	time.Sleep(time.Minute)
}

// The service killed twice (SIGKILL) while HR's changes stream in and it
// writes them to the ERP: once it runs again, every change is in the ERP
// (each employee at its last version), each change was taken in exactly
// once (one inbox row per event), and no employee was created twice in the
// ERP (a create whose answer was lost is found by email and adopted).
func TestAKilledServiceLosesNoChangeAndCreatesNoEmployeeTwice(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	s := synctest.New(t, synctest.Options{NoConsumer: true, NoPropagator: true, Coalesce: 5 * time.Millisecond, AckWait: time.Second})
	// Slow enough that a kill lands with ERP calls in flight.
	s.Sim.SetFaults(erpsim.Faults{Latency: 3 * time.Millisecond})
	tn := tenant()
	const employees, versions = 100, 8
	email := func(i int) string { return fmt.Sprintf("rt%03d.%s@example.com", i, tn[:8]) }
	id := func(i int) string { return fmt.Sprintf("rt-%03d", i) }

	// HR publishes a round of changes (one per employee) every 60 ms.
	published := make(chan struct{})
	go func() {
		defer close(published)
		for v := 1; v <= versions; v++ {
			for i := range employees {
				var ev *hrv1.FieldChanged
				if v == 1 {
					ev = synctest.Created(tn, id(i), 1, email(i), "v1", "Crash")
				} else {
					ev = synctest.Updated(tn, id(i), uint64(v))
					ev.GivenName = &hrv1.NameChange{NewValue: ptr("v" + strconv.Itoa(v))}
				}
				s.Publish(t, ev)
			}
			time.Sleep(60 * time.Millisecond)
		}
	}()

	var cons jetstream.Consumer // created by the first helper
	ackFloor := func() uint64 {
		if cons == nil {
			c, err := s.NATS.JS.Consumer(ctx, bus.StreamHR, "sync-hr-field-changed")
			if err != nil {
				return 0
			}
			cons = c
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return 0
		}
		return info.AckFloor.Stream
	}
	crash := func(name string, ready func() bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRealtimeCrashHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SYNC_RT_CRASH_HELPER=1", "SYNC_RT_CRASH_DB="+s.DBURL,
			"SYNC_RT_CRASH_NATS="+s.NATS.URL, "SYNC_RT_CRASH_ERP="+s.SimURL)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		require.Eventually(t, ready, wait, time.Millisecond, "%s: the helper works", name)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		st := s.Sim.Stats()
		t.Logf("%s: killed with %d of %d changes acked; ERP creates %d, updates %d", name, ackFloor(), employees*versions, st.Creates, st.Updates)
	}
	writes := func() int { st := s.Sim.Stats(); return st.Creates + st.Updates }
	crash("while taking in the first changes", func() bool { return ackFloor() >= 2*employees })
	before := writes()
	crash("while writing to the ERP", func() bool { return writes() >= before+50 })

	// The service runs again.
	s.Sim.SetFaults(erpsim.Faults{})
	s.StartConsumer(t)
	require.NoError(t, s.Prop.Start(ctx))
	<-published
	// What the killed processes had taken and not acked comes back after
	// the ack wait; the versions it carries are older than what is stored.
	require.Eventually(t, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream >= uint64(employees*versions)
	}, wait, 20*time.Millisecond, "every change acked")
	for i := range employees {
		erpByEmail(t, s, email(i), func(e erp.Employee) bool { return e.Firstname == "v"+strconv.Itoa(versions) })
	}
	for i := range employees {
		e := employee(t, s, tn, id(i), func(e postgres.Employee) bool { return e.Status == "synced" })
		require.EqualValues(t, versions, e.HR.Version)
	}
	require.Len(t, s.Sim.Employees(), employees, "one ERP employee per HR employee")
	require.Equal(t, employees, s.Sim.Stats().Creates, "no employee created twice")
	var taken int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM rollcall_inbox WHERE consumer = $1`, postgres.InboxConsumer).Scan(&taken))
	require.Equal(t, employees*versions, taken, "every change taken in once")
}

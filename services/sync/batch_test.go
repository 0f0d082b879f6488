package syncsvc_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/bus"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/internal/synctest"
	"rollcall.dev/services/sync/ports"
)

// The FieldChanged consumer stores the changes that arrived together in one
// transaction. A change in such a batch that cannot be stored — one the
// database refuses (a version beyond its range), one naming another
// connection, one without an event id, an undecodable one — is
// dead-lettered on its first delivery, with its reason, and the others of
// its batch are stored and reach the ERP.
func TestABadChangeInABatchIsDeadLetteredAloneAtOnce(t *testing.T) {
	t.Parallel()
	s := synctest.New(t, synctest.Options{NoConsumer: true})
	ctx := context.Background()
	tn := tenant()

	// Published before the consumer starts, so they arrive together.
	var good []string
	for i := range 6 {
		email := fmt.Sprintf("batch%d.%s@example.com", i, synctest.Unique())
		good = append(good, email)
		s.Publish(t, synctest.Created(tn, fmt.Sprintf("ok-%d", i), 1, email, "Good", "Batch"))
		switch i {
		case 1:
			// Valid (hr_version is a uint64 above 0), but beyond the
			// store's bigint.
			huge := synctest.Created(tn, "huge", 1<<63, "huge."+synctest.Unique()+"@example.com", "Huge", "Version")
			s.Publish(t, huge)
		case 2:
			other := synctest.Created(tn, "other-conn", 1, "other."+synctest.Unique()+"@example.com", "Other", "Connection")
			other.ConnectionId = ptr(tenant())
			s.Publish(t, other)
		case 3:
			// No ce-id and no Nats-Msg-Id: it cannot be de-duplicated.
			data, err := proto.Marshal(synctest.Created(tn, "no-id", 1, "noid."+synctest.Unique()+"@example.com", "No", "Id"))
			require.NoError(t, err)
			_, err = s.NATS.JS.PublishMsg(ctx, &nats.Msg{Subject: ports.FieldChangedSubject(tn, "no-id"), Data: data,
				Header: nats.Header{bus.HeaderType: []string{bus.TypeOf(&hrv1.FieldChanged{})}}})
			require.NoError(t, err)
		case 4:
			s.PublishRaw(t, ports.FieldChangedSubject(tn, "garbled"), []byte{0xff, 0x01}, &hrv1.FieldChanged{})
		}
	}
	s.StartConsumer(t)

	for _, email := range good {
		erpByEmail(t, s, email, nil)
	}
	var dls []bus.DeadLetter
	require.Eventually(t, func() bool {
		var err error
		dls, err = bus.ListDeadLetters(ctx, s.NATS.JS, 1, 10)
		return err == nil && len(dls) == 4
	}, wait, 20*time.Millisecond)
	reasons := map[string]string{}
	for _, d := range dls {
		require.EqualValues(t, 1, d.Deliveries, "dead-lettered at once, not after retries: %s", d.Reason)
		reasons[strings.TrimPrefix(d.OriginalSubject, "hr.v1."+tn+".employee.")] = d.Reason
	}
	require.Contains(t, reasons["huge.changed"], "employees_hr_version_check")
	require.Contains(t, reasons["other-conn.changed"], "unknown connection")
	require.Contains(t, reasons["no-id.changed"], "no event id")
	require.Contains(t, reasons["garbled.changed"], "undecodable")
	for _, id := range []string{"huge", "other-conn", "no-id", "garbled"} {
		_, err := s.Store.Employee(ctx, tn, id)
		require.ErrorIs(t, err, postgres.ErrNotFound, "%s: nothing half-written", id)
	}
	require.Eventually(t, func() bool {
		cons, err := s.NATS.JS.Consumer(ctx, bus.StreamHR, "sync-hr-field-changed")
		if err != nil {
			return false
		}
		info, err := cons.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, wait, 20*time.Millisecond, "nothing left to redeliver")
}

// Changes stored together: the inbox makes a duplicate (the same event
// twice in a batch, or again in a later one) have no second effect, and
// versions decide between changes of one employee in any order.
func TestApplyChangesDeduplicatesAndOrdersWithinABatch(t *testing.T) {
	t.Parallel()
	s := synctest.New(t, synctest.Options{NoConsumer: true, NoPropagator: true})
	ctx := context.Background()
	tn := tenant()
	change := func(id string, v uint64, given string) app.Change {
		c := app.Change{EventID: id, TenantID: tn, EmployeeID: "dup", ConnectionID: synctest.ConnectionID,
			Change: domain.Change{Op: domain.OpUpdated, Version: v, ChangedAt: time.Now(), Fields: []domain.Field{domain.FieldGivenName}}}
		c.Values.GivenName = given
		return c
	}
	changed, err := s.Store.ApplyChanges(ctx, []app.Change{change("e3", 3, "Three"), change("e3", 3, "Three"), change("e1", 1, "One")}, 0)
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, false}, changed, "the duplicate counts once; the older loses")
	e, err := s.Store.Employee(ctx, tn, "dup")
	require.NoError(t, err)
	require.Equal(t, "Three", e.HR.Desired("2026-01-01").Employee.Firstname)

	var seq int64
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT change_seq FROM employees WHERE tenant_id = $1 AND employee_id = 'dup'`, tn).Scan(&seq))
	changed, err = s.Store.ApplyChanges(ctx, []app.Change{change("e3", 3, "Three"), change("e4-replayed-as-e3", 3, "Other")}, 0)
	require.NoError(t, err)
	require.Equal(t, []bool{false, false}, changed, "a redelivery, and a new event repeating a version, change nothing")
	var after int64
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT change_seq FROM employees WHERE tenant_id = $1 AND employee_id = 'dup'`, tn).Scan(&after))
	require.Equal(t, seq, after)
}

// Two batches creating the same employee at once (replicas, or a batch
// redelivered beside a new one): the one that finds the row taken is run
// again and merges into it, so neither change is lost.
func TestConcurrentBatchesCreatingOneEmployeeBothLand(t *testing.T) {
	t.Parallel()
	s := synctest.New(t, synctest.Options{NoConsumer: true, NoPropagator: true})
	ctx := context.Background()
	tn := tenant()
	for i := range 20 {
		emp := fmt.Sprintf("race-%d", i)
		created := app.Change{EventID: emp + "-created", TenantID: tn, EmployeeID: emp, ConnectionID: synctest.ConnectionID,
			Change: domain.Change{Op: domain.OpCreated, Version: 1, ChangedAt: time.Now(),
				Fields: []domain.Field{domain.FieldEmail, domain.FieldGivenName, domain.FieldFamilyName}}}
		created.Values.Email, created.Values.GivenName, created.Values.FamilyName = emp+"@example.com", "First", "Race"
		phone := app.Change{EventID: emp + "-phone", TenantID: tn, EmployeeID: emp, ConnectionID: synctest.ConnectionID,
			Change: domain.Change{Op: domain.OpUpdated, Version: 2, ChangedAt: time.Now(), Fields: []domain.Field{domain.FieldPhone}}}
		phone.Values.Phone = "+4790000002"
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, c := range []app.Change{created, phone} {
			wg.Go(func() {
				<-start
				_, err := s.Store.ApplyChanges(ctx, []app.Change{c}, 0)
				require.NoError(t, err)
			})
		}
		close(start)
		wg.Wait()
		e, err := s.Store.Employee(ctx, tn, emp)
		require.NoError(t, err)
		d := e.HR.Desired("2026-01-01").Employee
		require.Equal(t, emp+"@example.com", d.Email, "the creation landed")
		require.Equal(t, "+4790000002", d.Telefon, "and the phone")
		require.EqualValues(t, 2, e.HR.Version)
	}
}

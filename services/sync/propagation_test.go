package syncsvc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/bus"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erpsim"
	"rollcall.dev/services/sync/internal/synctest"
)

const wait = 15 * time.Second

func tenant() string { return uuid.NewString() }

func ptr[T any](v T) *T { return &v }

// erpByEmail waits until the stand-in ERP holds an employee with email and
// cond holds for it.
func erpByEmail(t *testing.T, s *synctest.Stack, email string, cond func(e erp.Employee) bool) erp.Employee {
	t.Helper()
	var got erp.Employee
	require.Eventually(t, func() bool {
		e, ok := s.Sim.EmployeeByEmail(email)
		if ok && (cond == nil || cond(e)) {
			got = e
			return true
		}
		return false
	}, wait, 10*time.Millisecond, "ERP employee %s", email)
	return got
}

func employee(t *testing.T, s *synctest.Stack, tn, id string, cond func(e postgres.Employee) bool) postgres.Employee {
	t.Helper()
	var got postgres.Employee
	require.Eventually(t, func() bool {
		e, err := s.Store.Employee(context.Background(), tn, id)
		if err == nil && cond(e) {
			got = e
			return true
		}
		return false
	}, wait, 10*time.Millisecond, "employee %s/%s", tn, id)
	return got
}

// lastSyncEvent reads the newest event on subject from the SYNC stream.
func lastSyncEvent(t *testing.T, s *synctest.Stack, subject string, msg proto.Message, match ...func() bool) {
	t.Helper()
	ctx := context.Background()
	stream, err := s.NATS.JS.Stream(ctx, bus.StreamSync)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		raw, err := stream.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			return false
		}
		if proto.Unmarshal(raw.Data, msg) != nil {
			return false
		}
		for _, m := range match {
			if !m() {
				return false
			}
		}
		return true
	}, wait, 20*time.Millisecond, "event on %s", subject)
}

func TestPropagation(t *testing.T) {
	t.Parallel()

	t.Run("EveryFieldMapsAsTheSeedSays", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		tn, id, email := tenant(), "emp-"+synctest.Unique(), "kari."+synctest.Unique()+"@example.com"
		ev := synctest.Created(tn, id, 1, email, "Kari", "Nordmann")
		ev.Phone = &hrv1.PhoneChange{NewValue: ptr("+4791234567")}
		ev.EmploymentStartDate = &hrv1.DateChange{NewValue: synctest.Date(2024, 1, 15)}
		ev.EmploymentEndDate = &hrv1.DateChange{NewValue: synctest.Date(2026, 12, 31)}
		ev.Address = &hrv1.AddressChange{NewValue: &hrv1.Address{Postaddress: ptr("Storgata 1"), Zipcode: ptr("0155"), City: ptr("Oslo"), CountryCode: ptr("NO")}}
		ev.Identifications = &hrv1.IdentificationsChange{NewValue: &hrv1.Identifications{Items: []*hrv1.Identification{
			{Id: "01019012345", CountryCode: "NO", Type: "national_id"}, {Id: "P999", CountryCode: "NO", Type: "passport"},
		}}}
		s.Publish(t, ev)

		got := erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Enddate != "" })
		require.Equal(t, erp.Employee{
			ID: got.ID, Email: email, Firstname: "Kari", Lastname: "Nordmann", Telefon: "+4791234567",
			Startdate: "2024-01-15", Enddate: "2026-12-31", Postaddress: "Storgata 1", Zipcode: "0155", City: "Oslo",
			CountryCode: "NO", InternationalID: &erp.InternationalID{ID: "01019012345", CountryCode: "NO", Type: "national_id"},
		}, got)

		e := employee(t, s, tn, id, func(e postgres.Employee) bool { return e.Status == "synced" })
		require.Equal(t, got.ID, e.ERPEmployeeID)
		require.EqualValues(t, 1, e.SyncedVersion)
		for _, f := range erp.Fields {
			p, ok := e.Provenance[f]
			require.True(t, ok, "provenance of %s", f)
			require.Equal(t, domain.SystemHR, p.System, f)
			require.EqualValues(t, 1, p.HRVersion, f)
			require.False(t, p.At.IsZero())
		}

		var synced syncv1.EmployeeSynced
		lastSyncEvent(t, s, "sync.v1."+tn+".employee."+id+".synced", &synced)
		require.Equal(t, syncv1.EmployeeSyncAction_EMPLOYEE_SYNC_ACTION_CREATED, synced.GetAction())
		require.Equal(t, got.ID, synced.GetErpEmployeeId())
		require.Len(t, synced.GetFieldsWritten(), 8)
		require.EqualValues(t, 1, synced.GetHrVersion())
		require.Equal(t, synctest.ConnectionID, synced.GetConnectionId())
	})

	t.Run("OlderNeverOverwritesNewerAndDuplicatesDoNothing", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		tn, id, email := tenant(), "emp-"+synctest.Unique(), "o."+synctest.Unique()+"@example.com"
		// v3 arrives first, then the creation (v1), then the older v2.
		v3 := synctest.Updated(tn, id, 3)
		v3.Phone = &hrv1.PhoneChange{NewValue: ptr("+4790000003")}
		v3.GivenName = &hrv1.NameChange{NewValue: ptr("Three")}
		v3id := s.Publish(t, v3)
		s.Publish(t, synctest.Created(tn, id, 1, email, "One", "Family"))
		v2 := synctest.Updated(tn, id, 2)
		v2.Phone = &hrv1.PhoneChange{NewValue: ptr("+4790000002")}
		v2.FamilyName = &hrv1.NameChange{NewValue: ptr("Two")}
		s.Publish(t, v2)

		got := erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Lastname == "Two" })
		require.Equal(t, "Three", got.Firstname, "v1's given name never overwrites v3's")
		require.Equal(t, "+4790000003", got.Telefon, "v2's phone never overwrites v3's")
		e := employee(t, s, tn, id, func(e postgres.Employee) bool { return e.Status == "synced" })
		require.EqualValues(t, 3, e.HR.Version)

		// The same event again (a redelivery beyond the broker's window) and
		// a new event repeating v3: neither writes anything.
		before := s.Sim.Stats()
		s.PublishWithID(t, v3, v3id)
		s.Publish(t, v3)
		time.Sleep(300 * time.Millisecond)
		after := s.Sim.Stats()
		require.Equal(t, before.Creates+before.Updates+before.Endings, after.Creates+after.Updates+after.Endings)
	})

	t.Run("IdempotentWriteSendsOnlyTheDifference", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		tn, id, email := tenant(), "emp-"+synctest.Unique(), "i."+synctest.Unique()+"@example.com"
		s.Publish(t, synctest.Created(tn, id, 1, email, "Ida", "Idem"))
		erpByEmail(t, s, email, nil)
		employee(t, s, tn, id, func(e postgres.Employee) bool { return e.Status == "synced" })
		before := s.Sim.Stats()

		// A snapshot with the same values: read, compare, nothing written.
		snap := synctest.Created(tn, id, 2, email, "Ida", "Idem")
		snap.Operation = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_SNAPSHOT
		s.Publish(t, snap)
		employee(t, s, tn, id, func(e postgres.Employee) bool { return e.Status == "synced" && e.SyncedVersion == 2 })
		after := s.Sim.Stats()
		require.Equal(t, before.Updates, after.Updates)
		require.Equal(t, before.Creates, after.Creates)
		var synced syncv1.EmployeeSynced
		lastSyncEvent(t, s, "sync.v1."+tn+".employee."+id+".synced", &synced, func() bool { return synced.GetHrVersion() == 2 })
		require.Equal(t, syncv1.EmployeeSyncAction_EMPLOYEE_SYNC_ACTION_UNCHANGED, synced.GetAction())

		// Someone edits the ERP by hand; the next HR change writes only its
		// own field.
		u := synctest.Updated(tn, id, 3)
		u.Address = &hrv1.AddressChange{NewValue: &hrv1.Address{City: ptr("Bergen"), CountryCode: ptr("NO")}}
		s.Publish(t, u)
		got := erpByEmail(t, s, email, func(e erp.Employee) bool { return e.City == "Bergen" })
		require.Equal(t, "NO", got.CountryCode)
		require.Empty(t, got.Postaddress)
		require.Equal(t, after.Updates+1, s.Sim.Stats().Updates)
	})

	t.Run("ClearedInHRIsClearedInTheERPAndNothingFlowsBack", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		ctx := context.Background()
		tn, id, email := tenant(), "emp-"+synctest.Unique(), "c."+synctest.Unique()+"@example.com"
		c := synctest.Created(tn, id, 1, email, "Clara", "Clear")
		c.Phone = &hrv1.PhoneChange{NewValue: ptr("+4791111111")}
		c.EmploymentEndDate = &hrv1.DateChange{NewValue: synctest.Date(2027, 1, 31)}
		s.Publish(t, c)
		got := erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Enddate != "" })
		require.Equal(t, "+4791111111", got.Telefon)

		// Someone types a start date into the ERP (a field HR never stated).
		conn, err := s.Resolver.Connection(ctx, tn)
		require.NoError(t, err)
		typed := got
		typed.Startdate = "2020-02-01"
		_, err = conn.Connector.Update(ctx, got.ID, typed, []erp.Field{erp.FieldStartdate})
		require.NoError(t, err)

		u := synctest.Updated(tn, id, 2)
		u.Phone = &hrv1.PhoneChange{OldValue: ptr("+4791111111")}
		u.EmploymentEndDate = &hrv1.DateChange{OldValue: synctest.Date(2027, 1, 31)}
		s.Publish(t, u)
		got = erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Telefon == "" && e.Enddate == "" })
		require.Equal(t, "2020-02-01", got.Startdate, "a field HR never stated is left as the ERP has it")
		e := employee(t, s, tn, id, func(e postgres.Employee) bool { return e.Status == "synced" && e.SyncedVersion == 2 })
		require.Empty(t, e.HR.Values.StartDate, "one way only: the ERP's value never flows into HR's state")
		require.Equal(t, domain.SystemHR, e.Provenance[erp.FieldTelefon].System)
		require.EqualValues(t, 2, e.Provenance[erp.FieldTelefon].HRVersion)
		require.NotContains(t, e.Provenance, erp.FieldStartdate)
	})

	t.Run("ABurstCoalescesIntoOneWrite", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{Coalesce: 400 * time.Millisecond})
		tn, id, email := tenant(), "emp-"+synctest.Unique(), "b."+synctest.Unique()+"@example.com"
		s.Publish(t, synctest.Created(tn, id, 1, email, "Burst", "Zero"))
		for v := uint64(2); v <= 11; v++ {
			u := synctest.Updated(tn, id, v)
			u.FamilyName = &hrv1.NameChange{NewValue: ptr("Name" + strings.Repeat("x", int(v)))}
			s.Publish(t, u)
		}
		got := erpByEmail(t, s, email, nil)
		require.Equal(t, "Name"+strings.Repeat("x", 11), got.Lastname)
		employee(t, s, tn, id, func(e postgres.Employee) bool { return e.Status == "synced" && e.SyncedVersion == 11 })
		st := s.Sim.Stats()
		require.Equal(t, 1, st.Creates)
		require.Equal(t, 0, st.Updates, "eleven changes, one ERP write")
	})

	t.Run("IdentificationUnsetInHRIsLeftInTheERP", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		tn, id, email := tenant(), "emp-"+synctest.Unique(), "id."+synctest.Unique()+"@example.com"
		c := synctest.Created(tn, id, 1, email, "Ivar", "Id")
		c.Identifications = &hrv1.IdentificationsChange{NewValue: &hrv1.Identifications{Items: []*hrv1.Identification{{Id: "X1", CountryCode: "SE", Type: "passport"}}}}
		s.Publish(t, c)
		erpByEmail(t, s, email, func(e erp.Employee) bool { return e.InternationalID != nil })

		u := synctest.Updated(tn, id, 2)
		u.Identifications = &hrv1.IdentificationsChange{OldValue: c.Identifications.NewValue}
		u.Phone = &hrv1.PhoneChange{NewValue: ptr("+4798765432")}
		s.Publish(t, u)
		got := erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Telefon == "+4798765432" })
		require.Equal(t, &erp.InternationalID{ID: "X1", CountryCode: "SE", Type: "passport"}, got.InternationalID)
		e := employee(t, s, tn, id, func(e postgres.Employee) bool { return e.Status == "synced" && e.SyncedVersion == 2 })
		require.NotNil(t, e.IdentificationLeftAt, "the sync records that it left the value")
		p := e.Provenance[erp.FieldInternationalID]
		require.Equal(t, domain.SystemERP, p.System)
		require.Equal(t, domain.NoteIdentificationLeft, p.Note)
		require.Empty(t, e.HR.Values.Identifications)
	})

	t.Run("RemovalInHREndsTheEmploymentWithAReason", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		tn, id, email := tenant(), "emp-"+synctest.Unique(), "r."+synctest.Unique()+"@example.com"
		s.Publish(t, synctest.Created(tn, id, 1, email, "Rita", "Removed"))
		erpByEmail(t, s, email, nil)
		del := synctest.Updated(tn, id, 2)
		del.Operation = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_DELETED
		s.Publish(t, del)
		got := erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Enddate != "" })
		require.Equal(t, time.Now().UTC().Format(time.DateOnly), got.Enddate)
		var synced syncv1.EmployeeSynced
		lastSyncEvent(t, s, "sync.v1."+tn+".employee."+id+".synced", &synced, func() bool { return synced.GetHrVersion() == 2 })
		require.Equal(t, syncv1.EmployeeSyncAction_EMPLOYEE_SYNC_ACTION_REMOVED, synced.GetAction())
	})

	t.Run("ERPDownChangesWaitThenConverge", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		s.Sim.SetFaults(erpsim.Faults{Unavailable: -1})
		tn := tenant()
		var emails []string
		for i := range 5 {
			email := "down" + synctest.Unique() + "@example.com"
			emails = append(emails, email)
			s.Publish(t, synctest.Created(tn, "down-"+string(rune('a'+i)), 1, email, "Down", "Time"))
		}
		for i := range 5 {
			employee(t, s, tn, "down-"+string(rune('a'+i)), func(e postgres.Employee) bool { return e.Status == "retrying" && e.Attempts >= 2 })
		}
		require.Empty(t, s.Sim.Employees())
		var failed syncv1.SyncFailed
		lastSyncEvent(t, s, "sync.v1."+tn+".employee.down-a.failed", &failed)
		require.True(t, failed.GetRetriable())
		require.Equal(t, syncv1.SyncFailureReason_SYNC_FAILURE_REASON_ERP_UNAVAILABLE, failed.GetReason())
		require.NotNil(t, failed.GetNextAttemptAt())

		s.Sim.SetFaults(erpsim.Faults{})
		for _, email := range emails {
			erpByEmail(t, s, email, nil)
		}
		require.Len(t, s.Sim.Employees(), 5)
	})

	t.Run("RateLimitHonoursRetryAfter", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		s.Sim.SetFaults(erpsim.Faults{RateLimit: 1, RetryAfter: 2 * time.Second})
		tn, id, email := tenant(), "emp-"+synctest.Unique(), "rl."+synctest.Unique()+"@example.com"
		start := time.Now()
		s.Publish(t, synctest.Created(tn, id, 1, email, "Rate", "Limit"))
		erpByEmail(t, s, email, nil)
		require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "not before Retry-After")
		var failed syncv1.SyncFailed
		lastSyncEvent(t, s, "sync.v1."+tn+".employee."+id+".failed", &failed)
		require.Equal(t, syncv1.SyncFailureReason_SYNC_FAILURE_REASON_ERP_RATE_LIMITED, failed.GetReason())
		require.EqualValues(t, 429, failed.GetErpError().GetHttpStatus())
	})

	t.Run("TimeoutsAndServerErrorsAreRetried", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{ERPTimeout: 200 * time.Millisecond})
		s.Sim.SetFaults(erpsim.Faults{Timeout: 2, Unavailable: 1})
		tn, email := tenant(), "t."+synctest.Unique()+"@example.com"
		s.Publish(t, synctest.Created(tn, "emp-t", 1, email, "Time", "Out"))
		erpByEmail(t, s, email, nil)
		require.GreaterOrEqual(t, s.Sim.Stats().Faulted, 3)
	})

	t.Run("DuplicateEmailIsDeadLetteredWhileOthersFlow", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		tn, email := tenant(), "dup."+synctest.Unique()+"@example.com"
		s.Publish(t, synctest.Created(tn, "emp-a", 1, email, "Anna", "First"))
		erpByEmail(t, s, email, nil)
		employee(t, s, tn, "emp-a", func(e postgres.Employee) bool { return e.Status == "synced" })

		s.Publish(t, synctest.Created(tn, "emp-b", 1, strings.ToUpper(email[:1])+email[1:], "Bob", "Second"))
		other := "c." + synctest.Unique() + "@example.com"
		s.Publish(t, synctest.Created(tn, "emp-c", 1, other, "Cleo", "Third"))
		erpByEmail(t, s, other, nil)

		b := employee(t, s, tn, "emp-b", func(e postgres.Employee) bool { return e.Status == "failed" })
		require.Equal(t, "duplicate_email", b.LastError["reason"])
		dl, err := s.Store.DeadLetters(context.Background(), tn, 10)
		require.NoError(t, err)
		require.Len(t, dl, 1)
		require.Equal(t, "emp-b", dl[0].EmployeeID)
		require.Equal(t, 409, *dl[0].ERPStatus)
		require.Contains(t, dl[0].ERPReason, "already used", "the ERP's own reason")

		var failed syncv1.SyncFailed
		lastSyncEvent(t, s, "sync.v1."+tn+".employee.emp-b.failed", &failed)
		require.False(t, failed.GetRetriable())
		require.Equal(t, syncv1.SyncFailureReason_SYNC_FAILURE_REASON_DUPLICATE_EMAIL, failed.GetReason())
		require.Contains(t, failed.GetErpError().GetMessage(), "already used")
		a, _ := s.Sim.EmployeeByEmail(email)
		require.Equal(t, "Anna", a.Firstname, "the other employee is untouched")

		// HR fixes the email: the dead-lettered employee flows again.
		fixed := "b." + synctest.Unique() + "@example.com"
		u := synctest.Updated(tn, "emp-b", 2)
		u.Email = &hrv1.EmailChange{NewValue: &fixed}
		s.Publish(t, u)
		got := erpByEmail(t, s, fixed, nil)
		require.Equal(t, "Bob", got.Firstname)
	})

	t.Run("ALostCreateAnswerAdoptsTheERPEmployeeInsteadOfFailing", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		tn, email := tenant(), "adopt."+synctest.Unique()+"@example.com"
		pre, err := s.Sim.Put(erp.Employee{Email: email, Firstname: "Old", Lastname: "Name"})
		require.NoError(t, err)
		s.Publish(t, synctest.Created(tn, "emp-adopt", 1, email, "New", "Name"))
		got := erpByEmail(t, s, email, func(e erp.Employee) bool { return e.Firstname == "New" })
		require.Equal(t, pre.ID, got.ID)
		require.Len(t, s.Sim.Employees(), 1)
	})

	t.Run("TenantsAreKeptApart", func(t *testing.T) {
		t.Parallel()
		s := synctest.New(t, synctest.Options{})
		t1, t2 := tenant(), tenant()
		e1, e2 := "t1."+synctest.Unique()+"@example.com", "t2."+synctest.Unique()+"@example.com"
		s.Publish(t, synctest.Created(t1, "same-id", 1, e1, "One", "Tenant"))
		s.Publish(t, synctest.Created(t2, "same-id", 1, e2, "Two", "Tenant"))
		a, b := erpByEmail(t, s, e1, nil), erpByEmail(t, s, e2, nil)
		require.NotEqual(t, a.ID, b.ID)
		_, err := s.Store.Employee(context.Background(), tenant(), "same-id")
		require.ErrorIs(t, err, postgres.ErrNotFound)
	})
}

func TestBadEventsAreDeadLetteredWithTheirReason(t *testing.T) {
	t.Parallel()
	known := tenant()
	s := synctest.New(t, synctest.Options{Tenants: []string{known}})
	unknown := tenant()
	ctx := context.Background()

	// Undecodable.
	s.PublishRaw(t, "hr.v1."+known+".employee.x1.changed", []byte{0xff, 0xff, 0xff}, &hrv1.FieldChanged{})
	// Unknown tenant.
	s.Publish(t, synctest.Created(unknown, "x2", 1, "u@example.com", "U", "N"))
	// A creation missing the email.
	missing := synctest.Created(known, "x3", 1, "m@example.com", "M", "E")
	missing.Email = nil
	s.Publish(t, missing)
	// A subject that does not match the payload's tenant.
	s.PublishRaw(t, "hr.v1."+known+".employee.x4.changed", nil, synctest.Created(unknown, "x4", 1, "s@example.com", "S", "S"))
	// And a good one after them all still flows.
	good := "good." + synctest.Unique() + "@example.com"
	s.Publish(t, synctest.Created(known, "x5", 1, good, "Good", "One"))
	erpByEmail(t, s, good, nil)

	var dls []bus.DeadLetter
	require.Eventually(t, func() bool {
		var err error
		dls, err = bus.ListDeadLetters(ctx, s.NATS.JS, 1, 10)
		return err == nil && len(dls) == 4
	}, wait, 20*time.Millisecond)
	reasons := map[string]string{}
	for _, d := range dls {
		reasons[d.OriginalSubject] = d.Reason
	}
	require.Contains(t, reasons["hr.v1."+known+".employee.x1.changed"], "undecodable")
	require.Contains(t, reasons["hr.v1."+unknown+".employee.x2.changed"], "no ERP connection")
	require.Contains(t, reasons["hr.v1."+known+".employee.x3.changed"], "email")
	require.Contains(t, reasons["hr.v1."+known+".employee.x4.changed"], "does not match")
	_, err := s.Store.Employee(ctx, unknown, "x2")
	require.ErrorIs(t, err, postgres.ErrNotFound, "nothing half-written")
}

// A replica that dies after its ERP write but before recording it: the lease
// runs out, another propagator takes the employee over, and the ERP ends up
// with one employee, not two.
func TestCrashAfterTheERPWriteHasNoSecondEffect(t *testing.T) {
	t.Parallel()
	s := synctest.New(t, synctest.Options{NoPropagator: true})
	ctx := context.Background()
	tn, email := tenant(), "crash."+synctest.Unique()+"@example.com"
	s.Publish(t, synctest.Created(tn, "emp-crash", 1, email, "Cara", "Crash"))
	employee(t, s, tn, "emp-crash", func(e postgres.Employee) bool { return e.Status == "pending" })

	var jobs []app.Job
	require.Eventually(t, func() bool {
		var err error
		jobs, err = s.Store.Claim(ctx, 10, 300*time.Millisecond)
		return err == nil && len(jobs) == 1
	}, wait, 20*time.Millisecond)
	conn, err := s.Resolver.Connection(ctx, tn)
	require.NoError(t, err)
	d := jobs[0].HR.Desired(time.Now().Format(time.DateOnly))
	_, err = conn.Connector.Create(ctx, d.Employee) // the write lands; the replica dies before recording it

	require.NoError(t, err)
	again, err := s.Store.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again, "leased: no other propagator takes it yet")

	time.Sleep(400 * time.Millisecond)
	n, err := s.Prop.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	e := employee(t, s, tn, "emp-crash", func(e postgres.Employee) bool { return e.Status == "synced" })
	require.Len(t, s.Sim.Employees(), 1)
	got, _ := s.Sim.EmployeeByEmail(email)
	require.Equal(t, got.ID, e.ERPEmployeeID)
	require.Equal(t, 1, s.Sim.Stats().Creates)
}

// Outcomes are recorded in groups; one that cannot be recorded (here: it
// links an ERP employee another HR employee already has) must not take the
// others down with it. It stays leased and is redone after its lease.
func TestOneBadOutcomeDoesNotHoldBackTheOthers(t *testing.T) {
	t.Parallel()
	s := synctest.New(t, synctest.Options{NoPropagator: true})
	ctx := context.Background()
	tn := tenant()
	s.Publish(t, synctest.Created(tn, "emp-a", 1, "a."+synctest.Unique()+"@example.com", "Ann", "A"))
	employee(t, s, tn, "emp-a", func(e postgres.Employee) bool { return e.Status == "pending" })
	_, err := s.Prop.RunOnce(ctx)
	require.NoError(t, err)
	a := employee(t, s, tn, "emp-a", func(e postgres.Employee) bool { return e.Status == "synced" })

	s.Publish(t, synctest.Created(tn, "emp-b", 1, "b."+synctest.Unique()+"@example.com", "Ben", "B"))
	s.Publish(t, synctest.Created(tn, "emp-c", 1, "c."+synctest.Unique()+"@example.com", "Cat", "C"))
	var jobs []app.Job
	require.Eventually(t, func() bool {
		more, err := s.Store.Claim(ctx, 2, time.Minute)
		jobs = append(jobs, more...)
		return err == nil && len(jobs) == 2
	}, wait, 20*time.Millisecond)
	var bad, good app.Job
	for _, j := range jobs {
		if j.EmployeeID == "emp-b" {
			bad = j
		} else {
			good = j
		}
	}
	now := time.Now()
	_, err = s.Store.Settle(ctx, []app.Outcome{
		{Kind: app.OutcomeSynced, Job: bad, Result: app.Result{ERPEmployeeID: a.ERPEmployeeID, Action: app.ActionUpdated, At: now}},
		{Kind: app.OutcomeRetry, Job: good, Failure: app.Failure{Reason: app.ReasonUnavailable, Retriable: true, Attempt: 1, At: now, NextAt: now.Add(time.Hour), Text: "unavailable"}},
	}, 0, time.Minute, 0)
	require.ErrorContains(t, err, "emp-b")
	c := employee(t, s, tn, "emp-c", func(postgres.Employee) bool { return true })
	require.Equal(t, "retrying", c.Status, "the good outcome is recorded")
	var failed syncv1.SyncFailed
	lastSyncEvent(t, s, "sync.v1."+tn+".employee.emp-c.failed", &failed)
	b := employee(t, s, tn, "emp-b", func(postgres.Employee) bool { return true })
	require.Equal(t, "pending", b.Status)
	require.Empty(t, b.ERPEmployeeID, "the bad one is not")
	again, err := s.Store.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again, "and stays leased")
}

package syncsvc_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/internal/synctest"
)

// counter reads a process-wide counter by name and labels (0 when absent).
func counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// Not parallel: it reads process-wide counters, and Go runs the parallel
// tests of the package only after it.
//
// The ERP refuses an end date before the start date (422): the change is
// dead-lettered with the ERP's reason, reported and counted; the ERP
// employee the attempt had already created stays linked, so when HR fixes
// the dates (and changes the email on the way) that one employee is
// updated and no second one is created.
func TestAValidationRefusalIsDeadLetteredReportedAndCounted(t *testing.T) {
	s := synctest.New(t, synctest.Options{})
	ctx := context.Background()
	tn, id, email := tenant(), "emp-"+synctest.Unique(), "v."+synctest.Unique()+"@example.com"
	dead := map[string]string{"reason": "erp_rejected"}
	failed := map[string]string{"reason": "erp_rejected", "retriable": "false"}
	deadBefore, failedBefore := counter(t, "rollcall_sync_deadlettered_total", dead), counter(t, "rollcall_sync_failures_total", failed)

	c := synctest.Created(tn, id, 1, email, "Vera", "Valid")
	c.EmploymentStartDate = &hrv1.DateChange{NewValue: synctest.Date(2026, 6, 1)}
	c.EmploymentEndDate = &hrv1.DateChange{NewValue: synctest.Date(2026, 1, 31)}
	s.Publish(t, c)
	e := employee(t, s, tn, id, func(e postgres.Employee) bool { return e.Status == "failed" })
	created, ok := s.Sim.EmployeeByEmail(email)
	require.True(t, ok, "the create went through before the end date was refused")
	require.Equal(t, created.ID, e.ERPEmployeeID, "and its link is kept")

	dl, err := s.Store.DeadLetters(ctx, tn, 10)
	require.NoError(t, err)
	require.Len(t, dl, 1)
	require.Equal(t, 422, *dl[0].ERPStatus)
	require.Contains(t, dl[0].ERPReason, "before startdate", "the ERP's own reason")
	var ev syncv1.SyncFailed
	lastSyncEvent(t, s, "sync.v1."+tn+".employee."+id+".failed", &ev)
	require.False(t, ev.GetRetriable())
	require.Equal(t, syncv1.SyncFailureReason_SYNC_FAILURE_REASON_ERP_REJECTED, ev.GetReason())
	require.EqualValues(t, 422, ev.GetErpError().GetHttpStatus())
	require.Equal(t, deadBefore+1, counter(t, "rollcall_sync_deadlettered_total", dead))
	require.Equal(t, failedBefore+1, counter(t, "rollcall_sync_failures_total", failed))

	fixed := "v2." + synctest.Unique() + "@example.com"
	u := synctest.Updated(tn, id, 2)
	u.Email = &hrv1.EmailChange{NewValue: &fixed}
	u.EmploymentEndDate = &hrv1.DateChange{NewValue: synctest.Date(2026, 12, 31)}
	s.Publish(t, u)
	got := erpByEmail(t, s, fixed, func(e erp.Employee) bool { return e.Enddate == "2026-12-31" })
	require.Equal(t, created.ID, got.ID)
	require.Len(t, s.Sim.Employees(), 1, "one ERP employee, not two")
	require.Equal(t, 1, s.Sim.Stats().Creates)
}

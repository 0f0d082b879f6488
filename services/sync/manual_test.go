package syncsvc_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/internal/synctest"
)

// "How to sync users" (seed 004): ERP changes reach HR only when the admin
// synchronises, with the same preview, decisions and report.
func TestSynchronizeUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100})
	tn := r.NewTenant(t)
	conn := r.Connect(t, tn)
	u := synctest.Unique()
	stored, err := r.HR.Put(tn.ID, hrUser("kari."+u+"@example.com", "Kari", "Nordmann"), hrUser("ola."+u+"@example.com", "Ola", "Hansen"))
	require.NoError(t, err)
	kari, ola := stored[0], stored[1]
	activate(t, r, tn, conn.GetConnectionId())
	acct := r.Sim.Account(tn.Account)
	kariE, _ := acct.EmployeeByEmail(kari.Email)
	olaE, _ := acct.EmployeeByEmail(ola.Email)

	// In the ERP: Kari's email and Ola's phone change; nothing reaches HR.
	_, err = acct.Edit(kariE.ID, func(e *erp.Employee) { e.Email = "kari.new." + u + "@example.com" })
	require.NoError(t, err)
	_, err = acct.Edit(olaE.ID, func(e *erp.Employee) { e.Telefon = "+4793333333" })
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond)
	got, _ := r.HR.User(tn.ID, kari.ID)
	require.Equal(t, kari.Email, got.Email, "ERP changes are not automatic")

	res, err := r.API.PreviewSynchronizeUsers(ctx, synctest.Req(tn.Token, &syncv1.PreviewSynchronizeUsersRequest{TenantId: tn.ID, ConnectionId: conn.GetConnectionId()}))
	require.NoError(t, err)
	p := res.Msg
	require.EqualValues(t, 2, p.GetTotals().GetMatched(), "the earlier sync's link pairs Kari despite the new email")
	require.Zero(t, p.GetTotals().GetMissingInHr())
	require.Len(t, p.GetConflicts(), 1)
	require.Equal(t, hrv1.EmployeeField_EMPLOYEE_FIELD_EMAIL, p.GetConflicts()[0].GetField())
	require.Equal(t, "kari.new."+u+"@example.com", p.GetConflicts()[0].GetErpValue())
	require.Len(t, p.GetMissingValues(), 1)
	require.Equal(t, syncv1.SyncSide_SYNC_SIDE_HR, p.GetMissingValues()[0].GetMissingOn())

	_, err = r.API.SynchronizeUsers(ctx, synctest.Req(tn.Token, &syncv1.SynchronizeUsersRequest{TenantId: tn.ID, ConnectionId: conn.GetConnectionId(),
		PreviewId: p.GetPreviewId(), DefaultWinner: syncv1.SyncSide_SYNC_SIDE_ERP,
		Resolutions: []*syncv1.Resolution{{EmployeeId: "nobody", Field: hrv1.EmployeeField_EMPLOYEE_FIELD_EMAIL, Winner: syncv1.SyncSide_SYNC_SIDE_HR}}}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	sync, err := r.API.SynchronizeUsers(ctx, synctest.Req(tn.Token, &syncv1.SynchronizeUsersRequest{TenantId: tn.ID, ConnectionId: conn.GetConnectionId(),
		PreviewId: p.GetPreviewId(), DefaultWinner: syncv1.SyncSide_SYNC_SIDE_ERP, ReportRecipients: []string{"hr-team@example.com"}}))
	require.NoError(t, err)
	run := sync.Msg.GetRun()
	require.Equal(t, syncv1.SyncRunKind_SYNC_RUN_KIND_MANUAL, run.GetKind())
	final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun()
	require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, final.GetStatus())
	require.True(t, proto.Equal(&syncv1.SyncCounts{UpdatedInHr: 2, Conflicts: 1}, final.GetCounts()), "%v", final.GetCounts())

	got, _ = r.HR.User(tn.ID, kari.ID)
	require.Equal(t, "kari.new."+u+"@example.com", got.Email)
	gotOla, _ := r.HR.User(tn.ID, ola.ID)
	require.Equal(t, "+4793333333", gotOla.Phone)
	e, err := r.Store.Employee(ctx, tn.ID, kari.ID)
	require.NoError(t, err)
	require.Equal(t, "kari.new."+u+"@example.com", e.HR.Values.Email, "the link keeps HR's record as the run left it")
	require.Equal(t, got.Version, e.HR.Version)

	m := mailFor(t, r, run.GetRunId())
	require.Equal(t, []string{"hr-team@example.com"}, m.To)
	require.Equal(t, "Rollcall: synchronize users with 24SevenOffice succeeded", m.Subject)
	var done syncv1.SyncRunCompleted
	lastSyncEvent(t, r.Stack, postgres.RunSubject(tn.ID, run.GetRunId(), "completed"), &done)
	require.Equal(t, syncv1.SyncRunKind_SYNC_RUN_KIND_MANUAL, done.GetKind())
	require.Equal(t, []string{"hr-team@example.com"}, done.GetReportSentTo())

	// A later HR change of Kari at a version above the run's carries on in
	// real time to the same ERP employee.
	ev := synctest.Updated(tn.ID, kari.ID, got.Version+1)
	ev.FamilyName = &hrv1.NameChange{NewValue: ptr("Nordmann-Li")}
	r.Publish(t, ev)
	require.Eventually(t, func() bool {
		e, _ := acct.Employee(kariE.ID)
		return e.Lastname == "Nordmann-Li"
	}, wait, 10*time.Millisecond)
}

// A tenant connected per company: each company's HR employees go to its own
// ERP account, employees created in HR carry the company, and a real-time
// change must name its connection.
func TestAConnectionPerCompany(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100})
	tn := r.NewTenant(t)
	const c1, c2 = "3f1c5a2e-0000-4000-8000-00000000c001", "3f1c5a2e-0000-4000-8000-00000000c002"
	r.Identity.AddCompany(tn.ID, c1, "Fjord AS")
	r.Identity.AddCompany(tn.ID, c2, "Fjell AS")
	key2 := r.Sim.NewAPIKey(tn.Account + "-c2")
	connect := func(company, key string) *syncv1.Connection {
		res, err := r.API.CreateConnection(ctx, synctest.Req(tn.Token, &syncv1.CreateConnectionRequest{TenantId: tn.ID,
			ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: key, AuthorityConfirmed: true, CompanyId: ptr(company)}))
		require.NoError(t, err)
		return res.Msg.GetConnection()
	}
	conn1, conn2 := connect(c1, tn.APIKey), connect(c2, key2)
	u := synctest.Unique()
	a, b := hrUser("a."+u+"@example.com", "A", "One"), hrUser("b."+u+"@example.com", "B", "Two")
	a.CompanyID, b.CompanyID = c1, c2
	stored, err := r.HR.Put(tn.ID, a, b)
	require.NoError(t, err)
	_, err = r.Sim.Account(tn.Account + "-c2").Put(erp.Employee{Email: "c." + u + "@example.com", Firstname: "C", Lastname: "Three"})
	require.NoError(t, err)

	p1 := previewFirst(t, r, tn, conn1.GetConnectionId())
	require.EqualValues(t, 1, p1.GetTotals().GetHrEmployees(), "company 1's HR employees only")
	require.Equal(t, stored[0].ID, p1.GetMissingInErp()[0].GetEmployeeId())
	p2 := previewFirst(t, r, tn, conn2.GetConnectionId())
	require.EqualValues(t, 1, p2.GetTotals().GetHrEmployees())
	require.EqualValues(t, 1, p2.GetTotals().GetErpEmployees(), "company 2's ERP account")
	for _, x := range []struct {
		conn *syncv1.Connection
		p    *syncv1.PreviewFirstSyncResponse
	}{{conn1, p1}, {conn2, p2}} {
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: x.conn.GetConnectionId(), PreviewId: x.p.GetPreviewId(),
			AddMissingToErp: true, AddMissingToHr: true})
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun().GetStatus())
	}
	_, ok := r.Sim.Account(tn.Account).EmployeeByEmail(a.Email)
	require.True(t, ok, "A went to company 1's ERP")
	_, ok = r.Sim.Account(tn.Account + "-c2").EmployeeByEmail(b.Email)
	require.True(t, ok, "B went to company 2's ERP")
	c, ok := r.HR.UserByEmail(tn.ID, "c."+u+"@example.com")
	require.True(t, ok)
	require.Equal(t, c2, c.CompanyID, "created in HR in the connection's company")

	// Real time: a change naming company 2's connection reaches its ERP; one
	// naming none cannot be placed and is dead-lettered.
	ev := synctest.Updated(tn.ID, stored[1].ID, 50)
	ev.ConnectionId = ptr(conn2.GetConnectionId())
	ev.Phone = &hrv1.PhoneChange{NewValue: ptr("+4794444444")}
	r.Publish(t, ev)
	require.Eventually(t, func() bool {
		e, _ := r.Sim.Account(tn.Account + "-c2").EmployeeByEmail(b.Email)
		return e.Telefon == "+4794444444"
	}, wait, 10*time.Millisecond)
	anon := synctest.Updated(tn.ID, "emp-nowhere", 1)
	anon.Phone = &hrv1.PhoneChange{NewValue: ptr("+4795555555")}
	r.Publish(t, anon)
	dl := requireDeadLettered(t, r.Stack, "emp-nowhere")
	require.Contains(t, dl.Reason, "one connection per company")
}

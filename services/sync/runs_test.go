package syncsvc_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/notify/mailsink"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/adapters/report"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erpsim"
	"rollcall.dev/services/sync/hr"
	"rollcall.dev/services/sync/internal/synctest"
)

// pairs seeds n employees found on both sides, equal but for the family
// name of the first conflicts of them.
func pairs(t testing.TB, r *synctest.Runs, tn synctest.Tenant, n, conflicts int) ([]hr.User, []erp.Employee) {
	t.Helper()
	u := synctest.Unique()
	var users []hr.User
	for i := range n {
		users = append(users, hrUser(fmt.Sprintf("p%d.%s@example.com", i, u), "Pat", fmt.Sprintf("Person%d", i)))
	}
	stored, err := r.HR.Put(tn.ID, users...)
	require.NoError(t, err)
	var emps []erp.Employee
	for i, h := range stored {
		last := h.FamilyName
		if i < conflicts {
			last += "-ERP"
		}
		e, err := r.Sim.Account(tn.Account).Put(erp.Employee{Email: h.Email, Firstname: h.GivenName, Lastname: last})
		require.NoError(t, err)
		emps = append(emps, e)
	}
	return stored, emps
}

func previewFirst(t testing.TB, r *synctest.Runs, tn synctest.Tenant, connID string) *syncv1.PreviewFirstSyncResponse {
	t.Helper()
	p, err := r.API.PreviewFirstSync(context.Background(), synctest.Req(tn.Token, &syncv1.PreviewFirstSyncRequest{TenantId: tn.ID, ConnectionId: connID}))
	require.NoError(t, err)
	return p.Msg
}

func applyFirst(t testing.TB, r *synctest.Runs, tn synctest.Tenant, req *syncv1.ApplyFirstSyncRequest) *syncv1.SyncRun {
	t.Helper()
	req.TenantId = tn.ID
	if req.DefaultWinner == 0 {
		req.DefaultWinner = syncv1.SyncSide_SYNC_SIDE_HR
	}
	res, err := r.API.ApplyFirstSync(context.Background(), synctest.Req(tn.Token, req))
	require.NoError(t, err)
	return res.Msg.GetRun()
}

func mailFor(t *testing.T, r *synctest.Runs, runID string) mailsink.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := r.Mail.Wait(ctx, func(m mailsink.Message) bool { return m.Headers["X-Rollcall-Sync-Run-Id"] == runID })
	require.NoError(t, err)
	return m
}

func mailsOf(r *synctest.Runs, runID string) int {
	n := 0
	for _, m := range r.Mail.Messages() {
		if m.Headers["X-Rollcall-Sync-Run-Id"] == runID {
			n++
		}
	}
	return n
}

func TestTheThreshold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := synctest.NewRuns(t, synctest.RunOptions{})

	t.Run("OverTheThresholdNothingIsWrittenUntilTheAdminConfirms", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		users, emps := pairs(t, r, tn, 5, 2) // 2 of 5 would be overwritten: 40%
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION, run.GetStatus())
		require.True(t, proto.Equal(&syncv1.RunThreshold{AffectedEmployees: 2, TotalEmployees: 5, ThresholdPercent: 20}, run.GetThreshold()))
		time.Sleep(300 * time.Millisecond) // the executor polls every 50ms: give it the chance to do wrong
		for i, e := range emps {
			got, _ := r.Sim.Account(tn.Account).Employee(e.ID)
			require.Equal(t, e.Lastname, got.Lastname, "employee %d untouched", i)
		}
		require.Zero(t, mailsOf(r, run.GetRunId()))
		got := r.WaitRun(t, tn, run.GetRunId(), func(*syncv1.SyncRun) bool { return true }).GetRun()
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION, got.GetStatus())

		res, err := r.API.ConfirmSyncRun(ctx, synctest.Req(tn.Token, &syncv1.ConfirmSyncRunRequest{TenantId: tn.ID, RunId: run.GetRunId()}))
		require.NoError(t, err)
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_RUNNING, res.Msg.GetRun().GetStatus())
		require.Equal(t, r.Identity.UserOf(tn.Token), res.Msg.GetRun().GetThreshold().GetConfirmedByUserId())
		done := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun()
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, done.GetStatus())
		require.EqualValues(t, 2, done.GetCounts().GetUpdatedInErp())
		first, _ := r.Sim.Account(tn.Account).Employee(emps[0].ID)
		require.Equal(t, users[0].FamilyName, first.Lastname)
		m := mailFor(t, r, run.GetRunId())
		require.Contains(t, m.Text, "This run overwrote or cleared values of 2 of 5 employees, more than the 20% threshold; it was confirmed by user "+r.Identity.UserOf(tn.Token))

		_, err = r.API.ConfirmSyncRun(ctx, synctest.Req(tn.Token, &syncv1.ConfirmSyncRunRequest{TenantId: tn.ID, RunId: run.GetRunId()}))
		require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err), "a finished run is not confirmed again")
	})
	t.Run("ACancelledRunWritesNothingAndReportsNothing", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		_, emps := pairs(t, r, tn, 3, 3)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION, run.GetStatus())
		res, err := r.API.CancelSyncRun(ctx, synctest.Req(tn.Token, &syncv1.CancelSyncRunRequest{TenantId: tn.ID, RunId: run.GetRunId()}))
		require.NoError(t, err)
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_CANCELLED, res.Msg.GetRun().GetStatus())
		time.Sleep(300 * time.Millisecond)
		for _, e := range emps {
			got, _ := r.Sim.Account(tn.Account).Employee(e.ID)
			require.Equal(t, e.Lastname, got.Lastname)
		}
		require.Zero(t, mailsOf(r, run.GetRunId()))
		require.Equal(t, syncv1.ConnectionStatus_CONNECTION_STATUS_PENDING_FIRST_SYNC, connections(t, r, tn)[0].GetStatus())
		// The admin decides again on a new preview.
		p2 := previewFirst(t, r, tn, conn.GetConnectionId())
		again := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p2.GetPreviewId(),
			DefaultWinner: syncv1.SyncSide_SYNC_SIDE_ERP})
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION, again.GetStatus(), "overwriting HR counts too")
	})
	t.Run("AtTheThresholdTheRunGoesOn", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		pairs(t, r, tn, 5, 1) // 20%
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_RUNNING, run.GetStatus())
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun().GetStatus())
	})
	t.Run("FillingMissingValuesIsNoOverwrite", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		users, _ := pairs(t, r, tn, 2, 0)
		_, err := r.HRClient.Update(ctx, tn.ID, users[0].ID, domain.Values{Phone: "+4791111111"}, []domain.Field{domain.FieldPhone})
		require.NoError(t, err)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_RUNNING, run.GetStatus())
		require.Zero(t, run.GetThreshold().GetAffectedEmployees())
		final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun()
		require.EqualValues(t, 1, final.GetCounts().GetUpdatedInErp())
		got, _ := r.Sim.Account(tn.Account).EmployeeByEmail(users[0].Email)
		require.Equal(t, "+4791111111", got.Telefon)
	})
}

// failingReporter injects failures in front of the real report mailer.
type failingReporter struct {
	real      app.Reporter
	transient atomic.Int32 // fail this many times transiently, then send
	permanent atomic.Bool
}

func (f *failingReporter) SendReport(ctx context.Context, r app.Report) error {
	if f.permanent.Load() {
		return fmt.Errorf("%w: 550 mailbox unavailable", notify.ErrPermanent)
	}
	if f.transient.Add(-1) >= 0 {
		return fmt.Errorf("%w: 451 try again later", notify.ErrTransient)
	}
	return f.real.SendReport(ctx, r)
}

func TestRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100})

	t.Run("AValueChangedSinceThePreviewFailsThatEmployeeAlone", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		users, emps := pairs(t, r, tn, 3, 2)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		// After the preview someone fixes employee 0 in the ERP by hand, and
		// HR changes employee 1's name the ERP was to win.
		_, err := r.Sim.Account(tn.Account).Edit(emps[0].ID, func(e *erp.Employee) { e.Lastname = "Typed-By-Hand" })
		require.NoError(t, err)
		_, err = r.HRClient.Update(ctx, tn.ID, users[1].ID, domain.Values{FamilyName: "Renamed-In-HR"}, []domain.Field{domain.FieldFamilyName})
		require.NoError(t, err)
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(),
			Resolutions: []*syncv1.Resolution{{EmployeeId: users[1].ID, Field: hrv1.EmployeeField_EMPLOYEE_FIELD_FAMILY_NAME, Winner: syncv1.SyncSide_SYNC_SIDE_ERP}}})
		final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished)
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_PARTIALLY_FAILED, final.GetRun().GetStatus())
		require.EqualValues(t, 2, final.GetRun().GetCounts().GetFailed())
		require.Len(t, final.GetFailures(), 2)
		for _, f := range final.GetFailures() {
			require.Equal(t, syncv1.SyncFailureReason_SYNC_FAILURE_REASON_CHANGED_SINCE_PREVIEW, f.GetReason())
		}
		require.Contains(t, final.GetFailures()[0].GetMessage(), `the ERP's familyName is now "Typed-By-Hand"`)
		require.Contains(t, final.GetFailures()[1].GetMessage(), `HR's familyName is now "Renamed-In-HR"`)
		got, _ := r.Sim.Account(tn.Account).Employee(emps[0].ID)
		require.Equal(t, "Typed-By-Hand", got.Lastname, "the newer value stays")
		hrGot, _ := r.HR.User(tn.ID, users[1].ID)
		require.Equal(t, "Renamed-In-HR", hrGot.FamilyName)
		var failed syncv1.SyncFailed
		lastSyncEvent(t, r.Stack, "sync.v1."+tn.ID+".employee."+users[0].ID+".failed", &failed)
		require.Equal(t, run.GetRunId(), failed.GetRunId())
		require.False(t, failed.GetRetriable())
		m := mailFor(t, r, run.GetRunId())
		require.Equal(t, "Rollcall: first synchronisation with 24SevenOffice partially failed", m.Subject)
		require.Contains(t, m.Text, "Failed (2)")
		require.Contains(t, m.Text, users[0].Email+"> (HR "+users[0].ID+", ERP "+emps[0].ID+"): changed since the preview.")
		require.Equal(t, syncv1.ConnectionStatus_CONNECTION_STATUS_ACTIVE, connections(t, r, tn)[0].GetStatus(), "a partial success activates")
	})
	t.Run("TheERPWinsWithItsMissingValuesAndNoOneIsAdded", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		u := synctest.Unique()
		stored, err := r.HR.Put(tn.ID, hr.User{Email: "w." + u + "@example.com", GivenName: "W", FamilyName: "In", Phone: "+4792222222"},
			hrUser("hronly."+u+"@example.com", "H", "Only"))
		require.NoError(t, err)
		acct := r.Sim.Account(tn.Account)
		e, err := acct.Put(erp.Employee{Email: "w." + u + "@example.com", Firstname: "W", Lastname: "In", City: "Tromsø"})
		require.NoError(t, err)
		_, err = acct.Put(erp.Employee{Email: "erponly." + u + "@example.com", Firstname: "E", Lastname: "Only"})
		require.NoError(t, err)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(),
			DefaultWinner: syncv1.SyncSide_SYNC_SIDE_ERP, MissingValues: syncv1.MissingValues_MISSING_VALUES_WINNER})
		final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun()
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, final.GetStatus())
		require.True(t, proto.Equal(&syncv1.SyncCounts{UpdatedInHr: 1}, final.GetCounts()), "%v", final.GetCounts())
		w, _ := r.HR.User(tn.ID, stored[0].ID)
		require.Empty(t, w.Phone, "the ERP had none, and the ERP's state won")
		require.Equal(t, "Tromsø", w.Address.City)
		still, _ := acct.Employee(e.ID)
		require.Empty(t, still.Telefon)
		require.Equal(t, 2, acct.Len(), "HR-only not added")
		require.Len(t, r.HR.Users(tn.ID), 2, "ERP-only not added")
		m := mailFor(t, r, run.GetRunId())
		require.Contains(t, m.Text, "In HR only, not added to 24SevenOffice (your choice): 1")
		require.Contains(t, m.Text, "In 24SevenOffice only, not added to HR (your choice): 1")
		require.Contains(t, m.Text, "conflicts won by 24SevenOffice")
		require.Contains(t, m.Text, "taken from the winning side")
	})
	t.Run("HRsStateWinsButTheERPsIdentificationIsLeftAndAResolutionOverrides", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		u := synctest.Unique()
		b := hrUser("bo."+u+"@example.com", "Bo", "Berg")
		b.Phone = "+4793000002"
		stored, err := r.HR.Put(tn.ID, hrUser("ada."+u+"@example.com", "Ada", "Ahl"), b)
		require.NoError(t, err)
		ada, bo := stored[0], stored[1]
		acct := r.Sim.Account(tn.Account)
		id := &erp.InternationalID{ID: "01019012345", CountryCode: "NO", Type: "national"}
		adaE, err := acct.Put(erp.Employee{Email: ada.Email, Firstname: "Ada", Lastname: "Ahl", Telefon: "+4793000001", City: "Bodø", InternationalID: id})
		require.NoError(t, err)
		_, err = acct.Put(erp.Employee{Email: bo.Email, Firstname: "Bo", Lastname: "Berg"})
		require.NoError(t, err)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		require.EqualValues(t, 4, p.GetTotals().GetMissingValues(), "Ada's phone, address and identification; Bo's phone")
		// HR's state wins, so what HR lacks is cleared in the ERP; but Bo's
		// phone goes the ERP's way: it has none, so HR's is cleared.
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(),
			MissingValues: syncv1.MissingValues_MISSING_VALUES_WINNER,
			Resolutions:   []*syncv1.Resolution{{EmployeeId: bo.ID, Field: hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE, Winner: syncv1.SyncSide_SYNC_SIDE_ERP}}})
		final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun()
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, final.GetStatus())
		require.True(t, proto.Equal(&syncv1.SyncCounts{UpdatedInErp: 1, UpdatedInHr: 1}, final.GetCounts()), "%v", final.GetCounts())
		got, _ := acct.Employee(adaE.ID)
		require.Empty(t, got.Telefon, "cleared: HR has none")
		require.Empty(t, got.City, "cleared: HR has no address")
		require.Equal(t, id, got.InternationalID, "left: the ERP cannot unset it")
		hrBo, _ := r.HR.User(tn.ID, bo.ID)
		require.Empty(t, hrBo.Phone, "the resolution: the ERP's state (none)")
		m := mailFor(t, r, run.GetRunId())
		require.Contains(t, m.Text, "Left as they were (1)")
		require.Contains(t, m.Text, ada.Email+">: "+domain.NoteIdentificationKept)
		require.Contains(t, m.Text, "conflicts won by HR (1 per-field exceptions); missing values taken from the winning side")
	})
	t.Run("CreatesTakeOverWhatWasAddedByHandSinceThePreview", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		u := synctest.Unique()
		stored, err := r.HR.Put(tn.ID, hrUser("hand."+u+"@example.com", "Hanne", "Hand"))
		require.NoError(t, err)
		hand := stored[0]
		acct := r.Sim.Account(tn.Account)
		erin, err := acct.Put(erp.Employee{Email: "erin." + u + "@example.com", Firstname: "Erin", Lastname: "Erp", Telefon: "+4797100001"})
		require.NoError(t, err)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		require.Len(t, p.GetMissingInErp(), 1)
		require.Len(t, p.GetMissingInHr(), 1)
		// After the preview each is added by hand on the other side, with a
		// value that differs.
		typed, err := acct.Put(erp.Employee{Email: strings.ToUpper(hand.Email), Firstname: "Hanne", Lastname: "Hand-Typed"})
		require.NoError(t, err)
		byHand, err := r.HR.Put(tn.ID, hr.User{Email: erin.Email, GivenName: "Erin", FamilyName: "Erp"})
		require.NoError(t, err)
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(),
			AddMissingToErp: true, AddMissingToHr: true})
		final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished)
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, final.GetRun().GetStatus(), "%v", final.GetFailures())
		require.Equal(t, 2, acct.Len(), "no second ERP employee for Hanne")
		got, _ := acct.Employee(typed.ID)
		require.Equal(t, "Hand", got.Lastname, "the employee typed by hand got HR's values")
		require.Len(t, r.HR.Users(tn.ID), 2, "no second HR employee for Erin")
		hrErin, _ := r.HR.User(tn.ID, byHand[0].ID)
		require.Equal(t, "+4797100001", hrErin.Phone, "the HR employee added by hand got the ERP's values")
		for hrID, erpID := range map[string]string{hand.ID: typed.ID, byHand[0].ID: erin.ID} {
			e, err := r.Store.Employee(ctx, tn.ID, hrID)
			require.NoError(t, err)
			require.Equal(t, erpID, e.ERPEmployeeID, "linked to the one found by email")
		}
	})
	t.Run("ARefusalFailsOnlyItsEmployeeWithTheOtherSystemsWords", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		u := synctest.Unique()
		ok, bad := hrUser("ok."+u+"@example.com", "Ola", "Ok"), hrUser("bad."+u+"@example.com", "Bente", "Lang")
		// HR takes a city longer than the ERP does.
		bad.Address = &hr.Address{City: strings.Repeat("Langbyen ", 12), CountryCode: "NO"}
		stored, err := r.HR.Put(tn.ID, ok, bad)
		require.NoError(t, err)
		ok, bad = stored[0], stored[1]
		siri, err := r.Sim.Account(tn.Account).Put(erp.Employee{Email: "siri." + u + "@example.com", Firstname: "Siri", Lastname: "Dahl", Telefon: "+4797200002"})
		require.NoError(t, err)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		// After the preview HR gives Siri's phone to Ola: HR refuses a second
		// employee with it.
		_, err = r.HRClient.Update(ctx, tn.ID, ok.ID, domain.Values{Phone: "+4797200002"}, []domain.Field{domain.FieldPhone})
		require.NoError(t, err)
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(),
			AddMissingToErp: true, AddMissingToHr: true})
		final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished)
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_PARTIALLY_FAILED, final.GetRun().GetStatus())
		require.EqualValues(t, 2, final.GetRun().GetCounts().GetFailed())
		failures := map[syncv1.SyncFailureReason]*syncv1.RunFailure{}
		for _, f := range final.GetFailures() {
			failures[f.GetReason()] = f
		}
		rejected := failures[syncv1.SyncFailureReason_SYNC_FAILURE_REASON_ERP_REJECTED]
		require.NotNil(t, rejected, "%v", final.GetFailures())
		require.Equal(t, bad.ID, rejected.GetEmployee().GetEmployeeId())
		require.Contains(t, rejected.GetMessage(), "postaddress, zipcode or city: too long", "the ERP's own words")
		dup := failures[syncv1.SyncFailureReason_SYNC_FAILURE_REASON_DUPLICATE_PHONE]
		require.NotNil(t, dup, "%v", final.GetFailures())
		require.Equal(t, siri.ID, dup.GetEmployee().GetErpEmployeeId())
		require.Contains(t, dup.GetMessage(), "duplicate_phone")
		require.Contains(t, dup.GetMessage(), "already used by user "+ok.ID, "HR's own words")
		_, found := r.Sim.Account(tn.Account).EmployeeByEmail(ok.Email)
		require.True(t, found, "the others are carried out")
		_, found = r.HR.UserByEmail(tn.ID, siri.Email)
		require.False(t, found)
		var failed syncv1.SyncFailed
		lastSyncEvent(t, r.Stack, "sync.v1."+tn.ID+".employee."+bad.ID+".failed", &failed)
		require.Equal(t, syncv1.SyncFailureReason_SYNC_FAILURE_REASON_ERP_REJECTED, failed.GetReason())
		m := mailFor(t, r, run.GetRunId())
		require.Contains(t, m.Text, "Failed (2)")
		require.Contains(t, m.Text, bad.Email+"> (HR "+bad.ID+"): the ERP refused the values.")
		require.Contains(t, m.Text, "postaddress, zipcode or city: too long")
		require.Contains(t, m.Text, siri.Email+"> (ERP "+siri.ID+"): the phone is used by another HR employee.")
	})
	t.Run("AKeyTheERPRefusesMidRunFailsTheRunWithTheReason", func(t *testing.T) {
		t.Parallel()
		r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100, NoExecutor: true})
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		pairs(t, r, tn, 3, 3)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
		r.Sim.RevokeAPIKey(tn.APIKey)
		worked, err := r.Exec.RunOnce(ctx)
		require.NoError(t, err)
		require.True(t, worked)
		final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun()
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_FAILED, final.GetStatus())
		require.Contains(t, final.GetError(), "the ERP refuses the connection's API key; rotate it")
		require.Zero(t, final.GetDone())
		var done syncv1.SyncRunCompleted
		lastSyncEvent(t, r.Stack, postgres.RunSubject(tn.ID, run.GetRunId(), "completed"), &done)
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_FAILED, done.GetStatus())
		m := mailFor(t, r, run.GetRunId())
		require.Equal(t, "Rollcall: first synchronisation with 24SevenOffice failed", m.Subject)
		require.Contains(t, m.Text, "The run stopped: the ERP refuses the connection's API key")
		require.Contains(t, m.Text, "0 of 3 employees to write were done")
		require.Equal(t, syncv1.ConnectionStatus_CONNECTION_STATUS_PENDING_FIRST_SYNC, connections(t, r, tn)[0].GetStatus(), "a failed first sync does not activate")
	})
	t.Run("AnERPThatKeepsFailingFailsItsEmployeesAfterTheRetries", func(t *testing.T) {
		t.Parallel()
		r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100})
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		users, _ := pairs(t, r, tn, 2, 2)
		siri, err := r.Sim.Account(tn.Account).Put(erp.Employee{Email: "siri." + synctest.Unique() + "@example.com", Firstname: "Siri", Lastname: "Dahl"})
		require.NoError(t, err)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		r.Sim.SetFaults(erpsim.Faults{Unavailable: -1})
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(), AddMissingToHr: true})
		final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished)
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_PARTIALLY_FAILED, final.GetRun().GetStatus())
		require.True(t, proto.Equal(&syncv1.SyncCounts{CreatedInHr: 1, Failed: 2}, final.GetRun().GetCounts()), "%v", final.GetRun().GetCounts())
		var failed []string
		for _, f := range final.GetFailures() {
			require.Equal(t, syncv1.SyncFailureReason_SYNC_FAILURE_REASON_ERP_UNAVAILABLE, f.GetReason())
			failed = append(failed, f.GetEmployee().GetEmployeeId())
		}
		require.ElementsMatch(t, []string{users[0].ID, users[1].ID}, failed)
		require.GreaterOrEqual(t, r.Sim.Stats().Faulted, 2*r.Exec.MaxAttempts, "each tried MaxAttempts times")
		require.Zero(t, r.Sim.Stats().Updates, "nothing written")
		_, found := r.HR.UserByEmail(tn.ID, siri.Email)
		require.True(t, found, "HR, which answers, gets its employee")
		r.Sim.SetFaults(erpsim.Faults{})
		require.Contains(t, mailFor(t, r, run.GetRunId()).Text, "the ERP was unavailable")
	})
	t.Run("ARateLimitedERPSlowsTheRunDownButFailsNoOne", func(t *testing.T) {
		t.Parallel()
		r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100})
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		pairs(t, r, tn, 4, 4)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		r.Sim.SetFaults(erpsim.Faults{RateLimit: 3, RetryAfter: time.Second})
		start := time.Now()
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
		final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun()
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, final.GetStatus())
		require.EqualValues(t, 4, final.GetCounts().GetUpdatedInErp())
		require.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After honoured")
		require.Equal(t, 3, r.Sim.Stats().Faulted)
	})
	t.Run("APreviewIsAppliedOnceBeforeItExpiresToItsOwnConnection", func(t *testing.T) {
		t.Parallel()
		tn, other := r.NewTenant(t), r.NewTenant(t)
		conn, otherConn := r.Connect(t, tn), r.Connect(t, other)
		pairs(t, r, tn, 1, 0)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		op := previewFirst(t, r, other, otherConn.GetConnectionId())
		apply := func(tn synctest.Tenant, connID, previewID string) error {
			_, err := r.API.ApplyFirstSync(ctx, synctest.Req(tn.Token, &syncv1.ApplyFirstSyncRequest{TenantId: tn.ID, ConnectionId: connID,
				PreviewId: previewID, DefaultWinner: syncv1.SyncSide_SYNC_SIDE_HR}))
			return err
		}
		err := apply(tn, conn.GetConnectionId(), op.GetPreviewId())
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err), "another tenant's preview")
		require.Equal(t, "preview_id", fieldViolation(t, err))
		_, err = r.Pool.Exec(ctx, `UPDATE sync_previews SET expires_at = now() - interval '1 second' WHERE id = $1`, p.GetPreviewId())
		require.NoError(t, err)
		err = apply(tn, conn.GetConnectionId(), p.GetPreviewId())
		require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err))
		require.Contains(t, err.Error(), "expired")
		p = previewFirst(t, r, tn, conn.GetConnectionId())
		p2 := previewFirst(t, r, tn, conn.GetConnectionId())
		require.NoError(t, apply(tn, conn.GetConnectionId(), p.GetPreviewId()))
		err = apply(tn, conn.GetConnectionId(), p2.GetPreviewId())
		require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err), "one first synchronisation (running or done)")
		require.Eventually(t, func() bool {
			return connections(t, r, tn)[0].GetStatus() == syncv1.ConnectionStatus_CONNECTION_STATUS_ACTIVE
		}, wait, 20*time.Millisecond)
		_, err = r.API.PreviewFirstSync(ctx, synctest.Req(tn.Token, &syncv1.PreviewFirstSyncRequest{TenantId: tn.ID, ConnectionId: conn.GetConnectionId()}))
		require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err), "the first sync is done")
		_, err = r.API.PreviewSynchronizeUsers(ctx, synctest.Req(other.Token, &syncv1.PreviewSynchronizeUsersRequest{TenantId: other.ID, ConnectionId: otherConn.GetConnectionId()}))
		require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err), "synchronize users waits for the first sync")

		manual, err := r.API.PreviewSynchronizeUsers(ctx, synctest.Req(tn.Token, &syncv1.PreviewSynchronizeUsersRequest{TenantId: tn.ID, ConnectionId: conn.GetConnectionId()}))
		require.NoError(t, err)
		sync := func() error {
			_, err := r.API.SynchronizeUsers(ctx, synctest.Req(tn.Token, &syncv1.SynchronizeUsersRequest{TenantId: tn.ID, ConnectionId: conn.GetConnectionId(),
				PreviewId: manual.Msg.GetPreviewId(), DefaultWinner: syncv1.SyncSide_SYNC_SIDE_ERP}))
			return err
		}
		require.NoError(t, sync())
		err = sync()
		require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err))
		require.Contains(t, err.Error(), "already started on this preview")
	})
	t.Run("ChangesHeldUntilTheFirstSyncActivatesTheConnection", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		email := "held." + synctest.Unique() + "@example.com"
		r.Publish(t, synctest.Created(tn.ID, "emp-held", 1, email, "Hedda", "Held"))
		employee(t, r.Stack, tn.ID, "emp-held", func(e postgres.Employee) bool { return e.Status == "pending" })
		time.Sleep(300 * time.Millisecond) // the propagator polls every 50ms
		_, ok := r.Sim.Account(tn.Account).EmployeeByEmail(email)
		require.False(t, ok, "not before the first synchronisation")
		activate(t, r, tn, conn.GetConnectionId())
		require.Eventually(t, func() bool {
			_, ok := r.Sim.Account(tn.Account).EmployeeByEmail(email)
			return ok
		}, wait, 10*time.Millisecond, "released by the activation")
	})
	t.Run("RunsAreTheirTenantsOwn", func(t *testing.T) {
		t.Parallel()
		tn, other := r.NewTenant(t), r.NewTenant(t)
		conn := r.Connect(t, tn)
		_, err := r.HR.Put(other.ID, hrUser("theirs."+synctest.Unique()+"@example.com", "Not", "Mine"))
		require.NoError(t, err)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		require.Zero(t, p.GetTotals().GetHrEmployees(), "another tenant's HR employees are not seen")
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
		_, err = r.API.GetSyncRun(ctx, synctest.Req(other.Token, &syncv1.GetSyncRunRequest{TenantId: other.ID, RunId: run.GetRunId()}))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
		_, err = r.API.GetSyncRun(ctx, synctest.Req(other.Token, &syncv1.GetSyncRunRequest{TenantId: tn.ID, RunId: run.GetRunId()}))
		require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
		_, err = r.API.ConfirmSyncRun(ctx, synctest.Req(other.Token, &syncv1.ConfirmSyncRunRequest{TenantId: other.ID, RunId: run.GetRunId()}))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
	})
	t.Run("TheReportIsInTheTenantsLanguage", func(t *testing.T) {
		t.Parallel()
		r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100})
		for _, c := range []struct {
			lang, subject string
			says          []string
			undescribed   bool
		}{
			{"nb-NO", "Rollcall: første synkronisering med 24SevenOffice lyktes", []string{
				"Første synkronisering mellom HR og 24SevenOffice: lyktes.", "(hele virksomheten)",
				"Opprettet i 24SevenOffice: 2", "Oppdatert i 24SevenOffice: 1", "Ansatte med konflikter løst etter ditt valg: 1",
				"Regelbrudd funnet i forhåndsvisningen (2)", "telefonnummer delt med en annen ansatt i HR +4799111222",
				"synkronisert, men intet telefonnummer skrives til HR for dem",
				"Dine valg: konflikter vunnet av HR (0 unntak per felt); manglende verdier kopiert til siden som manglet dem",
				"Alle endringer i støttede felt i HR sendes nå til 24SevenOffice i sanntid.",
			}, false},
			{"sv", "Rollcall: första synkroniseringen med 24SevenOffice lyckades", []string{
				"Första synkroniseringen mellan HR och 24SevenOffice: lyckades.", "(hela organisationen)",
				"Skapade i 24SevenOffice: 2", "Uppdaterade i 24SevenOffice: 1", "Anställda med konflikter lösta enligt ditt val: 1",
				"Regelbrott som förhandsgranskningen hittade (2)", "telefonnummer som delas med en annan anställd i HR +4799111222",
				"synkroniserade, men inget telefonnummer skrivs till HR för dem", "Dina val: konflikter vunna av HR",
			}, false},
			{"fr", "Rollcall: first synchronisation with 24SevenOffice succeeded", []string{
				"Created in 24SevenOffice: 2", "phone shared with another HR employee +4799111222", domain.DetailDuplicatePhoneInHR,
			}, false},
			// Identity not saying holds nothing up: the report is in English.
			{"", "Rollcall: first synchronisation with 24SevenOffice succeeded", []string{"Created in 24SevenOffice: 2"}, true},
		} {
			tn := r.NewTenant(t)
			r.Identity.SetLanguage(tn.ID, "nb")
			if c.undescribed {
				r.Identity.FailDescribeTenant(tn.ID)
			} else {
				r.Identity.SetLanguage(tn.ID, c.lang)
			}
			conn := r.Connect(t, tn)
			pairs(t, r, tn, 2, 1)
			u := synctest.Unique()
			a, b := hrUser("a."+u+"@example.com", "Aud", "Telefon"), hrUser("b."+u+"@example.com", "Bo", "Telefon")
			a.Phone, b.Phone = "+4799111222", "+4799111222"
			_, err := r.HR.Put(tn.ID, a, b)
			require.NoError(t, err)
			p := previewFirst(t, r, tn, conn.GetConnectionId())
			run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(), AddMissingToErp: true})
			require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, r.WaitRun(t, tn, run.GetRunId(), synctest.Finished).GetRun().GetStatus())
			stored, err := r.Store.Run(ctx, tn.ID, run.GetRunId())
			require.NoError(t, err)
			require.Equal(t, c.lang, stored.Language, "identity's language when the run started")
			m := mailFor(t, r, run.GetRunId())
			require.Equal(t, c.subject, m.Subject, c.lang)
			require.Equal(t, report.Language(c.lang), m.Headers["Content-Language"])
			for _, want := range c.says {
				require.Contains(t, m.Text, want, c.lang)
			}
		}
	})
	t.Run("TheReportIsRetriedWhenMailIsDownAndSentOnce", func(t *testing.T) {
		t.Parallel()
		flaky := &failingReporter{}
		r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100, Reporter: flaky})
		flaky.real = reporterOf(t, r)
		flaky.transient.Store(2)
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
		r.WaitRun(t, tn, run.GetRunId(), synctest.Finished)
		mailFor(t, r, run.GetRunId())
		require.Equal(t, 1, mailsOf(r, run.GetRunId()))
		var done syncv1.SyncRunCompleted
		lastSyncEvent(t, r.Stack, postgres.RunSubject(tn.ID, run.GetRunId(), "completed"), &done)
		require.Equal(t, []string{tn.Email}, done.GetReportSentTo())
	})
	t.Run("AReportTheMailServerRefusesIsRecordedAndNoCompletionIsClaimed", func(t *testing.T) {
		t.Parallel()
		refusing := &failingReporter{}
		refusing.permanent.Store(true)
		r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100, Reporter: refusing})
		tn := r.NewTenant(t)
		conn := r.Connect(t, tn)
		p := previewFirst(t, r, tn, conn.GetConnectionId())
		run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
		r.WaitRun(t, tn, run.GetRunId(), synctest.Finished)
		got, err := r.Store.Run(ctx, tn.ID, run.GetRunId())
		require.NoError(t, err)
		require.Contains(t, got.ReportError, "550 mailbox unavailable")
		require.True(t, got.ReportSentAt.IsZero())
		stream, err := r.NATS.JS.Stream(ctx, "SYNC")
		require.NoError(t, err)
		_, err = stream.GetLastMsgForSubject(ctx, postgres.RunSubject(tn.ID, run.GetRunId(), "completed"))
		require.Error(t, err, "SyncRunCompleted says the report was emailed")
	})
}

// reporterOf is the mail sink's reporter of a stack.
func reporterOf(t *testing.T, r *synctest.Runs) app.Reporter {
	t.Helper()
	host, port := r.Mail.SMTPHostPort()
	m, err := notify.NewSMTPMailer(notify.SMTPConfig{Host: host, Port: port, TLS: notify.TLSNone, From: "Rollcall <no-reply@rollcall.test>", Timeout: 5 * time.Second})
	require.NoError(t, err)
	return &report.Mailer{Mail: m}
}

package syncsvc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/notify/mailsink"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/hr"
	"rollcall.dev/services/sync/internal/synctest"
)

// fieldViolation is the field an INVALID_ARGUMENT names.
func fieldViolation(t *testing.T, err error) string {
	t.Helper()
	var ce *connect.Error
	require.ErrorAs(t, err, &ce)
	for _, d := range ce.Details() {
		v, derr := d.Value()
		require.NoError(t, derr)
		if br, ok := v.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	// protovalidate's own violations
	return ""
}

func hrUser(email, given, family string) hr.User {
	return hr.User{Email: email, GivenName: given, FamilyName: family}
}

// seedFirstSync lays out every case of the first synchronisation in HR and
// the tenant's ERP account:
//
//	equal        kari   same on both sides
//	conflict     ola    family name differs; HR has a phone the ERP lacks, the ERP a city HR lacks
//	resolved     per    family name differs, resolved ERP-wins per field
//	hr only      nina   (an end date, so the ERP gets one with a reason)
//	erp only     siri   (a phone)
//	dup email    two HR employees share lise@, the ERP has one lise@ (all skipped)
//	dup phone    two HR employees share a phone (both matched-equal? no: HR-only, created without trouble in the ERP)
//	no name      an HR-only employee without a given name (cannot be created)
type firstSyncData struct {
	kari, ola, per, nina, lise1, lise2, tor, una, noname hr.User
	kariE, olaE, perE, siriE, liseE                      erp.Employee
}

func seedFirstSync(t *testing.T, r *synctest.Runs, tn synctest.Tenant) firstSyncData {
	t.Helper()
	var d firstSyncData
	u := synctest.Unique()
	mail := func(n string) string { return n + "." + u + "@example.com" }
	d.kari = hrUser(mail("kari"), "Kari", "Nordmann")
	d.kari.Phone = "+4791000001"
	d.ola = hrUser(mail("ola"), "Ola", "Nordmann")
	d.ola.Phone = "+4791000002"
	d.per = hrUser(mail("per"), "Per", "Hansen")
	d.nina = hrUser(mail("nina"), "Nina", "Berg")
	d.nina.EmploymentStartDate, d.nina.EmploymentEndDate = "2020-01-01", "2025-06-30"
	d.lise1, d.lise2 = hrUser(mail("lise"), "Lise", "A"), hrUser(strings.ToUpper(mail("lise")), "Lise", "B")
	d.tor, d.una = hrUser(mail("tor"), "Tor", "Dup"), hrUser(mail("una"), "Una", "Dup")
	d.tor.Phone, d.una.Phone = "+4799000000", "+4799000000"
	d.noname = hrUser(mail("noname"), "", "Nameless")
	stored, err := r.HR.Put(tn.ID, d.kari, d.ola, d.per, d.nina, d.lise1, d.lise2, d.tor, d.una, d.noname)
	require.NoError(t, err)
	d.kari, d.ola, d.per, d.nina, d.lise1, d.lise2, d.tor, d.una, d.noname = stored[0], stored[1], stored[2], stored[3], stored[4], stored[5], stored[6], stored[7], stored[8]

	acct := r.Sim.Account(tn.Account)
	put := func(e erp.Employee) erp.Employee {
		out, err := acct.Put(e)
		require.NoError(t, err)
		return out
	}
	d.kariE = put(erp.Employee{Email: strings.ToUpper(d.kari.Email), Firstname: "Kari", Lastname: "Nordmann", Telefon: "+47 910 00 001"})
	d.olaE = put(erp.Employee{Email: d.ola.Email, Firstname: "Ola", Lastname: "Nordmann-Berg", City: "Bergen"})
	d.perE = put(erp.Employee{Email: d.per.Email, Firstname: "Per", Lastname: "Hansen-Li"})
	d.siriE = put(erp.Employee{Email: mail("siri"), Firstname: "Siri", Lastname: "Dahl", Telefon: "+4791000009"})
	d.liseE = put(erp.Employee{Email: d.lise1.Email, Firstname: "Lise", Lastname: "A"})
	return d
}

func TestFirstSynchronisation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100})
	tn := r.NewTenant(t)
	conn := r.Connect(t, tn)
	require.Equal(t, syncv1.ConnectionStatus_CONNECTION_STATUS_PENDING_FIRST_SYNC, conn.GetStatus())
	d := seedFirstSync(t, r, tn)
	statsBefore, hrBefore := r.Sim.Stats(), r.HR.Stats()

	prev, err := r.API.PreviewFirstSync(ctx, synctest.Req(tn.Token, &syncv1.PreviewFirstSyncRequest{TenantId: tn.ID, ConnectionId: conn.GetConnectionId()}))
	require.NoError(t, err)
	p := prev.Msg

	t.Run("ThePreviewShowsEveryFindingAndWritesNothing", func(t *testing.T) {
		require.Equal(t, statsBefore.Creates+statsBefore.Updates+statsBefore.Endings, r.Sim.Stats().Creates+r.Sim.Stats().Updates+r.Sim.Stats().Endings)
		require.Equal(t, hrBefore.Creates+hrBefore.Updates, r.HR.Stats().Creates+r.HR.Stats().Updates)
		require.Equal(t, &syncv1.PreviewTotals{
			HrEmployees: 9, ErpEmployees: 5, Matched: 3, Conflicts: 2, EmployeesWithConflicts: 2, MissingValues: 2,
			MissingInErp: 4, MissingInHr: 1, RuleViolations: 5,
		}, p.GetTotals())
		require.EqualValues(t, 1, p.GetMatchedUnchanged(), "kari: email case and phone spacing are no difference")
		type c struct {
			who   string
			field hrv1.EmployeeField
			h, e  string
		}
		var conflicts []c
		for _, x := range p.GetConflicts() {
			conflicts = append(conflicts, c{x.GetEmployee().GetEmployeeId(), x.GetField(), x.GetHrValue(), x.GetErpValue()})
		}
		require.ElementsMatch(t, []c{
			{d.ola.ID, hrv1.EmployeeField_EMPLOYEE_FIELD_FAMILY_NAME, "Nordmann", "Nordmann-Berg"},
			{d.per.ID, hrv1.EmployeeField_EMPLOYEE_FIELD_FAMILY_NAME, "Hansen", "Hansen-Li"},
		}, conflicts)
		type m struct {
			who   string
			field hrv1.EmployeeField
			on    syncv1.SyncSide
			v     string
		}
		var missing []m
		for _, x := range p.GetMissingValues() {
			missing = append(missing, m{x.GetEmployee().GetEmployeeId(), x.GetField(), x.GetMissingOn(), x.GetPresentValue()})
		}
		require.ElementsMatch(t, []m{
			{d.ola.ID, hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE, syncv1.SyncSide_SYNC_SIDE_ERP, "+4791000002"},
			{d.ola.ID, hrv1.EmployeeField_EMPLOYEE_FIELD_ADDRESS, syncv1.SyncSide_SYNC_SIDE_HR, "Bergen"},
		}, missing)
		var hrOnly, erpOnly []string
		for _, x := range p.GetMissingInErp() {
			hrOnly = append(hrOnly, x.GetEmployeeId())
		}
		for _, x := range p.GetMissingInHr() {
			erpOnly = append(erpOnly, x.GetErpEmployeeId())
		}
		require.ElementsMatch(t, []string{d.nina.ID, d.tor.ID, d.una.ID, d.noname.ID}, hrOnly)
		require.Equal(t, []string{d.siriE.ID}, erpOnly)
		kinds := map[syncv1.RuleViolationKind][]string{}
		for _, v := range p.GetRuleViolations() {
			kinds[v.GetKind()] = append(kinds[v.GetKind()], v.GetEmployee().GetEmployeeId())
		}
		require.Equal(t, map[syncv1.RuleViolationKind][]string{
			syncv1.RuleViolationKind_RULE_VIOLATION_KIND_DUPLICATE_EMAIL_IN_HR:  {d.lise1.ID, d.lise2.ID},
			syncv1.RuleViolationKind_RULE_VIOLATION_KIND_DUPLICATE_PHONE_IN_HR:  {d.tor.ID, d.una.ID},
			syncv1.RuleViolationKind_RULE_VIOLATION_KIND_MISSING_REQUIRED_VALUE: {d.noname.ID},
		}, kinds)
		require.False(t, p.GetTruncated())
		require.True(t, p.GetExpiresAt().AsTime().After(time.Now().Add(23*time.Hour)))
	})

	t.Run("ListsAreCutAtMaxItemsButTotalsAreWhole", func(t *testing.T) {
		short, err := r.API.PreviewFirstSync(ctx, synctest.Req(tn.Token, &syncv1.PreviewFirstSyncRequest{TenantId: tn.ID, ConnectionId: conn.GetConnectionId(), MaxItems: 1}))
		require.NoError(t, err)
		require.True(t, short.Msg.GetTruncated())
		require.Len(t, short.Msg.GetMissingInErp(), 1)
		require.Len(t, short.Msg.GetRuleViolations(), 1)
		require.True(t, proto.Equal(p.GetTotals(), short.Msg.GetTotals()))
	})

	t.Run("AResolutionForAnEmployeeNotFoundOnBothSidesIsRefusedAndNothingStarts", func(t *testing.T) {
		_, err := r.API.ApplyFirstSync(ctx, synctest.Req(tn.Token, &syncv1.ApplyFirstSyncRequest{
			TenantId: tn.ID, ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(), DefaultWinner: syncv1.SyncSide_SYNC_SIDE_HR,
			Resolutions: []*syncv1.Resolution{{EmployeeId: d.nina.ID, Field: hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE, Winner: syncv1.SyncSide_SYNC_SIDE_ERP}},
		}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Equal(t, "resolutions[0].employee_id", fieldViolation(t, err))
		var runs int
		require.NoError(t, r.Pool.QueryRow(ctx, `SELECT count(*) FROM sync_runs`).Scan(&runs))
		require.Zero(t, runs)
	})

	// HR wins by default, Per's family name goes the ERP's way, both
	// missing sides are added.
	res, err := r.API.ApplyFirstSync(ctx, synctest.Req(tn.Token, &syncv1.ApplyFirstSyncRequest{
		TenantId: tn.ID, ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(), DefaultWinner: syncv1.SyncSide_SYNC_SIDE_HR,
		Resolutions:     []*syncv1.Resolution{{EmployeeId: d.per.ID, Field: hrv1.EmployeeField_EMPLOYEE_FIELD_FAMILY_NAME, Winner: syncv1.SyncSide_SYNC_SIDE_ERP}},
		AddMissingToErp: true, AddMissingToHr: true,
	}))
	require.NoError(t, err)
	run := res.Msg.GetRun()
	require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_RUNNING, run.GetStatus())
	require.EqualValues(t, 7, run.GetTotal(), "ola, per, nina, tor, una (to the ERP), siri (to HR), kari (linked)")
	final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished)

	t.Run("EveryBranchOfThePlanIsCarriedOut", func(t *testing.T) {
		got := final.GetRun()
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, got.GetStatus())
		require.True(t, proto.Equal(&syncv1.SyncCounts{
			CreatedInErp: 3, CreatedInHr: 1, UpdatedInErp: 1, UpdatedInHr: 2, Conflicts: 2, Unchanged: 1, Skipped: 4,
		}, got.GetCounts()), "%v", got.GetCounts())
		require.EqualValues(t, 7, got.GetDone())
		require.Empty(t, final.GetFailures())

		acct := r.Sim.Account(tn.Account)
		ola, _ := acct.Employee(d.olaE.ID)
		require.Equal(t, "Nordmann", ola.Lastname, "HR won the conflict")
		require.Equal(t, "+4791000002", ola.Telefon, "HR's phone filled the ERP")
		per, _ := acct.Employee(d.perE.ID)
		require.Equal(t, "Hansen-Li", per.Lastname, "the ERP won by resolution")
		nina, ok := acct.EmployeeByEmail(d.nina.Email)
		require.True(t, ok, "HR-only added to the ERP")
		require.Equal(t, "2025-06-30", nina.Enddate, "with its end date (and a reason)")
		_, ok = acct.EmployeeByEmail(d.noname.Email)
		require.False(t, ok, "cannot be created without a given name")
		require.Equal(t, 8, acct.Len(), "kari, ola, per, siri, lise + nina, tor, una")
		hrOla, _ := r.HR.User(tn.ID, d.ola.ID)
		require.Equal(t, "Bergen", hrOla.Address.City, "the ERP's city filled HR")
		require.Equal(t, "Nordmann", hrOla.FamilyName)
		hrPer, _ := r.HR.User(tn.ID, d.per.ID)
		require.Equal(t, "Hansen-Li", hrPer.FamilyName)
		siri, ok := r.HR.UserByEmail(tn.ID, d.siriE.Email)
		require.True(t, ok, "ERP-only added to HR")
		require.Equal(t, "+4791000009", siri.Phone)
		kari, _ := r.HR.User(tn.ID, d.kari.ID)
		require.EqualValues(t, 1, kari.Version, "equal employees are not written")
	})

	t.Run("TheConnectionIsActiveAndEmployeesAreLinked", func(t *testing.T) {
		list, err := r.API.ListConnections(ctx, synctest.Req(tn.Token, &syncv1.ListConnectionsRequest{TenantId: tn.ID}))
		require.NoError(t, err)
		require.Equal(t, syncv1.ConnectionStatus_CONNECTION_STATUS_ACTIVE, list.Msg.GetConnections()[0].GetStatus())
		for hrID, erpID := range map[string]string{d.kari.ID: d.kariE.ID, d.ola.ID: d.olaE.ID, d.per.ID: d.perE.ID} {
			e, err := r.Store.Employee(ctx, tn.ID, hrID)
			require.NoError(t, err)
			require.Equal(t, erpID, e.ERPEmployeeID)
			require.Equal(t, "synced", e.Status)
			require.Equal(t, conn.GetConnectionId(), e.ConnectionID)
		}
		siri, _ := r.HR.UserByEmail(tn.ID, d.siriE.Email)
		e, err := r.Store.Employee(ctx, tn.ID, siri.ID)
		require.NoError(t, err)
		require.Equal(t, d.siriE.ID, e.ERPEmployeeID, "the employee created in HR is linked to its ERP original")
		ola, err := r.Store.Employee(ctx, tn.ID, d.ola.ID)
		require.NoError(t, err)
		require.Equal(t, "Bergen", ola.HR.Values.Address.City, "HR's record as the run left it")
		require.Equal(t, "hr", ola.Provenance[erp.FieldLastname].System)
		require.Equal(t, "erp", ola.Provenance[erp.FieldCity].System)
	})

	t.Run("RealTimeChangesNowReachTheLinkedERPEmployee", func(t *testing.T) {
		ev := synctest.Updated(tn.ID, d.ola.ID, 100)
		ev.Phone = &hrv1.PhoneChange{NewValue: ptr("+4791000222")}
		r.Publish(t, ev)
		require.Eventually(t, func() bool {
			e, _ := r.Sim.Account(tn.Account).Employee(d.olaE.ID)
			return e.Telefon == "+4791000222"
		}, wait, 10*time.Millisecond)
		require.Equal(t, 8, r.Sim.Account(tn.Account).Len(), "no second ERP employee")
	})

	t.Run("TheReportTellsTheAdminEverything", func(t *testing.T) {
		m, err := r.Mail.Wait(ctx, func(m mailsink.Message) bool { return m.Headers["X-Rollcall-Sync-Run-Id"] == run.GetRunId() })
		require.NoError(t, err)
		require.Equal(t, []string{tn.Email}, m.To, "the admin who applied it, by default")
		require.Equal(t, "Rollcall: first synchronisation with 24SevenOffice succeeded", m.Subject)
		for _, want := range []string{
			"Created in 24SevenOffice: 3", "Created in HR: 1", "Updated in 24SevenOffice: 1", "Updated in HR: 2",
			"conflicts resolved by your choice: 2", "Already equal on both sides: 1", "Failed: 0", "Skipped (rule violations): 4",
			"Rule violations found by the preview (5)", "email shared by several HR employees " + d.lise1.Email,
			"phone shared with another HR employee +4799000000", "a required value is missing",
			"Your choices: conflicts won by HR (1 per-field exceptions)", "HR-only employees added to 24SevenOffice: yes",
		} {
			require.Contains(t, m.Text, want)
		}
	})

	t.Run("EventsSayWhatWasWritten", func(t *testing.T) {
		var done syncv1.SyncRunCompleted
		lastSyncEvent(t, r.Stack, postgres.RunSubject(tn.ID, run.GetRunId(), "completed"), &done)
		require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, done.GetStatus())
		require.Equal(t, syncv1.SyncRunKind_SYNC_RUN_KIND_FIRST_SYNC, done.GetKind())
		require.Equal(t, []string{tn.Email}, done.GetReportSentTo())
		require.True(t, proto.Equal(final.GetRun().GetCounts(), done.GetCounts()))
		var toHR syncv1.EmployeeSynced
		lastSyncEvent(t, r.Stack, "sync.v1."+tn.ID+".employee."+d.per.ID+".synced", &toHR)
		require.Equal(t, syncv1.SyncDirection_SYNC_DIRECTION_ERP_TO_HR, toHR.GetDirection())
		require.Equal(t, run.GetRunId(), toHR.GetRunId())
		require.Equal(t, []hrv1.EmployeeField{hrv1.EmployeeField_EMPLOYEE_FIELD_FAMILY_NAME}, toHR.GetFieldsWritten())
		var toERP syncv1.EmployeeSynced
		lastSyncEvent(t, r.Stack, "sync.v1."+tn.ID+".employee."+d.nina.ID+".synced", &toERP)
		require.Equal(t, syncv1.SyncDirection_SYNC_DIRECTION_HR_TO_ERP, toERP.GetDirection())
		require.Equal(t, syncv1.EmployeeSyncAction_EMPLOYEE_SYNC_ACTION_CREATED, toERP.GetAction())
	})
}

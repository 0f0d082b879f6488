package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
)

// demoERPEmployee is an employee as the stand-in ERP's admin view shows it.
type demoERPEmployee struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Firstname string `json:"firstname"`
	Lastname  string `json:"lastname"`
	Telefon   string `json:"telefon"`
	City      string `json:"city"`
}

// Seed 004: connect HR to the ERP with an API key made in the ERP, preview
// the first synchronisation, decide and run it (the report is emailed),
// then a change made in HR reaches the ERP in real time.
//
// The demo connects a company of its own (made for this run), not the
// whole tenant: each run then sees only its own employees, and the
// tenant's other connections are left alone. The connection is deleted at
// the end unless --keep-connection, since a tenant is connected either as
// a whole or per company, not both.
func (d *demo) hrToERP(ctx context.Context) error {
	company, err := d.idn.CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{
		TenantId: d.tenant, Kind: identityv1.StructureKind_STRUCTURE_KIND_COMPANY, Name: "Demo run " + d.run + " AS"}))
	if err != nil {
		return apiError(d.base, err)
	}
	companyID := company.Msg.GetItem().GetId()
	d.say("%s adds the company %q (%s) to %s; the demo connects this company's HR to its own ERP account.",
		d.adminName, company.Msg.GetItem().GetName(), companyID, d.tenantName)

	// Step 1, in the ERP: an API key, and what both systems hold already.
	var key struct {
		APIKey  string `json:"api_key"`
		Account string `json:"account"`
	}
	if err := d.httpJSON(ctx, http.MethodPost, "/dev/erp/_admin/api-keys", "", nil, &key); err != nil {
		return err
	}
	ola, siri, nina := "ola-"+d.run+"@example.com", "siri-"+d.run+"@example.com", "nina-"+d.run+"@example.com"
	olaPhone, siriPhone := d.mobile(), d.mobile()
	if err := d.httpJSON(ctx, http.MethodPost, "/dev/erp/_admin/employees?account="+url.QueryEscape(key.Account), "", []map[string]string{
		{"email": ola, "firstname": "Ola", "lastname": "Nordmann-Berg", "city": "Bergen"},
		{"email": siri, "firstname": "Siri", "lastname": "Dahl", "telefon": siriPhone},
	}, nil); err != nil {
		return err
	}
	olaID, ninaID := "emp-"+d.run+"-1", "emp-"+d.run+"-2"
	if err := d.httpJSON(ctx, http.MethodPost, "/dev/hr/_admin/tenants/"+d.tenant+"/users", "", []map[string]string{
		{"id": olaID, "companyId": companyID, "email": ola, "givenName": "Ola", "familyName": "Nordmann", "phone": olaPhone},
		{"id": ninaID, "companyId": companyID, "email": nina, "givenName": "Nina", "familyName": "Berg"},
	}, nil); err != nil {
		return err
	}
	d.say("In 24SevenOffice (the stand-in), Settings > Misc: a new API key for account %s. The ERP holds Ola Nordmann-Berg and Siri Dahl;\nHR holds Ola Nordmann (another family name, a phone) and Nina Berg.", key.Account)

	// Step 2: connect.
	conn, err := d.sync.CreateConnection(ctx, connect.NewRequest(&syncv1.CreateConnectionRequest{
		TenantId: d.tenant, CompanyId: &companyID, ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: key.APIKey, AuthorityConfirmed: true}))
	if err != nil {
		return apiError(d.base, err)
	}
	connID := conn.Msg.GetConnection().GetConnectionId()
	cleanup := func() {
		if d.cmd.KeepConnection {
			d.detail("The connection %s stays (--keep-connection): rollcall sync connections.", connID)
			return
		}
		// The flow's own context may be cancelled already; deleting it
		// still matters.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := d.sync.DeleteConnection(dctx, connect.NewRequest(&syncv1.DeleteConnectionRequest{TenantId: d.tenant, ConnectionId: connID})); err != nil {
			d.detail("Deleting the demo's connection %s failed: %v (rollcall sync disconnect --connection %s)", connID, apiError(d.base, err), connID)
			return
		}
		d.say("The demo deletes its connection %s again (rollcall sync disconnect), so the tenant can still be connected as a whole.", connID)
	}
	defer cleanup()
	d.say("%s pastes the key in the integration's settings and confirms the authority to connect: the key is checked at the ERP,\nthen kept sealed. Connection %s: %s.", d.adminName, connID, enumWord(conn.Msg.GetConnection().GetStatus()))

	// Step 3: see what differs, decide, synchronise.
	p, err := d.sync.PreviewFirstSync(ctx, connect.NewRequest(&syncv1.PreviewFirstSyncRequest{TenantId: d.tenant, ConnectionId: connID, MaxItems: 20}))
	if err != nil {
		return apiError(d.base, err)
	}
	t := p.Msg.GetTotals()
	d.say("The first synchronisation's preview (nothing written): HR %d employees, the ERP %d; %d on both sides, %d with conflicts;\n%d only in HR, %d only in the ERP; %d rule violations.",
		t.GetHrEmployees(), t.GetErpEmployees(), t.GetMatched(), t.GetEmployeesWithConflicts(), t.GetMissingInErp(), t.GetMissingInHr(), t.GetRuleViolations())
	for _, c := range p.Msg.GetConflicts() {
		d.detail("conflict   %s  %s: HR %q, ERP %q", c.GetEmployee().GetEmail(), syncFieldNames[c.GetField()], c.GetHrValue(), c.GetErpValue())
	}
	for _, m := range p.Msg.GetMissingValues() {
		where := "ERP"
		if m.GetMissingOn() == syncv1.SyncSide_SYNC_SIDE_HR {
			where = "HR"
		}
		d.detail("missing    %s  %s missing in %s (the other side has %q)", m.GetEmployee().GetEmail(), syncFieldNames[m.GetField()], where, m.GetPresentValue())
	}
	for _, e := range p.Msg.GetMissingInErp() {
		d.detail("only in HR   %s", e.GetEmail())
	}
	for _, e := range p.Msg.GetMissingInHr() {
		d.detail("only in ERP  %s", e.GetEmail())
	}

	applied, err := d.sync.ApplyFirstSync(ctx, connect.NewRequest(&syncv1.ApplyFirstSyncRequest{
		TenantId: d.tenant, ConnectionId: connID, PreviewId: p.Msg.GetPreviewId(), DefaultWinner: syncv1.SyncSide_SYNC_SIDE_HR,
		MissingValues: syncv1.MissingValues_MISSING_VALUES_FILL, AddMissingToErp: true, AddMissingToHr: true}))
	if err != nil {
		return apiError(d.base, err)
	}
	run := applied.Msg.GetRun()
	d.say("%s decides: HR wins conflicts, missing values are filled in, employees missing on either side are added.", d.adminName)
	if run.GetStatus() == syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION {
		th := run.GetThreshold()
		d.detail("The run would overwrite values of %d of %d employees, more than %d%%: it waits, nothing written. %s confirms.",
			th.GetAffectedEmployees(), th.GetTotalEmployees(), th.GetThresholdPercent(), d.adminName)
		if _, err := d.sync.ConfirmSyncRun(ctx, connect.NewRequest(&syncv1.ConfirmSyncRunRequest{TenantId: d.tenant, RunId: run.GetRunId()})); err != nil {
			return apiError(d.base, err)
		}
	}
	var done *syncv1.GetSyncRunResponse
	if err := d.eventually(ctx, "the run "+run.GetRunId()+" to finish", func() (bool, error) {
		res, err := d.sync.GetSyncRun(ctx, connect.NewRequest(&syncv1.GetSyncRunRequest{TenantId: d.tenant, RunId: run.GetRunId()}))
		if err != nil {
			return false, apiError(d.base, err)
		}
		done = res.Msg
		s := res.Msg.GetRun().GetStatus()
		return s != syncv1.SyncRunStatus_SYNC_RUN_STATUS_RUNNING && s != syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION, nil
	}); err != nil {
		return err
	}
	r, c := done.GetRun(), done.GetRun().GetCounts()
	d.say("\"Synchronize users\": run %s %s, %d of %d employees: created in the ERP %d, in HR %d; updated in the ERP %d, in HR %d; failed %d.\nThe report was emailed to %s.",
		r.GetRunId(), enumWord(r.GetStatus()), r.GetDone(), r.GetTotal(), c.GetCreatedInErp(), c.GetCreatedInHr(), c.GetUpdatedInErp(), c.GetUpdatedInHr(),
		c.GetFailed(), strings.Join(r.GetReportRecipients(), ", "))
	if r.GetStatus() != syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED {
		return fmt.Errorf("the first synchronisation ended %s: %s", enumWord(r.GetStatus()), r.GetError())
	}

	// Step 4: real time. HR changes Ola's phone and publishes the change.
	hrToken, err := d.dataFile("hrsim-token")
	if err != nil {
		return err
	}
	newPhone := d.mobile()
	var changed struct {
		Version uint64 `json:"version"`
	}
	if err := d.httpJSON(ctx, http.MethodPatch, "/dev/hr/tenants/"+d.tenant+"/users/"+olaID, hrToken, map[string]string{"phone": newPhone}, &changed); err != nil {
		return err
	}
	nc, js, err := (&natsFlags{NATS: d.cmd.NATS, DataDir: d.cmd.DataDir}).connect("rollcall demo")
	if err != nil {
		return err
	}
	defer nc.Close()
	now := time.Now()
	ev, err := bus.NewEvent("/rollcall/demo/hr", "hr.v1."+d.tenant+".employee."+olaID+".changed", "employee/"+olaID, &hrv1.FieldChanged{
		TenantId: d.tenant, OccurredAt: timestamppb.New(now), ConnectionId: &connID, EmployeeId: olaID, HrVersion: changed.Version,
		ChangedAt: timestamppb.New(now), Operation: hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED,
		Phone: &hrv1.PhoneChange{OldValue: &olaPhone, NewValue: &newPhone},
	})
	if err != nil {
		return err
	}
	ack, err := bus.NewPublisher(js).Publish(ctx, ev)
	if err != nil {
		return err
	}
	d.say("In HR, Ola's phone becomes %s (version %d); HR publishes FieldChanged on %s (HR stream #%d).", newPhone, changed.Version, ev.Subject, ack.Sequence)
	var seen time.Duration
	if err := d.eventually(ctx, "Ola's new phone to reach the ERP", func() (bool, error) {
		var view struct {
			Employees []demoERPEmployee `json:"employees"`
		}
		if err := d.httpJSON(ctx, http.MethodGet, "/dev/erp/_admin/employees?account="+url.QueryEscape(key.Account), "", nil, &view); err != nil {
			return false, err
		}
		for _, e := range view.Employees {
			if strings.EqualFold(e.Email, ola) && e.Telefon == newPhone {
				seen = time.Since(now)
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return err
	}
	d.say("The change is in 24SevenOffice (telefon %s) %s after it was published: one way, in real time.", newPhone, seen.Round(time.Millisecond))
	return nil
}

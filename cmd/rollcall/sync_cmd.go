package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"
)

// syncCmd is the admin's side of seed 004 from a terminal: connect the
// tenant's HR to its ERP, preview and apply the first synchronisation (and
// every manual "synchronize users"), follow a run. It calls the sync
// service's Connect API as an administrator.
type syncCmd struct {
	Connect     syncConnectCmd     `cmd:"" help:"Connect the tenant to its ERP with an API key made there (seed 004, step 2)."`
	Connections syncConnectionsCmd `cmd:"" help:"List the tenant's ERP connections."`
	RotateKey   syncRotateKeyCmd   `cmd:"" name:"rotate-key" help:"Replace a connection's API key (checked against the ERP first)."`
	Disconnect  syncDisconnectCmd  `cmd:"" help:"Delete a connection, its key and its employee links."`
	Preview     syncPreviewCmd     `cmd:"" help:"Compare HR and the ERP without changing anything: conflicts, missing values, employees on one side only, rule violations."`
	Apply       syncApplyCmd       `cmd:"" help:"Apply your decisions to a preview and follow the run (a progress bar on a terminal)."`
	Status      syncStatusCmd      `cmd:"" help:"Show a run: progress, counts, failures."`
	Confirm     syncConfirmCmd     `cmd:"" help:"Let a run over the threshold go on, and follow it."`
	Cancel      syncCancelCmd      `cmd:"" help:"Cancel a run waiting for confirmation."`
	Hrsim       syncHrsimCmd       `cmd:"" name:"hrsim" help:"Run the stand-in HR system on its own (a development tool; 'rollcall dev' serves it at /dev/hr/)."`
}

// syncAPI are the flags every API command shares.
type syncAPI struct {
	URL        string `name:"url" env:"ROLLCALL_URL" default:"http://localhost:8080" help:"Rollcall's API."`
	Token      string `name:"token" env:"ROLLCALL_TOKEN" help:"An administrator's bearer token (default: the dev stack's main administrator, <data-dir>/identity/bootstrap-admin.token)."`
	Tenant     string `name:"tenant" env:"ROLLCALL_TENANT" help:"The tenant (default: the dev stack's, <data-dir>/identity/bootstrap-tenant.id)."`
	Connection string `name:"connection" help:"The connection (default: the tenant's only one)."`
	DataDir    string `name:"data-dir" env:"ROLLCALL_DATA_DIR" default:".rollcall" help:"The data dir of 'rollcall dev'."`
	JSON       bool   `name:"json" help:"Print the answer as JSON."`

	out    io.Writer
	client syncv1connect.SyncServiceClient
}

func (a *syncAPI) w() io.Writer {
	if a.out == nil {
		return os.Stdout
	}
	return a.out
}

func (a *syncAPI) readDefault(v *string, file, what string) error {
	if *v != "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(a.DataDir, "identity", file))
	if err != nil {
		return fmt.Errorf("no --%s, and no %s (is 'rollcall dev' running here?)", what, filepath.Join(a.DataDir, "identity", file))
	}
	*v = strings.TrimSpace(string(b))
	return nil
}

// setup fills in the defaults and makes the client.
func (a *syncAPI) setup() error {
	if err := a.readDefault(&a.Token, "bootstrap-admin.token", "token"); err != nil {
		return err
	}
	if err := a.readDefault(&a.Tenant, "bootstrap-tenant.id", "tenant"); err != nil {
		return err
	}
	if a.client == nil {
		a.client = syncv1connect.NewSyncServiceClient(&http.Client{Timeout: 5 * time.Minute}, strings.TrimRight(a.URL, "/"),
			connect.WithInterceptors(bearerAuth(a.Token)))
	}
	return nil
}

// connection names the connection: --connection, or the tenant's only one.
func (a *syncAPI) connection(ctx context.Context) (string, error) {
	if a.Connection != "" {
		return a.Connection, nil
	}
	res, err := a.client.ListConnections(ctx, connect.NewRequest(&syncv1.ListConnectionsRequest{TenantId: a.Tenant}))
	if err != nil {
		return "", syncAPIError(err)
	}
	switch cs := res.Msg.GetConnections(); len(cs) {
	case 0:
		return "", errors.New("the tenant has no ERP connection: rollcall sync connect --api-key ... --confirm-authority")
	case 1:
		return cs[0].GetConnectionId(), nil
	default:
		return "", fmt.Errorf("the tenant has %d connections: name one with --connection (rollcall sync connections)", len(cs))
	}
}

func (a *syncAPI) printJSON(m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, EmitUnpopulated: false}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.w(), string(b))
	return err
}

// syncAPIError words an API error for a terminal: the message and, for bad
// input, the field each violation names.
func syncAPIError(err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	msg := ce.Message()
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		b, jerr := protojson.Marshal(v)
		if jerr == nil && strings.Contains(string(b), "fieldViolations") && !strings.Contains(msg, "fieldViolations") {
			msg += " " + string(b)
		}
	}
	return fmt.Errorf("%s: %s", ce.Code(), msg)
}

func syncConnectionLine(c *syncv1.Connection) string {
	scope := "whole tenant"
	if c.GetCompanyId() != "" {
		scope = "company " + c.GetCompanyId()
	}
	status := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(c.GetStatus().String(), "CONNECTION_STATUS_"), "_", " "))
	return fmt.Sprintf("connection %s (%s): %s, 24SevenOffice, authority confirmed by %s", c.GetConnectionId(), scope, status, c.GetAuthorityConfirmedByUserId())
}

type syncConnectCmd struct {
	syncAPI          `embed:""`
	APIKey           string `name:"api-key" env:"ROLLCALL_ERP_API_KEY" required:"" help:"The API key generated in the ERP (24SevenOffice: Settings > Misc). Never printed."`
	ConfirmAuthority bool   `name:"confirm-authority" help:"Confirm that you have the authority to connect the two systems (required)."`
	Company          string `name:"company" help:"Connect one company of the tenant (its id) instead of the whole tenant."`
}

func (c *syncConnectCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	req := &syncv1.CreateConnectionRequest{TenantId: c.Tenant, ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: c.APIKey, AuthorityConfirmed: c.ConfirmAuthority}
	if c.Company != "" {
		req.CompanyId = &c.Company
	}
	res, err := c.client.CreateConnection(ctx, connect.NewRequest(req))
	if err != nil {
		return syncAPIError(err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	fmt.Fprintln(c.w(), "Connected:", syncConnectionLine(res.Msg.GetConnection()))
	fmt.Fprintln(c.w(), "Next: rollcall sync preview")
	return nil
}

type syncConnectionsCmd struct {
	syncAPI `embed:""`
}

func (c *syncConnectionsCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	res, err := c.client.ListConnections(ctx, connect.NewRequest(&syncv1.ListConnectionsRequest{TenantId: c.Tenant}))
	if err != nil {
		return syncAPIError(err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	for _, x := range res.Msg.GetConnections() {
		fmt.Fprintln(c.w(), syncConnectionLine(x))
	}
	if len(res.Msg.GetConnections()) == 0 {
		fmt.Fprintln(c.w(), "No ERP connection.")
	}
	return nil
}

type syncRotateKeyCmd struct {
	syncAPI          `embed:""`
	APIKey           string `name:"api-key" env:"ROLLCALL_ERP_API_KEY" required:"" help:"The new API key generated in the ERP."`
	ConfirmAuthority bool   `name:"confirm-authority" help:"Confirm again that you have the authority (required)."`
}

func (c *syncRotateKeyCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	id, err := c.connection(ctx)
	if err != nil {
		return err
	}
	res, err := c.client.RotateConnectionKey(ctx, connect.NewRequest(&syncv1.RotateConnectionKeyRequest{
		TenantId: c.Tenant, ConnectionId: id, ApiKey: c.APIKey, AuthorityConfirmed: c.ConfirmAuthority}))
	if err != nil {
		return syncAPIError(err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	fmt.Fprintln(c.w(), "Key replaced:", syncConnectionLine(res.Msg.GetConnection()))
	return nil
}

type syncDisconnectCmd struct {
	syncAPI `embed:""`
}

func (c *syncDisconnectCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	id, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if _, err := c.client.DeleteConnection(ctx, connect.NewRequest(&syncv1.DeleteConnectionRequest{TenantId: c.Tenant, ConnectionId: id})); err != nil {
		return syncAPIError(err)
	}
	fmt.Fprintln(c.w(), "Deleted connection", id)
	return nil
}

type syncPreviewCmd struct {
	syncAPI  `embed:""`
	Manual   bool   `name:"manual" help:"Preview a manual 'synchronize users' (the connection is active) instead of the first synchronisation."`
	MaxItems uint32 `name:"max-items" default:"50" help:"Show at most this many entries of each list (the counts are complete)."`
}

// syncFieldNames are the CLI's names of the HR fields.
var syncFieldNames = map[hrv1.EmployeeField]string{
	hrv1.EmployeeField_EMPLOYEE_FIELD_EMAIL: "email", hrv1.EmployeeField_EMPLOYEE_FIELD_GIVEN_NAME: "given-name",
	hrv1.EmployeeField_EMPLOYEE_FIELD_FAMILY_NAME: "family-name", hrv1.EmployeeField_EMPLOYEE_FIELD_PHONE: "phone",
	hrv1.EmployeeField_EMPLOYEE_FIELD_EMPLOYMENT_START_DATE: "start-date", hrv1.EmployeeField_EMPLOYEE_FIELD_EMPLOYMENT_END_DATE: "end-date",
	hrv1.EmployeeField_EMPLOYEE_FIELD_ADDRESS: "address", hrv1.EmployeeField_EMPLOYEE_FIELD_IDENTIFICATIONS: "identifications",
}

func syncWho(r *syncv1.EmployeeRef) string {
	var ids []string
	if r.GetEmployeeId() != "" {
		ids = append(ids, "HR "+r.GetEmployeeId())
	}
	if r.GetErpEmployeeId() != "" {
		ids = append(ids, "ERP "+r.GetErpEmployeeId())
	}
	return fmt.Sprintf("%s (%s)", r.GetEmail(), strings.Join(ids, ", "))
}

func (c *syncPreviewCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	id, err := c.connection(ctx)
	if err != nil {
		return err
	}
	var p *syncv1.PreviewFirstSyncResponse
	what := "first synchronisation"
	if c.Manual {
		what = "synchronize users"
		res, err := c.client.PreviewSynchronizeUsers(ctx, connect.NewRequest(&syncv1.PreviewSynchronizeUsersRequest{TenantId: c.Tenant, ConnectionId: id, MaxItems: c.MaxItems}))
		if err != nil {
			return syncAPIError(err)
		}
		raw, err := proto.Marshal(res.Msg) // the same fields as the first sync's answer
		if err != nil {
			return err
		}
		p = &syncv1.PreviewFirstSyncResponse{}
		if err := proto.Unmarshal(raw, p); err != nil {
			return err
		}
	} else {
		res, err := c.client.PreviewFirstSync(ctx, connect.NewRequest(&syncv1.PreviewFirstSyncRequest{TenantId: c.Tenant, ConnectionId: id, MaxItems: c.MaxItems}))
		if err != nil {
			return syncAPIError(err)
		}
		p = res.Msg
	}
	if c.JSON {
		return c.printJSON(p)
	}
	w := c.w()
	t := p.GetTotals()
	fmt.Fprintf(w, "Preview %s of the %s (nothing was changed; it can be applied until %s)\n", p.GetPreviewId(), what, p.GetExpiresAt().AsTime().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "HR has %d employees, 24SevenOffice %d: %d on both sides (%d equal, %d with conflicts), %d only in HR, %d only in 24SevenOffice.\n",
		t.GetHrEmployees(), t.GetErpEmployees(), t.GetMatched(), p.GetMatchedUnchanged(), t.GetEmployeesWithConflicts(), t.GetMissingInErp(), t.GetMissingInHr())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	section := func(title string, n uint32) { fmt.Fprintf(tw, "\n%s (%d)\n", title, n) }
	section("Conflicts", t.GetConflicts())
	for _, x := range p.GetConflicts() {
		fmt.Fprintf(tw, "  %s\t%s\tHR %q\tERP %q\n", syncWho(x.GetEmployee()), syncFieldNames[x.GetField()], x.GetHrValue(), x.GetErpValue())
	}
	section("Missing values", t.GetMissingValues())
	for _, x := range p.GetMissingValues() {
		where := "HR"
		if x.GetMissingOn() == syncv1.SyncSide_SYNC_SIDE_ERP {
			where = "ERP"
		}
		fmt.Fprintf(tw, "  %s\t%s\tmissing in %s\tthe other side has %q\n", syncWho(x.GetEmployee()), syncFieldNames[x.GetField()], where, x.GetPresentValue())
	}
	section("Only in HR", t.GetMissingInErp())
	for _, x := range p.GetMissingInErp() {
		fmt.Fprintf(tw, "  %s\t%s\n", syncWho(x), x.GetDisplayName())
	}
	section("Only in 24SevenOffice", t.GetMissingInHr())
	for _, x := range p.GetMissingInHr() {
		fmt.Fprintf(tw, "  %s\t%s\n", syncWho(x), x.GetDisplayName())
	}
	section("Rule violations", t.GetRuleViolations())
	for _, x := range p.GetRuleViolations() {
		kind := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(x.GetKind().String(), "RULE_VIOLATION_KIND_"), "_", " "))
		fmt.Fprintf(tw, "  %s\t%s %s\t%s\n", syncWho(x.GetEmployee()), kind, x.GetValue(), x.GetDetail())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p.GetTruncated() {
		fmt.Fprintf(w, "\n(lists cut at %d entries; --max-items shows more)\n", c.MaxItems)
	}
	manual := ""
	if c.Manual {
		manual = "--manual "
	}
	fmt.Fprintf(w, "\nNext: rollcall sync apply %s--preview %s --winner hr|erp [--add-to-erp] [--add-to-hr] [--missing fill|winner] [--resolve EMPLOYEE:FIELD=hr|erp ...]\n", manual, p.GetPreviewId())
	return nil
}

type syncApplyCmd struct {
	syncAPI  `embed:""`
	Preview  string        `name:"preview" required:"" help:"The preview your decisions are about."`
	Manual   bool          `name:"manual" help:"Apply a manual 'synchronize users' preview."`
	Winner   string        `name:"winner" required:"" enum:"hr,erp" help:"Which side wins conflicts: hr or erp."`
	Missing  string        `name:"missing" default:"fill" enum:"fill,winner" help:"Values set on one side only: fill (copy to the side that lacks them) or winner (the winner's state, clearing what it lacks)."`
	Resolve  []string      `name:"resolve" help:"A per-field exception, EMPLOYEE:FIELD=hr|erp (HR employee id; fields: email, given-name, family-name, phone, start-date, end-date, address, identifications); repeatable."`
	AddToERP bool          `name:"add-to-erp" help:"Create the employees only in HR in the ERP."`
	AddToHR  bool          `name:"add-to-hr" help:"Create the employees only in the ERP in HR."`
	ReportTo []string      `name:"report-to" help:"Who gets the report by email (default: you); repeatable."`
	Confirm  bool          `name:"confirm" help:"Go on at once should the run overwrite more employees than the threshold."`
	NoWait   bool          `name:"no-wait" help:"Start the run and return."`
	Interval time.Duration `name:"interval" default:"250ms" hidden:"" help:"How often to ask for progress."`
}

func syncSide(s string) syncv1.SyncSide {
	if s == "erp" {
		return syncv1.SyncSide_SYNC_SIDE_ERP
	}
	return syncv1.SyncSide_SYNC_SIDE_HR
}

func syncParseResolutions(in []string) ([]*syncv1.Resolution, error) {
	byName := map[string]hrv1.EmployeeField{}
	for f, n := range syncFieldNames {
		byName[n] = f
	}
	var out []*syncv1.Resolution
	for _, r := range in {
		emp, rest, ok1 := strings.Cut(r, ":")
		field, win, ok2 := strings.Cut(rest, "=")
		f, ok3 := byName[field]
		if !ok1 || !ok2 || !ok3 || (win != "hr" && win != "erp") || emp == "" {
			return nil, fmt.Errorf("--resolve %q: want EMPLOYEE:FIELD=hr|erp, FIELD one of email, given-name, family-name, phone, start-date, end-date, address, identifications", r)
		}
		out = append(out, &syncv1.Resolution{EmployeeId: emp, Field: f, Winner: syncSide(win)})
	}
	return out, nil
}

func (c *syncApplyCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	res, err := syncParseResolutions(c.Resolve)
	if err != nil {
		return err
	}
	id, err := c.connection(ctx)
	if err != nil {
		return err
	}
	missing := syncv1.MissingValues_MISSING_VALUES_FILL
	if c.Missing == "winner" {
		missing = syncv1.MissingValues_MISSING_VALUES_WINNER
	}
	var run *syncv1.SyncRun
	if c.Manual {
		r, err := c.client.SynchronizeUsers(ctx, connect.NewRequest(&syncv1.SynchronizeUsersRequest{
			TenantId: c.Tenant, ConnectionId: id, PreviewId: c.Preview, DefaultWinner: syncSide(c.Winner), Resolutions: res,
			MissingValues: missing, AddMissingToErp: c.AddToERP, AddMissingToHr: c.AddToHR, ReportRecipients: c.ReportTo}))
		if err != nil {
			return syncAPIError(err)
		}
		run = r.Msg.GetRun()
	} else {
		r, err := c.client.ApplyFirstSync(ctx, connect.NewRequest(&syncv1.ApplyFirstSyncRequest{
			TenantId: c.Tenant, ConnectionId: id, PreviewId: c.Preview, DefaultWinner: syncSide(c.Winner), Resolutions: res,
			MissingValues: missing, AddMissingToErp: c.AddToERP, AddMissingToHr: c.AddToHR, ReportRecipients: c.ReportTo}))
		if err != nil {
			return syncAPIError(err)
		}
		run = r.Msg.GetRun()
	}
	return syncFollow(ctx, &c.syncAPI, run, c.Confirm, c.NoWait, c.Interval)
}

// syncFollow reports a run until it ends: a progress bar on a terminal, a line
// at the end otherwise (or JSON). A run over the threshold is confirmed
// when confirm is set, or left waiting with what to do next.
func syncFollow(ctx context.Context, a *syncAPI, run *syncv1.SyncRun, confirm, noWait bool, every time.Duration) error {
	w := a.w()
	if run.GetStatus() == syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION {
		th := run.GetThreshold()
		if !confirm {
			if a.JSON {
				return a.printJSON(run)
			}
			fmt.Fprintf(w, "Run %s waits for your confirmation: it would overwrite or clear values of %d of %d employees, more than the %d%% threshold. Nothing was written.\n",
				run.GetRunId(), th.GetAffectedEmployees(), th.GetTotalEmployees(), th.GetThresholdPercent())
			fmt.Fprintf(w, "Go on: rollcall sync confirm %s    Or cancel: rollcall sync cancel %s\n", run.GetRunId(), run.GetRunId())
			return nil
		}
		res, err := a.client.ConfirmSyncRun(ctx, connect.NewRequest(&syncv1.ConfirmSyncRunRequest{TenantId: a.Tenant, RunId: run.GetRunId()}))
		if err != nil {
			return syncAPIError(err)
		}
		run = res.Msg.GetRun()
		if !a.JSON {
			fmt.Fprintf(w, "Confirmed: %d of %d employees will have values overwritten or cleared.\n", th.GetAffectedEmployees(), th.GetTotalEmployees())
		}
	}
	if noWait {
		if a.JSON {
			return a.printJSON(run)
		}
		fmt.Fprintf(w, "Run %s started; syncFollow it with: rollcall sync status %s\n", run.GetRunId(), run.GetRunId())
		return nil
	}
	bar := newSyncProgress(w, !a.JSON && syncIsTerminal(w))
	var last *syncv1.GetSyncRunResponse
	for {
		res, err := a.client.GetSyncRun(ctx, connect.NewRequest(&syncv1.GetSyncRunRequest{TenantId: a.Tenant, RunId: run.GetRunId()}))
		if err != nil {
			bar.done()
			return syncAPIError(err)
		}
		last = res.Msg
		r := last.GetRun()
		bar.show(r)
		if r.GetStatus() != syncv1.SyncRunStatus_SYNC_RUN_STATUS_RUNNING {
			break
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			bar.done()
			return ctx.Err()
		case <-t.C:
		}
	}
	bar.done()
	if a.JSON {
		return a.printJSON(last)
	}
	syncPrintRun(w, last)
	return nil
}

func syncPrintRun(w io.Writer, res *syncv1.GetSyncRunResponse) {
	r := res.GetRun()
	c := r.GetCounts()
	status := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(r.GetStatus().String(), "SYNC_RUN_STATUS_"), "_", " "))
	fmt.Fprintf(w, "Run %s: %s (%d of %d employees done)\n", r.GetRunId(), status, r.GetDone(), r.GetTotal())
	if r.GetError() != "" {
		fmt.Fprintf(w, "  stopped: %s\n", r.GetError())
	}
	fmt.Fprintf(w, "  created in 24SevenOffice %d, created in HR %d, updated in 24SevenOffice %d, updated in HR %d\n",
		c.GetCreatedInErp(), c.GetCreatedInHr(), c.GetUpdatedInErp(), c.GetUpdatedInHr())
	fmt.Fprintf(w, "  conflicts resolved %d, already equal %d, failed %d, skipped (rule violations) %d\n",
		c.GetConflicts(), c.GetUnchanged(), c.GetFailed(), c.GetSkipped())
	for _, f := range res.GetFailures() {
		reason := strings.ToLower(strings.TrimPrefix(f.GetReason().String(), "SYNC_FAILURE_REASON_"))
		fmt.Fprintf(w, "  failed: %s: %s: %s\n", syncWho(f.GetEmployee()), reason, f.GetMessage())
	}
	if len(r.GetReportRecipients()) > 0 && r.GetStatus() != syncv1.SyncRunStatus_SYNC_RUN_STATUS_RUNNING &&
		r.GetStatus() != syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION && r.GetStatus() != syncv1.SyncRunStatus_SYNC_RUN_STATUS_CANCELLED {
		fmt.Fprintf(w, "  the report was emailed to %s\n", strings.Join(r.GetReportRecipients(), ", "))
	}
}

// syncIsTerminal reports whether w is a character device (a terminal), where
// a progress bar can redraw itself.
func syncIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// syncProgress draws "[=====>     ]  45/120 employees" on one line.
type syncProgress struct {
	w     io.Writer
	draw  bool
	drawn bool
}

func newSyncProgress(w io.Writer, draw bool) *syncProgress { return &syncProgress{w: w, draw: draw} }

func (p *syncProgress) show(r *syncv1.SyncRun) {
	if !p.draw {
		return
	}
	const width = 30
	filled := width
	if r.GetTotal() > 0 {
		filled = int(r.GetDone()) * width / int(r.GetTotal())
	}
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	c := r.GetCounts()
	fmt.Fprintf(p.w, "\r[%s] %d/%d employees  created %d  updated %d  failed %d ", bar, r.GetDone(), r.GetTotal(),
		c.GetCreatedInErp()+c.GetCreatedInHr(), c.GetUpdatedInErp()+c.GetUpdatedInHr(), c.GetFailed())
	p.drawn = true
}

func (p *syncProgress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

type syncStatusCmd struct {
	syncAPI `embed:""`
	RunID   string `arg:"" name:"run" help:"The run."`
	Follow  bool   `name:"follow" short:"f" help:"Follow the run until it ends."`
}

func (c *syncStatusCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	res, err := c.client.GetSyncRun(ctx, connect.NewRequest(&syncv1.GetSyncRunRequest{TenantId: c.Tenant, RunId: c.RunID}))
	if err != nil {
		return syncAPIError(err)
	}
	if c.Follow {
		return syncFollow(ctx, &c.syncAPI, res.Msg.GetRun(), false, false, 250*time.Millisecond)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	syncPrintRun(c.w(), res.Msg)
	return nil
}

type syncConfirmCmd struct {
	syncAPI `embed:""`
	RunID   string `arg:"" name:"run" help:"The run waiting for confirmation."`
	NoWait  bool   `name:"no-wait" help:"Confirm and return."`
}

func (c *syncConfirmCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	res, err := c.client.GetSyncRun(ctx, connect.NewRequest(&syncv1.GetSyncRunRequest{TenantId: c.Tenant, RunId: c.RunID}))
	if err != nil {
		return syncAPIError(err)
	}
	if res.Msg.GetRun().GetStatus() != syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION {
		return fmt.Errorf("run %s does not wait for confirmation (%s)", c.RunID, res.Msg.GetRun().GetStatus())
	}
	return syncFollow(ctx, &c.syncAPI, res.Msg.GetRun(), true, c.NoWait, 250*time.Millisecond)
}

type syncCancelCmd struct {
	syncAPI `embed:""`
	RunID   string `arg:"" name:"run" help:"The run waiting for confirmation."`
}

func (c *syncCancelCmd) Run(ctx context.Context) error {
	if err := c.setup(); err != nil {
		return err
	}
	res, err := c.client.CancelSyncRun(ctx, connect.NewRequest(&syncv1.CancelSyncRunRequest{TenantId: c.Tenant, RunId: c.RunID}))
	if err != nil {
		return syncAPIError(err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	fmt.Fprintf(c.w(), "Run %s cancelled; nothing was written.\n", c.RunID)
	return nil
}

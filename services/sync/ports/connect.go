// Package ports translates between the outside world and the sync service's
// use cases: Connect handlers, event consumers and the HR webhook. It holds
// no rules; errors are mapped to Connect codes in one place (errors.go).
package ports

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/svcauth"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
)

// Connect serves rollcall.sync.v1.SyncService. Requests are validated by the
// platform's protovalidate interceptor before they reach it. Without Syncs
// (the connection API is not configured) every method answers
// CodeUnimplemented (from the embedded type).
type Connect struct {
	syncv1connect.UnimplementedSyncServiceHandler
	Syncs *app.Syncs
	Auth  app.Authenticator
	// Log receives the causes the answers leave out.
	Log *slog.Logger
}

var _ syncv1connect.SyncServiceHandler = (*Connect)(nil)

// NewConnect returns a handler that answers CodeUnimplemented (the
// connection API is off).
func NewConnect() *Connect { return &Connect{} }

func (c *Connect) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

func (c *Connect) fail(ctx context.Context, err error) error {
	var ue *app.UnavailableError
	if errors.As(err, &ue) {
		c.log().WarnContext(ctx, "a dependency failed", "dependency", ue.Dependency, "error", ue.Err)
	}
	return toConnect(ctx, c.log(), err)
}

// actor authenticates the caller; every method needs an administrator.
func (c *Connect) actor(ctx context.Context, h http.Header) (app.Actor, error) {
	if c.Syncs == nil || c.Auth == nil {
		return app.Actor{}, connect.NewError(connect.CodeUnimplemented, errors.New("the connection API is not configured on this deployment (IDENTITY_URL)"))
	}
	bearer := svcauth.Bearer(h)
	if bearer == "" {
		return app.Actor{}, connect.NewError(connect.CodeUnauthenticated, errors.New("a bearer token is required"))
	}
	a, err := c.Auth.Authenticate(ctx, bearer)
	if err != nil {
		return app.Actor{}, c.fail(ctx, err)
	}
	return a, nil
}

// CreateConnection implements step 2 of seed 004.
func (c *Connect) CreateConnection(ctx context.Context, req *connect.Request[syncv1.CreateConnectionRequest]) (*connect.Response[syncv1.CreateConnectionResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	conn, err := c.Syncs.CreateConnection(ctx, by, app.NewConnection{
		TenantID: m.GetTenantId(), CompanyID: m.GetCompanyId(), ERPSystem: erpSystem(m.GetErpSystem()),
		APIKey: m.GetApiKey(), AuthorityConfirmed: m.GetAuthorityConfirmed(),
	})
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&syncv1.CreateConnectionResponse{Connection: ConnectionToProto(conn)}), nil
}

// ListConnections lists the tenant's connections.
func (c *Connect) ListConnections(ctx context.Context, req *connect.Request[syncv1.ListConnectionsRequest]) (*connect.Response[syncv1.ListConnectionsResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	list, err := c.Syncs.ListConnections(ctx, by, req.Msg.GetTenantId())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	out := &syncv1.ListConnectionsResponse{}
	for _, conn := range list {
		out.Connections = append(out.Connections, ConnectionToProto(conn))
	}
	return connect.NewResponse(out), nil
}

// RotateConnectionKey replaces the API key.
func (c *Connect) RotateConnectionKey(ctx context.Context, req *connect.Request[syncv1.RotateConnectionKeyRequest]) (*connect.Response[syncv1.RotateConnectionKeyResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	conn, err := c.Syncs.RotateKey(ctx, by, m.GetTenantId(), m.GetConnectionId(), m.GetApiKey(), m.GetAuthorityConfirmed())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&syncv1.RotateConnectionKeyResponse{Connection: ConnectionToProto(conn)}), nil
}

// DeleteConnection removes a connection.
func (c *Connect) DeleteConnection(ctx context.Context, req *connect.Request[syncv1.DeleteConnectionRequest]) (*connect.Response[syncv1.DeleteConnectionResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	if err := c.Syncs.DeleteConnection(ctx, by, req.Msg.GetTenantId(), req.Msg.GetConnectionId()); err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&syncv1.DeleteConnectionResponse{}), nil
}

// PreviewFirstSync compares both sides before the first synchronisation.
func (c *Connect) PreviewFirstSync(ctx context.Context, req *connect.Request[syncv1.PreviewFirstSyncRequest]) (*connect.Response[syncv1.PreviewFirstSyncResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	p, err := c.Syncs.Preview(ctx, by, m.GetTenantId(), m.GetConnectionId(), app.KindFirstSync)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(PreviewToProto(p, int(m.GetMaxItems()))), nil
}

// PreviewSynchronizeUsers compares both sides before a manual sync.
func (c *Connect) PreviewSynchronizeUsers(ctx context.Context, req *connect.Request[syncv1.PreviewSynchronizeUsersRequest]) (*connect.Response[syncv1.PreviewSynchronizeUsersResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	p, err := c.Syncs.Preview(ctx, by, m.GetTenantId(), m.GetConnectionId(), app.KindManual)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	// The two answers have the same fields under the same numbers.
	raw, err := proto.Marshal(PreviewToProto(p, int(m.GetMaxItems())))
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	out := &syncv1.PreviewSynchronizeUsersResponse{}
	if err := proto.Unmarshal(raw, out); err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(out), nil
}

func resolutions(in []*syncv1.Resolution) []app.Resolution {
	out := make([]app.Resolution, len(in))
	for i, r := range in {
		out[i] = app.Resolution{HRID: r.GetEmployeeId(), Field: domain.Field(r.GetField()), Winner: domain.Side(r.GetWinner())}
	}
	return out
}

// ApplyFirstSync starts the first synchronisation with the admin's choices.
func (c *Connect) ApplyFirstSync(ctx context.Context, req *connect.Request[syncv1.ApplyFirstSyncRequest]) (*connect.Response[syncv1.ApplyFirstSyncResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	run, err := c.Syncs.Apply(ctx, by, m.GetTenantId(), m.GetConnectionId(), app.KindFirstSync, app.ApplyInput{
		PreviewID: m.GetPreviewId(), DefaultWinner: domain.Side(m.GetDefaultWinner()), Resolutions: resolutions(m.GetResolutions()),
		Missing: domain.MissingPolicy(m.GetMissingValues()), AddToERP: m.GetAddMissingToErp(), AddToHR: m.GetAddMissingToHr(),
		Recipients: m.GetReportRecipients(),
	})
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&syncv1.ApplyFirstSyncResponse{Run: RunToProto(run)}), nil
}

// SynchronizeUsers starts a manual sync on a preview.
func (c *Connect) SynchronizeUsers(ctx context.Context, req *connect.Request[syncv1.SynchronizeUsersRequest]) (*connect.Response[syncv1.SynchronizeUsersResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	run, err := c.Syncs.Apply(ctx, by, m.GetTenantId(), m.GetConnectionId(), app.KindManual, app.ApplyInput{
		PreviewID: m.GetPreviewId(), DefaultWinner: domain.Side(m.GetDefaultWinner()), Resolutions: resolutions(m.GetResolutions()),
		Missing: domain.MissingPolicy(m.GetMissingValues()), AddToERP: m.GetAddMissingToErp(), AddToHR: m.GetAddMissingToHr(),
		Recipients: m.GetReportRecipients(),
	})
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&syncv1.SynchronizeUsersResponse{Run: RunToProto(run)}), nil
}

// GetSyncRun returns a run's progress or result.
func (c *Connect) GetSyncRun(ctx context.Context, req *connect.Request[syncv1.GetSyncRunRequest]) (*connect.Response[syncv1.GetSyncRunResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	run, failures, err := c.Syncs.GetRun(ctx, by, req.Msg.GetTenantId(), req.Msg.GetRunId())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	out := &syncv1.GetSyncRunResponse{Run: RunToProto(run)}
	for _, f := range failures {
		out.Failures = append(out.Failures, &syncv1.RunFailure{
			Employee: &syncv1.EmployeeRef{EmployeeId: f.HRID, ErpEmployeeId: f.ERPID, Email: f.Email, DisplayName: f.Name},
			Reason:   syncv1.SyncFailureReason(f.Reason), Message: f.Message,
		})
	}
	return connect.NewResponse(out), nil
}

// ConfirmSyncRun lets a run over the threshold go on.
func (c *Connect) ConfirmSyncRun(ctx context.Context, req *connect.Request[syncv1.ConfirmSyncRunRequest]) (*connect.Response[syncv1.ConfirmSyncRunResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	run, err := c.Syncs.Confirm(ctx, by, req.Msg.GetTenantId(), req.Msg.GetRunId())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&syncv1.ConfirmSyncRunResponse{Run: RunToProto(run)}), nil
}

// CancelSyncRun cancels a run waiting for confirmation.
func (c *Connect) CancelSyncRun(ctx context.Context, req *connect.Request[syncv1.CancelSyncRunRequest]) (*connect.Response[syncv1.CancelSyncRunResponse], error) {
	by, err := c.actor(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	run, err := c.Syncs.Cancel(ctx, by, req.Msg.GetTenantId(), req.Msg.GetRunId())
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return connect.NewResponse(&syncv1.CancelSyncRunResponse{Run: RunToProto(run)}), nil
}

func erpSystem(s syncv1.ErpSystem) string {
	if s == syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE {
		return app.ERPSystem24SevenOffice
	}
	return s.String()
}

func ts(t interface{ IsZero() bool }) bool { return !t.IsZero() }

// ConnectionToProto is a connection in the contract's terms (never its key).
func ConnectionToProto(c app.Connection) *syncv1.Connection {
	out := &syncv1.Connection{
		ConnectionId: c.ID, TenantId: c.TenantID, ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE,
		CreatedAt: timestamppb.New(c.CreatedAt), AuthorityConfirmedByUserId: c.AuthorityBy, CompanyId: c.CompanyID,
		AuthorityConfirmedAt: timestamppb.New(c.AuthorityAt),
	}
	switch c.Status {
	case app.ConnPending:
		out.Status = syncv1.ConnectionStatus_CONNECTION_STATUS_PENDING_FIRST_SYNC
	case app.ConnActive:
		out.Status = syncv1.ConnectionStatus_CONNECTION_STATUS_ACTIVE
	case app.ConnDisabled:
		out.Status = syncv1.ConnectionStatus_CONNECTION_STATUS_DISABLED
	}
	if ts(c.KeyRotatedAt) {
		out.KeyRotatedAt = timestamppb.New(c.KeyRotatedAt)
	}
	return out
}

// RunToProto is a run in the contract's terms. A run whose employees are
// done and whose report is on its way is still RUNNING.
func RunToProto(r app.Run) *syncv1.SyncRun {
	out := &syncv1.SyncRun{
		RunId: r.ID, TenantId: r.TenantID, ConnectionId: r.ConnectionID, Kind: postgres.KindProto(r.Kind),
		Status: postgres.RunStatusProto(r.Status), Counts: postgres.CountsProto(r.Counts), StartedAt: timestamppb.New(r.StartedAt),
		ReportRecipients: r.Recipients, Total: uint32(r.Total), Done: uint32(r.Done), PreviewId: r.PreviewID,
		Error: r.Error, StartedByUserId: r.StartedBy,
		Threshold: &syncv1.RunThreshold{
			AffectedEmployees: uint32(r.Affected), TotalEmployees: uint32(r.ThresholdTotal), ThresholdPercent: uint32(r.ThresholdPercent),
			Confirmed: r.ConfirmedBy != "", ConfirmedByUserId: r.ConfirmedBy,
		},
	}
	if r.Status != app.RunRunning && r.Status != app.RunReporting && r.Status != app.RunAwaiting && ts(r.CompletedAt) {
		out.CompletedAt = timestamppb.New(r.CompletedAt)
	}
	return out
}

// DefaultMaxItems is the length of each list in a preview answer unless
// the request says.
const DefaultMaxItems = 1000

func ref(it *domain.Item) *syncv1.EmployeeRef {
	r := &syncv1.EmployeeRef{Email: it.Email(), DisplayName: it.Name()}
	if it.HR != nil {
		r.EmployeeId = it.HR.ID
	}
	if it.ERP != nil {
		r.ErpEmployeeId = it.ERP.ID
	}
	return r
}

// PreviewToProto is a preview in the contract's terms, each list cut at
// maxItems (0: DefaultMaxItems).
func PreviewToProto(p app.Preview, maxItems int) *syncv1.PreviewFirstSyncResponse {
	if maxItems <= 0 {
		maxItems = DefaultMaxItems
	}
	t := p.Totals
	out := &syncv1.PreviewFirstSyncResponse{
		PreviewId: p.ID, MatchedUnchanged: uint32(t.Unchanged), ExpiresAt: timestamppb.New(p.ExpiresAt),
		Totals: &syncv1.PreviewTotals{
			HrEmployees: uint32(t.HR), ErpEmployees: uint32(t.ERP), Matched: uint32(t.Matched), Conflicts: uint32(t.Conflicts),
			EmployeesWithConflicts: uint32(t.EmployeesWithConflicts), MissingValues: uint32(t.MissingValues),
			MissingInErp: uint32(t.MissingInERP), MissingInHr: uint32(t.MissingInHR), RuleViolations: uint32(t.Violations),
		},
	}
	full := func(n int) bool {
		if n >= maxItems {
			out.Truncated = true
			return true
		}
		return false
	}
	items := p.Comparison.Items
	for i := range items {
		it := &items[i]
		if it.Flags&domain.FlagSkip != 0 {
			continue
		}
		switch it.Kind {
		case domain.HROnly:
			if !full(len(out.MissingInErp)) {
				out.MissingInErp = append(out.MissingInErp, ref(it))
			}
		case domain.ERPOnly:
			if !full(len(out.MissingInHr)) {
				out.MissingInHr = append(out.MissingInHr, ref(it))
			}
		case domain.Matched:
			h, e := it.HRValues(), it.ERPValues()
			for _, d := range domain.Differences(&h, &e) {
				f := hrv1.EmployeeField(d.Field)
				switch d.Kind {
				case domain.Conflict:
					if !full(len(out.Conflicts)) {
						out.Conflicts = append(out.Conflicts, &syncv1.Conflict{Employee: ref(it), Field: f, HrValue: h.Show(d.Field), ErpValue: e.Show(d.Field)})
					}
				case domain.MissingInHR:
					if !full(len(out.MissingValues)) {
						out.MissingValues = append(out.MissingValues, &syncv1.MissingValue{Employee: ref(it), Field: f,
							MissingOn: syncv1.SyncSide_SYNC_SIDE_HR, PresentValue: e.Show(d.Field)})
					}
				case domain.MissingInERP:
					if !full(len(out.MissingValues)) {
						out.MissingValues = append(out.MissingValues, &syncv1.MissingValue{Employee: ref(it), Field: f,
							MissingOn: syncv1.SyncSide_SYNC_SIDE_ERP, PresentValue: h.Show(d.Field)})
					}
				}
			}
		}
	}
	for _, v := range p.Comparison.Violations {
		if full(len(out.RuleViolations)) {
			break
		}
		out.RuleViolations = append(out.RuleViolations, &syncv1.RuleViolation{
			Kind: syncv1.RuleViolationKind(v.Kind), Employee: ref(&items[v.Item]), Field: hrv1.EmployeeField(v.Field),
			Value: v.Value, Detail: v.Detail,
		})
	}
	return out
}

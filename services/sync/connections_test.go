package syncsvc_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/bus"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/internal/synctest"
	"rollcall.dev/services/sync/keyring"
)

// logBuffer collects every log line of a stack, safely for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func connections(t *testing.T, r *synctest.Runs, tn synctest.Tenant) []*syncv1.Connection {
	t.Helper()
	res, err := r.API.ListConnections(context.Background(), synctest.Req(tn.Token, &syncv1.ListConnectionsRequest{TenantId: tn.ID}))
	require.NoError(t, err)
	return res.Msg.GetConnections()
}

func countRows(t *testing.T, r *synctest.Runs, table string) int {
	t.Helper()
	var n int
	require.NoError(t, r.Pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n))
	return n
}

func TestConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logs := &logBuffer{}
	r := synctest.NewRuns(t, synctest.RunOptions{Options: synctest.Options{Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}})
	createIn := func(r *synctest.Runs, tn synctest.Tenant, key string, confirmed bool, company string) (*syncv1.Connection, error) {
		req := &syncv1.CreateConnectionRequest{TenantId: tn.ID, ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: key, AuthorityConfirmed: confirmed}
		if company != "" {
			req.CompanyId = &company
		}
		res, err := r.API.CreateConnection(ctx, synctest.Req(tn.Token, req))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetConnection(), nil
	}
	create := func(tn synctest.Tenant, key string, confirmed bool, company string) (*syncv1.Connection, error) {
		return createIn(r, tn, key, confirmed, company)
	}

	t.Run("WithoutTheAuthorityConfirmedNothingIsSaved", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		_, err := create(tn, tn.APIKey, false, "")
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Contains(t, err.Error(), "authority_confirmed")
		require.Empty(t, connections(t, r, tn))
	})
	t.Run("AKeyTheERPRefusesIsAClearFieldErrorAndNothingIsSaved", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		wrong := "wrong-key-" + synctest.Unique() + "-0123456789"
		_, err := create(tn, wrong, true, "")
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Equal(t, "api_key", fieldViolation(t, err))
		require.Contains(t, err.Error(), "the ERP refused this API key")
		require.Contains(t, err.Error(), "nothing was saved")
		require.NotContains(t, err.Error(), wrong)
		require.Empty(t, connections(t, r, tn))
		require.NotContains(t, logs.String(), wrong)
	})
	t.Run("AnERPThatDoesNotAnswerIsUnavailableAndNothingIsSaved", func(t *testing.T) {
		t.Parallel()
		// A stack of its own, whose ERP is nowhere to be reached.
		r := synctest.NewRuns(t, synctest.RunOptions{NoExecutor: true})
		tn := r.NewTenant(t)
		r.Syncs.ERP = synctest.Dialer{BaseURL: "http://127.0.0.1:1", Timeout: time.Second}
		_, err := createIn(r, tn, tn.APIKey, true, "")
		require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err))
		require.Contains(t, err.Error(), "the ERP is unavailable; nothing was changed")
		require.NotContains(t, err.Error(), "127.0.0.1", "the dependency is named, not its address")
		require.Zero(t, countRows(t, r, "connections"))
	})
	t.Run("TheKeyIsSealedNeverReturnedNeverLogged", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		c, err := create(tn, tn.APIKey, true, "")
		require.NoError(t, err)
		require.Equal(t, syncv1.ConnectionStatus_CONNECTION_STATUS_PENDING_FIRST_SYNC, c.GetStatus())
		require.Equal(t, tn.ID, c.GetTenantId())
		require.Equal(t, r.Identity.UserOf(tn.Token), c.GetAuthorityConfirmedByUserId())
		require.NotContains(t, c.String(), tn.APIKey)
		var (
			version int
			sealed  []byte
		)
		require.NoError(t, r.Pool.QueryRow(ctx, `SELECT key_version, key_sealed FROM connections WHERE id = $1`, c.GetConnectionId()).Scan(&version, &sealed))
		require.Equal(t, 1, version)
		require.False(t, bytes.Contains(sealed, []byte(tn.APIKey)))
		for _, x := range connections(t, r, tn) {
			require.NotContains(t, x.String(), tn.APIKey)
		}
		require.NotContains(t, logs.String(), tn.APIKey)
		require.Contains(t, logs.String(), c.GetConnectionId(), "the log names the connection")
	})
	t.Run("OnePerTenantOrOnePerCompanyNotBoth", func(t *testing.T) {
		t.Parallel()
		c1, c2 := "3f1c5a2e-0000-4000-8000-00000000c001", "3f1c5a2e-0000-4000-8000-00000000c002"
		whole := r.NewTenant(t)
		r.Identity.AddCompany(whole.ID, c1, "Fjord AS")
		_, err := create(whole, whole.APIKey, true, "")
		require.NoError(t, err)
		_, err = create(whole, whole.APIKey, true, "")
		require.Equal(t, connect.CodeAlreadyExists, connect.CodeOf(err))
		_, err = create(whole, whole.APIKey, true, c1)
		require.Equal(t, connect.CodeAlreadyExists, connect.CodeOf(err), "not a company beside the whole tenant")

		split := r.NewTenant(t)
		r.Identity.AddCompany(split.ID, c1, "Fjord AS")
		r.Identity.AddCompany(split.ID, c2, "Fjell AS")
		first, err := create(split, split.APIKey, true, c1)
		require.NoError(t, err)
		require.Equal(t, c1, first.GetCompanyId())
		_, err = create(split, split.APIKey, true, c1)
		require.Equal(t, connect.CodeAlreadyExists, connect.CodeOf(err))
		_, err = create(split, r.Sim.NewAPIKey(split.Account+"-2"), true, c2)
		require.NoError(t, err)
		_, err = create(split, split.APIKey, true, "")
		require.Equal(t, connect.CodeAlreadyExists, connect.CodeOf(err), "not the whole tenant beside its companies")
		require.Len(t, connections(t, r, split), 2)
	})
	t.Run("ACompanyTheTenantDoesNotHaveIsAFieldErrorAndNothingIsSaved", func(t *testing.T) {
		t.Parallel()
		tn, other := r.NewTenant(t), r.NewTenant(t)
		mine, theirs := "3f1c5a2e-0000-4000-8000-0000000000a1", "3f1c5a2e-0000-4000-8000-0000000000b1"
		r.Identity.AddCompany(tn.ID, mine, "Fjord AS")
		r.Identity.AddCompany(other.ID, theirs, "Annen AS")
		for _, company := range []string{"3f1c5a2e-0000-4000-8000-0000000000ff", theirs} {
			// A key the ERP would refuse: the company is checked before the
			// key goes to the ERP.
			_, err := create(tn, "wrong-key-"+synctest.Unique()+"-0123456789", true, company)
			require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), company)
			require.Equal(t, "company_id", fieldViolation(t, err))
			require.Contains(t, err.Error(), "the tenant has no company with this id; nothing was saved")
			require.Contains(t, err.Error(), "Fjord AS ("+mine+")", "the tenant's companies are named")
			require.NotContains(t, err.Error(), "Annen AS", "another tenant's are not")
		}
		require.Empty(t, connections(t, r, tn))

		none := r.NewTenant(t)
		_, err := create(none, none.APIKey, true, mine)
		require.Equal(t, "company_id", fieldViolation(t, err))
		require.Contains(t, err.Error(), "the tenant has no companies: connect the whole tenant instead")
		require.Empty(t, connections(t, r, none))

		c, err := create(tn, tn.APIKey, true, mine)
		require.NoError(t, err, "a company of the tenant is connected")
		require.Equal(t, mine, c.GetCompanyId())
	})
	t.Run("OnlyAMainAdministratorOfTheTenant", func(t *testing.T) {
		t.Parallel()
		tn, other := r.NewTenant(t), r.NewTenant(t)
		c, err := create(other, other.APIKey, true, "")
		require.NoError(t, err)
		superuser := r.Identity.Token(tn.ID, identityv1.Role_ROLE_SUPERUSER, "su@example.com")
		_, err = r.API.CreateConnection(ctx, synctest.Req(superuser, &syncv1.CreateConnectionRequest{TenantId: tn.ID, ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: tn.APIKey, AuthorityConfirmed: true}))
		require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
		_, err = r.API.ListConnections(ctx, synctest.Req(tn.Token, &syncv1.ListConnectionsRequest{TenantId: other.ID}))
		require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err), "a token is for one tenant")
		_, err = r.API.DeleteConnection(ctx, synctest.Req(tn.Token, &syncv1.DeleteConnectionRequest{TenantId: tn.ID, ConnectionId: c.GetConnectionId()}))
		require.NoError(t, err, "deleting what is not there is not an error...")
		require.Len(t, connections(t, r, other), 1, "...and another tenant's connection is untouched")
		_, err = r.API.PreviewFirstSync(ctx, synctest.Req(tn.Token, &syncv1.PreviewFirstSyncRequest{TenantId: tn.ID, ConnectionId: c.GetConnectionId()}))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
		_, err = r.API.RotateConnectionKey(ctx, synctest.Req(tn.Token, &syncv1.RotateConnectionKeyRequest{TenantId: tn.ID, ConnectionId: c.GetConnectionId(), ApiKey: tn.APIKey, AuthorityConfirmed: true}))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
		_, err = r.API.ListConnections(ctx, synctest.Req("", &syncv1.ListConnectionsRequest{TenantId: tn.ID}))
		require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))
		_, err = r.API.ListConnections(ctx, synctest.Req("rc_not_a_token", &syncv1.ListConnectionsRequest{TenantId: tn.ID}))
		require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))
	})
	t.Run("IdentityDownIsUnavailable", func(t *testing.T) {
		t.Parallel()
		r := synctest.NewRuns(t, synctest.RunOptions{NoExecutor: true})
		tn := r.NewTenant(t)
		r.Identity.SetDown(true)
		_, err := createIn(r, tn, tn.APIKey, true, "")
		require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err))
		require.Contains(t, err.Error(), "identity is unavailable")
		require.Zero(t, countRows(t, r, "connections"))
	})
	t.Run("RotateChecksTheNewKeyFirstThenRealTimeUsesIt", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		c, err := create(tn, tn.APIKey, true, "")
		require.NoError(t, err)
		activate(t, r, tn, c.GetConnectionId())
		rotate := func(key string) (*syncv1.Connection, error) {
			res, err := r.API.RotateConnectionKey(ctx, synctest.Req(tn.Token, &syncv1.RotateConnectionKeyRequest{
				TenantId: tn.ID, ConnectionId: c.GetConnectionId(), ApiKey: key, AuthorityConfirmed: true}))
			if err != nil {
				return nil, err
			}
			return res.Msg.GetConnection(), nil
		}
		var sealedBefore []byte
		require.NoError(t, r.Pool.QueryRow(ctx, `SELECT key_sealed FROM connections WHERE id = $1`, c.GetConnectionId()).Scan(&sealedBefore))
		_, err = rotate("refused-key-0123456789abcdef")
		require.Equal(t, "api_key", fieldViolation(t, err))
		// The authority is confirmed again for a new key.
		_, err = r.API.RotateConnectionKey(ctx, synctest.Req(tn.Token, &syncv1.RotateConnectionKeyRequest{
			TenantId: tn.ID, ConnectionId: c.GetConnectionId(), ApiKey: r.Sim.NewAPIKey(tn.Account)}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Contains(t, err.Error(), "authority_confirmed")
		var sealedAfter []byte
		require.NoError(t, r.Pool.QueryRow(ctx, `SELECT key_sealed FROM connections WHERE id = $1`, c.GetConnectionId()).Scan(&sealedAfter))
		require.Equal(t, sealedBefore, sealedAfter, "neither refusal changed the key")

		newKey := r.Sim.NewAPIKey(tn.Account)
		rotated, err := rotate(newKey)
		require.NoError(t, err)
		require.NotNil(t, rotated.GetKeyRotatedAt())
		r.Sim.RevokeAPIKey(tn.APIKey) // the admin deletes the old key in the ERP
		ev := synctest.Created(tn.ID, "emp-rot-"+synctest.Unique(), 1, "rot."+synctest.Unique()+"@example.com", "Rita", "Rotert")
		r.Publish(t, ev)
		require.Eventually(t, func() bool {
			_, ok := r.Sim.Account(tn.Account).EmployeeByEmail(ev.GetEmail().GetNewValue())
			return ok
		}, wait, 10*time.Millisecond, "the new key reaches the ERP")
		require.NotContains(t, logs.String(), newKey)
	})
	t.Run("DeleteRemovesTheConnectionItsLinksAndStopsRealTime", func(t *testing.T) {
		t.Parallel()
		tn := r.NewTenant(t)
		c, err := create(tn, tn.APIKey, true, "")
		require.NoError(t, err)
		_, err = r.HR.Put(tn.ID, hrUser("del."+synctest.Unique()+"@example.com", "Dag", "Del"))
		require.NoError(t, err)
		activate(t, r, tn, c.GetConnectionId())
		var links int
		require.NoError(t, r.Pool.QueryRow(ctx, `SELECT count(*) FROM employees WHERE connection_id = $1`, c.GetConnectionId()).Scan(&links))
		require.Equal(t, 1, links)
		_, err = r.API.DeleteConnection(ctx, synctest.Req(tn.Token, &syncv1.DeleteConnectionRequest{TenantId: tn.ID, ConnectionId: c.GetConnectionId()}))
		require.NoError(t, err)
		require.Empty(t, connections(t, r, tn))
		require.NoError(t, r.Pool.QueryRow(ctx, `SELECT count(*) FROM employees WHERE connection_id = $1`, c.GetConnectionId()).Scan(&links))
		require.Zero(t, links)
		_, err = r.API.DeleteConnection(ctx, synctest.Req(tn.Token, &syncv1.DeleteConnectionRequest{TenantId: tn.ID, ConnectionId: c.GetConnectionId()}))
		require.NoError(t, err, "twice is not an error")
		// A change of the tenant now has no ERP to go to: dead-lettered.
		r.Connections.Forget(tn.ID)
		ev := synctest.Updated(tn.ID, "emp-gone", 1)
		ev.Phone = &hrv1.PhoneChange{NewValue: ptr("+4790000000")}
		r.Publish(t, ev)
		requireDeadLettered(t, r.Stack, "emp-gone")
	})
	t.Run("ARotatedEncryptionKeyReseals", func(t *testing.T) {
		t.Parallel()
		r := synctest.NewRuns(t, synctest.RunOptions{NoExecutor: true})
		tn := r.NewTenant(t)
		c := r.Connect(t, tn)
		rotated, err := keyring.Parse("2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=," + synctest.TestKeys)
		require.NoError(t, err)
		r.Store.Keys = rotated
		n, err := r.Store.Reseal(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		var version int
		require.NoError(t, r.Pool.QueryRow(ctx, `SELECT key_version FROM connections WHERE id = $1`, c.GetConnectionId()).Scan(&version))
		require.Equal(t, 2, version)
		only2, err := keyring.Parse("2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=")
		require.NoError(t, err)
		r.Store.Keys = only2
		_, key, err := r.Store.ConnectionKey(ctx, tn.ID, c.GetConnectionId())
		require.NoError(t, err)
		require.Equal(t, tn.APIKey, key, "opens with the new version alone")
		n, err = r.Store.Reseal(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// activate runs a first synchronisation (HR wins, both sides added) so the
// connection is active.
func activate(t *testing.T, r *synctest.Runs, tn synctest.Tenant, connID string) *syncv1.GetSyncRunResponse {
	t.Helper()
	ctx := context.Background()
	p, err := r.API.PreviewFirstSync(ctx, synctest.Req(tn.Token, &syncv1.PreviewFirstSyncRequest{TenantId: tn.ID, ConnectionId: connID}))
	require.NoError(t, err)
	res, err := r.API.ApplyFirstSync(ctx, synctest.Req(tn.Token, &syncv1.ApplyFirstSyncRequest{TenantId: tn.ID, ConnectionId: connID,
		PreviewId: p.Msg.GetPreviewId(), DefaultWinner: syncv1.SyncSide_SYNC_SIDE_HR, AddMissingToErp: true, AddMissingToHr: true}))
	require.NoError(t, err)
	if res.Msg.GetRun().GetStatus() == syncv1.SyncRunStatus_SYNC_RUN_STATUS_AWAITING_CONFIRMATION {
		_, err := r.API.ConfirmSyncRun(ctx, synctest.Req(tn.Token, &syncv1.ConfirmSyncRunRequest{TenantId: tn.ID, RunId: res.Msg.GetRun().GetRunId()}))
		require.NoError(t, err)
	}
	out := r.WaitRun(t, tn, res.Msg.GetRun().GetRunId(), synctest.Finished)
	require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, out.GetRun().GetStatus())
	return out
}

// requireDeadLettered waits for a FieldChanged of employee in the
// dead-letter stream.
func requireDeadLettered(t *testing.T, s *synctest.Stack, employee string) bus.DeadLetter {
	t.Helper()
	var found bus.DeadLetter
	require.Eventually(t, func() bool {
		dls, err := bus.ListDeadLetters(context.Background(), s.NATS.JS, 1, 100)
		if err != nil {
			return false
		}
		for _, d := range dls {
			if strings.Contains(d.OriginalSubject, ".employee."+employee+".") {
				found = d
				return true
			}
		}
		return false
	}, wait, 20*time.Millisecond, "dead letter of %s", employee)
	return found
}

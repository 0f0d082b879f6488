package synctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/pkg/notify/mailsink"
	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/svcauth"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"
	"rollcall.dev/services/sync/adapters/identity"
	"rollcall.dev/services/sync/adapters/report"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/hr/hrapi"
	"rollcall.dev/services/sync/hrsim"
	"rollcall.dev/services/sync/ports"
)

// ServiceToken is the token the stack's identity stand-in accepts from the
// sync service.
const ServiceToken = "sync-test-service-token-0123456789abcdef"

// HRToken is the token the stand-in HR system accepts.
const HRToken = "hr-test-token-0123456789"

// RunOptions tune NewRuns.
type RunOptions struct {
	Options
	// Threshold in percent (default 20).
	Threshold int
	// Lease of a run (default 2s).
	Lease time.Duration
	// NoExecutor leaves the executor stopped (the test drives it).
	NoExecutor bool
	// Reporter replaces the mail sink's (e.g. a mailer that fails).
	Reporter app.Reporter
}

// Runs is a Stack with the connection API, previews, runs and their
// executor: the stand-in HR system, a mail sink for the reports, an
// identity stand-in for the admins' tokens, and the Connect API over real
// HTTP.
type Runs struct {
	*Stack
	HR       *hrsim.Server
	HRURL    string
	HRClient *hrapi.Client
	Mail     *mailsink.Sink
	Identity *IdentityStandIn
	Syncs    *app.Syncs
	Exec     *app.Executor
	API      syncv1connect.SyncServiceClient
	APIURL   string
}

// NewRuns starts a Runs stack; everything stops when the test ends.
func NewRuns(t testing.TB, o RunOptions) *Runs {
	t.Helper()
	o.Connections = true
	if o.Lease <= 0 {
		o.Lease = 2 * time.Second
	}
	r := &Runs{Stack: New(t, o.Options)}
	ctx := context.Background()

	r.HR = hrsim.New(hrsim.Options{Tokens: []string{HRToken}})
	hrSrv := httptest.NewServer(r.HR)
	t.Cleanup(hrSrv.Close)
	r.HRURL = hrSrv.URL
	hrc, err := hrapi.New(hrapi.Config{BaseURL: hrSrv.URL, Token: HRToken, Timeout: 5 * time.Second, PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	r.HRClient = hrc

	r.Mail, err = mailsink.Start(ctx, mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Mail.Close(context.Background()) })
	host, port := r.Mail.SMTPHostPort()
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{Host: host, Port: port, TLS: notify.TLSNone, From: "Rollcall <no-reply@rollcall.test>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var reporter app.Reporter = &report.Mailer{Mail: mailer}
	if o.Reporter != nil {
		reporter = o.Reporter
	}

	dialer := Dialer{BaseURL: r.SimURL, Timeout: r.ERPTimeout}
	r.Exec = &app.Executor{
		Runs: r.Store, Connections: r.Store, ERP: dialer, HR: hrc, Reporter: reporter, Log: r.Log,
		Lease: o.Lease, Concurrency: 4, Batch: 16, Poll: 50 * time.Millisecond,
		BackoffBase: 50 * time.Millisecond, BackoffMax: 400 * time.Millisecond, MaxAttempts: 4, Activated: r.Prop.Kick,
	}
	r.Syncs = &app.Syncs{
		Connections: r.Store, Runs: r.Store, ERP: dialer, HR: hrc, Resolver: r.Connections,
		ThresholdPercent: o.Threshold, Kick: r.Exec.Kick, Log: r.Log,
	}
	if !o.NoExecutor {
		if err := r.Exec.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = r.Exec.Stop(sctx)
		})
	}

	// identity, as the sync service calls it: over Connect with its
	// service token.
	r.Identity = NewIdentityStandIn()
	tokens, err := svcauth.ParseTokens(ServiceToken)
	if err != nil {
		t.Fatal(err)
	}
	ipath, ih := identityv1connect.NewInternalServiceHandler(r.Identity, connect.WithInterceptors(svcauth.Require(tokens)))
	imux := http.NewServeMux()
	imux.Handle(ipath, ih)
	idSrv := httptest.NewServer(imux)
	t.Cleanup(idSrv.Close)
	idc, err := svcauth.NewClient(idSrv.URL, ServiceToken, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	opts, err := server.HandlerOptions()
	if err != nil {
		t.Fatal(err)
	}
	idClient := identity.New(idc)
	r.Syncs.Tenants = idClient
	path, h := syncv1connect.NewSyncServiceHandler(&ports.Connect{Syncs: r.Syncs, Auth: idClient, Log: r.Log}, opts...)
	mux := http.NewServeMux()
	mux.Handle(path, h)
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	r.APIURL = api.URL
	r.API = syncv1connect.NewSyncServiceClient(http.DefaultClient, api.URL)
	return r
}

// IdentityStandIn answers InternalService.Authenticate for the tokens it
// issued, and DescribeTenant for their tenants (language and companies, as
// the tests set them).
type IdentityStandIn struct {
	identityv1connect.UnimplementedInternalServiceHandler
	mu      sync.Mutex
	tokens  map[string]*identityv1.Principal
	tenants map[string]*identityv1.DescribeTenantResponse
	// undescribed tenants get UNAVAILABLE from DescribeTenant.
	undescribed map[string]bool
	down        bool
}

// FailDescribeTenant makes DescribeTenant of the tenant answer UNAVAILABLE
// (Authenticate still answers).
func (i *IdentityStandIn) FailDescribeTenant(tenantID string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.undescribed[tenantID] = true
}

func (i *IdentityStandIn) tenant(tenantID string) *identityv1.DescribeTenantResponse {
	t, ok := i.tenants[tenantID]
	if !ok {
		t = &identityv1.DescribeTenantResponse{TenantId: tenantID, Name: "Tenant " + tenantID[:8], Language: "en"}
		i.tenants[tenantID] = t
	}
	return t
}

// AddCompany gives the tenant a company.
func (i *IdentityStandIn) AddCompany(tenantID, companyID, name string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	t := i.tenant(tenantID)
	t.Companies = append(t.Companies, &identityv1.TenantCompany{Id: companyID, Name: name})
}

// SetLanguage sets the tenant's communication language (default "en").
func (i *IdentityStandIn) SetLanguage(tenantID, lang string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.tenant(tenantID).Language = lang
}

// DescribeTenant implements the stand-in: NOT_FOUND for a tenant it issued
// no token for.
func (i *IdentityStandIn) DescribeTenant(_ context.Context, req *connect.Request[identityv1.DescribeTenantRequest]) (*connect.Response[identityv1.DescribeTenantResponse], error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.down || i.undescribed[req.Msg.GetTenantId()] {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("identity is down"))
	}
	t, ok := i.tenants[req.Msg.GetTenantId()]
	if !ok {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("no such tenant"))
	}
	return connect.NewResponse(proto.Clone(t).(*identityv1.DescribeTenantResponse)), nil
}

// SetDown makes every call fail as if identity were unavailable.
func (i *IdentityStandIn) SetDown(down bool) {
	i.mu.Lock()
	i.down = down
	i.mu.Unlock()
}

// NewIdentityStandIn returns a stand-in with no tokens.
func NewIdentityStandIn() *IdentityStandIn {
	return &IdentityStandIn{tokens: map[string]*identityv1.Principal{}, tenants: map[string]*identityv1.DescribeTenantResponse{},
		undescribed: map[string]bool{}}
}

// Token issues a bearer token for a user of tenant with role.
func (i *IdentityStandIn) Token(tenantID string, role identityv1.Role, email string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := "rc_test_" + hex.EncodeToString(b[:])
	uid := newUUID()
	i.mu.Lock()
	i.tokens[tok] = &identityv1.Principal{TenantId: tenantID, UserId: uid, Name: "Kari Admin", Email: email, Role: role,
		Kind: identityv1.UserKind_USER_KIND_PERSON}
	i.tenant(tenantID)
	i.mu.Unlock()
	return tok
}

// UserOf names the user a token was issued for.
func (i *IdentityStandIn) UserOf(tok string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.tokens[tok].GetUserId()
}

// Authenticate implements the stand-in.
func (i *IdentityStandIn) Authenticate(_ context.Context, req *connect.Request[identityv1.AuthenticateRequest]) (*connect.Response[identityv1.AuthenticateResponse], error) {
	i.mu.Lock()
	p, ok := i.tokens[req.Msg.GetToken()]
	down := i.down
	i.mu.Unlock()
	if down {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("identity is down"))
	}
	if !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("the token is not valid"))
	}
	return connect.NewResponse(&identityv1.AuthenticateResponse{Principal: p}), nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Req is msg with an admin's bearer token.
func Req[T any](token string, msg *T) *connect.Request[T] {
	r := connect.NewRequest(msg)
	if token != "" {
		r.Header().Set("Authorization", "Bearer "+token)
	}
	return r
}

// Tenant is a tenant with a main administrator and an ERP account of its
// own in the stand-in.
type Tenant struct {
	ID, Token, Email, Account, APIKey string
}

// NewTenant makes a tenant, its admin's token and an ERP account with a
// fresh API key.
func (r *Runs) NewTenant(t testing.TB) Tenant {
	t.Helper()
	tn := Tenant{ID: newUUID(), Email: "admin." + Unique() + "@example.com"}
	tn.Token = r.Identity.Token(tn.ID, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, tn.Email)
	tn.Account = "acct-" + tn.ID
	tn.APIKey = r.Sim.NewAPIKey(tn.Account)
	return tn
}

// Connect creates tn's connection over the API (for the whole tenant).
func (r *Runs) Connect(t testing.TB, tn Tenant) *syncv1.Connection {
	t.Helper()
	res, err := r.API.CreateConnection(context.Background(), Req(tn.Token, &syncv1.CreateConnectionRequest{
		TenantId: tn.ID, ErpSystem: syncv1.ErpSystem_ERP_SYSTEM_24SEVENOFFICE, ApiKey: tn.APIKey, AuthorityConfirmed: true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	return res.Msg.GetConnection()
}

// WaitRun polls the run until done(run) holds.
func (r *Runs) WaitRun(t testing.TB, tn Tenant, runID string, done func(*syncv1.SyncRun) bool) *syncv1.GetSyncRunResponse {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := r.API.GetSyncRun(context.Background(), Req(tn.Token, &syncv1.GetSyncRunRequest{TenantId: tn.ID, RunId: runID}))
		if err != nil {
			t.Fatal(err)
		}
		if done(res.Msg.GetRun()) {
			return res.Msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: still %v after 30s (done %d of %d)", runID, res.Msg.GetRun().GetStatus(), res.Msg.GetRun().GetDone(), res.Msg.GetRun().GetTotal())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Finished is a run that ended (not running, not waiting) and whose report
// went out.
func Finished(r *syncv1.SyncRun) bool {
	switch r.GetStatus() {
	case syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, syncv1.SyncRunStatus_SYNC_RUN_STATUS_PARTIALLY_FAILED,
		syncv1.SyncRunStatus_SYNC_RUN_STATUS_FAILED:
		return true
	}
	return false
}

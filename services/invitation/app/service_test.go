package app_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"rollcall.dev/pkg/testkit"
	"rollcall.dev/services/invitation/adapters/postgres"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
	"rollcall.dev/services/invitation/migrations"

	_ "rollcall.dev/proto/gen/rollcall/invitation/v1" // registers the event types
)

const partnerID = "3f2a7c1e-9b4d-4e8a-a1c2-5d6e7f8a9b0c"

// directory is the tenant structure a test sets up (the identity service's
// answers, issue 4).
type directory struct {
	tenants map[string]app.Tenant
	known   map[string]bool // scope ids that exist
}

func (d *directory) Tenant(_ context.Context, id string) (app.Tenant, error) {
	t, ok := d.tenants[id]
	if !ok {
		return app.Tenant{}, app.ErrUnknownTenant
	}
	return t, nil
}

func (d *directory) UnknownScopeIDs(_ context.Context, _ string, s domain.Scope) (map[string][]string, error) {
	out := map[string][]string{}
	check := func(field string, sel *domain.Selection) {
		if sel == nil {
			return
		}
		for _, id := range sel.IDs {
			if !d.known[id] {
				out[field] = append(out[field], id)
			}
		}
	}
	check("organisations", s.Organisations)
	check("customers", s.Customers)
	check("cost_centres", s.CostCentres)
	check("product_categories", s.ProductCategories)
	return out, nil
}

type partners map[string]string

func (p partners) CheckPartner(_ context.Context, email string) (string, error) { return p[email], nil }

type credentials struct {
	mu    sync.Mutex
	fail  error
	calls []string // user ids
}

func (c *credentials) SetInitialPassword(_ context.Context, _, userID, _, password string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.calls = append(c.calls, userID+":"+password)
	return nil
}

type sent struct {
	inv  string
	tok  domain.Token
	code domain.Code
}

type notifier struct {
	mu   sync.Mutex
	fail error
	log  []sent
}

func (n *notifier) Invitation(_ context.Context, _ app.Tenant, inv *domain.Invitation, tok domain.Token, code domain.Code) error {
	return n.add(sent{inv.ID, tok, code})
}

func (n *notifier) Code(_ context.Context, _ app.Tenant, inv *domain.Invitation, code domain.Code) error {
	return n.add(sent{inv: inv.ID, code: code})
}

func (n *notifier) add(s sent) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		return n.fail
	}
	n.log = append(n.log, s)
	return nil
}

func (n *notifier) last(t *testing.T, inv string) sent {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.log) - 1; i >= 0; i-- {
		if n.log[i].inv == inv {
			return n.log[i]
		}
	}
	t.Fatalf("nothing sent for %s", inv)
	return sent{}
}

type bundle struct {
	svc   *app.Service
	pool  *pgxpool.Pool
	store *postgres.Store
	note  *notifier
	creds *credentials
	clock *time.Time
	admin domain.Actor
	org   string
}

func setup(t testing.TB) bundle {
	t.Helper()
	pool := testkit.NewDB(t, migrations.FS)
	store := postgres.New(pool, "/rollcall/invitation")
	tenant, org := uuid.NewString(), uuid.NewString()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	b := bundle{pool: pool, store: store, note: &notifier{}, creds: &credentials{}, clock: &now, org: org,
		admin: domain.Actor{TenantID: tenant, UserID: uuid.NewString(), Name: "Ada Admin", Email: "ada@example.com",
			Role: domain.RoleMainAdministrator, Grants: domain.Grants{Level: domain.LevelMainAdministrator}}}
	b.svc = &app.Service{
		Store: store,
		Directory: &directory{
			tenants: map[string]app.Tenant{tenant: {ID: tenant, Name: "Nordlys AS", Language: "nb", Areas: []string{"support", "invoices"}, Packages: []string{"payroll"}}},
			known:   map[string]bool{org: true},
		},
		Partners:    partners{"partner@integrator.example": partnerID},
		Credentials: b.creds,
		Notifier:    b.note,
		Key:         domain.CodeKey(strings.Repeat("k", 32)),
		Now:         func() time.Time { return *b.clock },
	}
	return b
}

func (b bundle) member() domain.NewInvitation {
	return domain.NewInvitation{
		TenantID: b.admin.TenantID, Kind: domain.KindMember, Origin: domain.OriginUserAdministration,
		FirstName: "Kari", LastName: "Nordmann", Email: "kari@example.com", Mobile: "+4791234567",
		CodeDelivery: domain.CodeBySMS,
		Grants: domain.Grants{Level: domain.LevelCustom, Areas: []string{"support"},
			Scope: domain.Scope{Organisations: &domain.Selection{IDs: []string{b.org}}}},
	}
}

func (b bundle) events(t *testing.T) []string {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT event_type, payload FROM rollcall_outbox ORDER BY id`)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var typ string
		var payload []byte
		require.NoError(t, rows.Scan(&typ, &payload))
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(typ))
		require.NoError(t, err)
		m := mt.New().Interface()
		require.NoError(t, proto.Unmarshal(payload, m))
		require.NoError(t, protovalidate.Validate(m), "%s must pass its own contract", typ)
		out = append(out, strings.TrimPrefix(typ, "rollcall.invitation.v1."))
	}
	return out
}

func requireField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *domain.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, field, fe.Field)
}

func TestCreate(t *testing.T) {
	t.Parallel()

	t.Run("DeliversLinkAndCodeAndRecordsUserInvited", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		inv, err := b.svc.Create(context.Background(), b.admin, b.member())
		require.NoError(t, err)
		s := b.note.last(t, inv.ID)
		require.NotEmpty(t, s.tok)
		require.Len(t, string(s.code), 6)
		require.Equal(t, "nb", inv.Language, "the tenant's language by default")
		require.Equal(t, []string{"UserInvited"}, b.events(t))
	})

	t.Run("AKnownAdditionalPackage", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := b.member()
		f.Grants.Packages = &domain.Packages{Additional: []string{"payroll"}}
		inv, err := b.svc.Create(context.Background(), b.admin, f)
		require.NoError(t, err)
		require.Equal(t, []string{"payroll"}, inv.Grants.Packages.Additional)
	})

	t.Run("RefusesWithTheFieldAndWritesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		cases := map[string]struct {
			mutate func(*domain.NewInvitation)
			field  string
		}{
			"UnknownArea": {func(f *domain.NewInvitation) { f.Grants.Areas = []string{"payroll"} }, "grants.permission_areas[0]"},
			"UnknownPackage": {func(f *domain.NewInvitation) {
				f.Grants.Packages = &domain.Packages{Additional: []string{"payroll", "crm"}}
			}, "grants.access_packages.additional_packages[1]"},
			"UnknownOrganisation": {func(f *domain.NewInvitation) { f.Grants.Scope.Organisations.IDs = []string{uuid.NewString()} }, "grants.scope.organisations"},
			"MalformedEmail":      {func(f *domain.NewInvitation) { f.Email = "kari@@example" }, "email"},
			"MalformedMobile":     {func(f *domain.NewInvitation) { f.Mobile = "0047 912" }, "mobile"},
			"NotAPartner": {func(f *domain.NewInvitation) {
				f.Kind, f.Email, f.CodeDelivery, f.Grants = domain.KindIntegrator, "someone@else.example", domain.CodeNone, domain.Grants{Level: domain.LevelMainAdministrator}
			}, "email"},
		}
		for name, tc := range cases {
			f := b.member()
			tc.mutate(&f)
			_, err := b.svc.Create(ctx, b.admin, f)
			require.Error(t, err, name)
			requireField(t, err, tc.field)
		}
		require.Empty(t, b.events(t))
	})

	t.Run("LifetimeOutOfRangeIsRefusedByTheSettings", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		require.Error(t, b.store.SetLifetime(ctx, b.admin.TenantID, 31*24*time.Hour), "the table checks the range too")
		require.NoError(t, b.store.SetLifetime(ctx, b.admin.TenantID, 2*time.Hour))
		inv, err := b.svc.Create(ctx, b.admin, b.member())
		require.NoError(t, err)
		require.Equal(t, b.clock.Add(2*time.Hour), inv.ExpiresAt)
	})

	t.Run("WhoMayInvite", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		user := b.admin
		user.Role = domain.RoleUser
		_, err := b.svc.Create(ctx, user, b.member())
		require.ErrorIs(t, err, domain.ErrForbidden)
		other := b.admin
		other.TenantID = uuid.NewString()
		_, err = b.svc.Create(ctx, other, b.member())
		require.ErrorIs(t, err, app.ErrUnknownTenant, "an admin of another tenant")
		narrow := b.admin
		narrow.Role = domain.RoleSuperuser
		narrow.Grants = domain.Grants{Level: domain.LevelCustom, Areas: []string{"invoices"}}
		_, err = b.svc.Create(ctx, narrow, b.member())
		require.ErrorIs(t, err, domain.ErrForbidden, "support is not his to grant")
		require.Empty(t, b.events(t))
	})

	t.Run("FailedDeliveryLeavesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.note.fail = errors.New("smtp 451")
		_, err := b.svc.Create(context.Background(), b.admin, b.member())
		require.ErrorContains(t, err, "451")
		require.Empty(t, b.events(t))
		list, err := b.store.List(context.Background(), b.admin.TenantID, postgres.ListFilter{Limit: 10})
		require.NoError(t, err)
		require.Empty(t, list)
	})

	t.Run("OlderIntegratorInvitationsStayUntilThePolicyReplaces", func(t *testing.T) {
		t.Parallel()
		// A limit above one, or "the admin chooses", keeps several open:
		// only integrator-policy's IntegratorReplaced supersedes.
		b := setup(t)
		ctx := context.Background()
		f := integratorForm(b)
		first, err := b.svc.Create(ctx, b.admin, f)
		require.NoError(t, err)
		require.Equal(t, partnerID, first.PartnerID)
		*b.clock = b.clock.Add(time.Second)
		_, err = b.svc.Create(ctx, b.admin, f)
		require.NoError(t, err)
		got, err := b.svc.Get(ctx, b.admin, b.admin.TenantID, first.ID)
		require.NoError(t, err)
		require.Equal(t, domain.StatusPending, got.Status)
		require.Equal(t, []string{"UserInvited", "UserInvited"}, b.events(t))
	})

	t.Run("AnIntegratorTryingToCreateAnAdministratorIsRecorded", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pol := &policy{}
		b.svc.Policy = pol
		ctx := context.Background()
		integrator := b.admin
		integrator.UserID, integrator.Integrator = uuid.NewString(), true
		f := b.member()
		f.Grants = domain.Grants{Level: domain.LevelMainAdministrator}
		_, err := b.svc.Create(ctx, integrator, f)
		requireField(t, err, "grants.permission_level")
		require.ErrorIs(t, err, domain.ErrForbidden)
		require.Equal(t, []string{b.admin.TenantID + "/" + integrator.UserID}, pol.asked, "integrator-policy was asked, so it records the denial")

		pol.down = true // no answer: still refused, by the domain
		_, err = b.svc.Create(ctx, integrator, f)
		require.ErrorIs(t, err, domain.ErrForbidden)

		_, err = b.svc.Create(ctx, integrator, b.member())
		require.NoError(t, err, "a custom-level invitation is not a guarded action")
		_, err = b.svc.Create(ctx, b.admin, f)
		require.NoError(t, err, "an ordinary main administrator is not asked about")
		require.Len(t, pol.asked, 2)
		require.Equal(t, []string{"UserInvited", "UserInvited"}, b.events(t))
	})
}

// policy stands in for integrator-policy's CheckAction: every integrator
// is refused the creation of administrators.
type policy struct {
	mu    sync.Mutex
	asked []string
	down  bool
}

func (p *policy) MayCreateAdministrator(_ context.Context, tenantID, actorUserID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, tenantID+"/"+actorUserID)
	if p.down {
		return app.Unavailable("integrator-policy", errors.New("connection refused"))
	}
	return domain.Forbidden("grants.permission_level", "an integrator may not create administrators")
}

func integratorForm(b bundle) domain.NewInvitation {
	return domain.NewInvitation{TenantID: b.admin.TenantID, Kind: domain.KindIntegrator, Origin: domain.OriginUserAdministration,
		Email: "partner@integrator.example", CodeDelivery: domain.CodeNone, Grants: domain.Grants{Level: domain.LevelMainAdministrator}}
}

func TestInvitee(t *testing.T) {
	t.Parallel()

	t.Run("WrongCodeCountsThenTheRightOneAccepts", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		inv, err := b.svc.Create(ctx, b.admin, b.member())
		require.NoError(t, err)
		s := b.note.last(t, inv.ID)
		opened, err := b.svc.Open(ctx, s.tok)
		require.NoError(t, err)
		require.Equal(t, inv.ID, opened.ID)
		wrong := domain.Code("000000")
		if s.code == wrong {
			wrong = "111111"
		}
		var wc *domain.WrongCodeError
		require.ErrorAs(t, b.svc.VerifyCode(ctx, s.tok, wrong), &wc)
		require.Equal(t, 4, wc.AttemptsLeft)
		require.ErrorAs(t, b.svc.VerifyCode(ctx, s.tok, wrong), &wc)
		require.Equal(t, 3, wc.AttemptsLeft, "the first wrong attempt was saved")

		got, err := b.svc.Accept(ctx, app.AcceptForm{Token: s.tok, Code: s.code, Method: domain.LoginBankID, ExternalSubject: "bankid:19800101"})
		require.NoError(t, err)
		require.Equal(t, app.NewUserID(inv.ID), got.UserID)
		require.Equal(t, []string{"UserInvited", "InviteAccepted"}, b.events(t))

		_, err = b.svc.Accept(ctx, app.AcceptForm{Token: s.tok, Code: s.code, Method: domain.LoginBankID, ExternalSubject: "x"})
		require.ErrorIs(t, err, domain.ErrInvalidToken, "a replayed link")
	})

	t.Run("BadLinksAllLookAlike", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		inv, err := b.svc.Create(ctx, b.admin, b.member())
		require.NoError(t, err)
		s := b.note.last(t, inv.ID)
		unknown, _ := domain.NewToken()
		for name, tok := range map[string]domain.Token{"Unknown": unknown, "Garbage": "%%%"} {
			_, err := b.svc.Open(ctx, tok)
			require.ErrorIs(t, err, domain.ErrInvalidToken, name)
		}
		*b.clock = inv.ExpiresAt.Add(time.Second)
		_, err = b.svc.Open(ctx, s.tok)
		require.ErrorIs(t, err, domain.ErrInvalidToken, "expired")
		require.Equal(t, domain.ErrInvalidToken.Error(), err.Error(), "same words as an unknown link")
	})

	t.Run("FiveWrongCodesLockUntilTheInviterIssuesANewCode", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		inv, err := b.svc.Create(ctx, b.admin, b.member())
		require.NoError(t, err)
		s := b.note.last(t, inv.ID)
		wrong := domain.Code("000000")
		if s.code == wrong {
			wrong = "111111"
		}
		for range domain.MaxCodeAttempts - 1 {
			require.ErrorIs(t, b.svc.VerifyCode(ctx, s.tok, wrong), domain.ErrWrongCode)
		}
		_, err = b.svc.Accept(ctx, app.AcceptForm{Token: s.tok, Code: wrong, Method: domain.LoginBankID, ExternalSubject: "b"})
		require.ErrorIs(t, err, domain.ErrLocked)
		require.ErrorIs(t, b.svc.RequestCode(ctx, s.tok), domain.ErrLocked)
		require.Equal(t, []string{"UserInvited", "InviteLocked"}, b.events(t))

		_, err = b.svc.IssueCode(ctx, b.admin, inv.TenantID, inv.ID)
		require.NoError(t, err)
		fresh := b.note.last(t, inv.ID).code
		_, err = b.svc.Accept(ctx, app.AcceptForm{Token: s.tok, Code: fresh, Method: domain.LoginExisting, ExistingUserID: uuid.NewString()})
		require.NoError(t, err)
	})

	t.Run("IntegrationUserSetsAPasswordBeforeTheAcceptanceCommits", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		f := domain.NewInvitation{TenantID: b.admin.TenantID, Kind: domain.KindIntegration, Origin: domain.OriginClientAdministration,
			FirstName: "Klarna", LastName: "Integrasjon", Email: "klarna@selskapepost.example", CodeDelivery: domain.CodeNone,
			Grants: domain.Grants{Level: domain.LevelCustom, Packages: &domain.Packages{IntegrationUser: true, AllAdditionalPackages: true}}}
		inv, err := b.svc.Create(ctx, b.admin, f)
		require.NoError(t, err)
		tok := b.note.last(t, inv.ID).tok

		_, err = b.svc.Accept(ctx, app.AcceptForm{Token: tok, Method: domain.LoginPassword, Password: "short"})
		requireField(t, err, "password")
		b.creds.fail = errors.New("identity unavailable")
		_, err = b.svc.Accept(ctx, app.AcceptForm{Token: tok, Method: domain.LoginPassword, Password: "correct horse battery"})
		require.ErrorContains(t, err, "identity unavailable")
		require.Equal(t, []string{"UserInvited"}, b.events(t), "not accepted without a password")

		b.creds.fail = nil
		got, err := b.svc.Accept(ctx, app.AcceptForm{Token: tok, Method: domain.LoginPassword, Password: "correct horse battery"})
		require.NoError(t, err)
		require.Equal(t, []string{app.NewUserID(inv.ID) + ":correct horse battery"}, b.creds.calls)
		require.Equal(t, app.NewUserID(inv.ID), got.UserID)
	})

	t.Run("AnIntegratorAcceptsWithHisNameAndAValidEvent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		f := domain.NewInvitation{TenantID: b.admin.TenantID, Kind: domain.KindIntegrator, Origin: domain.OriginUserAdministration,
			Email: "partner@integrator.example", CodeDelivery: domain.CodeNone, Grants: domain.Grants{Level: domain.LevelMainAdministrator}}
		inv, err := b.svc.Create(ctx, b.admin, f)
		require.NoError(t, err)
		tok := b.note.last(t, inv.ID).tok
		_, err = b.svc.Accept(ctx, app.AcceptForm{Token: tok, Method: domain.LoginProviderProfile, ExternalSubject: "bitrix24:77"})
		requireField(t, err, "first_name")
		_, err = b.svc.Accept(ctx, app.AcceptForm{Token: tok, Method: domain.LoginProviderProfile, ExternalSubject: "bitrix24:77", FirstName: "Ivan", LastName: "Petrov"})
		require.NoError(t, err)
		require.Equal(t, []string{"UserInvited", "InviteAccepted"}, b.events(t), "and events() validated InviteAccepted against its contract")
	})

	t.Run("ResendKillsTheOldLink", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		inv, err := b.svc.Create(ctx, b.admin, b.member())
		require.NoError(t, err)
		old := b.note.last(t, inv.ID)
		_, err = b.svc.Resend(ctx, b.admin, inv.TenantID, inv.ID, nil)
		require.NoError(t, err)
		fresh := b.note.last(t, inv.ID)
		require.NotEqual(t, old.tok, fresh.tok)
		_, err = b.svc.Open(ctx, old.tok)
		require.ErrorIs(t, err, domain.ErrInvalidToken)
		_, err = b.svc.Accept(ctx, app.AcceptForm{Token: fresh.tok, Code: fresh.code, Method: domain.LoginProviderProfile, ExternalSubject: "telia:1"})
		require.NoError(t, err)
	})

	t.Run("NewCodeRequestsAreRateLimited", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		inv, err := b.svc.Create(ctx, b.admin, b.member())
		require.NoError(t, err)
		tok := b.note.last(t, inv.ID).tok
		require.ErrorIs(t, b.svc.RequestCode(ctx, tok), domain.ErrRateLimited)
		*b.clock = b.clock.Add(time.Minute)
		require.NoError(t, b.svc.RequestCode(ctx, tok))
		require.ErrorIs(t, b.svc.RequestCode(ctx, tok), domain.ErrRateLimited)
	})

	t.Run("ConcurrentAcceptsOneWinner", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		inv, err := b.svc.Create(ctx, b.admin, b.member())
		require.NoError(t, err)
		s := b.note.last(t, inv.ID)
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := b.svc.Accept(ctx, app.AcceptForm{Token: s.tok, Code: s.code, Method: domain.LoginBankID, ExternalSubject: "b"})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		var ok int
		for err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, domain.ErrInvalidToken)
			}
		}
		require.Equal(t, 1, ok)
	})
}

func TestAdministration(t *testing.T) {
	t.Parallel()

	t.Run("ManagingAnInvitationTakesTheRightToHaveSentIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		f := b.member()
		f.Grants = domain.Grants{Level: domain.LevelMainAdministrator}
		inv, err := b.svc.Create(ctx, b.admin, f)
		require.NoError(t, err)
		narrow := b.admin
		narrow.Role = domain.RoleSuperuser
		narrow.Grants = domain.Grants{Level: domain.LevelCustom, Areas: []string{"support"}}
		_, err = b.svc.Revoke(ctx, narrow, inv.TenantID, inv.ID)
		require.ErrorIs(t, err, domain.ErrForbidden)
		_, err = b.svc.Resend(ctx, narrow, inv.TenantID, inv.ID, nil)
		require.ErrorIs(t, err, domain.ErrForbidden)
		_, err = b.svc.IssueCode(ctx, narrow, inv.TenantID, inv.ID)
		require.ErrorIs(t, err, domain.ErrForbidden)
		require.Equal(t, []string{"UserInvited"}, b.events(t))
	})

	t.Run("NonAdministratorsLearnNothingAboutPartners", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		user := b.admin
		user.Role = domain.RoleUser
		f := domain.NewInvitation{TenantID: b.admin.TenantID, Kind: domain.KindIntegrator, Origin: domain.OriginUserAdministration,
			Email: "someone@else.example", CodeDelivery: domain.CodeNone, Grants: domain.Grants{Level: domain.LevelMainAdministrator}}
		_, err := b.svc.Create(context.Background(), user, f)
		require.ErrorIs(t, err, domain.ErrForbidden, "refused before the registry is asked")
	})

	t.Run("ResendKeepsTheInvitationsOwnLifetime", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		inv, err := b.svc.CreateWithLifetime(ctx, b.admin, b.member(), 3*time.Hour)
		require.NoError(t, err)
		*b.clock = b.clock.Add(time.Hour)
		got, err := b.svc.Resend(ctx, b.admin, inv.TenantID, inv.ID, nil)
		require.NoError(t, err)
		require.Equal(t, b.clock.Add(3*time.Hour), got.ExpiresAt)
	})

	t.Run("DependencyFailuresAreUnavailableAndWriteNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.note.fail = errors.New("dial tcp: connection refused")
		_, err := b.svc.Create(context.Background(), b.admin, b.member())
		require.ErrorIs(t, err, app.ErrUnavailable)
		require.Empty(t, b.events(t))
	})

	t.Run("AMissingCodeKeyIsAConfigurationError", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.svc.Key = nil
		_, err := b.svc.Create(context.Background(), b.admin, b.member())
		require.ErrorIs(t, err, app.ErrMisconfigured)
	})

	t.Run("SweepExpiresAndRecords", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		inv, err := b.svc.Create(ctx, b.admin, b.member())
		require.NoError(t, err)
		n, err := b.svc.Sweep(ctx, 100)
		require.NoError(t, err)
		require.Zero(t, n)
		*b.clock = inv.ExpiresAt
		n, err = b.svc.Sweep(ctx, 100)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, []string{"UserInvited", "InviteExpired"}, b.events(t))
		n, err = b.svc.Sweep(ctx, 100)
		require.NoError(t, err)
		require.Zero(t, n, "once")
	})

	t.Run("RevokeAndTenantIsolation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		inv, err := b.svc.Create(ctx, b.admin, b.member())
		require.NoError(t, err)
		stranger := b.admin
		stranger.TenantID = uuid.NewString()
		_, err = b.svc.Revoke(ctx, stranger, inv.TenantID, inv.ID)
		require.ErrorIs(t, err, app.ErrNotFound)
		_, err = b.svc.Get(ctx, stranger, inv.TenantID, inv.ID)
		require.ErrorIs(t, err, app.ErrNotFound)
		got, err := b.svc.Revoke(ctx, b.admin, inv.TenantID, inv.ID)
		require.NoError(t, err)
		require.Equal(t, domain.StatusRevoked, got.Status)
		_, err = b.svc.Revoke(ctx, b.admin, inv.TenantID, inv.ID)
		require.ErrorIs(t, err, domain.ErrNotPending)
		require.True(t, slices.Equal([]string{"UserInvited", "InviteRevoked"}, b.events(t)))
	})

	t.Run("IntegratorReplacedRevokesOnlyOlderIntegratorInvitations", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		older, err := b.svc.Create(ctx, b.admin, integratorForm(b))
		require.NoError(t, err)
		*b.clock = b.clock.Add(time.Second)
		replacing, err := b.svc.Create(ctx, b.admin, integratorForm(b))
		require.NoError(t, err)
		*b.clock = b.clock.Add(time.Second)
		newer, err := b.svc.Create(ctx, b.admin, integratorForm(b))
		require.NoError(t, err)
		status := func(id string) domain.Status {
			got, err := b.svc.Get(ctx, b.admin, b.admin.TenantID, id)
			require.NoError(t, err)
			return got.Status
		}

		require.NoError(t, b.svc.IntegratorReplaced(ctx, b.admin.TenantID, replacing.ID))
		got, err := b.svc.Get(ctx, b.admin, b.admin.TenantID, older.ID)
		require.NoError(t, err)
		require.Equal(t, domain.StatusRevoked, got.Status)
		require.Equal(t, domain.RevokedIntegratorReplaced, got.RevokeReason)
		require.Equal(t, replacing.ID, got.SupersededBy)
		require.Equal(t, domain.StatusPending, status(replacing.ID))
		require.Equal(t, domain.StatusPending, status(newer.ID), "a late or replayed event never kills the admin's newer invitation")

		require.NoError(t, b.svc.IntegratorReplaced(ctx, b.admin.TenantID, replacing.ID), "redelivery is harmless")
		require.NoError(t, b.svc.IntegratorReplaced(ctx, b.admin.TenantID, uuid.NewString()), "an unknown invitation revokes nothing")
		require.NoError(t, b.svc.IntegratorReplaced(ctx, uuid.NewString(), newer.ID), "nor does another tenant's id")
		require.Equal(t, domain.StatusPending, status(newer.ID))
		require.Equal(t, []string{"UserInvited", "UserInvited", "UserInvited", "InviteRevoked"}, b.events(t))
	})
}

package domain_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/invitation/domain"
)

var (
	key  = domain.CodeKey(strings.Repeat("k", 32))
	t0   = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	orgA = "00000000-0000-4000-8000-00000000000a"
	orgB = "00000000-0000-4000-8000-00000000000b"
)

func admin() domain.Actor {
	return domain.Actor{UserID: "u-admin", Name: "Ada Admin", Email: "ada@example.com", Role: domain.RoleMainAdministrator,
		Grants: domain.Grants{Level: domain.LevelMainAdministrator}}
}

func memberForm() domain.NewInvitation {
	return domain.NewInvitation{
		ID: "inv-1", TenantID: "t-1", Kind: domain.KindMember, Origin: domain.OriginUserAdministration,
		FirstName: "Kari", LastName: "Nordmann", Email: "kari@example.com", Mobile: "+4791234567",
		CodeDelivery: domain.CodeBySMS, Language: "nb",
		Grants: domain.Grants{Level: domain.LevelCustom, Areas: []string{"support", "invoices"},
			Scope: domain.Scope{Organisations: &domain.Selection{IDs: []string{orgA}}}},
	}
}

type created struct {
	inv  *domain.Invitation
	tok  domain.Token
	code domain.Code
}

func create(t *testing.T, form domain.NewInvitation, by domain.Actor) created {
	t.Helper()
	inv, err := domain.Create(form, by, domain.Policy{}, key, t0)
	require.NoError(t, err)
	evs := inv.Events()
	require.Len(t, evs, 1)
	ev := evs[0].(domain.Invited)
	return created{inv: inv, tok: ev.Token, code: ev.Code}
}

func TestCreate(t *testing.T) {
	t.Parallel()

	t.Run("MemberGetsALinkAndAnSMSCode", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		require.Equal(t, domain.StatusPending, c.inv.Status)
		require.Len(t, string(c.tok), 43, "256 bits, base64url")
		require.Len(t, string(c.code), 6)
		require.Equal(t, t0.Add(7*24*time.Hour), c.inv.ExpiresAt, "default lifetime 7 days")
		require.Equal(t, t0.Add(10*time.Minute), c.inv.CodeExpiresAt)
		require.NotContains(t, string(c.inv.TokenHash), string(c.tok), "only the hash is kept")
		require.True(t, c.tok.Matches(c.inv.TokenHash))
	})

	t.Run("TokensAndCodesAreRandom", func(t *testing.T) {
		t.Parallel()
		seen := map[domain.Token]bool{}
		digits := map[byte]int{}
		for range 200 {
			c := create(t, memberForm(), admin())
			require.False(t, seen[c.tok])
			seen[c.tok] = true
			for i := range len(c.code) {
				digits[c.code[i]]++
			}
		}
		require.Len(t, digits, 10, "every digit appears in 1200 draws")
	})

	t.Run("LifetimeIsTheTenantsWithinLimits", func(t *testing.T) {
		t.Parallel()
		inv, err := domain.Create(memberForm(), admin(), domain.Policy{Lifetime: time.Hour}, key, t0)
		require.NoError(t, err)
		require.Equal(t, t0.Add(time.Hour), inv.ExpiresAt)
		for _, l := range []time.Duration{time.Hour - time.Second, 30*24*time.Hour + time.Second, -time.Hour} {
			_, err := domain.Create(memberForm(), admin(), domain.Policy{Lifetime: l}, key, t0)
			requireField(t, err, domain.ErrInvalid, "lifetime")
		}
		_, err = domain.Create(memberForm(), admin(), domain.Policy{Lifetime: 30 * 24 * time.Hour}, key, t0)
		require.NoError(t, err)
	})

	t.Run("RefusesBadForms", func(t *testing.T) {
		t.Parallel()
		for name, tc := range map[string]struct {
			mutate func(*domain.NewInvitation)
			field  string
		}{
			"MalformedEmail":      {func(f *domain.NewInvitation) { f.Email = "kari@" }, "email"},
			"EmailWithName":       {func(f *domain.NewInvitation) { f.Email = "Kari <kari@example.com>" }, "email"},
			"MalformedMobile":     {func(f *domain.NewInvitation) { f.Mobile = "91234567" }, "mobile"},
			"MobileNeededForSMS":  {func(f *domain.NewInvitation) { f.Mobile = "" }, "mobile"},
			"BlankFirstName":      {func(f *domain.NewInvitation) { f.FirstName = "  " }, "first_name"},
			"NoCodeForMember":     {func(f *domain.NewInvitation) { f.CodeDelivery = domain.CodeNone }, "code_delivery"},
			"NoKind":              {func(f *domain.NewInvitation) { f.Kind = 0 }, "kind"},
			"NoOrigin":            {func(f *domain.NewInvitation) { f.Origin = 0 }, "origin"},
			"BadArea":             {func(f *domain.NewInvitation) { f.Grants.Areas = []string{"Support!"} }, "grants.permission_areas[0]"},
			"RepeatedArea":        {func(f *domain.NewInvitation) { f.Grants.Areas = []string{"support", "support"} }, "grants.permission_areas[1]"},
			"CustomGrantsNothing": {func(f *domain.NewInvitation) { f.Grants.Areas = nil }, "grants.permission_areas"},
			"AdminWithScope": {func(f *domain.NewInvitation) {
				f.Grants.Level, f.Grants.Areas = domain.LevelMainAdministrator, nil
			}, "grants.scope"},
			"BadLanguage": {func(f *domain.NewInvitation) { f.Language = "norsk!" }, "language"},
		} {
			f := memberForm()
			tc.mutate(&f)
			_, err := domain.Create(f, admin(), domain.Policy{}, key, t0)
			requireField(t, err, domain.ErrInvalid, tc.field, name)
		}
	})

	t.Run("CodeToTheInviterNeedsNoMobile", func(t *testing.T) {
		t.Parallel()
		f := memberForm()
		f.Mobile, f.CodeDelivery = "", domain.CodeToInviter
		c := create(t, f, admin())
		require.NotEmpty(t, c.code)
	})

	t.Run("IntegrationUserNeedsBothPackagesAndNoCode", func(t *testing.T) {
		t.Parallel()
		f := integrationForm()
		c := create(t, f, admin())
		require.Empty(t, c.code)
		f.Grants.Packages.AllAdditionalPackages = false
		_, err := domain.Create(f, admin(), domain.Policy{}, key, t0)
		requireField(t, err, domain.ErrInvalid, "grants.access_packages")
		f = integrationForm()
		f.CodeDelivery = domain.CodeBySMS
		_, err = domain.Create(f, admin(), domain.Policy{}, key, t0)
		requireField(t, err, domain.ErrInvalid, "code_delivery")
	})

	t.Run("IntegratorMustBeAPartnerAndAnAdministrator", func(t *testing.T) {
		t.Parallel()
		f := integratorForm()
		c := create(t, f, admin())
		require.Equal(t, domain.KindIntegrator, c.inv.Kind)
		f.PartnerID = ""
		_, err := domain.Create(f, admin(), domain.Policy{}, key, t0)
		requireField(t, err, domain.ErrInvalid, "email")
		f = integratorForm()
		f.Grants = domain.Grants{Level: domain.LevelCustom, Areas: []string{"support"}}
		_, err = domain.Create(f, admin(), domain.Policy{}, key, t0)
		requireField(t, err, domain.ErrInvalid, "grants.permission_level")
	})
}

func integrationForm() domain.NewInvitation {
	return domain.NewInvitation{
		ID: "inv-2", TenantID: "t-1", Kind: domain.KindIntegration, Origin: domain.OriginClientAdministration,
		FirstName: "Klarna", LastName: "Integration", Email: "klarna@company.example", CodeDelivery: domain.CodeNone,
		Grants: domain.Grants{Level: domain.LevelCustom, Packages: &domain.Packages{IntegrationUser: true, AllAdditionalPackages: true}},
	}
}

func integratorForm() domain.NewInvitation {
	return domain.NewInvitation{
		ID: "inv-3", TenantID: "t-1", Kind: domain.KindIntegrator, Origin: domain.OriginUserAdministration,
		Email: "partner@integrator.example", CodeDelivery: domain.CodeNone, PartnerID: "p-1",
		Grants: domain.Grants{Level: domain.LevelMainAdministrator},
	}
}

func requireField(t *testing.T, err error, kind error, field string, msg ...any) {
	t.Helper()
	require.ErrorIs(t, err, kind, msg...)
	var fe *domain.FieldError
	require.ErrorAs(t, err, &fe, msg...)
	require.Equal(t, field, fe.Field, msg...)
	require.NotEmpty(t, fe.Reason)
}

func TestMayInvite(t *testing.T) {
	t.Parallel()
	superuser := domain.Actor{Role: domain.RoleSuperuser, Grants: domain.Grants{
		Level: domain.LevelCustom, Areas: []string{"support", "invoices"},
		Scope: domain.Scope{
			Organisations:     &domain.Selection{IDs: []string{orgA}},
			Customers:         &domain.Selection{All: true},
			ProductCategories: &domain.Selection{IDs: []string{"pc-1"}},
			ApplicationLinks:  []string{"app-1"},
		},
		Packages: &domain.Packages{Additional: []string{"payroll"}},
	}}
	ok := domain.Grants{Level: domain.LevelCustom, Areas: []string{"support"}, Scope: domain.Scope{
		Organisations: &domain.Selection{IDs: []string{orgA}}, Customers: &domain.Selection{IDs: []string{"c-9"}},
		ProductCategories: &domain.Selection{IDs: []string{"pc-1"}}, ApplicationLinks: []string{"app-1"},
	}, Packages: &domain.Packages{Additional: []string{"payroll"}}}
	require.NoError(t, domain.MayInvite(superuser, domain.KindMember, ok))

	for name, tc := range map[string]struct {
		actor  domain.Actor
		grants func(*domain.Grants)
		field  string
	}{
		"OrdinaryUser":        {domain.Actor{Role: domain.RoleUser, Grants: superuser.Grants}, func(*domain.Grants) {}, "actor"},
		"ApplicationManager":  {domain.Actor{Role: domain.RoleApplicationManager, Grants: superuser.Grants}, func(*domain.Grants) {}, "actor"},
		"AreaNotHeld":         {superuser, func(g *domain.Grants) { g.Areas = []string{"billing"} }, "grants.permission_areas[0]"},
		"OrganisationNotHeld": {superuser, func(g *domain.Grants) { g.Scope.Organisations.IDs = []string{orgB} }, "grants.scope.organisations"},
		"AllOrganisations":    {superuser, func(g *domain.Grants) { g.Scope.Organisations = &domain.Selection{All: true} }, "grants.scope.organisations"},
		"CostCentresNotHeld":  {superuser, func(g *domain.Grants) { g.Scope.CostCentres = &domain.Selection{IDs: []string{"cc"}} }, "grants.scope.cost_centres"},
		"AllProductCategories": {superuser, func(g *domain.Grants) {
			g.Scope.ProductCategories = &domain.Selection{All: true}
		}, "grants.scope.product_categories"},
		"AppLinkNotHeld":     {superuser, func(g *domain.Grants) { g.Scope.ApplicationLinks = []string{"app-2"} }, "grants.scope.application_link_ids[0]"},
		"PackageNotHeld":     {superuser, func(g *domain.Grants) { g.Packages.Additional = []string{"crm"} }, "grants.access_packages.additional_packages[0]"},
		"IntegrationNotHeld": {superuser, func(g *domain.Grants) { g.Packages.IntegrationUser = true }, "grants.access_packages.integration_user"},
		"AdministratorNotHeld": {superuser, func(g *domain.Grants) {
			*g = domain.Grants{Level: domain.LevelMainAdministrator}
		}, "grants.permission_level"},
		"IntegratorMakesAdmin": {domain.Actor{Role: domain.RoleMainAdministrator, Integrator: true, Grants: domain.Grants{Level: domain.LevelMainAdministrator}}, func(g *domain.Grants) {
			*g = domain.Grants{Level: domain.LevelMainAdministrator}
		}, "grants.permission_level"},
	} {
		g := ok
		g.Scope.Organisations = &domain.Selection{IDs: []string{orgA}}
		g.Packages = &domain.Packages{Additional: []string{"payroll"}}
		tc.grants(&g)
		err := domain.MayInvite(tc.actor, domain.KindMember, g)
		requireField(t, err, domain.ErrForbidden, tc.field, name)
	}

	t.Run("MainAdministratorGrantsAnything", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, domain.MayInvite(admin(), domain.KindMember, domain.Grants{Level: domain.LevelMainAdministrator}))
	})
	t.Run("IntegratorCannotInviteIntegrators", func(t *testing.T) {
		t.Parallel()
		a := admin()
		a.Integrator = true
		requireField(t, domain.MayInvite(a, domain.KindIntegrator, domain.Grants{Level: domain.LevelCustom, Areas: []string{"x"}}), domain.ErrForbidden, "kind")
	})
}

func TestAcceptFlow(t *testing.T) {
	t.Parallel()

	t.Run("MemberWithTheRightCodeAndBankID", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		now := t0.Add(5 * time.Minute)
		require.NoError(t, c.inv.Open(c.tok, now))
		require.NoError(t, c.inv.Accept(domain.Acceptance{Token: c.tok, Code: c.code, Method: domain.LoginBankID, ExternalSubject: "bankid:1", NewUserID: "u-new"}, key, now))
		require.Equal(t, domain.StatusAccepted, c.inv.Status)
		require.Equal(t, "u-new", c.inv.UserID)
		require.Equal(t, []domain.Event{domain.Accepted{}}, c.inv.Events())
		// Single use: the same link is now just invalid.
		require.ErrorIs(t, c.inv.Open(c.tok, now), domain.ErrInvalidToken)
		require.ErrorIs(t, c.inv.Accept(domain.Acceptance{Token: c.tok, Code: c.code, Method: domain.LoginBankID, ExternalSubject: "x", NewUserID: "u2"}, key, now), domain.ErrInvalidToken)
	})

	t.Run("ExistingProfileKeepsItsUser", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		require.NoError(t, c.inv.Accept(domain.Acceptance{Token: c.tok, Code: c.code, Method: domain.LoginExisting, ExistingUserID: "u-old"}, key, t0))
		require.Equal(t, "u-old", c.inv.UserID)
		require.Equal(t, []domain.Event{domain.Accepted{ExistingProfile: true}}, c.inv.Events())
	})

	t.Run("LoginMethodsPerKind", func(t *testing.T) {
		t.Parallel()
		m := create(t, memberForm(), admin())
		require.ErrorIs(t, m.inv.Accept(domain.Acceptance{Token: m.tok, Code: m.code, Method: domain.LoginPassword, NewUserID: "u"}, key, t0), domain.ErrLoginMethod)
		i := create(t, integrationForm(), admin())
		require.ErrorIs(t, i.inv.Accept(domain.Acceptance{Token: i.tok, Method: domain.LoginExisting, ExistingUserID: "u-person"}, key, t0), domain.ErrLoginMethod,
			"a neutral integration user never attaches to a person's profile")
		require.NoError(t, i.inv.Accept(domain.Acceptance{Token: i.tok, Method: domain.LoginPassword, NewUserID: "u-int"}, key, t0))
		p := create(t, integratorForm(), admin())
		require.ErrorIs(t, p.inv.Accept(domain.Acceptance{Token: p.tok, Method: domain.LoginExisting, ExistingUserID: "u-member", FirstName: "Ivan", LastName: "Petrov"}, key, t0), domain.ErrLoginMethod,
			"an integrator never takes over an existing profile: a member would become an unmarked administrator beyond the integrator limit")
		require.Equal(t, domain.StatusPending, p.inv.Status, "a refused acceptance changes nothing")
		require.NoError(t, p.inv.Accept(domain.Acceptance{Token: p.tok, Method: domain.LoginProviderProfile, ExternalSubject: "idp:9", NewUserID: "u-p", FirstName: "Ivan", LastName: "Petrov"}, key, t0))
	})

	t.Run("CheckAcceptanceNeedsNoSecret", func(t *testing.T) {
		t.Parallel()
		p := create(t, integratorForm(), admin())
		requireField(t, p.inv.CheckAcceptance(domain.LoginBankID, "Ivan", " "), domain.ErrInvalid, "last_name")
		require.ErrorIs(t, p.inv.CheckAcceptance(domain.LoginExisting, "Ivan", "Petrov"), domain.ErrLoginMethod)
		require.NoError(t, p.inv.CheckAcceptance(domain.LoginBankID, "Ivan", "Petrov"))
		m := create(t, memberForm(), admin())
		require.NoError(t, m.inv.CheckAcceptance(domain.LoginExisting, "", ""), "a member's names come from the invitation")
		require.ErrorIs(t, m.inv.CheckAcceptance(domain.LoginPassword, "", ""), domain.ErrLoginMethod)
		require.Empty(t, p.inv.Events(), "checking records nothing")
		require.Equal(t, 0, p.inv.CodeAttempts)
	})

	t.Run("WrongTokensAllLookTheSame", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		other := create(t, memberForm(), admin())
		for name, tok := range map[string]domain.Token{
			"Garbage": "not-a-token", "Empty": "", "AnotherInvitations": other.tok,
			"Truncated": c.tok[:42], "Padded": c.tok + "=",
		} {
			require.ErrorIs(t, c.inv.Open(tok, t0), domain.ErrInvalidToken, name)
		}
		expired := create(t, memberForm(), admin())
		require.ErrorIs(t, expired.inv.Open(expired.tok, expired.inv.ExpiresAt), domain.ErrInvalidToken)
		require.Equal(t, domain.StatusExpired, expired.inv.Status)
		require.Equal(t, []domain.Event{domain.Expired{}}, expired.inv.Events())
		revoked := create(t, memberForm(), admin())
		require.NoError(t, revoked.inv.Revoke(domain.RevokedByAdmin, admin(), "", t0))
		require.ErrorIs(t, revoked.inv.Open(revoked.tok, t0), domain.ErrInvalidToken)
	})

	t.Run("FiveWrongCodesLockUntilTheInviterIssuesANewOne", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		wrong := domain.Code("000000")
		if c.code == wrong {
			wrong = "111111"
		}
		for i := 1; i < domain.MaxCodeAttempts; i++ {
			err := c.inv.VerifyCode(c.tok, wrong, key, t0)
			var wc *domain.WrongCodeError
			require.ErrorAs(t, err, &wc)
			require.Equal(t, domain.MaxCodeAttempts-i, wc.AttemptsLeft)
		}
		require.ErrorIs(t, c.inv.VerifyCode(c.tok, wrong, key, t0), domain.ErrLocked)
		require.Equal(t, domain.StatusLocked, c.inv.Status)
		require.Equal(t, []domain.Event{domain.Locked{Attempts: 5}}, c.inv.Events())
		require.ErrorIs(t, c.inv.VerifyCode(c.tok, c.code, key, t0), domain.ErrLocked, "even the right code, once locked")
		require.ErrorIs(t, c.inv.RequestCode(c.tok, key, t0.Add(time.Hour)), domain.ErrLocked, "the invitee cannot unlock it")

		require.NoError(t, c.inv.IssueCode(key, t0.Add(time.Minute)))
		evs := c.inv.Events()
		require.Len(t, evs, 1)
		fresh := evs[0].(domain.CodeIssued).Code
		require.Equal(t, domain.StatusPending, c.inv.Status)
		require.NoError(t, c.inv.Accept(domain.Acceptance{Token: c.tok, Code: fresh, Method: domain.LoginBankID, ExternalSubject: "b", NewUserID: "u"}, key, t0.Add(2*time.Minute)))
	})

	t.Run("AskingForANewCodeDoesNotResetTheWrongAttempts", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		now := t0
		guesses := 0
		var locked bool
		for range 10 {
			err := c.inv.VerifyCode(c.tok, "999999", key, now)
			guesses++
			if errors.Is(err, domain.ErrLocked) {
				locked = true
				break
			}
			if guesses%2 == 0 {
				now = now.Add(domain.CodeRequestEvery)
				require.NoError(t, c.inv.RequestCode(c.tok, key, now))
			}
		}
		require.True(t, locked)
		require.Equal(t, domain.MaxCodeAttempts, guesses, "five wrong codes in all, however many new codes were asked for")
	})

	t.Run("AnIntegratorGivesHisNameOnAcceptance", func(t *testing.T) {
		t.Parallel()
		p := create(t, integratorForm(), admin())
		a := domain.Acceptance{Token: p.tok, Method: domain.LoginProviderProfile, ExternalSubject: "idp:1", NewUserID: "u"}
		requireField(t, p.inv.Accept(a, key, t0), domain.ErrInvalid, "first_name")
		a.FirstName, a.LastName = " Ivan ", "Petrov"
		require.NoError(t, p.inv.Accept(a, key, t0))
		require.Equal(t, "Ivan", p.inv.FirstName)
	})

	t.Run("CodeExpiresAfterTenMinutes", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		require.ErrorIs(t, c.inv.VerifyCode(c.tok, c.code, key, t0.Add(10*time.Minute)), domain.ErrCodeExpired)
		require.NoError(t, c.inv.VerifyCode(c.tok, c.code, key, t0.Add(10*time.Minute-time.Second)))
	})

	t.Run("ACodeIsBoundToItsInvitationAndKey", func(t *testing.T) {
		t.Parallel()
		a := create(t, memberForm(), admin())
		f := memberForm()
		f.ID = "inv-other"
		b := create(t, f, admin())
		if a.code != b.code {
			require.Error(t, a.inv.VerifyCode(a.tok, b.code, key, t0))
		}
		otherKey := domain.CodeKey(strings.Repeat("x", 32))
		require.Error(t, b.inv.VerifyCode(b.tok, b.code, otherKey, t0))
	})

	t.Run("InviteeMayAskForANewCodeRateLimited", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		var rl *domain.RateLimitError
		require.ErrorAs(t, c.inv.RequestCode(c.tok, key, t0.Add(30*time.Second)), &rl)
		require.EqualValues(t, 30, rl.RetryAfter)
		now := t0
		for i := range domain.CodeRequestsMax {
			now = now.Add(domain.CodeRequestEvery)
			require.NoError(t, c.inv.RequestCode(c.tok, key, now), i)
		}
		now = now.Add(domain.CodeRequestEvery)
		require.ErrorAs(t, c.inv.RequestCode(c.tok, key, now), &rl)
		require.Zero(t, rl.RetryAfter, "the inviter must re-issue now")
		// Only the newest code works.
		evs := c.inv.Events()
		latest := evs[len(evs)-1].(domain.CodeIssued).Code
		require.NoError(t, c.inv.VerifyCode(c.tok, latest, key, now))
	})

	t.Run("ResendKillsTheOldLinkAndRenewsTheLifetime", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		later := t0.Add(6 * 24 * time.Hour)
		require.NoError(t, c.inv.Resend(key, later, nil))
		evs := c.inv.Events()
		require.Len(t, evs, 2)
		tok := evs[0].(domain.LinkIssued).Token
		code := evs[1].(domain.CodeIssued).Code
		require.ErrorIs(t, c.inv.Open(c.tok, later), domain.ErrInvalidToken, "old link dead")
		require.NoError(t, c.inv.Open(tok, later))
		require.Equal(t, later.Add(7*24*time.Hour), c.inv.ExpiresAt)
		require.ErrorIs(t, c.inv.VerifyCode(tok, c.code, key, later), domain.ErrWrongCode, "old code dead")
		require.NoError(t, c.inv.VerifyCode(tok, code, key, later))
	})

	t.Run("ResendAnotherWay", func(t *testing.T) {
		t.Parallel()
		toMe, sms, none := domain.CodeToInviter, domain.CodeBySMS, domain.CodeNone
		c := create(t, memberForm(), admin())
		require.NoError(t, c.inv.Resend(key, t0, &toMe))
		require.Equal(t, domain.CodeToInviter, c.inv.CodeDelivery)
		require.NoError(t, c.inv.Resend(key, t0, &sms), "back to SMS: the invitation has a mobile number")
		require.Equal(t, domain.CodeBySMS, c.inv.CodeDelivery)
		require.ErrorIs(t, c.inv.Resend(key, t0, &none), domain.ErrInvalid)
		noMobile := memberForm()
		noMobile.Mobile, noMobile.CodeDelivery = "", domain.CodeToInviter
		m := create(t, noMobile, admin())
		require.ErrorIs(t, m.inv.Resend(key, t0, &sms), domain.ErrInvalid)
		require.Equal(t, domain.CodeToInviter, m.inv.CodeDelivery, "unchanged")
		i := create(t, integrationForm(), admin())
		require.ErrorIs(t, i.inv.Resend(key, t0, &toMe), domain.ErrInvalid)
		require.NoError(t, i.inv.Resend(key, t0, &none), "naming what it has changes nothing")
	})

	t.Run("OnlyLiveInvitationsChange", func(t *testing.T) {
		t.Parallel()
		c := create(t, memberForm(), admin())
		require.NoError(t, c.inv.Accept(domain.Acceptance{Token: c.tok, Code: c.code, Method: domain.LoginBankID, ExternalSubject: "b", NewUserID: "u"}, key, t0))
		require.ErrorIs(t, c.inv.Resend(key, t0, nil), domain.ErrNotPending)
		require.ErrorIs(t, c.inv.Revoke(domain.RevokedByAdmin, admin(), "", t0), domain.ErrNotPending)
		require.ErrorIs(t, c.inv.IssueCode(key, t0), domain.ErrNotPending)
		e := create(t, memberForm(), admin())
		require.True(t, e.inv.Expire(e.inv.ExpiresAt))
		require.False(t, e.inv.Expire(e.inv.ExpiresAt), "expiring twice changes nothing")
		require.ErrorIs(t, e.inv.Resend(key, e.inv.ExpiresAt, nil), domain.ErrNotPending)
	})
}

// The domain type is not safe for concurrent use; stores serialise access to
// one invitation (row lock or version check). This documents that the
// aggregate itself holds no hidden shared state between instances.
func TestIndependentAggregates(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv, err := domain.Create(memberForm(), admin(), domain.Policy{}, key, t0)
			if err != nil {
				errs <- err
				return
			}
			ev := inv.Events()[0].(domain.Invited)
			errs <- inv.Accept(domain.Acceptance{Token: ev.Token, Code: ev.Code, Method: domain.LoginBankID, ExternalSubject: "b", NewUserID: "u"}, key, t0)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestCodeKey(t *testing.T) {
	t.Parallel()
	require.ErrorIs(t, domain.CodeKey("short").Validate(), domain.ErrWeakCodeKey)
	c := create(t, memberForm(), admin())
	require.ErrorIs(t, c.inv.Revoke(domain.RevokedByAdmin, domain.Actor{}, "", t0), domain.ErrInvalid, "an admin revocation names the admin")
	require.NoError(t, key.Validate())
	require.True(t, errors.Is(domain.ValidateLifetime(0), domain.ErrInvalid))
}

func FuzzTokenHash(f *testing.F) {
	tok, _ := domain.NewToken()
	f.Add(string(tok))
	f.Add("")
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := domain.Token(s).Hash()
		if err == nil && len(h) != 32 {
			t.Fatalf("hash of %q has %d bytes", s, len(h))
		}
		if err != nil && !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

package ports_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/adapters/login"
	"rollcall.dev/services/identity/domain"
)

// noID completes a Norwegian fødselsnummer from its first nine digits.
func noID(t *testing.T, base string) string {
	t.Helper()
	w1, w2 := []int{3, 7, 6, 1, 8, 9, 4, 5, 2}, []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
	check := func(s string, w []int) int {
		sum := 0
		for i := range w {
			sum += int(s[i]-'0') * w[i]
		}
		return (11 - sum%11) % 11
	}
	k1 := check(base, w1)
	require.NotEqual(t, 10, k1, "pick another base")
	s := base + fmt.Sprint(k1)
	k2 := check(s, w2)
	require.NotEqual(t, 10, k2, "pick another base")
	return s + fmt.Sprint(k2)
}

func TestInternalNeedsAServiceToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tn := e.tenant(t, "ISO1", 0)
	c := e.asInternal(t, tn.adminToken) // an admin token is not a service token
	_, err := c.DescribeTenant(context.Background(), connect.NewRequest(&identityv1.DescribeTenantRequest{TenantId: tn.id}))
	requireCode(t, err, connect.CodeUnauthenticated)
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "AUTH1", 0)
	auth := func(tok string) (*identityv1.Principal, error) {
		res, err := e.internal.Authenticate(ctx, connect.NewRequest(&identityv1.AuthenticateRequest{Token: tok}))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetPrincipal(), nil
	}

	t.Run("ValidToken", func(t *testing.T) {
		p, err := auth(tn.adminToken)
		require.NoError(t, err)
		require.Equal(t, tn.id, p.GetTenantId())
		require.Equal(t, tn.adminID, p.GetUserId())
		require.Equal(t, identityv1.Role_ROLE_MAIN_ADMINISTRATOR, p.GetRole())
		require.Equal(t, identityv1.UserKind_USER_KIND_PERSON, p.GetKind())
		require.Equal(t, commonv1.PermissionLevel_PERMISSION_LEVEL_MAIN_ADMINISTRATOR, p.GetGrants().GetPermissionLevel())
		require.False(t, p.GetIntegrator())
		require.Equal(t, "Kari Admin", p.GetName())
	})

	var messages []string
	refused := func(t *testing.T, tok string) {
		t.Helper()
		_, err := auth(tok)
		ce := requireCode(t, err, connect.CodeUnauthenticated)
		messages = append(messages, ce.Message())
	}
	t.Run("Unknown", func(t *testing.T) { refused(t, domain.TokenPrefix+strings.Repeat("A", 43)) })
	t.Run("Revoked", func(t *testing.T) {
		tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, tn.adminID, "", 0)
		require.NoError(t, err)
		_, err = e.as(t, tn.adminToken).RevokeAccessToken(ctx, connect.NewRequest(&identityv1.RevokeAccessTokenRequest{TenantId: tn.id, TokenId: tok.Record.ID}))
		require.NoError(t, err)
		refused(t, tok.Token)
	})
	t.Run("Expired", func(t *testing.T) {
		tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, tn.adminID, "", time.Minute)
		require.NoError(t, err)
		_, err = e.pool.Exec(ctx, `UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, tok.Record.ID)
		require.NoError(t, err)
		refused(t, tok.Token)
	})
	t.Run("DeactivatedUser", func(t *testing.T) {
		u := e.person(t, tn, "left@example.com", domain.RoleUser)
		tok, err := e.svc.CreateAccessToken(ctx, nil, tn.id, u, "", 0)
		require.NoError(t, err)
		_, err = e.as(t, tn.adminToken).DeactivateUser(ctx, connect.NewRequest(&identityv1.DeactivateUserRequest{
			TenantId: tn.id, UserId: u, Reason: identityv1.DeactivationReason_DEACTIVATION_REASON_LEFT}))
		require.NoError(t, err)
		refused(t, tok.Token)
	})
	t.Run("ServiceUsersAPIToken", func(t *testing.T) {
		su := e.serviceUser(t, tn, "APIUSER1")
		refused(t, su.apiToken)
	})
	t.Run("SameMessage", func(t *testing.T) {
		require.Len(t, messages, 5)
		for _, m := range messages {
			require.Equal(t, messages[0], m)
		}
	})
}

func TestDescribeTenant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "DESC1", 0)
	res, err := e.internal.DescribeTenant(ctx, connect.NewRequest(&identityv1.DescribeTenantRequest{TenantId: tn.id}))
	require.NoError(t, err)
	require.Equal(t, "Tenant DESC1", res.Msg.GetName())
	require.Equal(t, "nb", res.Msg.GetLanguage())
	require.Equal(t, []string{"invoices", "support"}, res.Msg.GetPermissionAreas())
	require.Equal(t, []string{"payroll"}, res.Msg.GetAdditionalPackages())
	type company struct{ id, name string }
	companies := func(r *identityv1.DescribeTenantResponse) []company {
		var out []company
		for _, c := range r.GetCompanies() {
			out = append(out, company{c.GetId(), c.GetName()})
		}
		return out
	}
	require.Equal(t, []company{{tn.companies[0], "Company"}}, companies(res.Msg))

	// A company added later is there too, by name; another tenant's never.
	other := e.tenant(t, "DESC2", 0)
	added, err := e.as(t, tn.adminToken).CreateStructureItem(ctx, connect.NewRequest(&identityv1.CreateStructureItemRequest{
		TenantId: tn.id, Kind: identityv1.StructureKind_STRUCTURE_KIND_COMPANY, Name: "Avdeling Bergen AS"}))
	require.NoError(t, err)
	res, err = e.internal.DescribeTenant(ctx, connect.NewRequest(&identityv1.DescribeTenantRequest{TenantId: tn.id}))
	require.NoError(t, err)
	require.Equal(t, []company{{added.Msg.GetItem().GetId(), "Avdeling Bergen AS"}, {tn.companies[0], "Company"}}, companies(res.Msg))
	res, err = e.internal.DescribeTenant(ctx, connect.NewRequest(&identityv1.DescribeTenantRequest{TenantId: other.id}))
	require.NoError(t, err)
	require.Equal(t, []company{{other.companies[0], "Company"}}, companies(res.Msg))

	_, err = e.internal.DescribeTenant(ctx, connect.NewRequest(&identityv1.DescribeTenantRequest{TenantId: uuid.NewString()}))
	requireCode(t, err, connect.CodeNotFound)
	_, err = e.internal.DescribeTenant(ctx, connect.NewRequest(&identityv1.DescribeTenantRequest{TenantId: "nope"}))
	requireCode(t, err, connect.CodeInvalidArgument)
}

func TestCheckScope(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	a, b := e.tenant(t, "SCA", 0), e.tenant(t, "SCB", 0)
	stranger := uuid.NewString()
	res, err := e.internal.CheckScope(ctx, connect.NewRequest(&identityv1.CheckScopeRequest{TenantId: a.id, Scope: &commonv1.AccessScope{
		Organisations:      &commonv1.Selection{Ids: []string{a.orgs[0], b.orgs[0], stranger}},
		Customers:          &commonv1.Selection{All: true},
		ApplicationLinkIds: []string{a.apps[0], b.apps[0]},
	}}))
	require.NoError(t, err)
	require.Len(t, res.Msg.GetUnknown(), 2)
	require.Equal(t, "organisations", res.Msg.GetUnknown()[0].GetField())
	require.Equal(t, []string{b.orgs[0], stranger}, res.Msg.GetUnknown()[0].GetIds(), "another tenant's ids are unknown")
	require.Equal(t, "application_link_ids", res.Msg.GetUnknown()[1].GetField())
	require.Equal(t, []string{b.apps[0]}, res.Msg.GetUnknown()[1].GetIds())

	res, err = e.internal.CheckScope(ctx, connect.NewRequest(&identityv1.CheckScopeRequest{TenantId: a.id, Scope: &commonv1.AccessScope{
		Organisations: &commonv1.Selection{Ids: a.orgs}}}))
	require.NoError(t, err)
	require.Empty(t, res.Msg.GetUnknown())

	_, err = e.internal.CheckScope(ctx, connect.NewRequest(&identityv1.CheckScopeRequest{TenantId: uuid.NewString(), Scope: &commonv1.AccessScope{}}))
	requireCode(t, err, connect.CodeNotFound)
}

func TestVerifyLogin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tn := e.tenant(t, "LOGIN1", 0)
	invitation := uuid.NewString()
	verify := func(provider, assertion, audience string) (*identityv1.VerifyLoginResponse, error) {
		res, err := e.internal.VerifyLogin(ctx, connect.NewRequest(&identityv1.VerifyLoginRequest{
			TenantId: tn.id, Provider: provider, Assertion: assertion, Audience: audience}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	mint := func(c login.Claims) string {
		a, err := e.sim.Mint(c)
		require.NoError(t, err)
		return a
	}
	nin := noID(t, "010190100")

	t.Run("BankIDNorway", func(t *testing.T) {
		res, err := verify("bankid", mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin, Audience: invitation}), invitation)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(res.GetSubject(), "bankid:no:"))
		require.NotContains(t, res.GetSubject(), nin, "the subject never carries the raw number")
		again, err := verify("bankid", mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin, Audience: invitation}), invitation)
		require.NoError(t, err)
		require.Equal(t, res.GetSubject(), again.GetSubject(), "stable per person")
		require.Nil(t, res.ExistingUserId)
	})
	t.Run("BankIDSweden", func(t *testing.T) {
		subject := func(pnr string) string {
			res, err := verify("bankid", mint(login.Claims{Provider: "bankid", Country: "se", NationalID: pnr}), "")
			require.NoError(t, err, pnr)
			require.True(t, strings.HasPrefix(res.GetSubject(), "bankid:se:"))
			return res.GetSubject()
		}
		// Every form of one person's number is one subject (the canonical
		// 12 digits); the same digits a century earlier are someone else.
		one := subject("811218-9876")
		for _, pnr := range []string{"198112189876", "8112189876", "19811218-9876"} {
			require.Equal(t, one, subject(pnr), pnr)
		}
		require.NotEqual(t, one, subject("811218+9876"), "born 1881, not 1981")
		require.Equal(t, subject("811218+9876"), subject("188112189876"))
	})
	t.Run("BadCheckDigits", func(t *testing.T) {
		bad := nin[:10] + fmt.Sprint((int(nin[10]-'0')+1)%10)
		_, err := verify("bankid", mint(login.Claims{Provider: "bankid", Country: "no", NationalID: bad}), "")
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = verify("bankid", mint(login.Claims{Provider: "bankid", Country: "se", NationalID: "811218-9875"}), "")
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = verify("bankid", mint(login.Claims{Provider: "bankid", Country: "dk", NationalID: nin}), "")
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("Replayed", func(t *testing.T) {
		a := mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin})
		_, err := verify("bankid", a, "")
		require.NoError(t, err)
		_, err = verify("bankid", a, "")
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "already used")
	})
	t.Run("Expired", func(t *testing.T) {
		_, err := verify("bankid", mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin, Expires: time.Now().Add(-time.Second).Unix()}), "")
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "expired")
		_, err = verify("bankid", mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin, Expires: time.Now().Add(time.Hour).Unix()}), "")
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("Forged", func(t *testing.T) {
		other, err := login.NewSim([]byte(strings.Repeat("x", 32)), nil)
		require.NoError(t, err)
		a, err := other.Mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin})
		require.NoError(t, err)
		_, err = verify("bankid", a, "")
		ce := requireCode(t, err, connect.CodePermissionDenied)
		require.Contains(t, ce.Message(), "signature")
		// Tampering with the payload breaks the signature too.
		good := mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin})
		parts := strings.Split(good, ".")
		parts[1] = parts[1][:len(parts[1])-2] + "AA"
		_, err = verify("bankid", strings.Join(parts, "."), "")
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = verify("bankid", "garbage", "")
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("WrongAudience", func(t *testing.T) {
		_, err := verify("bankid", mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin, Audience: invitation}), uuid.NewString())
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = verify("bankid", mint(login.Claims{Provider: "bankid", Country: "no", NationalID: nin}), invitation)
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("OtherProvidersAssertion", func(t *testing.T) {
		_, err := verify("bankid", mint(login.Claims{Provider: "telia", UserID: "kari"}), "")
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("ProviderProfile", func(t *testing.T) {
		res, err := verify("telia", mint(login.Claims{Provider: "telia", UserID: "kari.n@telia.example"}), "")
		require.NoError(t, err)
		require.Equal(t, "telia:kari.n@telia.example", res.GetSubject())
		_, err = verify("telia", mint(login.Claims{Provider: "telia"}), "")
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("ExistingRollcallProfile", func(t *testing.T) {
		// The rules of join assertions are in join_test.go.
		other := e.tenant(t, "LOGIN2", 0)
		ja, err := e.as(t, other.adminToken).IssueJoinAssertion(ctx, connect.NewRequest(&identityv1.IssueJoinAssertionRequest{Audience: invitation}))
		require.NoError(t, err)
		res, err := verify("rollcall", ja.Msg.GetAssertion(), invitation)
		require.NoError(t, err)
		require.Equal(t, other.adminID, res.GetExistingUserId())
		require.Equal(t, "login2-admin@example.com", res.GetExistingUserEmail())
		_, err = verify("rollcall", other.adminToken, invitation)
		requireCode(t, err, connect.CodePermissionDenied)
	})
	t.Run("UnknownProvider", func(t *testing.T) {
		_, err := verify("myspace", "x", "")
		requireCode(t, err, connect.CodeInvalidArgument)
	})
	t.Run("UnknownTenant", func(t *testing.T) {
		_, err := e.internal.VerifyLogin(ctx, connect.NewRequest(&identityv1.VerifyLoginRequest{
			TenantId: uuid.NewString(), Provider: "bankid", Assertion: "x"}))
		requireCode(t, err, connect.CodeNotFound)
	})
}

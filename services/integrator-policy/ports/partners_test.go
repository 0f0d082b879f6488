package ports_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/svcauth"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/integrator-policy/app"
)

func TestPartnerRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	register := func(t *testing.T, f *fixture, name string, emails, domains []string) *integratorv1.Partner {
		t.Helper()
		resp, err := f.client.RegisterPartner(ctx, req(&integratorv1.RegisterPartnerRequest{Name: name, Emails: emails, Domains: domains}, operatorToken))
		require.NoError(t, err)
		return resp.Msg.GetPartner()
	}
	check := func(t *testing.T, f *fixture, email string) *integratorv1.CheckPartnerResponse {
		t.Helper()
		resp, err := f.client.CheckPartner(ctx, req(&integratorv1.CheckPartnerRequest{Email: email}, serviceToken))
		require.NoError(t, err)
		return resp.Msg
	}

	// The partner registry is the operators': a service's token (any
	// Rollcall service's, e.g. sync's) must not register a public mail
	// domain as a partner. And the operator's token is for the registry
	// only: CheckPartner and CheckAction are for services (CheckAction
	// records ActionDenied, an audit trail an operator must not write to;
	// ListPartners answers what CheckPartner would), and GetActiveIntegrator
	// never forwards it to identity as if it were an administrator's.
	t.Run("EachTokenOnlyWhereItBelongs", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		_, err := f.client.RegisterPartner(ctx, req(&integratorv1.RegisterPartnerRequest{Name: "Gmail", Domains: []string{"gmail.example"}}, serviceToken))
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = f.client.ListPartners(ctx, req(&integratorv1.ListPartnersRequest{}, serviceToken))
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = f.client.RevokePartner(ctx, req(&integratorv1.RevokePartnerRequest{PartnerId: tenantA}, serviceToken))
		requireCode(t, err, connect.CodePermissionDenied)
		require.False(t, check(t, f, "someone@gmail.example").GetRegistered(), "the refused registration wrote nothing")

		p := register(t, f, "Integra", nil, []string{"integra.example"})
		require.True(t, check(t, f, "x@integra.example").GetRegistered())

		_, err = f.client.CheckPartner(ctx, req(&integratorv1.CheckPartnerRequest{Email: "x@integra.example"}, operatorToken))
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = f.client.CheckAction(ctx, req(&integratorv1.CheckActionRequest{TenantId: tenantA, ActorUserId: tenantB,
			Action: integratorv1.Action_ACTION_DISMISS_EMPLOYEE, Resource: "users/" + tenantA}, operatorToken))
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = f.client.GetActiveIntegrator(ctx, req(&integratorv1.GetActiveIntegratorRequest{TenantId: tenantA}, operatorToken))
		requireCode(t, err, connect.CodePermissionDenied)
		_, err = f.client.GetPolicy(ctx, req(&integratorv1.GetPolicyRequest{TenantId: tenantA}, operatorToken))
		requireCode(t, err, connect.CodePermissionDenied)

		resp, err := f.client.RevokePartner(ctx, req(&integratorv1.RevokePartnerRequest{PartnerId: p.GetPartnerId()}, operatorToken))
		require.NoError(t, err)
		require.NotNil(t, resp.Msg.GetPartner().GetRevokedAt())
	})

	// Without OPERATOR_TOKENS the registry's RPCs refuse everyone; the
	// partners come from PARTNERS_FILE then.
	t.Run("NoOperatorTokensConfigured", func(t *testing.T) {
		t.Parallel()
		f := setupWith(t, svcauth.Tokens{})
		for tok, code := range map[string]connect.Code{
			"":            connect.CodeUnauthenticated,
			serviceToken:  connect.CodePermissionDenied,
			operatorToken: connect.CodeUnauthenticated, // not one of the (no) operator tokens
		} {
			_, err := f.client.RegisterPartner(ctx, req(&integratorv1.RegisterPartnerRequest{Name: "P", Emails: []string{"a@b.example"}}, tok))
			requireCode(t, err, code)
		}
		all, err := f.svc.ListPartners(ctx, true)
		require.NoError(t, err)
		require.Empty(t, all)
		require.False(t, check(t, f, "a@b.example").GetRegistered(), "CheckPartner still answers services")
	})

	t.Run("InternalRPCsNeedAServiceToken", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		for _, tok := range []string{"", strings.Repeat("x", 40)} {
			_, err := f.client.CheckPartner(ctx, req(&integratorv1.CheckPartnerRequest{Email: "a@b.example"}, tok))
			requireCode(t, err, connect.CodeUnauthenticated)
			_, err = f.client.RegisterPartner(ctx, req(&integratorv1.RegisterPartnerRequest{Name: "P", Emails: []string{"a@b.example"}}, tok))
			requireCode(t, err, connect.CodeUnauthenticated)
			_, err = f.client.ListPartners(ctx, req(&integratorv1.ListPartnersRequest{}, tok))
			requireCode(t, err, connect.CodeUnauthenticated)
			_, err = f.client.RevokePartner(ctx, req(&integratorv1.RevokePartnerRequest{PartnerId: tenantA}, tok))
			requireCode(t, err, connect.CodeUnauthenticated)
			_, err = f.client.CheckAction(ctx, req(&integratorv1.CheckActionRequest{TenantId: tenantA, ActorUserId: tenantB,
				Action: integratorv1.Action_ACTION_DISMISS_EMPLOYEE, Resource: "users/" + tenantA}, tok))
			requireCode(t, err, connect.CodeUnauthenticated)
		}
		// An administrator's token is not a service token either.
		f.identity.add("admin-token", tenantA, tenantB, 1, false)
		_, err := f.client.CheckPartner(ctx, req(&integratorv1.CheckPartnerRequest{Email: "a@b.example"}, "admin-token"))
		requireCode(t, err, connect.CodeUnauthenticated)
		resp, err := f.client.ListPartners(ctx, req(&integratorv1.ListPartnersRequest{}, operatorToken))
		require.NoError(t, err)
		require.Empty(t, resp.Msg.GetPartners(), "nothing was registered")
	})

	t.Run("ExactEmailThenDomainCaseInsensitive", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		integra := register(t, f, "Integra Partner AS", []string{"Integrator@Integra.example"}, []string{"integra.example"})
		require.Equal(t, []string{"integrator@integra.example"}, integra.GetEmails(), "stored lowercase")
		// An address at another partner's domain, registered as an exact
		// address of this one: the exact address wins.
		solo := register(t, f, "Solo Konsult", []string{"freelancer@integra.example"}, nil)

		r := check(t, f, "INTEGRATOR@integra.EXAMPLE")
		require.True(t, r.GetRegistered())
		require.Equal(t, integra.GetPartnerId(), r.GetPartnerId())
		require.Equal(t, "Integra Partner AS", r.GetPartnerName())
		require.Equal(t, integratorv1.PartnerMatch_PARTNER_MATCH_EMAIL, r.GetMatchedBy())

		r = check(t, f, "someone.else@Integra.Example")
		require.True(t, r.GetRegistered())
		require.Equal(t, integra.GetPartnerId(), r.GetPartnerId())
		require.Equal(t, integratorv1.PartnerMatch_PARTNER_MATCH_DOMAIN, r.GetMatchedBy())

		r = check(t, f, "freelancer@integra.example")
		require.Equal(t, solo.GetPartnerId(), r.GetPartnerId())
		require.Equal(t, integratorv1.PartnerMatch_PARTNER_MATCH_EMAIL, r.GetMatchedBy())

		for _, e := range []string{"dev@sub.integra.example", "integrator@integra.example.evil", "someone@gmail.example"} {
			r = check(t, f, e)
			require.False(t, r.GetRegistered(), e)
			require.Nil(t, r.PartnerId, e)
			require.Equal(t, integratorv1.PartnerMatch_PARTNER_MATCH_UNSPECIFIED, r.GetMatchedBy())
		}
	})

	t.Run("MalformedEmailIsRefusedWithTheField", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		for _, e := range []string{"", "not-an-email", "a@", "@integra.example", "Name <a@b.example>"} {
			_, err := f.client.CheckPartner(ctx, req(&integratorv1.CheckPartnerRequest{Email: e}, serviceToken))
			ce := requireCode(t, err, connect.CodeInvalidArgument)
			require.Contains(t, ce.Message(), "email", e)
		}
		// The app's own check, behind the contract's.
		_, _, _, err := f.svc.CheckPartner(ctx, "a@b_c.example")
		require.Error(t, err)
	})

	t.Run("RegistrationIsCheckedAndAddressesBelongToOnePartner", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		_, err := f.client.RegisterPartner(ctx, req(&integratorv1.RegisterPartnerRequest{Name: "Nobody"}, operatorToken))
		requireField(t, requireCode(t, err, connect.CodeInvalidArgument), "emails")
		_, err = f.client.RegisterPartner(ctx, req(&integratorv1.RegisterPartnerRequest{Name: "P", Domains: []string{"not a domain"}}, operatorToken))
		requireCode(t, err, connect.CodeInvalidArgument)
		_, err = f.client.RegisterPartner(ctx, req(&integratorv1.RegisterPartnerRequest{Name: "P", Emails: []string{"A@x.example", "a@X.example"}}, operatorToken))
		requireField(t, requireCode(t, err, connect.CodeInvalidArgument), "emails[1]")

		register(t, f, "First", []string{"dev@first.example"}, []string{"first.example"})
		_, err = f.client.RegisterPartner(ctx, req(&integratorv1.RegisterPartnerRequest{Name: "Second", Emails: []string{"ok@second.example", "DEV@first.example"}}, operatorToken))
		requireField(t, requireCode(t, err, connect.CodeAlreadyExists), "emails[1]")
		_, err = f.client.RegisterPartner(ctx, req(&integratorv1.RegisterPartnerRequest{Name: "Third", Domains: []string{"First.Example"}}, operatorToken))
		requireField(t, requireCode(t, err, connect.CodeAlreadyExists), "domains[0]")

		resp, err := f.client.ListPartners(ctx, req(&integratorv1.ListPartnersRequest{}, operatorToken))
		require.NoError(t, err)
		require.Len(t, resp.Msg.GetPartners(), 1, "the refused registrations wrote nothing")
		require.False(t, check(t, f, "ok@second.example").GetRegistered())
	})

	t.Run("RevokedPartnersNeverMatch", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		p := register(t, f, "Gone AS", []string{"dev@gone.example"}, []string{"gone.example"})
		resp, err := f.client.RevokePartner(ctx, req(&integratorv1.RevokePartnerRequest{PartnerId: p.GetPartnerId(), Note: "certification expired"}, operatorToken))
		require.NoError(t, err)
		require.NotNil(t, resp.Msg.GetPartner().GetRevokedAt())
		require.False(t, check(t, f, "dev@gone.example").GetRegistered())
		require.False(t, check(t, f, "other@gone.example").GetRegistered())

		_, err = f.client.RevokePartner(ctx, req(&integratorv1.RevokePartnerRequest{PartnerId: p.GetPartnerId()}, operatorToken))
		requireCode(t, err, connect.CodeFailedPrecondition)
		_, err = f.client.RevokePartner(ctx, req(&integratorv1.RevokePartnerRequest{PartnerId: tenantA}, operatorToken))
		requireCode(t, err, connect.CodeNotFound)

		live, err := f.client.ListPartners(ctx, req(&integratorv1.ListPartnersRequest{}, operatorToken))
		require.NoError(t, err)
		require.Empty(t, live.Msg.GetPartners())
		all, err := f.client.ListPartners(ctx, req(&integratorv1.ListPartnersRequest{IncludeRevoked: true}, operatorToken))
		require.NoError(t, err)
		require.Len(t, all.Msg.GetPartners(), 1)

		// Its address is free again for a new partner.
		q := register(t, f, "Successor AS", []string{"dev@gone.example"}, nil)
		require.Equal(t, q.GetPartnerId(), check(t, f, "dev@gone.example").GetPartnerId())
	})

	t.Run("SeedingIsIdempotentAndKeepsRevocations", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		seeds := []app.PartnerSeed{
			{Name: "Integra Partner AS", Emails: []string{"integrator@integra.example"}, Domains: []string{"integra.example"}},
			{Name: "Nordic Setup AB", Emails: []string{"konsult@nordicsetup.example"}},
		}
		require.NoError(t, f.svc.SeedPartners(ctx, seeds))
		seeds[1].Domains = []string{"nordicsetup.example"} // configuration grew
		require.NoError(t, f.svc.SeedPartners(ctx, seeds))
		all, err := f.svc.ListPartners(ctx, true)
		require.NoError(t, err)
		require.Len(t, all, 2)
		require.Equal(t, app.SeedPartnerID("Nordic Setup AB"), all[1].ID)
		require.Equal(t, []string{"nordicsetup.example"}, all[1].Domains)

		_, _, err = f.svc.RevokePartner(ctx, app.SeedPartnerID("Integra Partner AS"), "")
		require.NoError(t, err)
		require.NoError(t, f.svc.SeedPartners(ctx, seeds), "a restart")
		_, _, ok, err := f.svc.CheckPartner(ctx, "integrator@integra.example")
		require.NoError(t, err)
		require.False(t, ok, "configuration does not bring a revoked partner back")

		err = f.svc.SeedPartners(ctx, []app.PartnerSeed{{Name: "Bad", Emails: []string{"nope"}}})
		require.ErrorContains(t, err, "emails[0]")
	})
}

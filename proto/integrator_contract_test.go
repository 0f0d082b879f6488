package proto_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
)

// The integrator-policy API's additions (issue 5) carry only standard rules;
// each gets an accepted and a refused example here.
func TestIntegratorPolicyContract(t *testing.T) {
	t.Parallel()
	v := setup(t)
	type c struct {
		name string
		msg  proto.Message
		want *violation // nil: valid
	}
	setPolicy := func(max uint32, mode integratorv1.OverflowMode) *integratorv1.SetPolicyRequest {
		return &integratorv1.SetPolicyRequest{TenantId: tenantID, MaxActiveIntegrators: max, OverflowMode: mode}
	}
	replace, choose := integratorv1.OverflowMode_OVERFLOW_MODE_REPLACE_CURRENT, integratorv1.OverflowMode_OVERFLOW_MODE_ADMIN_CHOOSES
	superseded := validIntegratorDismissed()
	superseded.Reason, superseded.DismissedByUserId = integratorv1.DismissalReason_DISMISSAL_REASON_SUPERSEDED, nil
	twoFactor := &integratorv1.ActionDenied{TenantId: tenantID, OccurredAt: ts(now), ActorUserId: userID,
		Action: integratorv1.Action_ACTION_DISABLE_TWO_FACTOR, Resource: "users/" + otherUserID,
		Reason: integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_RESTRICTION}
	for _, tc := range []c{
		{"SetPolicyDefault", setPolicy(1, replace), nil},
		{"SetPolicyAdminChoosesTen", setPolicy(10, choose), nil},
		{"SetPolicyZero", setPolicy(0, replace), &violation{"max_active_integrators", "uint32.gte_lte"}},
		{"SetPolicyEleven", setPolicy(11, replace), &violation{"max_active_integrators", "uint32.gte_lte"}},
		{"SetPolicyNoMode", setPolicy(1, 0), &violation{"overflow_mode", "enum.not_in"}},
		{"SetPolicyUnknownMode", setPolicy(1, 9), &violation{"overflow_mode", "enum.defined_only"}},
		{"SetPolicyUppercaseTenant", &integratorv1.SetPolicyRequest{TenantId: strings.ToUpper(tenantID), MaxActiveIntegrators: 1, OverflowMode: replace},
			&violation{"tenant_id", "string.pattern"}},
		{"GetPolicy", &integratorv1.GetPolicyRequest{TenantId: tenantID}, nil},
		{"GetPolicyNoTenant", &integratorv1.GetPolicyRequest{}, &violation{"tenant_id", "string.pattern"}},
		{"RevokePartner", &integratorv1.RevokePartnerRequest{PartnerId: partnerID, Note: "certification withdrawn"}, nil},
		{"RevokePartnerBadID", &integratorv1.RevokePartnerRequest{PartnerId: "integra"}, &violation{"partner_id", "string.pattern"}},
		{"RevokePartnerLongNote", &integratorv1.RevokePartnerRequest{PartnerId: partnerID, Note: strings.Repeat("x", 501)}, &violation{"note", "string.max_len"}},
		{"ListPartners", &integratorv1.ListPartnersRequest{IncludeRevoked: true}, nil},
		{"RegisterPartnerDomainsOnly", &integratorv1.RegisterPartnerRequest{Name: "Integra", Domains: []string{"integra.example"}}, nil},
		{"RegisterPartnerBadDomain", &integratorv1.RegisterPartnerRequest{Name: "Integra", Domains: []string{"not a domain"}},
			&violation{"domains[0]", "string.hostname"}},
		{"RegisterPartnerDuplicateDomain", &integratorv1.RegisterPartnerRequest{Name: "Integra", Domains: []string{"a.example", "a.example"}},
			&violation{"domains", "repeated.unique"}},
		{"DismissedSupersededWithoutActor", superseded, nil},
		{"DeniedTwoFactor", twoFactor, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.want == nil {
				requireValid(t, v, tc.msg)
				return
			}
			requireViolation(t, v, tc.msg, *tc.want)
		})
	}
}

package proto_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
)

// TestIdentityRequests covers the field rules of the identity API's newer
// requests (tokens, sign-in, structure, tenant settings) with a valid and an
// invalid case each.
func TestIdentityRequests(t *testing.T) {
	t.Parallel()
	v := setup(t)
	cases := []struct {
		name string
		ok   proto.Message
		bad  proto.Message
		want violation
	}{
		{"AccessTokenTTL",
			&identityv1.CreateAccessTokenRequest{TenantId: tenantID, TtlSeconds: 3600},
			&identityv1.CreateAccessTokenRequest{TenantId: tenantID, TtlSeconds: 59},
			violation{"ttl_seconds", "uint32.gte_lte"}},
		{"AccessTokenUser",
			&identityv1.CreateAccessTokenRequest{TenantId: tenantID, UserId: userID},
			&identityv1.CreateAccessTokenRequest{TenantId: tenantID, UserId: "Kari"},
			violation{"user_id", "string.pattern"}},
		{"RevokeToken",
			&identityv1.RevokeAccessTokenRequest{TenantId: tenantID, TokenId: userID},
			&identityv1.RevokeAccessTokenRequest{TenantId: tenantID},
			violation{"token_id", "string.pattern"}},
		{"TenantLanguage",
			&identityv1.CreateTenantRequest{Name: "Fjord AS", CompanyCode: "FJORD", Language: "nb",
				Administrator: &identityv1.NewAdministrator{FirstName: "Kari", LastName: "Nordmann", Email: "kari@fjord.example"}},
			&identityv1.CreateTenantRequest{Name: "Fjord AS", CompanyCode: "FJORD", Language: "Norwegian",
				Administrator: &identityv1.NewAdministrator{FirstName: "Kari", LastName: "Nordmann", Email: "kari@fjord.example"}},
			violation{"language", "string.pattern"}},
		{"StructureKind",
			&identityv1.CreateStructureItemRequest{TenantId: tenantID, Kind: identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION, Name: "Oslo"},
			&identityv1.CreateStructureItemRequest{TenantId: tenantID, Name: "Oslo"},
			violation{"kind", "enum.not_in"}},
		{"StructureKey",
			&identityv1.CreateStructureItemRequest{TenantId: tenantID, Kind: identityv1.StructureKind_STRUCTURE_KIND_PERMISSION_AREA, Name: "Support", Key: "support"},
			&identityv1.CreateStructureItemRequest{TenantId: tenantID, Kind: identityv1.StructureKind_STRUCTURE_KIND_PERMISSION_AREA, Name: "Support", Key: "Support!"},
			violation{"key", "string.pattern"}},
		{"SeatLimit",
			&identityv1.UpdateTenantRequest{TenantId: tenantID, SeatLimit: proto.Uint32(25)},
			&identityv1.UpdateTenantRequest{TenantId: tenantID, SeatLimit: proto.Uint32(2000000)},
			violation{"seat_limit", "uint32.lte"}},
		{"Role",
			&identityv1.SetUserRoleRequest{TenantId: tenantID, UserId: userID, Role: identityv1.Role_ROLE_SUPERUSER},
			&identityv1.SetUserRoleRequest{TenantId: tenantID, UserId: userID},
			violation{"role", "enum.not_in"}},
		{"SignInCompanyCode",
			&identityv1.SignInRequest{CompanyCode: "FJORD", Email: "kari@fjord.example", Password: "x"},
			&identityv1.SignInRequest{CompanyCode: "F", Email: "kari@fjord.example", Password: "x"},
			violation{"company_code", "string.pattern"}},
		{"ServiceTokenPassword",
			&identityv1.IssueServiceTokenRequest{CompanyCode: "FJORD", UserCode: "PAIE2026", Password: "p"},
			&identityv1.IssueServiceTokenRequest{CompanyCode: "FJORD", UserCode: "PAIE2026"},
			violation{"password", "string.min_len"}},
		{"ServiceUserCodeTooShort",
			&identityv1.CreateServiceUserRequest{TenantId: tenantID, UserCode: "ABC123", ApplicationId: userID, Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, Language: "fr-CA", AllCompanies: true, AllStructure: true},
			&identityv1.CreateServiceUserRequest{TenantId: tenantID, UserCode: "ABC12", ApplicationId: userID, Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, Language: "fr-CA", AllCompanies: true, AllStructure: true},
			violation{"user_code", "string.pattern"}},
		{"ServiceUserCodeTooLong",
			&identityv1.CreateServiceUserRequest{TenantId: tenantID, UserCode: "ABCDEF1234", ApplicationId: userID, Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, Language: "fr-CA", AllCompanies: true, AllStructure: true},
			&identityv1.CreateServiceUserRequest{TenantId: tenantID, UserCode: "ABCDEF12345", ApplicationId: userID, Status: identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE, Language: "fr-CA", AllCompanies: true, AllStructure: true},
			violation{"user_code", "string.pattern"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			requireValid(t, v, c.ok)
			requireViolation(t, v, c.bad, c.want)
		})
	}
}

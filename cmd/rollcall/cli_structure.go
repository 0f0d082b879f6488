package main

import (
	"context"
	"fmt"
	"strings"

	"connectrpc.com/connect"

	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
)

// structure turns the names an operator types ("Demo AS Oslo", "Lønn
// (payroll)") into the ids of the tenant's structure items, and ids back
// into names for display. An id is used as given, without a lookup.
type structure struct {
	client identityv1connect.IdentityServiceClient
	tenant string
	server string
	cache  map[identityv1.StructureKind][]*identityv1.StructureItem
}

func newStructure(a *apiFlags) *structure {
	return &structure{client: a.identity(), tenant: a.Tenant, server: a.Server}
}

func (s *structure) items(ctx context.Context, kind identityv1.StructureKind) ([]*identityv1.StructureItem, error) {
	if xs, ok := s.cache[kind]; ok {
		return xs, nil
	}
	res, err := s.client.ListStructureItems(ctx, connect.NewRequest(&identityv1.ListStructureItemsRequest{TenantId: s.tenant, Kind: kind}))
	if err != nil {
		return nil, apiError(s.server, err)
	}
	if s.cache == nil {
		s.cache = map[identityv1.StructureKind][]*identityv1.StructureItem{}
	}
	s.cache[kind] = res.Msg.GetItems()
	return res.Msg.GetItems(), nil
}

// id resolves one value of flag: an id as it is, else an item of kind whose
// name (or key) it is, ignoring case.
func (s *structure) id(ctx context.Context, kind identityv1.StructureKind, flag, v string) (string, error) {
	if uuidRE.MatchString(v) {
		return v, nil
	}
	xs, err := s.items(ctx, kind)
	if err != nil {
		return "", err
	}
	var names []string
	for _, x := range xs {
		if strings.EqualFold(x.GetName(), v) || (x.GetKey() != "" && strings.EqualFold(x.GetKey(), v)) {
			return x.GetId(), nil
		}
		names = append(names, fmt.Sprintf("%q", x.GetName()))
	}
	if len(names) == 0 {
		return "", fmt.Errorf("--%s %q: the tenant has no %s", flag, v, enumWord(kind))
	}
	return "", fmt.Errorf("--%s %q: no %s of that name; the tenant has %s (or give an id)", flag, v, enumWord(kind), joinOr(names))
}

// ids resolves every value of a repeatable flag.
func (s *structure) ids(ctx context.Context, kind identityv1.StructureKind, flag string, vs []string) ([]string, error) {
	var out []string
	for _, v := range vs {
		id, err := s.id(ctx, kind, flag, v)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// selection is a scope flag's values: absent (nil) when the flag was not
// given, "all" for every item (including later ones), else the items.
func (s *structure) selection(ctx context.Context, kind identityv1.StructureKind, flag string, vs []string) (*commonv1.Selection, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	for _, v := range vs {
		if strings.EqualFold(v, "all") {
			if len(vs) > 1 {
				return nil, fmt.Errorf("--%s all: give it alone, not with other values", flag)
			}
			return &commonv1.Selection{All: true}, nil
		}
	}
	ids, err := s.ids(ctx, kind, flag, vs)
	if err != nil {
		return nil, err
	}
	return &commonv1.Selection{Ids: ids}, nil
}

// name is an item's name for display; the id itself when it cannot be
// looked up (display never fails a command).
func (s *structure) name(ctx context.Context, kind identityv1.StructureKind, id string) string {
	xs, err := s.items(ctx, kind)
	if err != nil {
		return id
	}
	for _, x := range xs {
		if x.GetId() == id {
			return x.GetName()
		}
	}
	return id
}

// grantsText summarises grants on one line: "main administrator", or
// "custom: areas support, invoices; organisations: all; packages:
// integration user + all additional".
func grantsText(g *commonv1.Grants) string {
	if g == nil {
		return ""
	}
	var parts []string
	if len(g.GetPermissionAreas()) > 0 {
		parts = append(parts, "areas "+strings.Join(g.GetPermissionAreas(), ", "))
	}
	sel := func(what string, s *commonv1.Selection) {
		switch {
		case s == nil:
		case s.GetAll():
			parts = append(parts, what+" all")
		case len(s.GetIds()) == 0:
			parts = append(parts, what+" none")
		default:
			parts = append(parts, fmt.Sprintf("%s %d", what, len(s.GetIds())))
		}
	}
	sc := g.GetScope()
	sel("organisations", sc.GetOrganisations())
	sel("customers", sc.GetCustomers())
	sel("cost centres", sc.GetCostCentres())
	sel("product categories", sc.GetProductCategories())
	if n := len(sc.GetApplicationLinkIds()); n > 0 {
		parts = append(parts, fmt.Sprintf("application links %d", n))
	}
	if p := g.GetAccessPackages(); p != nil {
		var ps []string
		if p.GetIntegrationUser() {
			ps = append(ps, "integration user")
		}
		if p.GetAllAdditionalPackages() {
			ps = append(ps, "all additional")
		}
		ps = append(ps, p.GetAdditionalPackages()...)
		if len(ps) > 0 {
			parts = append(parts, "packages "+strings.Join(ps, " + "))
		}
	}
	level := enumWord(g.GetPermissionLevel())
	if len(parts) == 0 {
		return level
	}
	return level + ": " + strings.Join(parts, "; ")
}

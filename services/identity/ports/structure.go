package ports

import (
	"context"

	"connectrpc.com/connect"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

var kinds = map[identityv1.StructureKind]domain.ItemKind{
	identityv1.StructureKind_STRUCTURE_KIND_ORGANISATION:       domain.ItemOrganisation,
	identityv1.StructureKind_STRUCTURE_KIND_CUSTOMER:           domain.ItemCustomer,
	identityv1.StructureKind_STRUCTURE_KIND_COST_CENTRE:        domain.ItemCostCentre,
	identityv1.StructureKind_STRUCTURE_KIND_COMPANY:            domain.ItemCompany,
	identityv1.StructureKind_STRUCTURE_KIND_STRUCTURE_LEVEL:    domain.ItemStructureLevel,
	identityv1.StructureKind_STRUCTURE_KIND_PRODUCT_CATEGORY:   domain.ItemProductCategory,
	identityv1.StructureKind_STRUCTURE_KIND_APPLICATION:        domain.ItemApplication,
	identityv1.StructureKind_STRUCTURE_KIND_PERMISSION_AREA:    domain.ItemPermissionArea,
	identityv1.StructureKind_STRUCTURE_KIND_ADDITIONAL_PACKAGE: domain.ItemAdditionalPackage,
}

func kindOf(k identityv1.StructureKind) (domain.ItemKind, error) {
	if dk, ok := kinds[k]; ok {
		return dk, nil
	}
	return "", domain.Invalid("kind", "unknown structure kind")
}

func itemOf(it domain.Item) *identityv1.StructureItem {
	out := &identityv1.StructureItem{Id: it.ID, Key: it.Key, Name: it.Name, ParentId: it.ParentID}
	for pk, dk := range kinds {
		if dk == it.Kind {
			out.Kind = pk
		}
	}
	return out
}

// GetTenant returns the caller's tenant.
func (h *Connect) GetTenant(ctx context.Context, req *connect.Request[identityv1.GetTenantRequest]) (*connect.Response[identityv1.GetTenantResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	t, n, err := h.App.GetTenant(ctx, a, req.Msg.GetTenantId())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.GetTenantResponse{Tenant: TenantOf(t), SeatsTaken: uint32(n)}), nil
}

// UpdateTenant changes name, language or plan.
func (h *Connect) UpdateTenant(ctx context.Context, req *connect.Request[identityv1.UpdateTenantRequest]) (*connect.Response[identityv1.UpdateTenantResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	var c app.TenantChange
	c.Name, c.Language = m.Name, m.Language
	if m.SeatLimit != nil {
		n := int(m.GetSeatLimit())
		c.SeatLimit = &n
	}
	t, err := h.App.UpdateTenant(ctx, a, m.GetTenantId(), c)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.UpdateTenantResponse{Tenant: TenantOf(t)}), nil
}

// CreateStructureItem adds an item to the tenant's structure.
func (h *Connect) CreateStructureItem(ctx context.Context, req *connect.Request[identityv1.CreateStructureItemRequest]) (*connect.Response[identityv1.CreateStructureItemResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	m := req.Msg
	k, err := kindOf(m.GetKind())
	if err != nil {
		return nil, toConnect(err)
	}
	it, err := h.App.CreateItem(ctx, a, domain.Item{TenantID: m.GetTenantId(), Kind: k, Key: m.GetKey(), Name: m.GetName(), ParentID: m.GetParentId()})
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&identityv1.CreateStructureItemResponse{Item: itemOf(it)}), nil
}

// ListStructureItems lists the tenant's items of one kind.
func (h *Connect) ListStructureItems(ctx context.Context, req *connect.Request[identityv1.ListStructureItemsRequest]) (*connect.Response[identityv1.ListStructureItemsResponse], error) {
	a, err := h.admin(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	k, err := kindOf(req.Msg.GetKind())
	if err != nil {
		return nil, toConnect(err)
	}
	items, err := h.App.Items(ctx, a, req.Msg.GetTenantId(), k)
	if err != nil {
		return nil, toConnect(err)
	}
	out := &identityv1.ListStructureItemsResponse{}
	for _, it := range items {
		out.Items = append(out.Items, itemOf(it))
	}
	return connect.NewResponse(out), nil
}

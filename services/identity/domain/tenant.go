package domain

import (
	"regexp"
	"time"
)

// Tenant is a client or portal: the unit of isolation.
type Tenant struct {
	ID          string
	Name        string
	CompanyCode string
	Language    string
	SeatLimit   int // 0: unlimited
	CreatedAt   time.Time
}

// ItemKind names one part of a tenant's structure.
type ItemKind string

// Structure item kinds.
const (
	ItemOrganisation      ItemKind = "organisation"
	ItemCustomer          ItemKind = "customer"
	ItemCostCentre        ItemKind = "cost_centre"
	ItemCompany           ItemKind = "company"
	ItemStructureLevel    ItemKind = "structure_level"
	ItemProductCategory   ItemKind = "product_category"
	ItemApplication       ItemKind = "application"
	ItemPermissionArea    ItemKind = "permission_area"
	ItemAdditionalPackage ItemKind = "additional_package"
)

// Keyed reports whether items of the kind are known by key (permission
// areas and additional packages) rather than only by id.
func (k ItemKind) Keyed() bool { return k == ItemPermissionArea || k == ItemAdditionalPackage }

// Item is one organisation, customer, cost centre, company, structure level,
// product category, application, permission area or additional package.
type Item struct {
	TenantID  string
	Kind      ItemKind
	ID        string
	Key       string // areas and packages
	Name      string
	ParentID  string // structure levels: the company or the level above
	CreatedAt time.Time
}

var itemKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// CheckItem checks an item's own fields (not its parent, which needs the
// store).
func CheckItem(it Item) error {
	if it.Name == "" || len([]rune(it.Name)) > 200 {
		return Invalid("name", "must be 1 to 200 characters")
	}
	if it.Kind.Keyed() {
		if !itemKey.MatchString(it.Key) {
			return Invalid("key", "must be a lowercase key like \"support\" (a-z, 0-9, _; starting with a letter)")
		}
	} else if it.Key != "" {
		return Invalid("key", "only permission areas and additional packages have keys")
	}
	switch {
	case it.Kind == ItemStructureLevel && it.ParentID == "":
		return Invalid("parent_id", "a structure level belongs to a company or to another level")
	case it.Kind != ItemStructureLevel && it.ParentID != "":
		return Invalid("parent_id", "only structure levels have a parent")
	}
	return nil
}

// ScopeFields maps the AccessScope fields CheckScope reports to item kinds.
var ScopeFields = []struct {
	Field string
	Kind  ItemKind
}{
	{"organisations", ItemOrganisation},
	{"customers", ItemCustomer},
	{"cost_centres", ItemCostCentre},
	{"product_categories", ItemProductCategory},
	{"application_link_ids", ItemApplication},
}

// AccessToken is a bearer token's stored half.
type AccessToken struct {
	ID        string
	Hash      []byte
	TenantID  string
	UserID    string
	Purpose   string // PurposeAdmin or PurposeAPI
	Label     string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
}

// Token purposes: an administrator's bearer token, or a service user's API
// token (which the admin API never accepts).
const (
	PurposeAdmin = "admin"
	PurposeAPI   = "api"
)

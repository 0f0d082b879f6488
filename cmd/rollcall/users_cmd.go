package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"connectrpc.com/connect"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
)

// usersCmd shows the tenant's users as identity keeps them: people,
// integration users, integrators and service users.
type usersCmd struct {
	List usersListCmd `cmd:"" default:"withargs" help:"List the tenant's users (active ones unless --all)."`
	Show usersShowCmd `cmd:"" help:"Show one user."`
}

var userKinds = map[string]identityv1.UserKind{
	"person": identityv1.UserKind_USER_KIND_PERSON, "integration": identityv1.UserKind_USER_KIND_INTEGRATION,
	"service": identityv1.UserKind_USER_KIND_SERVICE, "integrator": identityv1.UserKind_USER_KIND_INTEGRATOR,
}

type usersListCmd struct {
	apiFlags `embed:""`
	Kind     []string `name:"kind" enum:"person,integration,service,integrator" help:"Only these kinds (person, integration, service, integrator); repeatable."`
	All      bool     `name:"all" help:"Include deactivated users."`
	Limit    int      `name:"limit" default:"200" help:"At most this many users (0: all)."`
}

func (c *usersListCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	var kinds []identityv1.UserKind
	for _, k := range c.Kind {
		kinds = append(kinds, userKinds[k])
	}
	all, err := listUsers(ctx, &c.apiFlags, kinds, c.All, c.Limit)
	if err != nil {
		return err
	}
	if c.JSON {
		return c.printJSON(all)
	}
	return printUserTable(c.w(), all)
}

// listUsers pages through the tenant's users, up to limit (0: all).
func listUsers(ctx context.Context, a *apiFlags, kinds []identityv1.UserKind, deactivated bool, limit int) (*identityv1.ListUsersResponse, error) {
	req := &identityv1.ListUsersRequest{TenantId: a.Tenant, Kinds: kinds, IncludeDeactivated: deactivated}
	all := &identityv1.ListUsersResponse{}
	client := a.identity()
	for {
		req.PageSize = pageSize(limit, len(all.GetUsers()))
		res, err := client.ListUsers(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, apiError(a.Server, err)
		}
		all.Users = append(all.Users, res.Msg.GetUsers()...)
		all.NextPageToken = res.Msg.GetNextPageToken()
		if all.NextPageToken == "" || (limit > 0 && len(all.Users) >= limit) {
			return all, nil
		}
		req.PageToken = all.NextPageToken
	}
}

// userName is a person's name, or a service user's code.
func userName(u *identityv1.User) string {
	if su := u.GetServiceUser(); su != nil {
		return su.GetUserCode()
	}
	return strings.TrimSpace(u.GetProfile().GetFirstName() + " " + u.GetProfile().GetLastName())
}

// userNotes are the markers an admin's user list shows.
func userNotes(u *identityv1.User) string {
	var n []string
	p := u.GetProfile()
	if p.GetIntegratorMarker() {
		n = append(n, "integrator")
	}
	if p != nil && !p.GetCountsTowardSeatLimit() {
		n = append(n, "no seat")
	}
	if u.GetNeedsNewSponsor() {
		n = append(n, "needs a new sponsor")
	}
	if p.GetTwoFactorEnabled() {
		n = append(n, "2FA")
	}
	if su := u.GetServiceUser(); su != nil {
		n = append(n, "API only, "+enumWord(su.GetStatus()))
	}
	return strings.Join(n, ", ")
}

func printUserTable(w io.Writer, res *identityv1.ListUsersResponse) error {
	if len(res.GetUsers()) == 0 {
		_, err := fmt.Fprintln(w, "No users.")
		return err
	}
	t := newTable(w, "USER", "KIND", "STATUS", "ROLE", "NAME", "EMAIL", "NOTES")
	for _, u := range res.GetUsers() {
		t.row(u.GetUserId(), enumWord(u.GetKind()), enumWord(u.GetStatus()), enumWord(u.GetRole()), userName(u), u.GetProfile().GetEmail(), userNotes(u))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if res.GetNextPageToken() != "" {
		_, err := fmt.Fprintln(w, "(more: --limit 0 lists them all)")
		return err
	}
	return nil
}

func printUser(w io.Writer, u *identityv1.User) {
	t := newTable(w)
	t.row("  user", u.GetUserId())
	t.row("  kind", enumWord(u.GetKind()))
	status := enumWord(u.GetStatus())
	if u.GetDeactivatedAt() != nil {
		status += " " + when(u.GetDeactivatedAt())
	}
	t.row("  status", status)
	t.row("  role", enumWord(u.GetRole()))
	if p := u.GetProfile(); p != nil {
		t.row("  name", userName(u))
		t.row("  email", p.GetEmail())
		if p.GetMobile() != "" {
			t.row("  mobile", p.GetMobile())
		}
		t.row("  grants", grantsText(p.GetGrants()))
	}
	if su := u.GetServiceUser(); su != nil {
		t.row("  user code", su.GetUserCode())
		t.row("  application", su.GetApplicationId())
		t.row("  service status", enumWord(su.GetStatus()))
		t.row("  language", su.GetLanguage())
		t.row("  companies", allOr(su.GetAllCompanies(), su.GetCompanyIds()))
		t.row("  structure", allOr(su.GetAllStructure(), su.GetStructureLevelIds()))
	}
	if u.GetSponsorUserId() != "" {
		t.row("  sponsor", u.GetSponsorUserId())
	}
	t.row("  notes", userNotes(u))
	t.row("  made in", enumWord(u.GetOrigin()))
	t.row("  created", when(u.GetCreatedAt()))
	_ = t.flush()
}

func allOr(all bool, ids []string) string {
	if all {
		return "all"
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

type usersShowCmd struct {
	apiFlags `embed:""`
	UserID   string `arg:"" name:"user" help:"The user's id."`
}

func (c *usersShowCmd) Run(ctx context.Context) error {
	if err := c.setup(devAdminTokenFile); err != nil {
		return err
	}
	res, err := c.identity().GetUser(ctx, connect.NewRequest(&identityv1.GetUserRequest{TenantId: c.Tenant, UserId: c.UserID}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		return c.printJSON(res.Msg)
	}
	printUser(c.w(), res.Msg.GetUser())
	return nil
}

// serviceUserCmd is seed 002 from a terminal: API-only service users, made
// by an application manager, with the letter for the vendor.
type serviceUserCmd struct {
	Create serviceUserCreateCmd `cmd:"" help:"Create an API-only service user and print its letter (user code and password), once."`
	Reset  serviceUserResetCmd  `cmd:"" help:"Give a service user a new, permanent password and print the new letter, once."`
	Status serviceUserStatusCmd `cmd:"" help:"Show a service user's status, or set it: active or inactive."`
}

type serviceUserCreateCmd struct {
	apiFlags    `embed:""`
	Code        string   `name:"code" required:"" help:"The user code: 6 to 10 letters or digits, unique in the tenant."`
	Application string   `name:"application" required:"" help:"The external application that will use it: a name (e.g. 'Lønn (payroll)') or an id."`
	Language    string   `name:"language" help:"Communication language of the letter, BCP 47 (e.g. fr-CA, nb) (default: the tenant's)."`
	Inactive    bool     `name:"inactive" help:"Create it inactive (status active otherwise)."`
	Companies   []string `name:"company" help:"A company it may access: a name or an id; repeatable (default: all companies)."`
	Levels      []string `name:"structure-level" help:"A level of the administrative structure it may access: a name or an id; repeatable (default: the whole structure)."`
	LetterPDF   string   `name:"letter-pdf" type:"path" help:"Also write the letter as a PDF to this file (mode 0600: it holds the password)."`
}

func (c *serviceUserCreateCmd) request(ctx context.Context, st *structure) (*identityv1.CreateServiceUserRequest, error) {
	app, err := st.id(ctx, identityv1.StructureKind_STRUCTURE_KIND_APPLICATION, "application", c.Application)
	if err != nil {
		return nil, err
	}
	req := &identityv1.CreateServiceUserRequest{
		TenantId: c.Tenant, UserCode: c.Code, ApplicationId: app, Language: c.Language,
		Status:       identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE,
		AllCompanies: len(c.Companies) == 0, AllStructure: len(c.Levels) == 0,
	}
	if c.Inactive {
		req.Status = identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE
	}
	if req.CompanyIds, err = st.ids(ctx, identityv1.StructureKind_STRUCTURE_KIND_COMPANY, "company", c.Companies); err != nil {
		return nil, err
	}
	if req.StructureLevelIds, err = st.ids(ctx, identityv1.StructureKind_STRUCTURE_KIND_STRUCTURE_LEVEL, "structure-level", c.Levels); err != nil {
		return nil, err
	}
	if req.Language == "" {
		t, err := st.client.GetTenant(ctx, connect.NewRequest(&identityv1.GetTenantRequest{TenantId: c.Tenant}))
		if err != nil {
			return nil, apiError(c.Server, err)
		}
		req.Language = t.Msg.GetTenant().GetLanguage()
	}
	return req, nil
}

func (c *serviceUserCreateCmd) Run(ctx context.Context) error {
	if err := c.setup(devAppManagerTokenFile); err != nil {
		return err
	}
	st := newStructure(&c.apiFlags)
	req, err := c.request(ctx, st)
	if err != nil {
		return err
	}
	res, err := c.identity().CreateServiceUser(ctx, connect.NewRequest(req))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		if err := c.printJSON(res.Msg); err != nil {
			return err
		}
		return writeLetterPDF(nil, c.LetterPDF, res.Msg.GetLetter())
	}
	w := c.w()
	u := res.Msg.GetUser()
	su := u.GetServiceUser()
	fmt.Fprintf(w, "Created service user %s (%s) for %s: %s, language %s, companies %s, structure %s. It can only use the API token endpoint.\n",
		su.GetUserCode(), u.GetUserId(), st.name(ctx, identityv1.StructureKind_STRUCTURE_KIND_APPLICATION, su.GetApplicationId()),
		enumWord(su.GetStatus()), su.GetLanguage(), allOr(su.GetAllCompanies(), su.GetCompanyIds()), allOr(su.GetAllStructure(), su.GetStructureLevelIds()))
	printLetter(w, res.Msg.GetLetter())
	return writeLetterPDF(w, c.LetterPDF, res.Msg.GetLetter())
}

// printLetter prints the letter's text between rules: the only time the
// password is shown.
func printLetter(w io.Writer, l *identityv1.ServiceUserLetter) {
	fmt.Fprintln(w, "\nThe letter for the vendor (shown this once; the password is not kept in clear):")
	fmt.Fprintln(w, strings.Repeat("-", 72))
	fmt.Fprintln(w, strings.TrimRight(l.GetText(), "\n"))
	fmt.Fprintln(w, strings.Repeat("-", 72))
}

// writeLetterPDF writes the letter's PDF to path, when a path was given
// and the API returned a PDF; w (if not nil) is told.
func writeLetterPDF(w io.Writer, path string, l *identityv1.ServiceUserLetter) error {
	if path == "" {
		return nil
	}
	if len(l.GetPdf()) == 0 {
		if w != nil {
			fmt.Fprintf(w, "The API returned no PDF; %s was not written.\n", path)
		}
		return nil
	}
	if err := os.WriteFile(path, l.GetPdf(), 0o600); err != nil {
		return fmt.Errorf("the letter's PDF could not be written (the text above is the same letter): %w", err)
	}
	if w != nil {
		fmt.Fprintf(w, "The letter as a PDF: %s (%d bytes, mode 0600).\n", path, len(l.GetPdf()))
	}
	return nil
}

// serviceUser finds a service user by id or user code.
func serviceUser(ctx context.Context, a *apiFlags, v string) (*identityv1.User, error) {
	if uuidRE.MatchString(v) {
		res, err := a.identity().GetUser(ctx, connect.NewRequest(&identityv1.GetUserRequest{TenantId: a.Tenant, UserId: v}))
		if err != nil {
			return nil, apiError(a.Server, err)
		}
		return res.Msg.GetUser(), nil
	}
	all, err := listUsers(ctx, a, []identityv1.UserKind{identityv1.UserKind_USER_KIND_SERVICE}, true, 0)
	if err != nil {
		return nil, err
	}
	for _, u := range all.GetUsers() {
		if strings.EqualFold(u.GetServiceUser().GetUserCode(), v) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("no service user with the user code %q in the tenant", v)
}

type serviceUserResetCmd struct {
	apiFlags  `embed:""`
	User      string `arg:"" name:"user" help:"The service user: its user code or id."`
	LetterPDF string `name:"letter-pdf" type:"path" help:"Also write the new letter as a PDF to this file (mode 0600)."`
}

func (c *serviceUserResetCmd) Run(ctx context.Context) error {
	if err := c.setup(devAppManagerTokenFile); err != nil {
		return err
	}
	u, err := serviceUser(ctx, &c.apiFlags, c.User)
	if err != nil {
		return err
	}
	res, err := c.identity().ResetServiceUserPassword(ctx, connect.NewRequest(&identityv1.ResetServiceUserPasswordRequest{TenantId: c.Tenant, UserId: u.GetUserId()}))
	if err != nil {
		return apiError(c.Server, err)
	}
	if c.JSON {
		if err := c.printJSON(res.Msg); err != nil {
			return err
		}
		return writeLetterPDF(nil, c.LetterPDF, res.Msg.GetLetter())
	}
	w := c.w()
	fmt.Fprintf(w, "Service user %s has a new password; the old one no longer works. The new one is permanent.\n", u.GetServiceUser().GetUserCode())
	printLetter(w, res.Msg.GetLetter())
	return writeLetterPDF(w, c.LetterPDF, res.Msg.GetLetter())
}

type serviceUserStatusCmd struct {
	apiFlags `embed:""`
	User     string `arg:"" name:"user" help:"The service user: its user code or id."`
	Set      string `arg:"" optional:"" name:"status" enum:",active,inactive" default:"" help:"The new status: active or inactive (an inactive one gets no API token, and its tokens are revoked). Absent: show it."`
}

func (c *serviceUserStatusCmd) Run(ctx context.Context) error {
	if err := c.setup(devAppManagerTokenFile); err != nil {
		return err
	}
	u, err := serviceUser(ctx, &c.apiFlags, c.User)
	if err != nil {
		return err
	}
	if c.Set != "" {
		st := identityv1.ServiceUserStatus_SERVICE_USER_STATUS_ACTIVE
		if c.Set == "inactive" {
			st = identityv1.ServiceUserStatus_SERVICE_USER_STATUS_INACTIVE
		}
		res, err := c.identity().SetServiceUserStatus(ctx, connect.NewRequest(&identityv1.SetServiceUserStatusRequest{TenantId: c.Tenant, UserId: u.GetUserId(), Status: st}))
		if err != nil {
			return apiError(c.Server, err)
		}
		u = res.Msg.GetUser()
	}
	if c.JSON {
		return c.printJSON(&identityv1.GetUserResponse{User: u})
	}
	su := u.GetServiceUser()
	fmt.Fprintf(c.w(), "Service user %s (%s): %s; user %s.\n", su.GetUserCode(), u.GetUserId(), enumWord(su.GetStatus()), enumWord(u.GetStatus()))
	return nil
}

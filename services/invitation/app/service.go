package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"rollcall.dev/pkg/pgdb"

	"rollcall.dev/services/invitation/domain"
)

// Errors of the use cases beyond the domain's.
var (
	// ErrUnknownTenant is a tenant the directory does not know.
	ErrUnknownTenant = errors.New("unknown tenant")
	// ErrNotFound is an invitation that does not exist in the actor's tenant.
	ErrNotFound = errors.New("invitation not found")
	// ErrUnavailable is a service this one depends on (directory, partner
	// registry, identity, mail or SMS) that did not answer: worth a retry.
	ErrUnavailable = errors.New("a service the invitation depends on is unavailable")
	// ErrMisconfigured is a service started without a usable code key.
	ErrMisconfigured = errors.New("invitation service misconfigured")
)

func (s *Service) keyed() error {
	if err := s.Key.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrMisconfigured, err)
	}
	return nil
}

// UnavailableError is a dependency's failure. Dependency names it for the
// caller ("identity", "delivery"); Err keeps its words for the logs only,
// since a client library's error carries addresses, or the dependency's
// refusal of this service's own token, which a caller would misread as his.
type UnavailableError struct {
	Dependency string
	Err        error
}

func (e *UnavailableError) Error() string {
	return ErrUnavailable.Error() + ": " + e.Dependency + ": " + e.Err.Error()
}

// Unwrap makes the error both ErrUnavailable and its cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Unavailable marks err as dependency's failure (nil stays nil). An error
// that already names its dependency keeps that name.
func Unavailable(dependency string, err error) error {
	var ue *UnavailableError
	if err == nil || errors.As(err, &ue) {
		return err
	}
	return &UnavailableError{Dependency: dependency, Err: err}
}

// unavailable marks a dependency's failure, except the answers that are
// not failures: an unknown tenant, and a field error (a permanent delivery
// refusal names the address that was refused).
func unavailable(what string, err error) error {
	var fe *domain.FieldError
	if err == nil || errors.Is(err, ErrUnknownTenant) || errors.As(err, &fe) {
		return err
	}
	return Unavailable(what, err)
}

// Service runs the use cases.
type Service struct {
	Store       Store
	Directory   Directory
	Partners    Partners
	Policy      Policy // nil: an integrator's refusals are not recorded (they are still refused)
	Credentials Credentials
	Notifier    Notifier
	Key         domain.CodeKey
	Log         *slog.Logger
	Now         func() time.Time
	NewID       func() string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return uuid.NewString()
}

// sameTenant refuses an actor acting outside their tenant; it answers as if
// the thing did not exist, so tenants cannot probe each other's ids.
func sameTenant(by domain.Actor, tenantID string) error {
	if by.TenantID == "" || by.TenantID != tenantID {
		return ErrNotFound
	}
	return nil
}

// administers checks that the actor belongs to the tenant and is one of its
// administrators or superusers (seed 001).
func administers(by domain.Actor, tenantID string) error {
	if err := sameTenant(by, tenantID); err != nil {
		return err
	}
	if by.Role != domain.RoleMainAdministrator && by.Role != domain.RoleSuperuser {
		return fmt.Errorf("%w: only administrators and superusers manage invitations", domain.ErrForbidden)
	}
	return nil
}

// Create sends an invitation: the form is checked against the tenant (its
// areas, its structure), the partner registry (integrators) and the actor's
// own rights; the link and code are delivered before the invitation is
// committed, so a failed delivery leaves nothing behind.
func (s *Service) Create(ctx context.Context, by domain.Actor, form domain.NewInvitation) (*domain.Invitation, error) {
	return s.CreateWithLifetime(ctx, by, form, 0)
}

// CreateWithLifetime is Create with this invitation's own lifetime (1 hour
// to 30 days) instead of the tenant's; zero means the tenant's.
func (s *Service) CreateWithLifetime(ctx context.Context, by domain.Actor, form domain.NewInvitation, lifetime time.Duration) (*domain.Invitation, error) {
	if err := s.keyed(); err != nil {
		return nil, err
	}
	if err := sameTenant(by, form.TenantID); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownTenant, err)
	}
	// The actor's rights first: someone who may not invite learns nothing
	// about partners or the tenant's structure from the answers below. An
	// integrator who tries to create an administrator is asked about, so
	// integrator-policy records the refusal (ActionDenied); the domain
	// refuses him whatever it answers.
	if by.Integrator && form.Grants.Level == domain.LevelMainAdministrator && s.Policy != nil {
		err := s.Policy.MayCreateAdministrator(ctx, by.TenantID, by.UserID)
		switch {
		case errors.Is(err, domain.ErrForbidden):
			return nil, err
		case err != nil:
			// The refusal below stands; only its record is missing.
			s.log().WarnContext(ctx, "integrator-policy did not answer: an integrator's refused attempt to create an administrator is not recorded",
				"tenant_id", by.TenantID, "actor_user_id", by.UserID, "error", err)
		}
	}
	if err := domain.MayInvite(by, form.Kind, form.Grants); err != nil {
		return nil, err
	}
	tenant, err := s.Directory.Tenant(ctx, form.TenantID)
	if err != nil {
		return nil, unavailable("directory", err)
	}
	for i, a := range form.Grants.Areas {
		if !slices.Contains(tenant.Areas, a) {
			return nil, domain.Invalid(fmt.Sprintf("grants.permission_areas[%d]", i), "the tenant has no area %q", a)
		}
	}
	if p := form.Grants.Packages; p != nil {
		for i, k := range p.Additional {
			if !slices.Contains(tenant.Packages, k) {
				return nil, domain.Invalid(fmt.Sprintf("grants.access_packages.additional_packages[%d]", i), "the tenant has no additional package %q", k)
			}
		}
	}
	unknown, err := s.Directory.UnknownScopeIDs(ctx, form.TenantID, form.Grants.Scope)
	if err != nil {
		return nil, unavailable("directory", err)
	}
	for _, field := range []string{"organisations", "customers", "cost_centres", "product_categories", "application_links"} {
		if ids := unknown[field]; len(ids) > 0 {
			return nil, domain.Invalid("grants.scope."+field, "unknown in this tenant: %s", strings.Join(ids, ", "))
		}
	}
	if form.Kind == domain.KindIntegrator {
		partner, err := s.Partners.CheckPartner(ctx, strings.ToLower(strings.TrimSpace(form.Email)))
		if err != nil {
			return nil, unavailable("partner registry", err)
		}
		if partner == "" {
			return nil, domain.Invalid("email", "does not belong to a registered partner")
		}
		form.PartnerID = partner
	}
	if form.ID == "" {
		form.ID = s.newID()
	}
	if form.Language == "" {
		form.Language = tenant.Language
	}
	if lifetime == 0 {
		if lifetime, err = s.Store.Lifetime(ctx, form.TenantID); err != nil {
			return nil, err
		}
	}
	inv, err := domain.Create(form, by, domain.Policy{Lifetime: lifetime}, s.Key, s.now())
	if err != nil {
		return nil, err
	}
	// Older pending integrator invitations stay: whether a new one
	// supersedes them is the tenant's integrator policy's call (a limit
	// above one, or "the admin chooses", keeps several open); under
	// "replace the current one" integrator-policy says so with
	// IntegratorReplaced, handled below.
	if err := s.Store.Create(ctx, inv, s.deliver(ctx, tenant, inv)); err != nil {
		return nil, err
	}
	return inv, nil
}

// deliver sends whatever secrets the events carry.
func (s *Service) deliver(ctx context.Context, t Tenant, inv *domain.Invitation) func([]domain.Event) error {
	return func(events []domain.Event) error {
		var (
			tok  domain.Token
			code domain.Code
		)
		for _, ev := range events {
			switch e := ev.(type) {
			case domain.Invited:
				tok, code = e.Token, e.Code
			case domain.LinkIssued:
				tok = e.Token
			case domain.CodeIssued:
				code = e.Code
			}
		}
		var err error
		switch {
		case tok != "":
			err = s.Notifier.Invitation(ctx, t, inv, tok, code)
		case code != "":
			err = s.Notifier.Code(ctx, t, inv, code)
		}
		return unavailable("delivery", err)
	}
}

// IntegratorReplaced reacts to integrator-policy's event: the tenant's
// pending integrator invitations created before the new integrator's are
// revoked (superseded by it). Newer ones are the admin's later intent and
// stay, so a late, redelivered or replayed event never kills them; an
// invitation this service does not know (another tenant's, or gone)
// revokes nothing. Idempotent: a redelivery finds nothing older pending.
func (s *Service) IntegratorReplaced(ctx context.Context, tenantID, newInvitationID string) error {
	newest, err := s.Store.Get(ctx, tenantID, newInvitationID)
	if errors.Is(err, pgdb.ErrNotFound) {
		s.log().WarnContext(ctx, "IntegratorReplaced names an invitation this tenant does not have; nothing revoked",
			"tenant_id", tenantID, "invitation_id", newInvitationID)
		return nil
	}
	if err != nil {
		return err
	}
	return s.revokeIntegratorInvitations(ctx, tenantID, newest.ID, newest.CreatedAt, domain.RevokedIntegratorReplaced)
}

// revokeIntegratorInvitations revokes pending integrator invitations other
// than keep, created before `before`.
func (s *Service) revokeIntegratorInvitations(ctx context.Context, tenantID, keep string, before time.Time, reason domain.RevokeReason) error {
	ids, err := s.Store.PendingIntegratorInvitations(ctx, tenantID, before)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id == keep {
			continue
		}
		_, err := s.Store.Update(ctx, tenantID, id, func(inv *domain.Invitation) error {
			return inv.Revoke(reason, domain.Actor{}, keep, s.now())
		}, nil)
		if err != nil && !errors.Is(err, domain.ErrNotPending) {
			return err
		}
	}
	return nil
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Get reads one invitation of the actor's tenant.
func (s *Service) Get(ctx context.Context, by domain.Actor, tenantID, id string) (*domain.Invitation, error) {
	if err := administers(by, tenantID); err != nil {
		return nil, err
	}
	inv, err := s.Store.Get(ctx, tenantID, id)
	return inv, notFound(err)
}

func notFound(err error) error {
	if errors.Is(err, pgdb.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// List pages through the actor's tenant's invitations.
func (s *Service) List(ctx context.Context, by domain.Actor, tenantID string, f ListFilter) ([]*domain.Invitation, error) {
	if err := administers(by, tenantID); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	return s.Store.List(ctx, tenantID, f)
}

// Revoke withdraws a live invitation.
func (s *Service) Revoke(ctx context.Context, by domain.Actor, tenantID, id string) (*domain.Invitation, error) {
	if err := administers(by, tenantID); err != nil {
		return nil, err
	}
	inv, err := s.Store.Update(ctx, tenantID, id, func(inv *domain.Invitation) error {
		if err := domain.MayInvite(by, inv.Kind, inv.Grants); err != nil {
			return err // managing an invitation takes the right to have sent it
		}
		return inv.Revoke(domain.RevokedByAdmin, by, "", s.now())
	}, nil)
	return inv, notFound(err)
}

// Resend issues a new link (the old one dies) and code, with a fresh
// lifetime, and delivers them before committing.
func (s *Service) Resend(ctx context.Context, by domain.Actor, tenantID, id string, delivery *domain.CodeDelivery) (*domain.Invitation, error) {
	return s.reissue(ctx, by, tenantID, id, func(inv *domain.Invitation) error { return inv.Resend(s.Key, s.now(), delivery) })
}

// IssueCode is the inviter sending a new code, which also unlocks.
func (s *Service) IssueCode(ctx context.Context, by domain.Actor, tenantID, id string) (*domain.Invitation, error) {
	return s.reissue(ctx, by, tenantID, id, func(inv *domain.Invitation) error { return inv.IssueCode(s.Key, s.now()) })
}

// reissue runs an administrator's change that produces new secrets (link,
// code) and delivers them before the change commits. Managing an invitation
// takes the right to have sent it.
func (s *Service) reissue(ctx context.Context, by domain.Actor, tenantID, id string, change func(*domain.Invitation) error) (*domain.Invitation, error) {
	if err := administers(by, tenantID); err != nil {
		return nil, err
	}
	if err := s.keyed(); err != nil {
		return nil, err
	}
	tenant, err := s.Directory.Tenant(ctx, tenantID)
	if err != nil {
		return nil, unavailable("directory", err)
	}
	var target *domain.Invitation
	inv, err := s.Store.Update(ctx, tenantID, id, func(inv *domain.Invitation) error {
		target = inv
		if err := domain.MayInvite(by, inv.Kind, inv.Grants); err != nil {
			return err
		}
		return change(inv)
	}, func(evs []domain.Event) error { return s.deliver(ctx, tenant, target)(evs) })
	return inv, notFound(err)
}

// TenantName is the tenant's name for the invitee's page, or "" when the
// directory cannot say right now (the page still works without it).
func (s *Service) TenantName(ctx context.Context, tenantID string) string {
	t, err := s.Directory.Tenant(ctx, tenantID)
	if err != nil {
		s.log().WarnContext(ctx, "tenant name unavailable for the invitee's page", "tenant_id", tenantID, "error", err)
		return ""
	}
	return t.Name
}

// Open is the invitee following the link; every bad link gets the same
// answer.
func (s *Service) Open(ctx context.Context, tok domain.Token) (*domain.Invitation, error) {
	inv, err := s.Store.UpdateByToken(ctx, tok, func(inv *domain.Invitation) error {
		return inv.Open(tok, s.now()) // may record Expired
	}, nil)
	return inv, hideLinkFailure(err)
}

// hideLinkFailure hides why a link failed: unknown, used, revoked and
// expired links all read ErrInvalidToken.
func hideLinkFailure(err error) error {
	if errors.Is(err, domain.ErrInvalidToken) || errors.Is(err, pgdb.ErrNotFound) {
		return domain.ErrInvalidToken
	}
	return err
}

// VerifyCode checks a code; a wrong one still counts (the attempt is saved
// although the answer is an error).
func (s *Service) VerifyCode(ctx context.Context, tok domain.Token, code domain.Code) error {
	if err := s.keyed(); err != nil {
		return err
	}
	var verdict error
	_, err := s.Store.UpdateByToken(ctx, tok, func(inv *domain.Invitation) error {
		verdict = inv.VerifyCode(tok, code, s.Key, s.now())
		if errors.Is(verdict, domain.ErrInvalidToken) {
			return verdict // nothing to save
		}
		return nil
	}, nil)
	if err != nil {
		return hideLinkFailure(err)
	}
	return verdict
}

// RequestCode is the invitee asking for a new code (rate limited).
func (s *Service) RequestCode(ctx context.Context, tok domain.Token) error {
	if err := s.keyed(); err != nil {
		return err
	}
	var target *domain.Invitation
	var tenant Tenant
	_, err := s.Store.UpdateByToken(ctx, tok, func(inv *domain.Invitation) error {
		target = inv
		if err := inv.RequestCode(tok, s.Key, s.now()); err != nil {
			return err
		}
		t, err := s.Directory.Tenant(ctx, inv.TenantID)
		tenant = t
		return unavailable("directory", err)
	}, func(evs []domain.Event) error { return s.deliver(ctx, tenant, target)(evs) })
	return hideLinkFailure(err)
}

// AcceptForm is what the invitee sends to finish.
type AcceptForm struct {
	Token           domain.Token
	Code            domain.Code
	Method          domain.LoginMethod
	ExistingUserID  string // the signed-in profile, with LoginExisting
	ExternalSubject string // from the BankID or provider-profile login
	Password        string // integration users
	FirstName       string // when the invitation had none (integrators)
	LastName        string
}

// userNamespace derives new users' ids from their invitation's id, so a
// retried acceptance (after a failed commit) names the same user and the
// identity service's idempotent calls line up.
var userNamespace = uuid.MustParse("6f1c2a9e-6f0b-4c55-9f43-3b7f0c8d2e11")

// NewUserID is the id a user created by invitation invitationID gets.
func NewUserID(invitationID string) string {
	return uuid.NewSHA1(userNamespace, []byte(invitationID)).String()
}

// Accept finishes an invitation. For integration users the password goes to
// the identity service before the acceptance commits, so the invitee never
// holds an accepted invitation without a password; a wrong code still
// counts.
func (s *Service) Accept(ctx context.Context, f AcceptForm) (*domain.Invitation, error) {
	if err := s.keyed(); err != nil {
		return nil, err
	}
	if err := checkPassword(f); err != nil {
		return nil, err
	}
	var (
		verdict  error
		accepted bool
		target   *domain.Invitation
	)
	inv, err := s.Store.UpdateByToken(ctx, f.Token, func(inv *domain.Invitation) error {
		target = inv
		verdict = inv.Accept(domain.Acceptance{
			Token: f.Token, Code: f.Code, Method: f.Method, ExistingUserID: f.ExistingUserID,
			ExternalSubject: f.ExternalSubject, NewUserID: NewUserID(inv.ID),
			FirstName: f.FirstName, LastName: f.LastName,
		}, s.Key, s.now())
		accepted = verdict == nil
		switch {
		case accepted:
			return nil
		case errors.Is(verdict, domain.ErrWrongCode), errors.Is(verdict, domain.ErrLocked):
			return nil // save the attempt count (and the lock)
		default:
			return verdict
		}
	}, func([]domain.Event) error {
		if !accepted || f.Method != domain.LoginPassword {
			return nil // nothing accepted (a wrong code is only counted), or no password
		}
		if err := s.Credentials.SetInitialPassword(ctx, target.TenantID, target.UserID, target.ID, f.Password); err != nil {
			return unavailable("identity (setting the password)", err)
		}
		return nil
	})
	if err != nil {
		return nil, hideLinkFailure(err)
	}
	if verdict != nil {
		return nil, verdict
	}
	return inv, nil
}

// CheckAccept runs, on an opened invitation, every check of Accept that
// needs no secret and no login provider: the method suits the kind, the
// names are there, an integration user's password is long enough. The
// transport runs it before spending a single-use login assertion.
func (s *Service) CheckAccept(inv *domain.Invitation, f AcceptForm) error {
	if err := inv.CheckAcceptance(f.Method, f.FirstName, f.LastName); err != nil {
		return err
	}
	return checkPassword(f)
}

func checkPassword(f AcceptForm) error {
	if f.Method == domain.LoginPassword && len(strings.TrimSpace(f.Password)) < 12 {
		return domain.Invalid("password", "must be at least 12 characters")
	}
	return nil
}

// Sweep expires live invitations past their lifetime, up to limit.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	due, err := s.Store.DueForExpiry(ctx, s.now(), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	var firstErr error
	for _, k := range due {
		_, err := s.Store.Update(ctx, k[0], k[1], func(inv *domain.Invitation) error {
			if !inv.Expire(s.now()) {
				return errNothing
			}
			return nil
		}, nil)
		switch {
		case errors.Is(err, errNothing):
		case err != nil:
			// One bad row must not stop the others expiring.
			s.log().WarnContext(ctx, "expiring an invitation failed", "tenant_id", k[0], "invitation_id", k[1], "error", err)
			if firstErr == nil {
				firstErr = err
			}
		default:
			n++
		}
	}
	return n, firstErr
}

var errNothing = errors.New("nothing to do")

package app_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"

	"rollcall.dev/pkg/testkit"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/adapters/postgres"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
	"rollcall.dev/services/identity/migrations"
)

// The fuzzed tenant's service user. Its code has a 'k' and an 'i', which
// other characters lowercase to (the Kelvin sign, the dotted capital I).
const (
	fuzzCompany  = "FuzzCo"
	fuzzUserCode = "Kiosk01"
	fuzzPassword = "correct horse battery staple"
)

// FuzzPasswordLogin sends any company code, login and password that pass
// the contract's validation (what Connect lets through) to
// IssueServiceToken and to SignIn, against a real database with one service
// user. The service token is issued exactly when the company code and the
// user code match case-insensitively and the password is right; SignIn
// then says the user is API-only; every other try is ErrBadCredentials
// (never an internal error). Lower-casing in Go decides the attempt
// counter's key, lower() in Postgres the lookup: when the lookup finds the
// user, the key is the user's, so no spelling of a code escapes the lock.
func FuzzPasswordLogin(f *testing.F) {
	testkit.RequirePostgres(f)
	ctx := context.Background()
	pool := testkit.NewDB(f, migrations.FS)
	svc := &app.Service{
		Store: postgres.New(pool, "/rollcall/identity"), Log: slog.New(slog.DiscardHandler),
		TokenTTL: time.Hour, APITokenTTL: time.Hour,
		Throttle: domain.Throttle{MaxFailures: 1 << 30, Lockout: time.Minute}, // counted, never locked here
	}
	appID := uuid.NewString()
	tn, admin, err := svc.CreateTenant(ctx, app.NewTenant{
		Name: "Fuzz", CompanyCode: fuzzCompany, Language: "nb",
		Items: []domain.Item{{ID: appID, Kind: domain.ItemApplication, Name: "Payroll"}},
		Admin: app.NewPerson{FirstName: "Kari", LastName: "Admin", Email: "admin@fuzz.example"},
	})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now().UTC()
	id := uuid.NewString()
	u := &domain.User{
		TenantID: tn.ID, ID: id, Kind: domain.KindService, Origin: domain.OriginUserAdministration,
		Status: domain.StatusActive, Role: domain.RoleUser,
		Login:           &domain.Credential{UserID: id, Method: domain.LoginPassword, PasswordHash: domain.HashPassword(fuzzPassword)},
		Service:         &domain.ServiceDetails{UserCode: fuzzUserCode, ApplicationID: appID, Active: true, Language: "nb", AllCompanies: true},
		CreatedByUserID: admin.ID, CreatedAt: now, UpdatedAt: now,
	}
	u.Record(domain.ServiceCreated{})
	if err := svc.Store.Do(ctx, func(tx app.Tx) error {
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		return tx.InsertCredential(*u.Login, now)
	}); err != nil {
		f.Fatal(err)
	}

	f.Add(fuzzCompany, fuzzUserCode, fuzzPassword)
	f.Add("fuzzco", "kiosk01", fuzzPassword)
	f.Add("FUZZCO", "KIOSK01", "wrong")
	f.Add(fuzzCompany, "\u212aiosk01", fuzzPassword) // Kelvin sign
	f.Add(fuzzCompany, "K\u0130osk01", fuzzPassword) // dotted capital I
	f.Add(fuzzCompany, " Kiosk01 ", fuzzPassword)
	f.Add(fuzzCompany, "Kiosk01\x00", fuzzPassword)
	f.Add(fuzzCompany, "Kio%k01", fuzzPassword)
	f.Add(fuzzCompany, "Kiosk0_", fuzzPassword)
	f.Add("OtherCo", fuzzUserCode, fuzzPassword)
	f.Add(fuzzCompany, "admin@fuzz.example", "x")
	f.Fuzz(func(t *testing.T, company, login, password string) {
		st := &identityv1.IssueServiceTokenRequest{CompanyCode: company, UserCode: login, Password: password}
		si := &identityv1.SignInRequest{CompanyCode: company, Email: login, Password: password}
		if protovalidate.Validate(st) != nil || protovalidate.Validate(si) != nil {
			return // Connect refuses it with a field error first
		}
		// Lowercase, as lower() and loginKey do: EqualFold would also fold
		// characters neither folds (the long s to s).
		right := strings.EqualFold(company, fuzzCompany) &&
			strings.ToLower(login) == strings.ToLower(fuzzUserCode) && //nolint:staticcheck // see above
			password == fuzzPassword
		tok, err := svc.IssueServiceToken(ctx, company, login, password)
		switch {
		case right && err != nil:
			t.Fatalf("IssueServiceToken(%q, %q, right password) = %v", company, login, err)
		case !right && !errors.Is(err, domain.ErrBadCredentials):
			t.Fatalf("IssueServiceToken(%q, %q, %q) = %v, %v; want ErrBadCredentials", company, login, password, tok.Token != "", err)
		}
		_, _, err = svc.SignIn(ctx, app.SignInRequest{CompanyCode: company, Email: login, Password: password})
		switch {
		case right && !errors.Is(err, domain.ErrServiceUserAPIOnly):
			t.Fatalf("SignIn(%q, %q, right password) = %v; want ErrServiceUserAPIOnly", company, login, err)
		case !right && !errors.Is(err, domain.ErrBadCredentials):
			t.Fatalf("SignIn(%q, %q, %q) = %v; want ErrBadCredentials", company, login, password, err)
		}
	})
}

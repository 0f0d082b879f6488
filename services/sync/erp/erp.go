// Package erp is the sync service's view of an ERP: the employee record in
// the ERP's own terms, the Connector interface every ERP client implements,
// the Resolver that picks a tenant's connector, and the classified errors
// callers decide retries on.
//
// It is not an HTTP client (see erp/tso for 24SevenOffice) and holds no
// mapping from HR fields (see domain): a connector moves ERP records and
// nothing else.
package erp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Field names an ERP employee field, spelled as the ERP spells it (seed 004's
// table of supported fields).
type Field string

// The supported ERP fields.
const (
	FieldEmail           Field = "email"
	FieldFirstname       Field = "firstname"
	FieldLastname        Field = "lastname"
	FieldTelefon         Field = "telefon"
	FieldStartdate       Field = "startdate"
	FieldEnddate         Field = "enddate"
	FieldPostaddress     Field = "postaddress"
	FieldZipcode         Field = "zipcode"
	FieldCity            Field = "city"
	FieldCountryCode     Field = "countryCode"
	FieldInternationalID Field = "internationalID"
)

// Fields lists every supported field in a stable order.
var Fields = []Field{
	FieldEmail, FieldFirstname, FieldLastname, FieldTelefon, FieldStartdate, FieldEnddate,
	FieldPostaddress, FieldZipcode, FieldCity, FieldCountryCode, FieldInternationalID,
}

// InternationalID is the ERP's identification (one per employee).
type InternationalID struct {
	ID          string `json:"ID"`
	CountryCode string `json:"countryCode"`
	Type        string `json:"type"`
}

// Employee is an ERP employee record. Empty strings mean "no value"; dates
// are YYYY-MM-DD.
type Employee struct {
	ID              string           `json:"id,omitempty"`
	Email           string           `json:"email"`
	Firstname       string           `json:"firstname"`
	Lastname        string           `json:"lastname"`
	Telefon         string           `json:"telefon"`
	Startdate       string           `json:"startdate"`
	Enddate         string           `json:"enddate"`
	Postaddress     string           `json:"postaddress"`
	Zipcode         string           `json:"zipcode"`
	City            string           `json:"city"`
	CountryCode     string           `json:"countryCode"`
	InternationalID *InternationalID `json:"internationalID,omitempty"`
}

// Get returns the value of f in a comparable form (InternationalID as
// "ID|countryCode|type", "" when unset).
func (e Employee) Get(f Field) string {
	switch f {
	case FieldEmail:
		return e.Email
	case FieldFirstname:
		return e.Firstname
	case FieldLastname:
		return e.Lastname
	case FieldTelefon:
		return e.Telefon
	case FieldStartdate:
		return e.Startdate
	case FieldEnddate:
		return e.Enddate
	case FieldPostaddress:
		return e.Postaddress
	case FieldZipcode:
		return e.Zipcode
	case FieldCity:
		return e.City
	case FieldCountryCode:
		return e.CountryCode
	case FieldInternationalID:
		if e.InternationalID == nil {
			return ""
		}
		return e.InternationalID.ID + "|" + e.InternationalID.CountryCode + "|" + e.InternationalID.Type
	}
	return ""
}

// Connector reaches one ERP account. Implementations are safe for concurrent
// use, authenticate by themselves, and return errors that wrap one of the
// Err* kinds below (as *Error when the ERP answered).
type Connector interface {
	// Get reads one employee; ErrNotFound when the ERP has none with id.
	Get(ctx context.Context, id string) (Employee, error)
	// FindByEmail returns the employee with this email (compared
	// case-insensitively); ErrNotFound when none.
	FindByEmail(ctx context.Context, email string) (Employee, error)
	// Create adds an employee (everything but Enddate, which goes through
	// SetEndDate) and returns it with its ERP id.
	Create(ctx context.Context, e Employee) (Employee, error)
	// Update writes only the listed fields of e to employee id (never
	// FieldEnddate) and returns the stored record.
	Update(ctx context.Context, id string, e Employee, fields []Field) (Employee, error)
	// SetEndDate sets (or, with an empty date, clears) the employment end
	// date; the ERP requires a reason for an end date.
	SetEndDate(ctx context.Context, id, enddate, reason string) error
	// List reads every employee of the account (a synchronisation's
	// comparison), in the ERP's order.
	List(ctx context.Context) ([]Employee, error)
}

// KeyChecker is a connector that can test its API key on its own (before a
// connection is saved, the key is exchanged once).
type KeyChecker interface {
	Authenticate(ctx context.Context) error
}

// Connection is the ERP link a tenant's changes go through.
type Connection struct {
	// ID identifies the connection (a lowercase UUID) in events.
	ID        string
	Connector Connector
}

// Resolver finds the ERP connection of a tenant: the connections admins
// created over the API (one per tenant or per company), or a static one
// configured for the whole deployment.
type Resolver interface {
	// Connection returns the tenant's connection, or ErrNoConnection (also
	// when the tenant has one per company, so a change must name it).
	Connection(ctx context.Context, tenantID string) (Connection, error)
	// ConnectionByID returns the tenant's connection id, or
	// ErrNoConnection when the tenant has no such connection.
	ConnectionByID(ctx context.Context, tenantID, id string) (Connection, error)
}

// Errors, by kind. Callers use errors.Is; Retriable tells the kinds apart.
var (
	// ErrNoConnection: the tenant has no ERP connection.
	ErrNoConnection = errors.New("erp: tenant has no ERP connection")
	// ErrNotFound: the employee does not exist in the ERP.
	ErrNotFound = errors.New("erp: employee not found")
	// ErrConflict: a uniqueness rule (email) refused the write (HTTP 409).
	ErrConflict = errors.New("erp: conflict")
	// ErrValidation: the ERP refused the values (HTTP 422 or 400).
	ErrValidation = errors.New("erp: validation failed")
	// ErrUnauthorized: the ERP refused the API key (wrong or revoked).
	ErrUnauthorized = errors.New("erp: unauthorized")
	// ErrRateLimited: HTTP 429; RetryAfter says when to come back.
	ErrRateLimited = errors.New("erp: rate limited")
	// ErrUnavailable: unreachable, timed out or 5xx.
	ErrUnavailable = errors.New("erp: unavailable")
)

// Error is an answer from the ERP. It never holds the API key or a token.
type Error struct {
	Kind       error // one of the Err* kinds
	Op         string
	Status     int    // HTTP status, 0 when there was no answer
	Code       string // the ERP's error code
	Message    string // the ERP's reason, truncated
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := e.Op + ": " + e.Kind.Error()
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d", e.Status)
		if e.Code != "" {
			s += " " + e.Code
		}
		s += ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *Error) Unwrap() error { return e.Kind }

// Retriable reports whether trying again later may succeed without anyone
// changing the data: rate limits, outages and a refused key (which an admin
// fixes on the ERP side without touching HR).
func Retriable(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrUnauthorized)
}

// RetryAfter is the delay the ERP asked for, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// StaticResolver serves one connection to every tenant in Tenants, or to
// every tenant when AllTenants is set.
type StaticResolver struct {
	Conn       Connection
	AllTenants bool
	Tenants    map[string]bool
}

// Connection implements Resolver.
func (s *StaticResolver) Connection(_ context.Context, tenantID string) (Connection, error) {
	if s.Conn.Connector != nil && (s.AllTenants || s.Tenants[tenantID]) {
		return s.Conn, nil
	}
	return Connection{}, fmt.Errorf("%w: %s", ErrNoConnection, tenantID)
}

// ConnectionByID implements Resolver.
func (s *StaticResolver) ConnectionByID(ctx context.Context, tenantID, id string) (Connection, error) {
	c, err := s.Connection(ctx, tenantID)
	if err != nil {
		return Connection{}, err
	}
	if c.ID != id {
		return Connection{}, fmt.Errorf("%w: %s is not tenant %s's connection", ErrNoConnection, id, tenantID)
	}
	return c, nil
}

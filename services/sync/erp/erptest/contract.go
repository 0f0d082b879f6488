// Package erptest is the contract every erp.Connector must meet, as one test
// suite run against each implementation (in the manner of watermill's
// pubsub tests): the 24SevenOffice connector against the stand-in ERP today,
// the next connector against its own stand-in tomorrow.
//
// It is test support, not a fake ERP (that is erpsim).
package erptest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/erp"
)

// Harness is one connector under test and the levers on the ERP behind it.
type Harness struct {
	Connector erp.Connector
	// Seed stores an employee directly in the ERP (as if typed there).
	Seed func(e erp.Employee) erp.Employee
	// Faults, when set, make the next n API requests fail that way; nil
	// skips the fault tests (an ERP that cannot be told to fail).
	RateLimitNext   func(n int, retryAfter time.Duration)
	UnavailableNext func(n int)
	TimeoutNext     func(n int)
	ExpireTokens    func()
}

// Features say what the ERP behind the connector supports.
type Features struct {
	// CallTimeout is the connector's request timeout (timeouts are tested
	// when TimeoutNext is set).
	CallTimeout time.Duration
	// ListPageSize is the connector's List page size (List is tested over
	// a few pages of it).
	ListPageSize int
}

var seq atomic.Int64

func uniqueEmail(t *testing.T) string {
	return fmt.Sprintf("c%d.%d@example.com", time.Now().UnixNano()%1e9, seq.Add(1))
}

func person(t *testing.T) erp.Employee {
	return erp.Employee{
		Email: uniqueEmail(t), Firstname: "Kari", Lastname: "Nordmann", Telefon: "+4791234567",
		Startdate: "2024-01-15", Postaddress: "Storgata 1", Zipcode: "0155", City: "Oslo", CountryCode: "NO",
		InternationalID: &erp.InternationalID{ID: "01019012345", CountryCode: "NO", Type: "national_id"},
	}
}

// TestConnector runs the contract. setup returns a fresh harness per test.
func TestConnector(t *testing.T, f Features, setup func(t *testing.T) Harness) {
	ctx := context.Background()
	t.Run("CreateThenGetRoundTripsEveryField", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		want := person(t)
		got, err := h.Connector.Create(ctx, want)
		require.NoError(t, err)
		require.NotEmpty(t, got.ID)
		want.ID = got.ID
		read, err := h.Connector.Get(ctx, got.ID)
		require.NoError(t, err)
		require.Equal(t, want, read)
	})
	t.Run("FindByEmailIgnoresCase", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		created, err := h.Connector.Create(ctx, person(t))
		require.NoError(t, err)
		found, err := h.Connector.FindByEmail(ctx, strings.ToUpper(created.Email))
		require.NoError(t, err)
		require.Equal(t, created.ID, found.ID)
		_, err = h.Connector.FindByEmail(ctx, uniqueEmail(t))
		require.ErrorIs(t, err, erp.ErrNotFound)
	})
	t.Run("GetUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		_, err := h.Connector.Get(ctx, "999999999")
		require.ErrorIs(t, err, erp.ErrNotFound)
		require.False(t, erp.Retriable(err))
	})
	t.Run("UpdateWritesOnlyTheListedFields", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		created, err := h.Connector.Create(ctx, person(t))
		require.NoError(t, err)
		change := created
		change.Firstname, change.City, change.Lastname = "Ola", "Bergen", "NOT-SENT"
		_, err = h.Connector.Update(ctx, created.ID, change, []erp.Field{erp.FieldFirstname, erp.FieldCity})
		require.NoError(t, err)
		read, err := h.Connector.Get(ctx, created.ID)
		require.NoError(t, err)
		require.Equal(t, "Ola", read.Firstname)
		require.Equal(t, "Bergen", read.City)
		require.Equal(t, "Nordmann", read.Lastname)
	})
	t.Run("UpdateClearsOptionalFields", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		created, err := h.Connector.Create(ctx, person(t))
		require.NoError(t, err)
		change := created
		change.Telefon, change.Zipcode = "", ""
		_, err = h.Connector.Update(ctx, created.ID, change, []erp.Field{erp.FieldTelefon, erp.FieldZipcode})
		require.NoError(t, err)
		read, err := h.Connector.Get(ctx, created.ID)
		require.NoError(t, err)
		require.Empty(t, read.Telefon)
		require.Empty(t, read.Zipcode)
	})
	t.Run("InternationalIDCanChangeButNotBeUnset", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		created, err := h.Connector.Create(ctx, person(t))
		require.NoError(t, err)
		change := created
		change.InternationalID = &erp.InternationalID{ID: "P1234567", CountryCode: "SE", Type: "passport"}
		_, err = h.Connector.Update(ctx, created.ID, change, []erp.Field{erp.FieldInternationalID})
		require.NoError(t, err)
		change.InternationalID = nil
		_, err = h.Connector.Update(ctx, created.ID, change, []erp.Field{erp.FieldInternationalID})
		require.ErrorIs(t, err, erp.ErrValidation)
		read, err := h.Connector.Get(ctx, created.ID)
		require.NoError(t, err)
		require.Equal(t, "P1234567", read.InternationalID.ID)
	})
	t.Run("DuplicateEmailIsAConflictWithTheERPsReason", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		a, err := h.Connector.Create(ctx, person(t))
		require.NoError(t, err)
		b := person(t)
		b.Email = strings.ToUpper(a.Email)
		_, err = h.Connector.Create(ctx, b)
		require.ErrorIs(t, err, erp.ErrConflict)
		require.False(t, erp.Retriable(err))
		var e *erp.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, 409, e.Status)
		require.NotEmpty(t, e.Message)

		other, err := h.Connector.Create(ctx, person(t))
		require.NoError(t, err)
		other.Email = a.Email
		_, err = h.Connector.Update(ctx, other.ID, other, []erp.Field{erp.FieldEmail})
		require.ErrorIs(t, err, erp.ErrConflict)
	})
	t.Run("InvalidValuesAreValidationErrors", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		for name, mut := range map[string]func(e *erp.Employee){
			"NoEmail":       func(e *erp.Employee) { e.Email = "" },
			"NoFirstname":   func(e *erp.Employee) { e.Firstname = " " },
			"BadStartdate":  func(e *erp.Employee) { e.Startdate = "15.01.2024" },
			"BadCountry":    func(e *erp.Employee) { e.CountryCode = "Norway" },
			"IDWithoutType": func(e *erp.Employee) { e.InternationalID.Type = "" },
		} {
			e := person(t)
			mut(&e)
			_, err := h.Connector.Create(ctx, e)
			require.ErrorIs(t, err, erp.ErrValidation, name)
			require.False(t, erp.Retriable(err), name)
		}
	})
	t.Run("EndDateNeedsAReasonAndCanBeCleared", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		created, err := h.Connector.Create(ctx, person(t))
		require.NoError(t, err)
		require.ErrorIs(t, h.Connector.SetEndDate(ctx, created.ID, "2026-06-30", ""), erp.ErrValidation)
		require.NoError(t, h.Connector.SetEndDate(ctx, created.ID, "2026-06-30", "Resigned"))
		read, err := h.Connector.Get(ctx, created.ID)
		require.NoError(t, err)
		require.Equal(t, "2026-06-30", read.Enddate)
		require.NoError(t, h.Connector.SetEndDate(ctx, created.ID, "", ""))
		read, err = h.Connector.Get(ctx, created.ID)
		require.NoError(t, err)
		require.Empty(t, read.Enddate)
	})
	t.Run("SeededEmployeesAreVisible", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		seeded := h.Seed(person(t))
		read, err := h.Connector.Get(ctx, seeded.ID)
		require.NoError(t, err)
		require.Equal(t, seeded, read)
	})
	t.Run("ListReadsEveryEmployeeOnEveryPage", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		empty, err := h.Connector.List(ctx)
		require.NoError(t, err)
		require.Empty(t, empty)
		// More than a few pages whatever the harness's page size, and one
		// short page at the end.
		n := 3*f.ListPageSize + 1
		want := map[string]erp.Employee{}
		for range n {
			e := h.Seed(person(t))
			want[e.ID] = e
		}
		got, err := h.Connector.List(ctx)
		require.NoError(t, err)
		require.Len(t, got, n)
		for _, e := range got {
			require.Equal(t, want[e.ID], e)
			delete(want, e.ID)
		}
		require.Empty(t, want, "each employee once")
	})
	t.Run("ListFailsWholeWhenAPageFails", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		if h.UnavailableNext == nil {
			t.Skip("the ERP cannot be told to fail")
		}
		for range 2*f.ListPageSize + 1 {
			h.Seed(person(t))
		}
		h.UnavailableNext(1)
		_, err := h.Connector.List(ctx)
		require.ErrorIs(t, err, erp.ErrUnavailable, "never a partial list")
	})
	t.Run("ExpiredTokenReauthenticatesOnce", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		if h.ExpireTokens == nil {
			t.Skip("the ERP cannot expire tokens on demand")
		}
		created, err := h.Connector.Create(ctx, person(t))
		require.NoError(t, err)
		h.ExpireTokens()
		_, err = h.Connector.Get(ctx, created.ID)
		require.NoError(t, err)
	})
	t.Run("RateLimitIsRetriableWithRetryAfter", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		if h.RateLimitNext == nil {
			t.Skip("the ERP cannot be told to rate-limit")
		}
		created, err := h.Connector.Create(ctx, person(t))
		require.NoError(t, err)
		h.RateLimitNext(1, 3*time.Second)
		_, err = h.Connector.Get(ctx, created.ID)
		require.ErrorIs(t, err, erp.ErrRateLimited)
		require.True(t, erp.Retriable(err))
		require.Equal(t, 3*time.Second, erp.RetryAfter(err))
		_, err = h.Connector.Get(ctx, created.ID)
		require.NoError(t, err)
	})
	t.Run("ServerErrorsAreRetriable", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		if h.UnavailableNext == nil {
			t.Skip("the ERP cannot be told to fail")
		}
		h.UnavailableNext(1)
		_, err := h.Connector.Create(ctx, person(t))
		require.ErrorIs(t, err, erp.ErrUnavailable)
		require.True(t, erp.Retriable(err))
	})
	t.Run("TimeoutsAreRetriable", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		if h.TimeoutNext == nil {
			t.Skip("the ERP cannot be told to hang")
		}
		h.TimeoutNext(1)
		start := time.Now()
		_, err := h.Connector.Get(ctx, "1")
		require.ErrorIs(t, err, erp.ErrUnavailable)
		require.True(t, erp.Retriable(err))
		require.Less(t, time.Since(start), f.CallTimeout+5*time.Second)
	})
	t.Run("CancelledContextIsNotAnERPFailure", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := h.Connector.Get(cctx, "1")
		require.Error(t, err)
		require.True(t, errors.Is(err, context.Canceled) || erp.Retriable(err), "got %v", err)
	})
}

package hrapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/hr"
	"rollcall.dev/services/sync/hr/hrapi"
	"rollcall.dev/services/sync/hrsim"
)

const (
	tenantA = "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a10"
	tenantB = "7d1c4b2a-1e2f-4a3b-8c9d-0e1f2a3b4c5d"
)

func setup(t *testing.T) (*hrsim.Server, *hrapi.Client) {
	t.Helper()
	sim := hrsim.New(hrsim.Options{Tokens: []string{"hr-token"}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := hrapi.New(hrapi.Config{BaseURL: srv.URL, Token: "hr-token", PageSize: 3})
	require.NoError(t, err)
	return sim, c
}

func kari() hr.Employee {
	return hr.Employee{Values: domain.Values{
		Email: "kari@example.com", GivenName: "Kari", FamilyName: "Nordmann", Phone: "+4791234567",
		StartDate: "2024-01-15", Address: domain.Address{Postaddress: "Storgata 1", Zipcode: "0155", City: "Oslo", CountryCode: "NO"},
		Identifications: []domain.Identification{{ID: "01019012345", CountryCode: "NO", Type: "national_id"}},
	}}
}

// The HR connector against the stand-in HR over real HTTP.
func TestConnectorAgainstStandIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CreateGetAndFindRoundTripEveryField", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t)
		created, err := c.Create(ctx, tenantA, kari(), "run-1/7")
		require.NoError(t, err)
		require.NotEmpty(t, created.ID)
		require.EqualValues(t, 1, created.Version)
		require.Equal(t, kari().Values, created.Values)
		got, err := c.Get(ctx, tenantA, created.ID)
		require.NoError(t, err)
		require.Equal(t, created, got)
		found, err := c.FindByEmail(ctx, tenantA, "KARI@example.com")
		require.NoError(t, err)
		require.Equal(t, created.ID, found.ID)
		_, err = c.FindByEmail(ctx, tenantB, "kari@example.com")
		require.ErrorIs(t, err, hr.ErrNotFound, "tenants are apart")
		_, err = c.Get(ctx, tenantA, "hr-404")
		require.ErrorIs(t, err, hr.ErrNotFound)
	})
	t.Run("ARepeatedIdempotencyKeyCreatesOnce", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t)
		first, err := c.Create(ctx, tenantA, kari(), "run-1/7")
		require.NoError(t, err)
		again, err := c.Create(ctx, tenantA, kari(), "run-1/7")
		require.NoError(t, err)
		require.Equal(t, first.ID, again.ID)
		require.Len(t, sim.Users(tenantA), 1)
		require.Equal(t, 1, sim.Stats().Creates)
	})
	t.Run("EmailAndPhoneAreUnique", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t)
		_, err := c.Create(ctx, tenantA, kari(), "")
		require.NoError(t, err)
		dup := kari()
		dup.Email = "KARI@EXAMPLE.COM"
		dup.Phone = ""
		_, err = c.Create(ctx, tenantA, dup, "")
		var he *hr.Error
		require.ErrorAs(t, err, &he)
		require.ErrorIs(t, err, hr.ErrConflict)
		require.Equal(t, "duplicate_email", he.Code)
		other := kari()
		other.Email = "ola@example.com"
		_, err = c.Create(ctx, tenantA, other, "")
		require.ErrorAs(t, err, &he)
		require.Equal(t, "duplicate_phone", he.Code)
	})
	t.Run("UpdateWritesOnlyTheListedFieldsAndClears", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t)
		e, err := c.Create(ctx, tenantA, kari(), "")
		require.NoError(t, err)
		v := e.Values
		v.Phone, v.GivenName, v.Address = "", "Ignored", domain.Address{}
		got, err := c.Update(ctx, tenantA, e.ID, v, []domain.Field{domain.FieldPhone, domain.FieldAddress})
		require.NoError(t, err)
		require.EqualValues(t, 2, got.Version)
		require.Empty(t, got.Phone)
		require.Equal(t, domain.Address{}, got.Address)
		require.Equal(t, "Kari", got.GivenName, "not listed, not written")
	})
	t.Run("InvalidValuesAreValidationErrors", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t)
		bad := kari()
		bad.Phone = "0047 912"
		_, err := c.Create(ctx, tenantA, bad, "")
		require.ErrorIs(t, err, hr.ErrValidation)
		require.Contains(t, err.Error(), "phone")
		require.False(t, hr.Retriable(err))
	})
	t.Run("ListFollowsTheCursorAndFiltersByCompany", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t)
		var want []string
		for i := range 8 {
			u := hr.UserOf(kari())
			u.Email, u.Phone = "p"+strings.Repeat("x", i)+"@example.com", ""
			if i%2 == 0 {
				u.CompanyID = "c1"
			}
			stored, err := sim.Put(tenantA, u)
			require.NoError(t, err)
			want = append(want, stored[0].ID)
		}
		all, err := c.List(ctx, tenantA, "")
		require.NoError(t, err)
		var got []string
		for _, e := range all {
			got = append(got, e.ID)
		}
		require.Equal(t, want, got)
		c1, err := c.List(ctx, tenantA, "c1")
		require.NoError(t, err)
		require.Len(t, c1, 4)
		for _, e := range c1 {
			require.Equal(t, "c1", e.CompanyID)
		}
		none, err := c.List(ctx, tenantB, "")
		require.NoError(t, err)
		require.Empty(t, none)
	})
	t.Run("SeedingKeepsDataThatBreaksTheRules", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t)
		a, b := hr.UserOf(kari()), hr.UserOf(kari())
		b.Email = "Kari@Example.com"
		_, err := sim.Put(tenantA, a, b)
		require.NoError(t, err)
		all, err := c.List(ctx, tenantA, "")
		require.NoError(t, err)
		require.Len(t, all, 2)
	})
	t.Run("AWrongTokenIsUnauthorizedAndOutagesAreRetriable", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t)
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		wrong, err := hrapi.New(hrapi.Config{BaseURL: srv.URL, Token: "nope"})
		require.NoError(t, err)
		_, err = wrong.List(ctx, tenantA, "")
		require.ErrorIs(t, err, hr.ErrUnauthorized)
		require.NotContains(t, err.Error(), "nope")
		sim.SetFaults(hrsim.Faults{Unavailable: 1})
		_, err = c.List(ctx, tenantA, "")
		require.ErrorIs(t, err, hr.ErrUnavailable)
		require.True(t, hr.Retriable(err))
		_, err = c.List(ctx, tenantA, "")
		require.NoError(t, err)
	})
}

// An HR API that writes nextCursor after the users is read page by page.
func TestListFollowsACursorWrittenLast(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			fmt.Fprint(w, `{"users":[{"id":"a","version":1,"email":"a@example.com","givenName":"A","familyName":"A"}],"nextCursor":"p2"}`)
		case "p2":
			fmt.Fprint(w, `{"users":[{"id":"b","version":2,"email":"b@example.com","givenName":"B","familyName":"B"}],"nextCursor":null}`)
		default:
			http.Error(w, "bad cursor", http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := hrapi.New(hrapi.Config{BaseURL: srv.URL, Token: "t"})
	require.NoError(t, err)
	got, err := c.List(context.Background(), tenantA, "")
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "a", got[0].ID)
	require.EqualValues(t, 2, got[1].Version)
}

package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/integrator-policy/domain"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Dev@Integra.Example":   "dev@integra.example",
		" dev@integra.example ": "dev@integra.example",
		"a.b+c@x-y.example":     "a.b+c@x-y.example",
	} {
		got, err := domain.NormalizeEmail("email", in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"", "x", "x@", "@x.example", "x@localhost", "A <x@y.example>", "x@y_z.example", "x@-y.example", "x@y..example"} {
		_, err := domain.NormalizeEmail("email", bad)
		var fe *domain.FieldError
		require.ErrorAs(t, err, &fe, bad)
		require.Equal(t, "email", fe.Field)
		require.ErrorIs(t, err, domain.ErrInvalid)
	}
}

func TestNewPartner(t *testing.T) {
	t.Parallel()
	p, err := domain.NewPartner("id", " Integra ", []string{"A@Integra.example"}, []string{"Integra.Example."}, t0)
	require.NoError(t, err)
	require.Equal(t, "Integra", p.Name)
	require.Equal(t, []string{"a@integra.example"}, p.Emails)
	require.Equal(t, []string{"integra.example"}, p.Domains)

	for _, c := range []struct {
		name            string
		emails, domains []string
		field           string
	}{
		{"", []string{"a@b.example"}, nil, "name"},
		{"P", nil, nil, "emails"},
		{"P", []string{"nope"}, nil, "emails[0]"},
		{"P", []string{"a@b.example", "A@B.example"}, nil, "emails[1]"},
		{"P", nil, []string{"b.example", "nodot"}, "domains[1]"},
		{"P", nil, []string{"b.example", "B.example"}, "domains[1]"},
	} {
		_, err := domain.NewPartner("id", c.name, c.emails, c.domains, t0)
		var fe *domain.FieldError
		require.ErrorAs(t, err, &fe, c)
		require.Equal(t, c.field, fe.Field)
	}
}

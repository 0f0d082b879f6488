package main

import (
	mrand "math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDemoFlags(t *testing.T) {
	t.Parallel()
	c, _, err := parse(t, "demo", "--only", "003", "--only", "004", "--keep-connection")
	require.NoError(t, err)
	require.Equal(t, []string{"003", "004"}, c.Demo.Only)
	require.True(t, c.Demo.KeepConnection)
	require.Equal(t, "http://localhost:8080", c.Demo.Server)
	_, _, err = parse(t, "demo", "--only", "005")
	require.ErrorContains(t, err, "--only")
}

func TestNorwegianIDsPassTheBankIDStandInsCheck(t *testing.T) {
	t.Parallel()
	valid := func(id string) bool {
		return len(id) == 11 && mod11(id, []int{3, 7, 6, 1, 8, 9, 4, 5, 2}) == int(id[9]-'0') &&
			mod11(id, []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}) == int(id[10]-'0')
	}
	require.True(t, valid("01019010046"), "the walkthrough's number")
	require.False(t, valid("01019010047"))
	r := mrand.New(mrand.NewPCG(1, 2))
	seen := map[string]bool{}
	for range 200 {
		id := norwegianID(r)
		require.True(t, valid(id), id)
		require.Less(t, id[6:9], "500", "an individual number of the 1900-1999 series")
		seen[id] = true
	}
	require.Greater(t, len(seen), 190, "a new person each run")
}

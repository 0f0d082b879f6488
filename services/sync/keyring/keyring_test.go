package keyring_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/keyring"
)

func key(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func TestKeyring(t *testing.T) {
	t.Parallel()
	k1, k2 := key(t), key(t)

	t.Run("SealsUnderTheFirstAndOpensEveryVersion", func(t *testing.T) {
		t.Parallel()
		old, err := keyring.Parse("1:" + k1)
		require.NoError(t, err)
		v, sealed, err := old.Seal([]byte("api-key-0123456789"), []byte("tenant/conn"))
		require.NoError(t, err)
		require.Equal(t, 1, v)
		require.False(t, bytes.Contains(sealed, []byte("api-key")))

		rotated, err := keyring.Parse(fmt.Sprintf("2:%s, 1:%s", k2, k1))
		require.NoError(t, err)
		require.Equal(t, 2, rotated.Current())
		plain, err := rotated.Open(v, sealed, []byte("tenant/conn"))
		require.NoError(t, err)
		require.Equal(t, "api-key-0123456789", string(plain))
		v2, resealed, err := rotated.Seal(plain, []byte("tenant/conn"))
		require.NoError(t, err)
		require.Equal(t, 2, v2)

		dropped, err := keyring.Parse("2:" + k2)
		require.NoError(t, err)
		_, err = dropped.Open(1, sealed, []byte("tenant/conn"))
		require.ErrorIs(t, err, keyring.ErrUnknownVersion)
		plain, err = dropped.Open(2, resealed, []byte("tenant/conn"))
		require.NoError(t, err)
		require.Equal(t, "api-key-0123456789", string(plain))
	})
	t.Run("BoundToItsRowAndTamperProof", func(t *testing.T) {
		t.Parallel()
		k, err := keyring.Parse("1:" + k1)
		require.NoError(t, err)
		_, sealed, err := k.Seal([]byte("secret"), []byte("a"))
		require.NoError(t, err)
		_, err = k.Open(1, sealed, []byte("b"))
		require.ErrorIs(t, err, keyring.ErrOpen)
		sealed[len(sealed)-1] ^= 1
		_, err = k.Open(1, sealed, []byte("a"))
		require.ErrorIs(t, err, keyring.ErrOpen)
		_, err = k.Open(1, []byte("short"), []byte("a"))
		require.ErrorIs(t, err, keyring.ErrOpen)
		other, err := keyring.Parse("1:" + k2)
		require.NoError(t, err)
		_, sealed, _ = k.Seal([]byte("secret"), []byte("a"))
		_, err = other.Open(1, sealed, []byte("a"))
		require.ErrorIs(t, err, keyring.ErrOpen, "same version number, another key")
	})
	t.Run("ParseNamesTheBadEntryAndNeverShowsAKey", func(t *testing.T) {
		t.Parallel()
		for _, bad := range []string{"", "x:" + k1, "0:" + k1, "1:c2hvcnQ=", "1:" + k1 + ",1:" + k2, "1" + k1} {
			_, err := keyring.Parse(bad)
			require.Error(t, err, bad)
			require.NotContains(t, err.Error(), k1)
		}
		k, err := keyring.Parse("3:" + k1)
		require.NoError(t, err)
		require.NotContains(t, k.String(), k1)
		require.NotContains(t, fmt.Sprintf("%v %+v", k, k), k1[:10])
	})
}

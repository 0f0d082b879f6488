package keyring_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"rollcall.dev/services/sync/keyring"
)

// FuzzKeyring parses any SYNC_CONNECTION_KEYS value and, when it parses,
// seals any API key bound to any row: the first entry's version encrypts,
// every listed version can decrypt, the keyring never prints a key, the
// sealed value opens to the plaintext on its row only, and any one-byte
// change of it does not open (ErrOpen).
func FuzzKeyring(f *testing.F) {
	k1, k2 := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA"
	for _, spec := range []string{
		"1:" + k1, "2:" + k2 + ", 1:" + k1, " 3:" + k1 + " ,", "0:" + k1, "1:" + k1 + ",1:" + k2, "1:short", "x:" + k1, "", ",", "1" + k1,
	} {
		f.Add(spec, []byte("erp-api-key-123"), []byte("tenant/connection"), 5, byte(0x01))
	}
	f.Fuzz(func(t *testing.T, spec string, plaintext, aad []byte, pos int, c byte) {
		k, err := keyring.Parse(spec)
		if err != nil {
			return
		}
		var first string
		for part := range strings.SplitSeq(spec, ",") {
			if part = strings.TrimSpace(part); part != "" {
				first, _, _ = strings.Cut(part, ":")
				break
			}
		}
		if v, err := strconv.Atoi(first); err != nil || k.Current() != v {
			t.Fatalf("Parse(%q): current version %d, first entry %q", spec, k.Current(), first)
		}
		for part := range strings.SplitSeq(spec, ",") {
			vs, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
			if !ok {
				continue
			}
			v, _ := strconv.Atoi(vs)
			if !k.Has(v) {
				t.Fatalf("Parse(%q) lost version %d", spec, v)
			}
			if b := strings.TrimSpace(b64); len(b) > 8 && strings.Contains(k.String(), b) {
				t.Fatalf("the keyring prints a key: %s", k)
			}
		}
		v, sealed, err := k.Seal(plaintext, aad)
		if err != nil || v != k.Current() {
			t.Fatalf("Seal: version %d, %v", v, err)
		}
		if out, err := k.Open(v, sealed, aad); err != nil || !bytes.Equal(out, plaintext) {
			t.Fatalf("Open of what Seal made: %q, %v", out, err)
		}
		if _, err := k.Open(v, sealed, append(append([]byte(nil), aad...), 'x')); !errors.Is(err, keyring.ErrOpen) {
			t.Fatalf("opened on another row: %v", err)
		}
		if pos < 0 {
			pos = -pos
		}
		i := pos % len(sealed)
		if sealed[i] == c {
			return
		}
		sealed[i] = c
		if _, err := k.Open(v, sealed, aad); !errors.Is(err, keyring.ErrOpen) {
			t.Fatalf("a value changed at byte %d opened: %v", i, err)
		}
	})
}

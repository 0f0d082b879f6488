// Package keyring encrypts the ERP API keys the sync service keeps, with
// AES-256-GCM under versioned keys, so the encryption key can be rotated:
// the newest version encrypts, every listed version decrypts, and rows
// sealed under an older version are re-sealed under the newest
// (Store.Reseal at start-up) until the old version can be dropped.
//
// Each sealed value is bound to where it belongs (associated data: the
// tenant and the connection), so a ciphertext copied onto another row does
// not open. It is not a key store: the keys come from the environment
// (SYNC_CONNECTION_KEYS) and are never written anywhere.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrUnknownVersion is a value sealed under a key version the keyring does
// not hold (dropped too early, or another deployment's data).
var ErrUnknownVersion = errors.New("keyring: unknown key version")

// ErrOpen is a value that does not open: tampered with, bound to another
// row, or sealed under another key of the same version number.
var ErrOpen = errors.New("keyring: the value does not open")

// Keyring holds the versioned keys.
type Keyring struct {
	current int
	aeads   map[int]cipher.AEAD
}

// Parse reads "VERSION:BASE64KEY,VERSION:BASE64KEY,...": positive version
// numbers, 32-byte keys (standard or URL base64); the first entry is the
// current one, which encrypts.
func Parse(s string) (*Keyring, error) {
	k := &Keyring{aeads: map[int]cipher.AEAD{}}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		vs, b64, ok := strings.Cut(part, ":")
		v, err := strconv.Atoi(vs)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("entry %d: want VERSION:BASE64KEY with a positive version", i+1)
		}
		raw, err := decode(b64)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("entry %d (version %d): want 32 bytes in base64 (e.g. openssl rand -base64 32)", i+1, v)
		}
		if _, dup := k.aeads[v]; dup {
			return nil, fmt.Errorf("entry %d: version %d listed twice", i+1, v)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		k.aeads[v] = aead
		if k.current == 0 {
			k.current = v
		}
	}
	if k.current == 0 {
		return nil, errors.New("want at least one VERSION:BASE64KEY")
	}
	return k, nil
}

func decode(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// Current is the version that encrypts.
func (k *Keyring) Current() int { return k.current }

// Has reports whether version can decrypt.
func (k *Keyring) Has(version int) bool { _, ok := k.aeads[version]; return ok }

// Seal encrypts plaintext under the current version, bound to aad; the
// result is the random nonce followed by the ciphertext.
func (k *Keyring) Seal(plaintext, aad []byte) (version int, sealed []byte, err error) {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return 0, nil, fmt.Errorf("keyring: nonce: %w", err)
	}
	return k.current, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open decrypts what Seal returned under version, bound to aad.
func (k *Keyring) Open(version int, sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[version]
	if !ok {
		return nil, fmt.Errorf("%w %d", ErrUnknownVersion, version)
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// String never shows a key.
func (k *Keyring) String() string {
	return fmt.Sprintf("keyring{current: %d, versions: %d}", k.current, len(k.aeads))
}

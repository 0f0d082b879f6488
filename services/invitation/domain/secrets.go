package domain

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
)

// TokenBytes is the token's entropy: 256 bits.
const TokenBytes = 32

// Token is an invitation link's secret as the invitee holds it: 43
// characters of base64url without padding. Only its hash is stored.
type Token string

// NewToken draws a fresh random token.
func NewToken() (Token, error) {
	b := make([]byte, TokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return Token(base64.RawURLEncoding.EncodeToString(b)), nil
}

// Hash is what is stored and looked up: SHA-256 of the decoded token. A
// 256-bit random secret needs no salt or slow hash; the lookup by hash is an
// index probe, and the comparison after it is constant-time.
func (t Token) Hash() ([]byte, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(string(t))
	if err != nil || len(raw) != TokenBytes {
		return nil, ErrInvalidToken
	}
	sum := sha256.Sum256(raw)
	return sum[:], nil
}

// Matches reports in constant time whether t hashes to stored.
func (t Token) Matches(stored []byte) bool {
	h, err := t.Hash()
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(h, stored) == 1
}

// Code is a one-time code: CodeDigits random digits.
type Code string

// NewCode draws a uniformly random code.
func NewCode() (Code, error) {
	var sb strings.Builder
	ten := big.NewInt(10)
	for range CodeDigits {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			return "", err
		}
		sb.WriteByte(byte('0' + d.Int64()))
	}
	return Code(sb.String()), nil
}

// CodeKey is the server-side key codes are hashed with. A six-digit code has
// a million values, so a plain hash would fall to a brute force of a leaked
// table; a keyed hash (HMAC-SHA-256, bound to the invitation) does not.
type CodeKey []byte

// ErrWeakCodeKey is a code key shorter than 32 bytes.
var ErrWeakCodeKey = errors.New("code key must be at least 32 bytes")

// Validate checks the key's length.
func (k CodeKey) Validate() error {
	if len(k) < 32 {
		return ErrWeakCodeKey
	}
	return nil
}

func (k CodeKey) hash(invitationID string, c Code) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(invitationID))
	m.Write([]byte{0})
	m.Write([]byte(c))
	return m.Sum(nil)
}

func (k CodeKey) matches(invitationID string, c Code, stored []byte) bool {
	if len(c) != CodeDigits || len(stored) == 0 {
		// Still spend the same work, so timing says nothing about why.
		_ = k.hash(invitationID, "000000")
		return false
	}
	return hmac.Equal(k.hash(invitationID, c), stored)
}

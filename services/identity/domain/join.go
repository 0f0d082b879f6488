package domain

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// A join assertion is how an existing profile proves who he is to the
// invitation service when he accepts an invitation to another tenant (seed
// 001, login method EXISTING). His bearer token lives for weeks and opens
// everything he may do, so it must not travel through another service; the
// assertion opens one thing (that invitation), once, for a few minutes.

// JoinAssertionPrefix starts every join assertion, so it is never mistaken
// for a bearer token (TokenPrefix) by a person or a secret scanner.
const JoinAssertionPrefix = "rcja_"

// JoinAssertionTTL is how long a join assertion is accepted: long enough to
// submit the invitee page, short enough that a leaked one is soon useless.
const JoinAssertionTTL = 5 * time.Minute

// JoinAssertion is a join assertion's stored half: only its SHA-256, bound
// to the membership and bearer token that asked for it and to its audience
// (the invitation id).
type JoinAssertion struct {
	Hash      []byte
	TenantID  string // the membership of the token that asked for it
	UserID    string
	TokenID   string // dies with that token (revoked or expired)
	Audience  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// NewJoinAssertion returns a fresh join assertion (256 random bits) and the
// SHA-256 that is stored instead of it.
func NewJoinAssertion() (assertion string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	assertion = JoinAssertionPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return assertion, HashToken(assertion)
}

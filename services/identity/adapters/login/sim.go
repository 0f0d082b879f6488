// Package login holds the development stand-ins for the login providers an
// invitee can sign in with (seed 001: BankID or a provider profile). They are
// DEVELOPMENT TOOLS, not identity proofs: an assertion is a JSON claim set
// signed with HMAC-SHA256 under LOGIN_SIM_KEY, minted by the dev endpoint
// (POST /dev/login/{provider}, mounted only by `rollcall dev`) or by tests
// with Sim.Mint. They keep the real providers' rules that matter to Rollcall:
//
//   - an assertion lives at most 5 minutes and is accepted once (replay is
//     refused);
//   - it is bound to an audience (the invitation id) when one is given;
//   - "bankid" vouches only for a national identity number that could have
//     been issued: a Norwegian fødselsnummer or D-number with both mod-11
//     check digits, or a Swedish personnummer or samordningsnummer with its
//     Luhn digit, each with a date of birth that exists (domain.NorwegianID,
//     domain.SwedishID). The subject is derived from the number's canonical
//     form (a Swedish number in 12 digits, its century resolved against the
//     stand-in's clock), so it is stable per person whatever form was typed,
//     and it is never the raw number ("bankid:se:" + a keyed hash);
//   - a provider-profile provider ("telia") names the provider's user id.
//
// A production deployment replaces these with real OIDC/BankID adapters
// behind the same app.LoginProvider interface.
package login

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// MaxAge is how long a minted assertion is accepted.
const MaxAge = 5 * time.Minute

// MinKeyLen is the shortest LOGIN_SIM_KEY accepted (bytes).
const MinKeyLen = 32

const prefix = "devlogin1."

// Claims is what a stand-in assertion says.
type Claims struct {
	Provider   string `json:"p"`
	NationalID string `json:"nid,omitempty"` // bankid
	Country    string `json:"c,omitempty"`   // bankid: "no" or "se"
	UserID     string `json:"uid,omitempty"` // provider profile
	Email      string `json:"email,omitempty"`
	Audience   string `json:"aud,omitempty"`
	Expires    int64  `json:"exp"`
	Nonce      string `json:"n"`
}

// Replay remembers used nonces until they expire.
type Replay interface {
	// Use records nonce; false when it was already used.
	Use(ctx context.Context, nonce string, expires time.Time) (bool, error)
}

// Sim signs and checks stand-in assertions.
type Sim struct {
	key    []byte
	replay Replay
	now    func() time.Time
}

// NewSim returns a Sim with a key of at least MinKeyLen bytes.
func NewSim(key []byte, replay Replay) (*Sim, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("login key: want at least %d bytes, got %d", MinKeyLen, len(key))
	}
	return &Sim{key: key, replay: replay, now: time.Now}, nil
}

// SetClock replaces the clock (tests).
func (s *Sim) SetClock(now func() time.Time) { s.now = now }

// Mint signs c, filling Expires (now + MaxAge) and Nonce when unset. It does
// not check the claims: the provider's Verify does, as the real one would.
func (s *Sim) Mint(c Claims) (string, error) {
	if c.Expires == 0 {
		c.Expires = s.now().Add(MaxAge).Unix()
	}
	if c.Nonce == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		c.Nonce = hex.EncodeToString(b[:])
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(body)
	return prefix + p + "." + base64.RawURLEncoding.EncodeToString(s.sign(p)), nil
}

func (s *Sim) sign(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("rollcall-devlogin\x00" + payload))
	return m.Sum(nil)
}

// open checks the signature, lifetime, provider and audience, then spends the
// nonce. Every refusal is domain.ErrLoginRefused with a reason.
func (s *Sim) open(ctx context.Context, provider, assertion, audience string) (Claims, error) {
	var c Claims
	rest, ok := strings.CutPrefix(assertion, prefix)
	if !ok {
		return c, refused("not a %s assertion", provider)
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return c, refused("malformed assertion")
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.sign(p)) {
		return c, refused("the assertion's signature does not match")
	}
	body, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(body, &c) != nil {
		return c, refused("malformed assertion")
	}
	now := s.now()
	exp := time.Unix(c.Expires, 0)
	switch {
	case c.Provider != provider:
		return c, refused("the assertion is for provider %q", c.Provider)
	case !now.Before(exp):
		return c, refused("the assertion has expired")
	case exp.After(now.Add(MaxAge + time.Minute)):
		return c, refused("the assertion lives longer than %s", MaxAge)
	case c.Audience != audience:
		return c, refused("the assertion is for another purpose")
	case c.Nonce == "":
		return c, refused("malformed assertion")
	}
	first, err := s.replay.Use(ctx, provider+":"+c.Nonce, exp)
	if err != nil {
		return c, err
	}
	if !first {
		return c, refused("the assertion was already used")
	}
	return c, nil
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", domain.ErrLoginRefused, fmt.Sprintf(format, args...))
}

// subject derives a stable, non-reversible subject from a national id in
// its canonical form.
func (s *Sim) subject(country, id string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("rollcall-bankid-subject\x00" + country + "\x00" + id))
	return "bankid:" + country + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// BankID is the BankID stand-in.
func (s *Sim) BankID() app.LoginProvider { return bankID{s} }

type bankID struct{ s *Sim }

func (b bankID) Verify(ctx context.Context, _ string, assertion, audience string) (app.LoginResult, error) {
	c, err := b.s.open(ctx, "bankid", assertion, audience)
	if err != nil {
		return app.LoginResult{}, err
	}
	var id string
	switch c.Country {
	case "no":
		id, err = domain.NorwegianID(c.NationalID, b.s.now())
	case "se":
		id, err = domain.SwedishID(c.NationalID, b.s.now())
	default:
		return app.LoginResult{}, refused("country must be \"no\" or \"se\"")
	}
	if err != nil {
		return app.LoginResult{}, refused("%v", err)
	}
	return app.LoginResult{Subject: b.s.subject(c.Country, id)}, nil
}

var profileUserID = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,128}$`)

// Profile is a provider-profile stand-in (e.g. "telia"): the subject is the
// provider's user id.
func (s *Sim) Profile(provider string) app.LoginProvider { return profile{s, provider} }

type profile struct {
	s        *Sim
	provider string
}

func (p profile) Verify(ctx context.Context, _ string, assertion, audience string) (app.LoginResult, error) {
	c, err := p.s.open(ctx, p.provider, assertion, audience)
	if err != nil {
		return app.LoginResult{}, err
	}
	if !profileUserID.MatchString(c.UserID) {
		return app.LoginResult{}, refused("the provider's user id is missing or malformed")
	}
	return app.LoginResult{Subject: p.provider + ":" + c.UserID}, nil
}

// ErrUnknownProvider is a provider name the minting endpoint does not serve.
var ErrUnknownProvider = errors.New("unknown login provider")

package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"rollcall.dev/services/identity/domain"
)

// IssuedJoinAssertion is a new join assertion: the secret (shown once) and
// its record.
type IssuedJoinAssertion struct {
	Assertion string
	Record    domain.JoinAssertion
}

// IssueJoinAssertion gives the owner of bearer token a join assertion for
// audience (the invitation he is accepting with his existing profile): it
// lives domain.JoinAssertionTTL, is bound to audience, to his membership and
// to the token, and is stored as a hash only. A service user never gets one
// (domain.ErrServiceUserAPIOnly, also for its API token: it is no person
// with a profile to bring along); a deactivated user's or waiting
// integrator's token, like any unknown, revoked or expired one, is
// domain.ErrUnauthenticated.
func (s *Service) IssueJoinAssertion(ctx context.Context, token, audience string) (IssuedJoinAssertion, error) {
	if id, err := uuid.Parse(audience); err != nil || id.String() != audience {
		return IssuedJoinAssertion{}, domain.Invalid("audience", "must be the invitation id (a lowercase UUID)")
	}
	if token == "" || len(token) > 512 {
		return IssuedJoinAssertion{}, domain.ErrUnauthenticated
	}
	var out IssuedJoinAssertion
	err := s.Store.Do(ctx, func(tx Tx) error {
		now := s.now()
		hash := domain.HashToken(token)
		tok, owner, err := tx.TokenOwner(hash, domain.PurposeAdmin, now)
		if errors.Is(err, domain.ErrNotFound) {
			// A service user's live API token is no person's session, but
			// it does prove who is asking: tell him why, as SignIn does.
			if _, su, err := tx.TokenOwner(hash, domain.PurposeAPI, now); err == nil && su.Kind == domain.KindService {
				return domain.ErrServiceUserAPIOnly
			}
			return domain.ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		if owner.Kind == domain.KindService {
			return domain.ErrServiceUserAPIOnly
		}
		if !owner.Active() {
			return domain.ErrUnauthenticated
		}
		secret, h := domain.NewJoinAssertion()
		rec := domain.JoinAssertion{Hash: h, TenantID: owner.TenantID, UserID: owner.ID, TokenID: tok.ID, Audience: audience,
			CreatedAt: now, ExpiresAt: now.Add(domain.JoinAssertionTTL)}
		if err := tx.InsertJoinAssertion(rec); err != nil {
			return err
		}
		out = IssuedJoinAssertion{Assertion: secret, Record: rec}
		return nil
	})
	return out, err
}

// errJoinRefused is the one answer to every join assertion VerifyLogin does
// not accept, a bearer token included: the invitation service (and whoever
// is behind it) learns nothing about why. The reason is logged.
var errJoinRefused = fmt.Errorf("%w: not a valid join assertion for this invitation; get a new one with IssueJoinAssertion", domain.ErrLoginRefused)

// verifyJoinAssertion is VerifyLogin for provider "rollcall": it spends the
// join assertion if it is live and for audience, then accepts it only if
// the token that asked for it is still live and its owner still an active
// user who is not a service user. Once found for its audience an assertion
// is spent, whatever follows; one for another audience is left alone (the
// invitation service asks about one invitation only, and a wrong audience
// must not let anyone burn another invitation's assertion).
func (s *Service) verifyJoinAssertion(ctx context.Context, assertion, audience string) (LoginResult, string, error) {
	if !strings.HasPrefix(assertion, domain.JoinAssertionPrefix) {
		why := "not a join assertion"
		if strings.HasPrefix(assertion, domain.TokenPrefix) {
			why = "a bearer token instead of a join assertion"
		}
		return LoginResult{}, why, errJoinRefused
	}
	var (
		res LoginResult
		why string
	)
	err := s.Store.Do(ctx, func(tx Tx) error {
		now := s.now()
		j, err := tx.SpendJoinAssertion(domain.HashToken(assertion), audience, now)
		if errors.Is(err, domain.ErrNotFound) {
			why = "unknown, expired, already used or for another audience"
			return nil
		}
		if err != nil {
			return err
		}
		tok, err := tx.Token(j.TenantID, j.TokenID)
		if err != nil {
			return err
		}
		if !tok.RevokedAt.IsZero() || !tok.ExpiresAt.After(now) {
			why = "the bearer token that asked for it is revoked or expired"
			return nil
		}
		u, err := tx.User(j.TenantID, j.UserID, false)
		if err != nil {
			return err
		}
		if !u.Active() || u.Kind == domain.KindService {
			why = "its user is no longer active"
			return nil
		}
		res = LoginResult{Subject: "rollcall:" + u.ID, ExistingUserID: u.ID, Email: u.Email}
		return nil
	})
	if err != nil {
		return LoginResult{}, "", err
	}
	if why != "" {
		return LoginResult{}, why, errJoinRefused
	}
	return res, "", nil
}

// Package svcauth authenticates calls between Rollcall services.
//
// A service's internal RPCs (identity's InternalService, the partner
// registry's operator calls, ...) are not for admins or upstream systems: the
// caller presents one of the callee's service tokens as a bearer token. The
// callee accepts a set of tokens so a token can be rotated without downtime
// (add the new one, move the callers, drop the old one).
//
// It is not for administrators' bearer tokens: those belong to the identity
// service and are resolved with its InternalService.Authenticate.
package svcauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
)

// MinTokenLen is the shortest service token accepted (32 characters: at
// least 128 bits when generated as hex or base64).
const MinTokenLen = 32

// ErrNoToken and ErrBadToken are the two refusals; both reach the caller as
// UNAUTHENTICATED.
var (
	ErrNoToken  = errors.New("svcauth: a service token is required (Authorization: Bearer <token>)")
	ErrBadToken = errors.New("svcauth: the service token is not valid")
)

// Tokens is a set of accepted service tokens, kept as SHA-256 digests so a
// comparison takes the same time whichever token (if any) matches.
type Tokens struct{ digests [][32]byte }

// ParseTokens reads a comma-separated list (the INTERNAL_TOKENS variable).
// Each token must be at least MinTokenLen characters; an empty list is an
// error, since it would lock every caller out.
func ParseTokens(list string) (Tokens, error) {
	var t Tokens
	for i, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if len(s) < MinTokenLen {
			return Tokens{}, fmt.Errorf("token %d: want at least %d characters, got %d", i+1, MinTokenLen, len(s))
		}
		t.digests = append(t.digests, sha256.Sum256([]byte(s)))
	}
	if len(t.digests) == 0 {
		return Tokens{}, errors.New("want at least one token")
	}
	return t, nil
}

// Check reports whether tok is one of the set, in constant time per entry.
func (t Tokens) Check(tok string) error {
	if tok == "" {
		return ErrNoToken
	}
	d := sha256.Sum256([]byte(tok))
	ok := 0
	for i := range t.digests {
		ok |= subtle.ConstantTimeCompare(d[:], t.digests[i][:])
	}
	if ok != 1 {
		return ErrBadToken
	}
	return nil
}

// Bearer returns the token of an "Authorization: Bearer <token>" header, or "".
func Bearer(h http.Header) string {
	const prefix = "Bearer "
	v := h.Get("Authorization")
	if len(v) <= len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(v[len(prefix):])
}

// Require is a handler interceptor that refuses every call without one of
// the tokens, before the handler runs.
func Require(t Tokens) connect.Interceptor { return require{t} }

type require struct{ t Tokens }

func (r require) check(h http.Header) error {
	if err := r.t.Check(Bearer(h)); err != nil {
		return connect.NewError(connect.CodeUnauthenticated, err)
	}
	return nil
}

func (r require) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		if err := r.check(req.Header()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (r require) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (r require) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := r.check(conn.RequestHeader()); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// Client is how one service calls another: the base URL, an HTTP client with
// a timeout, and client options that send the service token and carry the
// trace.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	Options []connect.ClientOption
}

// NewClient returns a Client for baseURL that presents token (which may be
// empty for public RPCs). Calls time out after timeout (default 10s).
func NewClient(baseURL, token string, timeout time.Duration) (Client, error) {
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return Client{}, fmt.Errorf("want an http:// or https:// URL, got %q", baseURL)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	tracing, err := otelconnect.NewInterceptor()
	if err != nil {
		return Client{}, fmt.Errorf("tracing interceptor: %w", err)
	}
	ics := []connect.Interceptor{tracing}
	if token != "" {
		ics = append(ics, sendToken(token))
	}
	return Client{
		BaseURL: strings.TrimSuffix(baseURL, "/"),
		HTTP:    &http.Client{Timeout: timeout},
		Options: []connect.ClientOption{connect.WithInterceptors(ics...)},
	}, nil
}

type sendToken string

func (s sendToken) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			req.Header().Set("Authorization", "Bearer "+string(s))
		}
		return next(ctx, req)
	}
}

func (s sendToken) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(s))
		return conn
	}
}

func (s sendToken) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

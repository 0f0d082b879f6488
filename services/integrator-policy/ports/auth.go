package ports

import (
	"context"
	"errors"
	"net/http"

	"connectrpc.com/connect"

	"rollcall.dev/pkg/svcauth"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/services/integrator-policy/app"
)

// InternalProcedures are the RPCs only operators and other Rollcall
// services call, with a service token. The rest take an administrator's
// bearer token (GetActiveIntegrator takes either).
var InternalProcedures = []string{
	integratorv1connect.IntegratorPolicyServiceRegisterPartnerProcedure,
	integratorv1connect.IntegratorPolicyServiceRevokePartnerProcedure,
	integratorv1connect.IntegratorPolicyServiceListPartnersProcedure,
	integratorv1connect.IntegratorPolicyServiceCheckPartnerProcedure,
	integratorv1connect.IntegratorPolicyServiceCheckActionProcedure,
}

// RequireServiceToken applies svcauth.Require to the internal procedures
// only. One Connect service is one path, so the check is per procedure
// rather than per mounted handler; keeping one service keeps the contract
// as it was published.
func RequireServiceToken(tokens svcauth.Tokens) connect.Interceptor {
	procs := map[string]bool{}
	for _, p := range InternalProcedures {
		procs[p] = true
	}
	return perProcedure{procs: procs, inner: svcauth.Require(tokens)}
}

type perProcedure struct {
	procs map[string]bool
	inner connect.Interceptor
}

func (p perProcedure) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	guarded := p.inner.WrapUnary(next)
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if p.procs[req.Spec().Procedure] {
			return guarded(ctx, req)
		}
		return next(ctx, req)
	}
}

func (p perProcedure) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (p perProcedure) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	guarded := p.inner.WrapStreamingHandler(next)
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if p.procs[conn.Spec().Procedure] {
			return guarded(ctx, conn)
		}
		return next(ctx, conn)
	}
}

// Authenticator turns an administrator's bearer token into the principal
// it stands for (identity's InternalService.Authenticate). An invalid token
// is ErrBadToken; anything else is the identity service failing.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (app.Principal, error)
}

// ErrBadToken is a bearer token identity does not accept.
var ErrBadToken = errors.New("the bearer token is not valid")

// caller resolves the request's bearer token: a service token (when
// allowService) or an administrator's. The principal is nil for a service.
func (c *Connect) caller(ctx context.Context, h http.Header, allowService bool) (*app.Principal, error) {
	tok := svcauth.Bearer(h)
	if tok == "" {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("a bearer token is required (Authorization: Bearer <token>)"))
	}
	if allowService && c.Tokens.Check(tok) == nil {
		return nil, nil
	}
	if c.Auth == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the identity service is not configured"))
	}
	p, err := c.Auth.Authenticate(ctx, tok)
	if errors.Is(err, ErrBadToken) {
		return nil, connect.NewError(connect.CodeUnauthenticated, ErrBadToken)
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the identity service is unavailable; try again"))
	}
	return &p, nil
}

func (c *Connect) admin(ctx context.Context, h http.Header) (app.Principal, error) {
	p, err := c.caller(ctx, h, false)
	if err != nil {
		return app.Principal{}, err
	}
	return *p, nil
}

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

// OperatorProcedures manage the partner registry. Only operators call them,
// with an operator token (OPERATOR_TOKENS): a service token is refused, so
// no Rollcall service (sync's token, say) can register a public mail domain
// as a partner or revoke one.
var OperatorProcedures = []string{
	integratorv1connect.IntegratorPolicyServiceRegisterPartnerProcedure,
	integratorv1connect.IntegratorPolicyServiceRevokePartnerProcedure,
	integratorv1connect.IntegratorPolicyServiceListPartnersProcedure,
}

// ServiceProcedures are for other Rollcall services, with a service token
// (INTERNAL_TOKENS); an operator token is refused. The rest take an
// administrator's bearer token (GetActiveIntegrator also a service token).
var ServiceProcedures = []string{
	integratorv1connect.IntegratorPolicyServiceCheckPartnerProcedure,
	integratorv1connect.IntegratorPolicyServiceCheckActionProcedure,
}

// Refusals of a token on a procedure it is not for.
var (
	// ErrNoOperatorToken is an operator procedure called without a token.
	ErrNoOperatorToken = errors.New("an operator token is required (Authorization: Bearer <token>)")
	// ErrBadOperatorToken is a token that is none of the operator tokens.
	ErrBadOperatorToken = errors.New("the operator token is not valid")
	// ErrServiceTokenNotOperator is a service token on an operator procedure.
	ErrServiceTokenNotOperator = errors.New("a service token may not manage the partner registry; operators use an operator token")
	// ErrOperatorTokenElsewhere is an operator token outside the registry.
	ErrOperatorTokenElsewhere = errors.New("the operator token is only for RegisterPartner, RevokePartner and ListPartners")
)

// RequireTokens checks, per procedure, the credential its callers present:
// operator tokens on OperatorProcedures, service tokens on
// ServiceProcedures. A token of the other set is PERMISSION_DENIED (it is
// known, but not for this), any other UNAUTHENTICATED. One Connect service
// is one path, so the check is per procedure rather than per mounted
// handler; keeping one service keeps the contract as it was published. An
// empty operator set (OPERATOR_TOKENS unset) refuses every caller of the
// registry's RPCs.
func RequireTokens(services, operators svcauth.Tokens) connect.Interceptor {
	checks := map[string]func(http.Header) error{}
	for _, p := range OperatorProcedures {
		checks[p] = func(h http.Header) error {
			tok := svcauth.Bearer(h)
			switch {
			case tok == "":
				return connect.NewError(connect.CodeUnauthenticated, ErrNoOperatorToken)
			case operators.Check(tok) == nil:
				return nil
			case services.Check(tok) == nil:
				return connect.NewError(connect.CodePermissionDenied, ErrServiceTokenNotOperator)
			}
			return connect.NewError(connect.CodeUnauthenticated, ErrBadOperatorToken)
		}
	}
	for _, p := range ServiceProcedures {
		checks[p] = func(h http.Header) error {
			tok := svcauth.Bearer(h)
			err := services.Check(tok)
			switch {
			case err == nil:
				return nil
			case tok != "" && operators.Check(tok) == nil:
				return connect.NewError(connect.CodePermissionDenied, ErrOperatorTokenElsewhere)
			}
			return connect.NewError(connect.CodeUnauthenticated, err)
		}
	}
	return perProcedure{checks: checks}
}

type perProcedure struct {
	checks map[string]func(http.Header) error
}

func (p perProcedure) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if check := p.checks[req.Spec().Procedure]; check != nil && !req.Spec().IsClient {
			if err := check(req.Header()); err != nil {
				return nil, err
			}
		}
		return next(ctx, req)
	}
}

func (p perProcedure) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (p perProcedure) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if check := p.checks[conn.Spec().Procedure]; check != nil {
			if err := check(conn.RequestHeader()); err != nil {
				return err
			}
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
	// An operator's token is never sent on to identity as if it were an
	// administrator's.
	if c.Operators.Check(tok) == nil {
		return nil, connect.NewError(connect.CodePermissionDenied, ErrOperatorTokenElsewhere)
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

package ports

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/services/invitation/adapters/postgres"
	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
)

// toConnect maps a use case's error to the API, once: a field error becomes
// INVALID_ARGUMENT (or PERMISSION_DENIED) with a BadRequest detail naming
// the field; every bad link is the same NOT_FOUND; the rest keeps its words
// but never a secret (the domain's messages carry none).
//
// A dependency's failure is checked first and always becomes UNAVAILABLE
// naming only the dependency: the *connect.Error a client library wraps
// inside it carries dial errors with addresses, or the dependency's refusal
// of this service's own token (UNAUTHENTICATED), which the caller would read
// as his own token being bad. Only a *connect.Error at the top of the chain,
// made by this service's handlers, passes through as it is.
func toConnect(err error) error {
	var ue *app.UnavailableError
	switch {
	case errors.As(err, &ue):
		return connect.NewError(connect.CodeUnavailable, errors.New(ue.Dependency+" is unavailable; nothing was changed, try again"))
	case errors.Is(err, app.ErrUnavailable):
		return connect.NewError(connect.CodeUnavailable, errors.New("a service the invitation depends on is unavailable; nothing was changed, try again"))
	}
	if ce, ok := err.(*connect.Error); ok { //nolint:errorlint // only our own, top-level error may pass (see above)
		return ce
	}
	code := connect.CodeInternal
	switch {
	case errors.Is(err, domain.ErrInvalidToken):
		return connect.NewError(connect.CodeNotFound, domain.ErrInvalidToken)
	case errors.Is(err, domain.ErrForbidden):
		code = connect.CodePermissionDenied
	case errors.Is(err, domain.ErrWrongCode), errors.Is(err, domain.ErrCodeExpired), errors.Is(err, domain.ErrLoginMethod),
		errors.Is(err, domain.ErrInvalid):
		code = connect.CodeInvalidArgument
	case errors.Is(err, domain.ErrLocked), errors.Is(err, domain.ErrNotPending):
		code = connect.CodeFailedPrecondition
	case errors.Is(err, domain.ErrRateLimited):
		code = connect.CodeResourceExhausted
	case errors.Is(err, app.ErrNotFound), errors.Is(err, app.ErrUnknownTenant), errors.Is(err, pgdb.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, errors.New("not found"))
	case errors.Is(err, postgres.ErrDuplicate):
		code = connect.CodeAlreadyExists
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("timed out; try again"))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("canceled"))
	}
	var fe *domain.FieldError
	if errors.As(err, &fe) && code == connect.CodeInternal {
		code = connect.CodeInvalidArgument // a field error with no kind is bad input
	}
	if code == connect.CodeInternal {
		return connect.NewError(code, internalError{err})
	}
	out := connect.NewError(code, err)
	field := fieldOf(err)
	if field != "" {
		if d, derr := connect.NewErrorDetail(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: reasonOf(err)}}}); derr == nil {
			out.AddDetail(d)
		}
	}
	return out
}

func fieldOf(err error) string {
	var fe *domain.FieldError
	switch {
	case errors.As(err, &fe):
		return fe.Field
	case errors.Is(err, domain.ErrWrongCode), errors.Is(err, domain.ErrCodeExpired):
		return "code"
	case errors.Is(err, domain.ErrLoginMethod):
		return "login_method"
	}
	return ""
}

func reasonOf(err error) string {
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return fmt.Sprint(err)
}

// internalError is the answer "internal error": the caller never reads its
// cause (it may name tables, hosts or values), but the platform's
// interceptor logs it, so a failure such as a lost database connection is
// in the service's log.
type internalError struct{ cause error }

func (e internalError) Error() string { return "internal error" }
func (e internalError) Unwrap() error { return e.cause }

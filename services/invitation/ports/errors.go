package ports

import (
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
func toConnect(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
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
	}
	var fe *domain.FieldError
	if errors.As(err, &fe) && code == connect.CodeInternal {
		code = connect.CodeInvalidArgument // a field error with no kind is bad input
	}
	if code == connect.CodeInternal {
		return connect.NewError(code, errors.New("internal error"))
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

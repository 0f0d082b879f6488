package ports

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/services/integrator-policy/app"
	"rollcall.dev/services/integrator-policy/domain"
)

// toConnect maps a use case's error to the API, once: field errors carry a
// BadRequest detail naming the field; internal errors keep their words out
// of the answer.
func toConnect(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	code := connect.CodeInternal
	switch {
	case errors.Is(err, domain.ErrAddressTaken):
		code = connect.CodeAlreadyExists
	case errors.Is(err, domain.ErrInvalid):
		code = connect.CodeInvalidArgument
	case errors.Is(err, domain.ErrForbidden):
		code = connect.CodePermissionDenied
	case errors.Is(err, domain.ErrNotCurrent), errors.Is(err, domain.ErrPrecondition), errors.Is(err, domain.ErrPartnerRevoked):
		code = connect.CodeFailedPrecondition
	case errors.Is(err, domain.ErrNotIntegrator), errors.Is(err, domain.ErrPartnerNotFound):
		code = connect.CodeNotFound
	case errors.Is(err, app.ErrUnknownTenant), errors.Is(err, pgdb.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, errors.New("unknown tenant"))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("timed out; try again"))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("canceled"))
	}
	if code == connect.CodeInternal {
		return connect.NewError(code, errors.New("internal error"))
	}
	out := connect.NewError(code, err)
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		if d, derr := connect.NewErrorDetail(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: fe.Field, Description: fe.Reason}}}); derr == nil {
			out.AddDetail(d)
		}
	}
	return out
}

package ports

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"rollcall.dev/services/sync/app"
)

// toConnect maps a use case's error to the API, once. A dependency's
// failure is UNAVAILABLE naming only the dependency (the wrapped error may
// carry addresses or another service's refusal of our own token); a field
// error is INVALID_ARGUMENT with a BadRequest detail naming the field; the
// rest keep their words, which never hold a secret. Anything unexpected is
// logged and answered as an internal error.
func toConnect(ctx context.Context, log *slog.Logger, err error) error {
	var ue *app.UnavailableError
	if errors.As(err, &ue) {
		return connect.NewError(connect.CodeUnavailable, errors.New(ue.Dependency+" is unavailable; nothing was changed, try again"))
	}
	if ce, ok := err.(*connect.Error); ok { //nolint:errorlint // only our own, top-level error passes
		return ce
	}
	var fe *app.FieldError
	switch {
	case errors.Is(err, app.ErrBadToken):
		return connect.NewError(connect.CodeUnauthenticated, errors.New("the bearer token is not valid"))
	case errors.Is(err, app.ErrForbidden):
		return connect.NewError(connect.CodePermissionDenied, err)
	case errors.As(err, &fe):
		code := connect.CodeInvalidArgument
		if errors.Is(err, app.ErrNotFound) {
			code = connect.CodeNotFound
		}
		out := connect.NewError(code, err)
		if d, derr := connect.NewErrorDetail(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: fe.Field, Description: fe.Reason}}}); derr == nil {
			out.AddDetail(d)
		}
		return out
	case errors.Is(err, app.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, errors.New("not found"))
	case errors.Is(err, app.ErrConnectionExists):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, app.ErrWrongState), errors.Is(err, app.ErrKeyRefused), errors.Is(err, app.ErrPreviewExpired),
		errors.Is(err, app.ErrPreviewUsed), errors.Is(err, app.ErrRunUnfinished):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("timed out; try again"))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("canceled"))
	}
	log.ErrorContext(ctx, "sync API: internal error", "error", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

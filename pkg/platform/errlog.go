package platform

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"
)

// logInternalErrors writes down every answer a handler gives as INTERNAL or
// UNKNOWN, with its cause. The caller reads only "internal error" (a cause
// may name tables, hosts or values), so without this a failure such as a
// database connection ended under a request would leave no trace in the
// service's log (the chaos tests found exactly that). A handler keeps the
// cause by wrapping it in the error it gives connect.NewError, whose text is
// what the caller sees; the log gets the innermost wrapped error's text.
func logInternalErrors(log *slog.Logger) connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			res, err := next(ctx, req)
			if err != nil {
				if code := connect.CodeOf(err); code == connect.CodeInternal || code == connect.CodeUnknown {
					log.ErrorContext(ctx, "request failed", "procedure", req.Spec().Procedure, "code", code.String(), "error", causeOf(err))
				}
			}
			return res, err
		}
	})
}

// causeOf is what a handler's error wraps under the text the caller got.
func causeOf(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err.Error()
	}
	answer := ce.Unwrap()
	if answer == nil {
		return ce.Message()
	}
	if cause := errors.Unwrap(answer); cause != nil {
		return cause.Error()
	}
	return answer.Error()
}

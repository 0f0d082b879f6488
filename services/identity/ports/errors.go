package ports

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/domain"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of identity's refusals.
const ErrorDomain = "identity.rollcall.dev"

// toConnect maps a use case's error to the API, once: field errors become
// INVALID_ARGUMENT (or PERMISSION_DENIED, ALREADY_EXISTS) with a BadRequest
// detail naming the field; every bad token is the same UNAUTHENTICATED; a
// service user's interactive sign-in is PERMISSION_DENIED with ErrorInfo
// SERVICE_USER_API_ONLY; the rest keeps its words but never a secret.
//
// A dependency's failure is checked first and always becomes UNAVAILABLE
// naming only the dependency: the *connect.Error a client library wraps
// inside it carries dial errors with addresses, or the dependency's refusal
// of identity's own service token (UNAUTHENTICATED), which the caller would
// read as his own token being bad. Only a *connect.Error at the top of the
// chain, made by identity's own handlers, passes through as it is.
func toConnect(err error) error {
	var ue *app.UnavailableError
	switch {
	case errors.As(err, &ue):
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("%s is unavailable; nothing was changed, try again", ue.Dependency))
	case errors.Is(err, app.ErrUnavailable):
		return connect.NewError(connect.CodeUnavailable, errors.New("a service identity depends on is unavailable; nothing was changed, try again"))
	}
	if ce, ok := err.(*connect.Error); ok { //nolint:errorlint // only our own, top-level error may pass (see above)
		return ce
	}
	var locked *domain.LockedError
	if errors.As(err, &locked) {
		return lockedError(locked)
	}
	code := connect.CodeInternal
	switch {
	case errors.Is(err, domain.ErrUnauthenticated):
		return connect.NewError(connect.CodeUnauthenticated, domain.ErrUnauthenticated)
	case errors.Is(err, domain.ErrBadCredentials):
		return connect.NewError(connect.CodeUnauthenticated, domain.ErrBadCredentials)
	case errors.Is(err, domain.ErrServiceUserAPIOnly):
		out := connect.NewError(connect.CodePermissionDenied, domain.ErrServiceUserAPIOnly)
		if d, derr := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: "SERVICE_USER_API_ONLY", Domain: ErrorDomain}); derr == nil {
			out.AddDetail(d)
		}
		return out
	case errors.Is(err, domain.ErrIntegratorWaiting):
		out := connect.NewError(connect.CodePermissionDenied, domain.ErrIntegratorWaiting)
		if d, derr := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: "INTEGRATOR_WAITING", Domain: ErrorDomain}); derr == nil {
			out.AddDetail(d)
		}
		return out
	case errors.Is(err, domain.ErrSeatLimit):
		out := connect.NewError(connect.CodeFailedPrecondition, err)
		if d, derr := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: "SEAT_LIMIT_REACHED", Domain: ErrorDomain}); derr == nil {
			out.AddDetail(d)
		}
		return out
	case errors.Is(err, domain.ErrLoginRefused), errors.Is(err, domain.ErrForbidden):
		code = connect.CodePermissionDenied
	case errors.Is(err, domain.ErrInvalid):
		code = connect.CodeInvalidArgument
	case errors.Is(err, domain.ErrAlreadyExists):
		code = connect.CodeAlreadyExists
	case errors.Is(err, domain.ErrConflict):
		code = connect.CodeFailedPrecondition
	case errors.Is(err, domain.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, errors.New("not found"))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("timed out; try again"))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("canceled"))
	}
	if code == connect.CodeInternal {
		return connect.NewError(code, internalError{err})
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

// lockedError is a login locked after too many failed password attempts:
// RESOURCE_EXHAUSTED with how long to wait, as a google.rpc.RetryInfo, an
// ErrorInfo (TOO_MANY_FAILED_ATTEMPTS, retry_after_seconds) and a
// Retry-After header for plain HTTP clients.
func lockedError(l *domain.LockedError) error {
	secs := l.Seconds()
	out := connect.NewError(connect.CodeResourceExhausted, l)
	if d, derr := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)}); derr == nil {
		out.AddDetail(d)
	}
	if d, derr := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: "TOO_MANY_FAILED_ATTEMPTS", Domain: ErrorDomain,
		Metadata: map[string]string{"retry_after_seconds": strconv.FormatInt(secs, 10)}}); derr == nil {
		out.AddDetail(d)
	}
	out.Meta().Set("Retry-After", strconv.FormatInt(secs, 10))
	return out
}

// internalError is the answer "internal error": the caller never reads its
// cause (it may name tables, hosts or values), but the platform's
// interceptor logs it, so a failure such as a lost database connection is
// in the service's log.
type internalError struct{ cause error }

func (e internalError) Error() string { return "internal error" }
func (e internalError) Unwrap() error { return e.cause }

package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/emptypb"
)

// hidden answers "internal error" and keeps its cause, as the services'
// error mapping does.
type hidden struct{ cause error }

func (h hidden) Error() string { return "internal error" }
func (h hidden) Unwrap() error { return h.cause }

// An INTERNAL or UNKNOWN answer is logged with its cause, which the caller
// never sees; a refusal the caller can act on is not logged.
func TestInternalErrorsAreLoggedWithTheirCause(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	cause := errors.New("store: begin: FATAL: terminating connection due to administrator command (SQLSTATE 57P01)")
	answers := map[string]error{
		"/t.T/Internal": connect.NewError(connect.CodeInternal, hidden{fmt.Errorf("create: %w", cause)}),
		"/t.T/Unknown":  errors.New("plain error from a handler"),
		"/t.T/Invalid":  connect.NewError(connect.CodeInvalidArgument, errors.New("email: not an address")),
	}
	mux := http.NewServeMux()
	for proc, answer := range answers {
		mux.Handle(proc, connect.NewUnaryHandler(proc, func(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
			return nil, answer
		}, connect.WithInterceptors(logInternalErrors(log))))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	call := func(proc string) error {
		_, err := connect.NewClient[emptypb.Empty, emptypb.Empty](srv.Client(), srv.URL+proc).CallUnary(context.Background(), connect.NewRequest(&emptypb.Empty{}))
		return err
	}

	err := call("/t.T/Internal")
	require.Equal(t, connect.CodeInternal, connect.CodeOf(err))
	var ce *connect.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "internal error", ce.Message(), "the caller never sees the cause")
	require.Contains(t, buf.String(), `"procedure":"/t.T/Internal"`)
	require.Contains(t, buf.String(), `"error":"create: store: begin: FATAL: terminating connection due to administrator command (SQLSTATE 57P01)"`)

	require.Equal(t, connect.CodeUnknown, connect.CodeOf(call("/t.T/Unknown")))
	require.Contains(t, buf.String(), `"error":"plain error from a handler"`)

	before := buf.Len()
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(call("/t.T/Invalid")))
	require.Equal(t, before, buf.Len(), "a refusal is the caller's to act on, not an error of the service")
}

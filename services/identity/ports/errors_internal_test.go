package ports

import (
	"errors"
	"fmt"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
)

// An unexpected error (here a database connection ended under the request,
// as the chaos tests do) is answered as INTERNAL "internal error" and keeps
// its cause for the platform's log, which the service used to drop.
func TestAnUnexpectedErrorIsInternalAndKeepsItsCauseForTheLog(t *testing.T) {
	t.Parallel()
	cause := errors.New("FATAL: terminating connection due to administrator command (SQLSTATE 57P01)")
	err := toConnect(fmt.Errorf("store: %w", cause))
	var ce *connect.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, connect.CodeInternal, ce.Code())
	require.Equal(t, "internal error", ce.Message(), "the caller never reads the cause")
	require.ErrorIs(t, err, cause, "the cause is kept for the log")
}

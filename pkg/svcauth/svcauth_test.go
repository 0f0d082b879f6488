package svcauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/svcauth"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
)

var (
	tokA = strings.Repeat("a", 32)
	tokB = strings.Repeat("b", 40)
)

func TestParseTokens(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", " , ", "short", tokA + ",short"} {
		_, err := svcauth.ParseTokens(bad)
		require.Error(t, err, "%q", bad)
	}
	ts, err := svcauth.ParseTokens(" " + tokA + " ," + tokB)
	require.NoError(t, err)
	require.NoError(t, ts.Check(tokA))
	require.NoError(t, ts.Check(tokB))
	require.ErrorIs(t, ts.Check(""), svcauth.ErrNoToken)
	require.ErrorIs(t, ts.Check(tokA+"x"), svcauth.ErrBadToken)
	require.ErrorIs(t, ts.Check(tokA[:31]), svcauth.ErrBadToken)
}

func TestRequireOverHTTP(t *testing.T) {
	t.Parallel()
	ts, err := svcauth.ParseTokens(tokA + "," + tokB)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(identityv1connect.NewInternalServiceHandler(identityv1connect.UnimplementedInternalServiceHandler{},
		connect.WithInterceptors(svcauth.Require(ts))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	call := func(token string) error {
		c, err := svcauth.NewClient(srv.URL, token, 0)
		require.NoError(t, err)
		_, err = identityv1connect.NewInternalServiceClient(c.HTTP, c.BaseURL, c.Options...).
			DescribeTenant(context.Background(), connect.NewRequest(&identityv1.DescribeTenantRequest{}))
		return err
	}
	for name, tok := range map[string]string{"Missing": "", "Wrong": strings.Repeat("c", 32)} {
		err := call(tok)
		require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err), "%s: %v", name, err)
	}
	// A good token reaches the handler (which answers Unimplemented).
	for _, tok := range []string{tokA, tokB} {
		err := call(tok)
		var ce *connect.Error
		require.True(t, errors.As(err, &ce))
		require.Equal(t, connect.CodeUnimplemented, ce.Code())
	}
}

func TestNewClientRejectsBadURL(t *testing.T) {
	t.Parallel()
	_, err := svcauth.NewClient("127.0.0.1:8080", tokA, 0)
	require.Error(t, err)
}

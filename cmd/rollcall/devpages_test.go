package main

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInvitePagePolicy(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	serveInvitePage(rec, httptest.NewRequest(http.MethodGet, "/invite", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	csp := rec.Header().Get("Content-Security-Policy")
	require.NotContains(t, csp, "unsafe-inline")
	require.Contains(t, csp, "default-src 'none'")

	// Every inline block of the page is allowed by its hash, and nothing
	// else is: a changed script without a changed policy would not run.
	blocks := regexp.MustCompile(`(?s)<(script|style)>(.*?)</`).FindAllStringSubmatch(rec.Body.String(), -1)
	require.Len(t, blocks, 2, "the page has one script and one style")
	for _, b := range blocks {
		sum := sha256.Sum256([]byte(b[2]))
		require.Contains(t, csp, b[1]+"-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	require.Equal(t, 2, strings.Count(csp, "'sha256-"))

	require.Equal(t, "default-src 'none'; script-src 'none'; style-src 'none'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		pagePolicy([]byte("<p>no inline code</p>")))
}

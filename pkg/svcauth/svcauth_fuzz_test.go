package svcauth_test

import (
	"net/http"
	"strings"
	"testing"

	"rollcall.dev/pkg/svcauth"
)

// FuzzBearer checks the Authorization parsing every internal RPC goes
// through: a token sent as "Bearer <token>" (scheme in any case, any
// surrounding blanks) comes back as exactly that token, any other scheme
// or an empty token gives nothing, and what comes back never has
// surrounding white space (so it is what Check compares).
func FuzzBearer(f *testing.F) {
	for _, v := range []string{
		"Bearer " + strings.Repeat("s", 40), "bearer abc", "BEARER  abc  ", "Bearer ", "Bearer", "Basic dXNlcjpwYXNz",
		"Bearerabc", "Bearer\tabc", "", " Bearer abc", "Bearer a b", "Bearer \u00a0abc\u00a0", "Bearer\u212aabc",
	} {
		f.Add(v, "tok")
	}
	f.Fuzz(func(t *testing.T, header, tok string) {
		h := http.Header{}
		h.Set("Authorization", header)
		got := svcauth.Bearer(h)
		if got != strings.TrimSpace(got) {
			t.Fatalf("Bearer(%q) = %q has surrounding white space", header, got)
		}
		if got != "" {
			if len(header) < 7 || !strings.EqualFold(header[:7], "bearer ") {
				t.Fatalf("Bearer(%q) = %q from a header of another scheme", header, got)
			}
			if !strings.Contains(header, got) {
				t.Fatalf("Bearer(%q) = %q is not in the header", header, got)
			}
		}
		// The round trip: a token as a client sends it.
		tok = strings.TrimSpace(tok)
		if tok == "" || strings.ContainsAny(tok, "\r\n\x00") {
			return
		}
		for _, scheme := range []string{"Bearer ", "bearer ", "BEARER "} {
			h.Set("Authorization", scheme+tok)
			if got := svcauth.Bearer(h); got != tok {
				t.Fatalf("Bearer(%q) = %q, want %q", scheme+tok, got, tok)
			}
		}
	})
}

// FuzzParseTokens checks INTERNAL_TOKENS parsing and the check it feeds:
// a list that parses accepts each of its (trimmed) entries and nothing
// else; every entry is at least MinTokenLen long; a list with none is an
// error.
func FuzzParseTokens(f *testing.F) {
	long := strings.Repeat("a", svcauth.MinTokenLen)
	f.Add(long, "x")
	f.Add(long+","+strings.Repeat("b", 40), strings.Repeat("b", 40))
	f.Add(" "+long+" , ,", long)
	f.Add("short", "short")
	f.Add(",,,", "")
	f.Add(long+",short", long)
	f.Fuzz(func(t *testing.T, list, candidate string) {
		toks, err := svcauth.ParseTokens(list)
		var entries []string
		for _, s := range strings.Split(list, ",") {
			if s = strings.TrimSpace(s); s != "" {
				entries = append(entries, s)
			}
		}
		if err != nil {
			short := false
			for _, s := range entries {
				short = short || len(s) < svcauth.MinTokenLen
			}
			if len(entries) > 0 && !short {
				t.Fatalf("ParseTokens(%q) refused a list of long tokens: %v", list, err)
			}
			return
		}
		if len(entries) == 0 {
			t.Fatalf("ParseTokens(%q) accepted a list without a token", list)
		}
		for _, s := range entries {
			if len(s) < svcauth.MinTokenLen {
				t.Fatalf("ParseTokens(%q) accepted the short token %q", list, s)
			}
			if err := toks.Check(s); err != nil {
				t.Fatalf("token %q of %q refused: %v", s, list, err)
			}
		}
		member := false
		for _, s := range entries {
			member = member || s == candidate
		}
		if err := toks.Check(candidate); (err == nil) != member {
			t.Fatalf("Check(%q) against %q = %v", candidate, list, err)
		}
	})
}

package main

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
)

// invitePage is the development stand-in for the product's invitee page,
// where invitation links (ACCEPT_URL#token=...) land in `rollcall dev`.
//
//go:embed devpages/invite.html
var invitePage []byte

// invitePagePolicy allows exactly the page's own inline script and style,
// by hash, rather than 'unsafe-inline': an injected script never runs.
var invitePagePolicy = pagePolicy(invitePage)

var inlineBlock = regexp.MustCompile(`(?s)<(script|style)>(.*?)</(?:script|style)>`)

// pagePolicy builds a Content-Security-Policy naming the SHA-256 of every
// inline <script> and <style> block of page.
func pagePolicy(page []byte) string {
	hashes := map[string][]string{}
	for _, m := range inlineBlock.FindAllSubmatch(page, -1) {
		sum := sha256.Sum256(m[2])
		hashes[string(m[1])] = append(hashes[string(m[1])], "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	src := func(kind string) string {
		if len(hashes[kind]) == 0 {
			return "'none'"
		}
		return strings.Join(hashes[kind], " ")
	}
	return "default-src 'none'; script-src " + src("script") + "; style-src " + src("style") +
		"; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

func serveInvitePage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", invitePagePolicy)
	_, _ = w.Write(invitePage)
}

package mailsink

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"path"
	"strings"

	"rollcall.dev/pkg/notify"
)

// Handler serves the store over HTTP. Every path is relative, so it works
// mounted under any prefix with http.StripPrefix:
//
//	GET    /                    an HTML page listing the messages
//	GET    /api/messages        JSON list, newest first; ?to= filters by
//	                            recipient (exact, case-insensitive)
//	GET    /api/messages/{id}   JSON, one message
//	DELETE /api/messages        clears the store
//	POST   /api/sms             an SMS gateway: {"to","text","sender"} as
//	                            notify.HTTPSMS posts it; 422 when invalid
//
// It has no access control: see the package doc.
func (s *Sink) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /api/messages", s.serveList)
	mux.HandleFunc("GET /api/messages/{id}", s.serveOne)
	mux.HandleFunc("POST /api/sms", s.serveSMS)
	mux.HandleFunc("DELETE /api/messages", func(w http.ResponseWriter, _ *http.Request) {
		s.Clear()
		w.WriteHeader(http.StatusNoContent)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Mounted as StripPrefix("/mail", h), a request for "/mail" arrives
		// with an empty path; the mux would redirect it to the site root.
		// Send the browser to "/mail/" instead, so relative links resolve.
		if r.URL.Path == "" {
			orig := r.URL.RawPath
			if r.RequestURI != "" {
				orig, _, _ = strings.Cut(r.RequestURI, "?")
			}
			target := path.Base(orig) + "/"
			if target == "//" || target == "./" {
				target = "./"
			}
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			// Set by hand: http.Redirect would resolve the relative target
			// against the stripped path and lose the prefix.
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Sink) filtered(r *http.Request) []Message {
	msgs := s.Messages()
	to := strings.TrimSpace(r.URL.Query().Get("to"))
	if to == "" {
		return msgs
	}
	out := msgs[:0]
	for _, m := range msgs {
		if m.SentTo(to) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Sink) serveList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.filtered(r))
}

func (s *Sink) serveOne(w http.ResponseWriter, r *http.Request) {
	m, err := s.Message(r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "message not found"})
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// The page escapes everything through html/template. An email's HTML body
// is shown in a sandboxed iframe (srcdoc, no scripts, no same-origin), and
// the page's CSP forbids scripts and remote loads anyway.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="10">
<title>Rollcall mail sink</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;max-width:70rem}
article{border:1px solid #ccc;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0}
.meta{color:#555}.kind{font-weight:bold;text-transform:uppercase;font-size:11px;padding:1px 5px;border-radius:3px;background:#eee}
pre{white-space:pre-wrap;background:#f7f7f7;padding:.5rem}
iframe{width:100%;height:18rem;border:1px solid #ddd}
</style></head><body>
<h1>Rollcall mail sink <small class="meta">(development only)</small></h1>
<p class="meta">{{len .}} message(s), newest first. JSON: <a href="api/messages">api/messages</a>. Refreshes every 10 s.</p>
{{range .}}<article id="m{{.ID}}">
<div><span class="kind">{{.Kind}}</span> <strong>{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</strong>
<a href="api/messages/{{.ID}}">#{{.ID}}</a></div>
<div class="meta">from {{.From}} to {{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}} · received {{.ReceivedAt.Format "2006-01-02 15:04:05 MST"}}</div>
<pre>{{.Text}}</pre>
{{if .HTML}}<details><summary>HTML</summary><iframe sandbox="" srcdoc="{{.HTML}}" title="HTML body of message {{.ID}}"></iframe></details>{{end}}
</article>
{{else}}<p>No messages yet.</p>{{end}}
</body></html>
`))

func (s *Sink) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	_ = page.Execute(w, s.filtered(r))
}

// serveSMS is the sink as an HTTP SMS gateway (notify.HTTPSMS), so a
// service in another process can have its SMS captured too.
func (s *Sink) serveSMS(w http.ResponseWriter, r *http.Request) {
	var m notify.HTTPSMSRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := dec.Decode(&m); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {to, text, sender}"})
		return
	}
	if err := s.SMSSender().SendSMS(r.Context(), notify.SMS(m)); err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, notify.ErrInvalid) {
			status = http.StatusUnprocessableEntity
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

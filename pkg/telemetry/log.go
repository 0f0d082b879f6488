package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

const redacted = "[REDACTED]"

// Secret is a string that must never reach a log line. It logs (and formats,
// and marshals to JSON) as "[REDACTED]"; convert it back with string(s) where
// the real value is needed.
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// String keeps the value out of fmt output too.
func (Secret) String() string { return redacted }

// GoString keeps the value out of %#v.
func (Secret) GoString() string { return redacted }

// MarshalJSON keeps the value out of structs logged with slog.Any.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// sensitiveKeyParts are matched, case-insensitively, anywhere in an attribute
// key. Matching is deliberately broad: a false positive costs a log value, a
// false negative leaks a credential.
var sensitiveKeyParts = []string{
	"password", "passwd", "secret", "token", "api_key", "apikey",
	"authorization", "cookie", "otp", "code_hash", "credential", "private_key",
}

func sensitiveKey(key string) bool {
	k := strings.ToLower(key)
	for _, p := range sensitiveKeyParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

var (
	// scheme://user:password@host — the password ends at the last "@"
	// before the path, query or fragment.
	urlPasswordRe = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)[^/?#\s]*@`)
	// key=value pairs as in libpq connection strings and query strings.
	kvSecretRe = regexp.MustCompile(`(?i)(\w*(?:password|passwd|pwd|secret|token|api_?key)\w*=)('[^']*'|"[^"]*"|[^\s&'"]+)`)
)

// redactString masks passwords embedded in URLs and key=value connection
// strings.
func RedactString(s string) string {
	if strings.Contains(s, "://") {
		s = urlPasswordRe.ReplaceAllString(s, "${1}xxxxx@")
	}
	if strings.IndexByte(s, '=') >= 0 {
		s = kvSecretRe.ReplaceAllString(s, "${1}xxxxx")
	}
	return s
}

func redactAttr(a slog.Attr) slog.Attr {
	if sensitiveKey(a.Key) {
		return slog.String(a.Key, redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(redactAttrs(v.Group())...)}
	case slog.KindString:
		return slog.String(a.Key, RedactString(v.String()))
	case slog.KindAny:
		switch x := v.Any().(type) {
		case *url.URL:
			if x != nil {
				return slog.String(a.Key, x.Redacted())
			}
		case error:
			// Driver errors sometimes quote the connection string.
			if msg := x.Error(); RedactString(msg) != msg {
				return slog.String(a.Key, RedactString(msg))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func redactAttrs(as []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = redactAttr(a)
	}
	return out
}

// NewLogger returns a JSON logger writing to w at the given minimum level,
// with attrs on every record. Records logged with a context that carries a
// valid span get top-level trace_id and span_id attributes, and secrets are
// redacted: values of attributes whose key contains password, secret, token,
// authorization, cookie, otp, credential and the like (also inside groups),
// values of type Secret, and passwords inside URLs and connection strings.
func NewLogger(w io.Writer, level slog.Level, attrs ...slog.Attr) *slog.Logger {
	var h slog.Handler = &handler{inner: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})}
	if len(attrs) > 0 {
		h = h.WithAttrs(attrs)
	}
	return slog.New(h)
}

// handler redacts and adds trace ids before passing records to inner.
//
// Groups are kept in chain rather than passed to inner so that trace_id and
// span_id stay top-level (where log pipelines look for them) even on a logger
// made with WithGroup.
type handler struct {
	inner slog.Handler   // holds the attributes added before any group
	chain []groupOrAttrs // what came after the first WithGroup, in order
}

type groupOrAttrs struct {
	group string // set for a WithGroup step
	attrs []slog.Attr
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	as = redactAttrs(as)
	if len(h.chain) == 0 {
		return &handler{inner: h.inner.WithAttrs(as)}
	}
	return &handler{inner: h.inner, chain: append(slices.Clip(h.chain), groupOrAttrs{attrs: as})}
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{inner: h.inner, chain: append(slices.Clip(h.chain), groupOrAttrs{group: name})}
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, redactAttr(a))
		return true
	})
	for i := len(h.chain) - 1; i >= 0; i-- {
		step := h.chain[i]
		if step.group == "" {
			attrs = append(slices.Clone(step.attrs), attrs...)
			continue
		}
		if len(attrs) > 0 { // slog drops empty groups
			attrs = []slog.Attr{{Key: step.group, Value: slog.GroupValue(attrs...)}}
		}
	}

	out := slog.NewRecord(r.Time, r.Level, RedactString(r.Message), r.PC)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		out.AddAttrs(
			slog.String("trace_id", sc.TraceID().String()),
			slog.String("span_id", sc.SpanID().String()),
		)
	}
	out.AddAttrs(attrs...)
	return h.inner.Handle(ctx, out)
}

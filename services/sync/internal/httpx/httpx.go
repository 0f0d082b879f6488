// Package httpx holds the small HTTP pieces the sync service's connector
// clients (erp/tso, hr/hrapi) and its development stand-ins (erpsim, hrsim)
// share: reading an answer, Retry-After, keeping addresses' queries out of
// error text, and the stand-ins' JSON and problem answers. It is not a
// general HTTP toolkit.
package httpx

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter parses a Retry-After header: delay-seconds or an HTTP date;
// 0 when absent, malformed or in the past. A number of seconds longer than
// a time.Duration holds (about 292 years) is malformed, not a wrapped-around
// (negative) delay.
func RetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		if int64(n) > int64(math.MaxInt64/time.Second) {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// Truncate cuts s to at most n bytes.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Redact drops query strings from transport errors (url.Error prints the
// URL): credentials never travel in a URL, but an email may.
func Redact(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		if j := strings.IndexAny(s[i:], "\": "); j > 0 {
			return s[:i] + s[i+j:]
		}
		return s[:i]
	}
	return s
}

// ReadBody reads an answer, up to limit bytes, into a buffer of its
// Content-Length when it sends one (growing a buffer page by page showed in
// large reads' profiles).
func ReadBody(r *http.Response, limit int64) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= limit {
		b := make([]byte, n)
		_, err := io.ReadFull(r.Body, b)
		return b, err
	}
	return io.ReadAll(io.LimitReader(r.Body, limit))
}

// Problem is the stand-ins' error body.
type Problem struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ReadProblem reads an error answer's code and message (a Problem body;
// otherwise the whole body, trimmed, is the message), cut to lengths fit
// for logs and reports.
func ReadProblem(data []byte) (code, message string) {
	var p Problem
	if json.Unmarshal(data, &p) != nil || (p.Code == "" && p.Message == "") {
		p.Code, p.Message = "", strings.TrimSpace(string(data))
	}
	return Truncate(p.Code, 100), Truncate(p.Message, 1000)
}

// NewProblem is a problem answer.
func NewProblem(status int, code, message string) *Problem {
	return &Problem{Status: status, Code: code, Message: message}
}

// WriteJSON answers with v and its Content-Length, as APIs commonly do.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteProblem answers with p under its status.
func WriteProblem(w http.ResponseWriter, p *Problem) { WriteJSON(w, p.Status, p) }

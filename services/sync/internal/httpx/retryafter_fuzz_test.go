package httpx_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"rollcall.dev/services/sync/internal/httpx"
)

// FuzzRetryAfter checks the Retry-After parsing the ERP and HR clients
// share, for any header value: the delay is never negative; delay-seconds
// (digits, blanks around them allowed) give exactly that many seconds; an
// HTTP date gives the time until it (0 once past); anything else gives 0.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{
		"", "0", "3", " 120 ", "-1", "+5", "1.5", "abc", "9223372036", "9223372037", "9999999999", "99999999999999999999",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
		time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), "Fri, 31 Dec 9999 23:59:59 GMT",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		before := time.Now()
		d := httpx.RetryAfter(v)
		after := time.Now()
		if d < 0 {
			t.Fatalf("RetryAfter(%q) = %v", v, d)
		}
		if digits := strings.TrimSpace(v); digits != "" && strings.Trim(digits, "0123456789") == "" {
			n, err := strconv.ParseInt(digits, 10, 64)
			if err == nil && n <= int64(time.Duration(1<<63-1)/time.Second) {
				if d != time.Duration(n)*time.Second {
					t.Fatalf("RetryAfter(%q) = %v, want %d s", v, d, n)
				}
			}
			return
		}
		if at, err := http.ParseTime(v); err == nil {
			lo, hi := at.Sub(after), at.Sub(before)
			if d != 0 && (d < lo || d > hi) || d == 0 && lo > 0 {
				t.Fatalf("RetryAfter(%q) = %v, want between %v and %v", v, d, lo, hi)
			}
		}
	})
}

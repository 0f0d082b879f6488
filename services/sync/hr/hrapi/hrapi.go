// Package hrapi is the HR connector for a Huma-style HR API: employees
// ("users") per tenant under /tenants/{tenant}/users, read in pages with a
// cursor, created with an Idempotency-Key, updated field by field with
// PATCH (null clears), authenticated with the sync service's bearer token.
// It classifies every answer into the hr package's error kinds.
//
// It keeps no state and is not instrumented beyond the caller's spans.
package hrapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/hr"
	"rollcall.dev/services/sync/internal/httpx"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API root, e.g. https://hr.example/api or the
	// stand-in's http://localhost:8080/dev/hr.
	BaseURL string
	// Token is the sync service's credential at HR; never logged.
	Token string
	// Timeout bounds one HTTP request (default 10s).
	Timeout time.Duration
	// PageSize is List's page size (default 2000).
	PageSize int
	// HTTPClient is used when set.
	HTTPClient *http.Client
}

// Client is an HR connector.
type Client struct {
	base     string
	token    string
	pageSize int
	http     *http.Client
}

var _ hr.Connector = (*Client)(nil)

// New returns a Client; it does not call HR.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hrapi: base URL %q: want an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.Token == "" {
		return nil, errors.New("hrapi: token is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 2000
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 64, 64
		hc = &http.Client{Timeout: cfg.Timeout, Transport: tr}
	}
	return &Client{base: strings.TrimRight(cfg.BaseURL, "/"), token: cfg.Token, pageSize: cfg.PageSize, http: hc}, nil
}

func (c *Client) users(tenantID string) string {
	return "/tenants/" + url.PathEscape(tenantID) + "/users"
}

type page struct {
	NextCursor string    `json:"nextCursor"`
	Users      []hr.User `json:"users"`
}

// peekCursor reads nextCursor when it is the page's first member (as the
// stand-in and Huma-style APIs write it), without decoding the users.
func peekCursor(body []byte) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	if k, err := d.Token(); err != nil || k != "nextCursor" {
		return "", false
	}
	v, err := d.Token()
	if err != nil {
		return "", false
	}
	switch c := v.(type) {
	case string:
		return c, true
	case nil:
		return "", true
	}
	return "", false
}

// List implements hr.Connector, following nextCursor until it is empty.
// When a page names its next cursor first, the next page is fetched while
// this one is decoded (up to two at once): decoding was most of the time of
// reading 100,000 employees. Pages are copied once into a slice of the
// exact size at the end, rather than grown by appending.
func (c *Client) List(ctx context.Context, tenantID, companyID string) ([]hr.Employee, error) {
	var (
		pages  [][]hr.User
		errs   []error
		mu     sync.Mutex
		wg     sync.WaitGroup
		sem    = make(chan struct{}, 2)
		cursor string
	)
	decode := func(i int, body []byte) {
		p := page{Users: make([]hr.User, 0, c.pageSize)} // room for a full page: the decoder appends
		err := json.Unmarshal(body, &p)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, &hr.Error{Kind: hr.ErrUnavailable, Op: "list", Message: "undecodable answer: " + err.Error()})
			return
		}
		pages[i] = p.Users
	}
	for i := 0; ; i++ {
		q := url.Values{"limit": {strconv.Itoa(c.pageSize)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if companyID != "" {
			q.Set("company", companyID)
		}
		var body []byte
		if err := c.call(ctx, "list", http.MethodGet, c.users(tenantID)+"?"+q.Encode(), nil, "", &body); err != nil {
			wg.Wait()
			return nil, err
		}
		mu.Lock()
		pages = append(pages, nil)
		mu.Unlock()
		next, ok := peekCursor(body)
		if ok {
			sem <- struct{}{}
			wg.Go(func() { defer func() { <-sem }(); decode(i, body) })
		} else {
			var p page
			if err := json.Unmarshal(body, &p); err != nil {
				wg.Wait()
				return nil, &hr.Error{Kind: hr.ErrUnavailable, Op: "list", Message: "undecodable answer: " + err.Error()}
			}
			mu.Lock()
			pages[i] = p.Users
			mu.Unlock()
			next = p.NextCursor
		}
		if next == "" || next == cursor {
			break
		}
		cursor = next
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	n := 0
	for _, p := range pages {
		n += len(p)
	}
	out := make([]hr.Employee, 0, n)
	for _, p := range pages {
		for i := range p {
			out = append(out, p[i].Employee())
		}
	}
	return out, nil
}

// Get implements hr.Connector.
func (c *Client) Get(ctx context.Context, tenantID, id string) (hr.Employee, error) {
	var u hr.User
	err := c.call(ctx, "get", http.MethodGet, c.users(tenantID)+"/"+url.PathEscape(id), nil, "", &u)
	return u.Employee(), err
}

// FindByEmail implements hr.Connector.
func (c *Client) FindByEmail(ctx context.Context, tenantID, email string) (hr.Employee, error) {
	var p page
	if err := c.call(ctx, "find", http.MethodGet, c.users(tenantID)+"?email="+url.QueryEscape(email), nil, "", &p); err != nil {
		return hr.Employee{}, err
	}
	for _, u := range p.Users {
		if strings.EqualFold(u.Email, email) {
			return u.Employee(), nil
		}
	}
	return hr.Employee{}, &hr.Error{Kind: hr.ErrNotFound, Op: "find", Message: "no employee with this email"}
}

// Create implements hr.Connector.
func (c *Client) Create(ctx context.Context, tenantID string, e hr.Employee, idempotencyKey string) (hr.Employee, error) {
	u := hr.UserOf(e)
	u.ID, u.Version = "", 0
	var out hr.User
	err := c.call(ctx, "create", http.MethodPost, c.users(tenantID), u, idempotencyKey, &out)
	if err == nil && out.ID == "" {
		err = &hr.Error{Kind: hr.ErrUnavailable, Op: "create", Message: "no id in the answer"}
	}
	return out.Employee(), err
}

// Update implements hr.Connector.
func (c *Client) Update(ctx context.Context, tenantID, id string, v domain.Values, fields []domain.Field) (hr.Employee, error) {
	var out hr.User
	err := c.call(ctx, "update", http.MethodPatch, c.users(tenantID)+"/"+url.PathEscape(id), hr.Patch(v, fields), "", &out)
	return out.Employee(), err
}

func (c *Client) call(ctx context.Context, op, method, path string, in any, idem string, out any) error {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("hrapi: %s: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return &hr.Error{Kind: hr.ErrValidation, Op: op, Message: err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ctx.Err()
		}
		return &hr.Error{Kind: hr.ErrUnavailable, Op: op, Message: httpx.Redact(err.Error())}
	}
	defer resp.Body.Close()
	data, err := httpx.ReadBody(resp, 64<<20)
	if err != nil {
		return &hr.Error{Kind: hr.ErrUnavailable, Op: op, Status: resp.StatusCode, Message: "reading the answer: " + err.Error()}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if raw, ok := out.(*[]byte); ok { // the caller decodes
			*raw = data
			return nil
		}
		if out == nil || len(data) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return &hr.Error{Kind: hr.ErrUnavailable, Op: op, Status: resp.StatusCode, Message: "undecodable answer: " + err.Error()}
		}
		return nil
	}
	code, msg := httpx.ReadProblem(data)
	e := &hr.Error{Op: op, Status: resp.StatusCode, Code: code, Message: msg}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		e.Kind = hr.ErrNotFound
	case s == http.StatusConflict:
		e.Kind = hr.ErrConflict
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind = hr.ErrUnauthorized
	case s == http.StatusTooManyRequests:
		e.Kind, e.RetryAfter = hr.ErrRateLimited, httpx.RetryAfter(resp.Header.Get("Retry-After"))
	case s == http.StatusRequestTimeout || s >= 500:
		e.Kind, e.RetryAfter = hr.ErrUnavailable, httpx.RetryAfter(resp.Header.Get("Retry-After"))
	default:
		e.Kind = hr.ErrValidation
	}
	return e
}

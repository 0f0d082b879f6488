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
	"time"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/hr"
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
	Users      []hr.User `json:"users"`
	NextCursor string    `json:"nextCursor"`
}

// List implements hr.Connector, following nextCursor until it is empty.
func (c *Client) List(ctx context.Context, tenantID, companyID string) ([]hr.Employee, error) {
	var out []hr.Employee
	cursor := ""
	for {
		q := url.Values{"limit": {strconv.Itoa(c.pageSize)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if companyID != "" {
			q.Set("company", companyID)
		}
		var p page
		if err := c.call(ctx, "list", http.MethodGet, c.users(tenantID)+"?"+q.Encode(), nil, "", &p); err != nil {
			return nil, err
		}
		if out == nil {
			out = make([]hr.Employee, 0, len(p.Users))
		}
		for _, u := range p.Users {
			out = append(out, u.Employee())
		}
		if p.NextCursor == "" || p.NextCursor == cursor {
			return out, nil
		}
		cursor = p.NextCursor
	}
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
		return &hr.Error{Kind: hr.ErrUnavailable, Op: op, Message: redact(err.Error())}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &hr.Error{Kind: hr.ErrUnavailable, Op: op, Status: resp.StatusCode, Message: "reading the answer: " + err.Error()}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(data) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return &hr.Error{Kind: hr.ErrUnavailable, Op: op, Status: resp.StatusCode, Message: "undecodable answer: " + err.Error()}
		}
		return nil
	}
	var p struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &p) != nil || (p.Code == "" && p.Message == "") {
		p.Message = strings.TrimSpace(string(data))
	}
	e := &hr.Error{Op: op, Status: resp.StatusCode, Code: truncate(p.Code, 100), Message: truncate(p.Message, 1000)}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		e.Kind = hr.ErrNotFound
	case s == http.StatusConflict:
		e.Kind = hr.ErrConflict
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind = hr.ErrUnauthorized
	case s == http.StatusTooManyRequests:
		e.Kind, e.RetryAfter = hr.ErrRateLimited, retryAfter(resp.Header.Get("Retry-After"))
	case s == http.StatusRequestTimeout || s >= 500:
		e.Kind, e.RetryAfter = hr.ErrUnavailable, retryAfter(resp.Header.Get("Retry-After"))
	default:
		e.Kind = hr.ErrValidation
	}
	return e
}

func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// redact drops query strings from transport errors (an email may be in one).
func redact(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		if j := strings.IndexAny(s[i:], "\": "); j > 0 {
			return s[:i] + s[i+j:]
		}
		return s[:i]
	}
	return s
}
